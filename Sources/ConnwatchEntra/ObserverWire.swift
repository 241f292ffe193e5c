import ConnwatchCore
import Foundation

/// Pure readers of the observer's Graph replies (observer-facts §1–§5) into Core facts,
/// tolerant where the documentation contradicts itself: `expirationDateTime` or
/// `expirationDate`, `keyType` `clientSecret` or `secret`, the licence error as 401 or 403.
/// The observer's HTTP client calls these; they do no I/O and are tested on bytes.
public enum ObserverWire {
    /// One page of a Graph list: its items and the absolute `@odata.nextLink`, if any.
    public struct Page<Item: Sendable>: Sendable {
        public var items: [Item]
        public var nextLink: String?
    }

    /// `reports/appCredentialSignInActivities` (beta).
    public static func credentialActivities(_ body: Data, endpoint: String) throws(EntraError) -> Page<
        CredentialActivity
    > {
        try page(body, endpoint: endpoint) { (o) throws(StrictProblem) in
            // The examples say `expirationDate`, the resource table `expirationDateTime`.
            var expiration = try o.optionalDate("expirationDateTime")
            if expiration == nil { expiration = try o.optionalDate("expirationDate") }
            var last: Date?
            if let activity = o.fields["signInActivity"], case .object(let fields) = activity {
                last = try StrictObject(fields: fields, path: "signInActivity").optionalDate("lastSignInDateTime")
            }
            return CredentialActivity(
                keyId: try o.string("keyId"), keyType: CredentialKeyType(wire: try o.optionalString("keyType")),
                credentialOrigin: try o.optionalString("credentialOrigin"), lastSignIn: last, expiration: expiration)
        }
    }

    /// `auditLogs/signIns` (beta), service-principal sign-ins.
    public static func signIns(_ body: Data, endpoint: String) throws(EntraError) -> Page<SignInEvent> {
        try page(body, endpoint: endpoint) { (o) throws(StrictProblem) in
            guard let created = try o.optionalDate("createdDateTime") else {
                throw StrictProblem.missing(key: "createdDateTime")
            }
            let status = try o.object("status")
            guard case .int(let code)? = status.fields["errorCode"] else {
                throw StrictProblem.wrongType(path: "status.errorCode")
            }
            return SignInEvent(
                createdAt: created, resourceAppId: try o.optionalString("resourceId"),
                resourceDisplayName: try o.optionalString("resourceDisplayName"), errorCode: Int(code),
                failureReason: try status.optionalString("failureReason"),
                keyId: try o.optionalString("servicePrincipalCredentialKeyId"),
                thumbprint: try o.optionalString("servicePrincipalCredentialThumbprint"),
                ipAddress: try o.optionalString("ipAddress"),
                credentialType: try o.optionalString("clientCredentialType").map(CredentialKeyType.init(wire:)))
        }
    }

    /// `servicePrincipals(appId='…')`, with its own credentials.
    public static func servicePrincipal(_ body: Data, endpoint: String) throws(EntraError) -> ObservedServicePrincipal {
        try object(body, endpoint: endpoint) { (o) throws(StrictProblem) in
            guard case .bool(let enabled)? = o.fields["accountEnabled"] else {
                throw StrictProblem.wrongType(path: "accountEnabled")
            }
            return ObservedServicePrincipal(
                objectId: try o.string("id"), appId: try o.string("appId"), accountEnabled: enabled,
                disabledByMicrosoftStatus: try o.optionalString("disabledByMicrosoftStatus"),
                credentials: try credentials(o))
        }
    }

    /// `applications(appId='…')?$select=id,appId,displayName,passwordCredentials,keyCredentials`.
    public static func application(_ body: Data, endpoint: String) throws(EntraError) -> ObservedApplication {
        try object(body, endpoint: endpoint) { (o) throws(StrictProblem) in
            ObservedApplication(
                objectId: try o.string("id"), appId: try o.string("appId"),
                displayName: try o.optionalString("displayName"), credentials: try credentials(o))
        }
    }

    /// Classifies a failed read for the observed checks: the licence error first (it comes
    /// as 401 or as 403), then "not permitted", then transient trouble.
    public static func observedFailure(_ error: EntraError) -> ObservedFailure {
        switch error {
        case .apiError(let f) where f.isNotLicensed:
            return ObservedFailure(
                reason: .permissionMissing, transient: false,
                message: "the tenant has no Microsoft Entra ID P1/P2 licence (\(f.code))", details: f.details,
                notLicensed: true)
        case .apiError(let f) where f.isForbidden:
            return ObservedFailure(
                reason: .permissionMissing, transient: false, message: "\(f.code): \(f.message)", details: f.details,
                forbidden: true)
        case .apiError(let f):
            return ObservedFailure(
                reason: error.reason == .probeFailed ? .badResponse : error.reason, transient: error.isTransient,
                message: f.description, details: f.details)
        default:
            return ObservedFailure(reason: error.reason, transient: error.isTransient, message: error.description)
        }
    }

    // MARK: -

    static func credentials(_ o: StrictObject) throws(StrictProblem) -> ApplicationCredentials {
        let secrets: [SecretInfo] =
            try o.optionalObjects("passwordCredentials") { (c) throws(StrictProblem) -> SecretInfo in
                let p = try PasswordCredentialInfo(strict: c)
                return SecretInfo(
                    keyId: p.keyId, displayName: p.displayName, hint: p.hint, start: p.startDateTime,
                    end: p.endDateTime)
            } ?? []
        let certificates: [RegisteredCertificate] =
            try o.optionalObjects("keyCredentials") { (c) throws(StrictProblem) -> RegisteredCertificate in
                let k = try KeyCredentialInfo(strict: c)
                return RegisteredCertificate(keyId: k.keyId, thumbprint: k.thumbprintHex, end: k.endDateTime)
            } ?? []
        return ApplicationCredentials(secrets: secrets, certificates: certificates)
    }

    static func page<T: Sendable>(
        _ body: Data, endpoint: String, _ element: (StrictObject) throws(StrictProblem) -> T
    ) throws(EntraError) -> Page<T> {
        try object(body, endpoint: endpoint) { (o) throws(StrictProblem) in
            Page(items: try o.objects("value", element), nextLink: try o.optionalString("@odata.nextLink"))
        }
    }

    static func object<T>(
        _ body: Data, endpoint: String, _ read: (StrictObject) throws(StrictProblem) -> T
    ) throws(EntraError) -> T {
        do throws(StrictProblem) {
            guard let root = try? CompactJSON.parse(body) else { throw StrictProblem.notJSON }
            guard case .object(let fields) = root else { throw StrictProblem.wrongType(path: "") }
            return try read(StrictObject(fields: fields, path: ""))
        } catch {
            throw .badResponse(endpoint: endpoint, detail: error.detail)
        }
    }
}

extension APIFailure {
    /// Sign-in data without a P1/P2 licence (`Authentication_RequestFromNonPremiumTenantOrB2CTenant`),
    /// reported as 403 by some and 401 by others (observer-facts, UNVERIFIED point 1).
    public var isNotLicensed: Bool { code == "Authentication_RequestFromNonPremiumTenantOrB2CTenant" }
}
