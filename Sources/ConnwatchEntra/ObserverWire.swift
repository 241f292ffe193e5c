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
    public static func credentialActivities(
        _ body: Data, endpoint: String
    ) throws(EntraError) -> Page<
        CredentialActivity
    > {
        try page(body, endpoint: endpoint, credentialActivity)
    }

    /// `reports/appCredentialSignInActivities` (beta) listed for several apps at once:
    /// each row with its `appId` (lower-cased), so the observer can share one list.
    public static func credentialActivitiesByApp(
        _ body: Data, endpoint: String
    ) throws(EntraError) -> Page<(appId: String, activity: CredentialActivity)> {
        try page(body, endpoint: endpoint) { (o) throws(StrictProblem) in
            (appId: try o.string("appId").lowercased(), activity: try credentialActivity(o))
        }
    }

    static func credentialActivity(_ o: StrictObject) throws(StrictProblem) -> CredentialActivity {
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

    /// `auditLogs/signIns` (beta), service-principal sign-ins.
    public static func signIns(_ body: Data, endpoint: String) throws(EntraError) -> Page<SignInEvent> {
        try page(body, endpoint: endpoint, signInEvent)
    }

    /// `auditLogs/signIns` (beta) listed for several apps at once: each sign-in with its
    /// `appId` (lower-cased; observer-facts §5: match on `appId`, not `servicePrincipalId`).
    public static func signInsByApp(
        _ body: Data, endpoint: String
    ) throws(EntraError) -> Page<(appId: String, event: SignInEvent)> {
        try page(body, endpoint: endpoint) { (o) throws(StrictProblem) in
            (appId: try o.string("appId").lowercased(), event: try signInEvent(o))
        }
    }

    static func signInEvent(_ o: StrictObject) throws(StrictProblem) -> SignInEvent {
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

    /// One `servicePrincipals/{id}/appRoleAssignments` item: a role of a resource, by id.
    public struct AppRoleAssignment: Sendable, Equatable {
        public var appRoleId: String
        /// The resource service principal's object id in this tenant.
        public var resourceId: String
        public var resourceDisplayName: String?
    }

    /// A resource service principal's identity and roles (`$select=id,appId,displayName,appRoles`).
    public struct ResourceRoles: Sendable, Equatable {
        public var objectId: String
        public var appId: String
        public var displayName: String?
        /// `appRoles[].id` (lower case) → `value`.
        public var roles: [String: String]
    }

    public static func appRoleAssignments(
        _ body: Data, endpoint: String
    ) throws(EntraError) -> Page<
        AppRoleAssignment
    > {
        try page(body, endpoint: endpoint) { (o) throws(StrictProblem) in
            AppRoleAssignment(
                appRoleId: try o.string("appRoleId"), resourceId: try o.string("resourceId"),
                resourceDisplayName: try o.optionalString("resourceDisplayName"))
        }
    }

    public static func resourceRoles(_ body: Data, endpoint: String) throws(EntraError) -> ResourceRoles {
        try object(body, endpoint: endpoint) { (o) throws(StrictProblem) in
            var roles: [String: String] = [:]
            for role in try o.optionalObjects(
                "appRoles",
                { (r) throws(StrictProblem) in
                    (try r.string("id"), try r.optionalString("value"))
                }) ?? []
            {
                if let value = role.1 { roles[role.0.lowercased()] = value }
            }
            return ResourceRoles(
                objectId: try o.string("id"), appId: try o.string("appId"),
                displayName: try o.optionalString("displayName"), roles: roles)
        }
    }

    /// Names each assignment through its resource's `appRoles` (observer-facts §2): no
    /// role-id table is hard-coded. A resource that could not be read leaves its roles
    /// unnamed, which the consent check reports as unknown rather than missing.
    public static func name(_ assignments: [AppRoleAssignment], resources: [ResourceRoles]) -> [GrantedAppRole] {
        let bySP = Dictionary(resources.map { ($0.objectId.lowercased(), $0) }, uniquingKeysWith: { a, _ in a })
        return assignments.map { a in
            let r = bySP[a.resourceId.lowercased()]
            return GrantedAppRole(
                resourceAppId: r?.appId, resourceDisplayName: a.resourceDisplayName ?? r?.displayName,
                appRoleId: a.appRoleId, permission: r?.roles[a.appRoleId.lowercased()])
        }
    }

    /// `oauth2PermissionGrants?$filter=clientId eq '…'`; `resourceId` is an object id,
    /// mapped to the resource's appId with the resource service principals read.
    public static func delegatedGrants(
        _ body: Data, endpoint: String, resources: [ResourceRoles]
    ) throws(EntraError) -> Page<DelegatedGrant> {
        let rows = try delegatedGrantRows(body, endpoint: endpoint)
        return Page(items: name(rows.items, resources: resources), nextLink: rows.nextLink)
    }

    /// One delegated grant as listed, its resource still an object id.
    public struct DelegatedGrantRow: Sendable, Equatable {
        /// The resource service principal's object id in this tenant.
        public var resourceId: String
        public var consentType: String
        public var scopes: [String]
    }

    public static func delegatedGrantRows(
        _ body: Data, endpoint: String
    ) throws(EntraError) -> Page<DelegatedGrantRow> {
        try page(body, endpoint: endpoint) { (o) throws(StrictProblem) in
            DelegatedGrantRow(
                resourceId: try o.string("resourceId"), consentType: try o.string("consentType"),
                scopes: (try o.optionalString("scope") ?? "").split(separator: " ").map(String.init))
        }
    }

    /// Names each grant's resource (object id → well-known appId) through the resource
    /// service principals read; an unread resource stays nil.
    public static func name(_ rows: [DelegatedGrantRow], resources: [ResourceRoles]) -> [DelegatedGrant] {
        let bySP = Dictionary(resources.map { ($0.objectId.lowercased(), $0.appId) }, uniquingKeysWith: { a, _ in a })
        return rows.map {
            DelegatedGrant(
                resourceAppId: bySP[$0.resourceId.lowercased()], consentType: $0.consentType, scopes: $0.scopes)
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
        try StrictProblem.decodeObject(from: body, endpoint: endpoint, read)
    }
}

extension APIFailure {
    /// Sign-in data without a P1/P2 licence (`Authentication_RequestFromNonPremiumTenantOrB2CTenant`),
    /// reported as 403 by some and 401 by others (observer-facts, UNVERIFIED point 1).
    public var isNotLicensed: Bool { code == "Authentication_RequestFromNonPremiumTenantOrB2CTenant" }
}
