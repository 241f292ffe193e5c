import Foundation

// What an observer (a tenant's read-only monitoring app, SPEC §3b) gathers about one
// connector app, already turned from wire JSON into values (observer-facts.md). Every
// source is an `Observed<…>`: a value, a failure (transient, forbidden, not licensed),
// or blocked by an earlier failure (the observer's own token). The checks in this
// folder are pure functions of these facts and `now`.

/// The connector's application object: `applications(appId='…')` with
/// `passwordCredentials` and `keyCredentials` (observer-facts §1).
public struct ObservedApplication: Sendable, Equatable {
    /// The application's object id (not the appId).
    public var objectId: String
    public var appId: String
    public var displayName: String?
    public var credentials: ApplicationCredentials

    public init(objectId: String, appId: String, displayName: String? = nil, credentials: ApplicationCredentials) {
        self.objectId = objectId
        self.appId = appId
        self.displayName = displayName
        self.credentials = credentials
    }
}

/// The connector's service principal in the tenant: `servicePrincipals(appId='…')`
/// (observer-facts §2). It has credentials of its own, which count too.
public struct ObservedServicePrincipal: Sendable, Equatable {
    public var objectId: String
    public var appId: String
    /// False: "no users will be able to sign in to this app" — nor the service.
    public var accountEnabled: Bool
    /// Set when Microsoft disabled the app (abuse, compromise); nil normally.
    public var disabledByMicrosoftStatus: String?
    public var credentials: ApplicationCredentials

    public init(
        objectId: String, appId: String, accountEnabled: Bool, disabledByMicrosoftStatus: String? = nil,
        credentials: ApplicationCredentials = ApplicationCredentials(secrets: [], certificates: [])
    ) {
        self.objectId = objectId
        self.appId = appId
        self.accountEnabled = accountEnabled
        self.disabledByMicrosoftStatus = disabledByMicrosoftStatus
        self.credentials = credentials
    }
}

/// One application permission granted to the connector (`appRoleAssignments`), already
/// mapped to its name through the resource service principal's `appRoles`.
public struct GrantedAppRole: Sendable, Equatable {
    /// The resource's well-known appId (`00000003-0000-0000-c000-000000000000` for
    /// Graph); nil when the resource service principal could not be read.
    public var resourceAppId: String?
    public var resourceDisplayName: String?
    public var appRoleId: String
    /// The role's `value` (`Mail.Send`); nil when no `appRoles[].id` matched.
    public var permission: String?

    public init(resourceAppId: String?, resourceDisplayName: String? = nil, appRoleId: String, permission: String?) {
        self.resourceAppId = resourceAppId
        self.resourceDisplayName = resourceDisplayName
        self.appRoleId = appRoleId
        self.permission = permission
    }
}

/// One delegated grant of the connector (`oauth2PermissionGrants?$filter=clientId eq …`).
public struct DelegatedGrant: Sendable, Equatable {
    public var resourceAppId: String?
    /// `AllPrincipals` (admin consent for everyone) or `Principal` (one user's consent).
    public var consentType: String
    /// The space-separated `scope`, split.
    public var scopes: [String]

    public init(resourceAppId: String?, consentType: String, scopes: [String]) {
        self.resourceAppId = resourceAppId
        self.consentType = consentType
        self.scopes = scopes
    }

    public var isAdminConsent: Bool { consentType.caseInsensitiveCompare("AllPrincipals") == .orderedSame }
}

/// What kind of credential a report row or a sign-in is about. The documentation spells
/// a secret both `clientSecret` and `secret` (observer-facts §4): both are `.secret`.
public enum CredentialKeyType: String, Sendable, Equatable {
    case secret
    case certificate
    case other

    public init(wire: String?) {
        switch wire?.lowercased() {
        case "clientsecret", "secret", "password": self = .secret
        case "certificate", "asymmetricx509cert", "clientassertion": self = .certificate
        default: self = .other
        }
    }
}

/// One row of `appCredentialSignInActivities` (beta): a credential's last sign-in.
/// Its timestamp may include failed or partial sign-ins (observer-facts §3/§4), so the
/// sign-in log's successes win over it.
public struct CredentialActivity: Sendable, Equatable {
    public var keyId: String
    public var keyType: CredentialKeyType
    /// `application` or `servicePrincipal`.
    public var credentialOrigin: String?
    public var lastSignIn: Date?
    /// `expirationDateTime`, or `expirationDate` as the examples spell it.
    public var expiration: Date?

    public init(
        keyId: String, keyType: CredentialKeyType, credentialOrigin: String? = nil, lastSignIn: Date?,
        expiration: Date? = nil
    ) {
        self.keyId = keyId
        self.keyType = keyType
        self.credentialOrigin = credentialOrigin
        self.lastSignIn = lastSignIn
        self.expiration = expiration
    }
}

/// One service-principal sign-in of the connector app (beta `auditLogs/signIns`).
public struct SignInEvent: Sendable, Equatable {
    public var createdAt: Date
    /// The resource's appId (`resourceId` in the log); nil when absent.
    public var resourceAppId: String?
    public var resourceDisplayName: String?
    /// `status.errorCode`: 0 for success, else the AADSTS number.
    public var errorCode: Int
    public var failureReason: String?
    /// `servicePrincipalCredentialKeyId`, when the log names one.
    public var keyId: String?
    /// `servicePrincipalCredentialThumbprint`, when the log names one.
    public var thumbprint: String?
    public var ipAddress: String?
    public var credentialType: CredentialKeyType?

    public init(
        createdAt: Date, resourceAppId: String?, resourceDisplayName: String? = nil, errorCode: Int,
        failureReason: String? = nil, keyId: String? = nil, thumbprint: String? = nil, ipAddress: String? = nil,
        credentialType: CredentialKeyType? = nil
    ) {
        self.createdAt = createdAt
        self.resourceAppId = resourceAppId
        self.resourceDisplayName = resourceDisplayName
        self.errorCode = errorCode
        self.failureReason = failureReason
        self.keyId = keyId.flatMap { $0.isEmpty ? nil : $0 }
        self.thumbprint = thumbprint.flatMap { $0.isEmpty ? nil : $0 }
        self.ipAddress = ipAddress
        self.credentialType = credentialType
    }

    public var succeeded: Bool { errorCode == 0 }
}

/// The sign-in log reads of one connector (SPEC §3b `signin`): the `sign_in_window`
/// list and the `$top=1` query for the latest success within `sign_in_stale_after`.
public struct SignInLog: Sendable, Equatable {
    /// Every service-principal sign-in within `sign_in_window`, any order.
    public var window: Observed<[SignInEvent]>
    /// The newest successful sign-in within `sign_in_stale_after` (nil: none).
    public var latestSuccess: Observed<SignInEvent?>

    public init(window: Observed<[SignInEvent]>, latestSuccess: Observed<SignInEvent?>) {
        self.window = window
        self.latestSuccess = latestSuccess
    }
}

/// Everything an observer read about one connector in one cycle.
public struct ObservedConnectorFacts: Sendable, Equatable {
    /// nil inside `.value`: 404, the app does not exist (or was deleted).
    public var application: Observed<ObservedApplication?>
    /// nil inside `.value`: 404, no service principal in the tenant (consent never given).
    public var servicePrincipal: Observed<ObservedServicePrincipal?>
    /// Application permissions granted to the service principal.
    public var appRoles: Observed<[GrantedAppRole]>
    /// Delegated grants (read for azure-blob).
    public var delegatedGrants: Observed<[DelegatedGrant]>
    /// ARM role assignments of the service principal (azure-blob), read with `Reader`.
    public var roleAssignments: Observed<[ObservedRoleAssignment]>
    /// `appCredentialSignInActivities` rows of the app.
    public var credentialActivity: Observed<[CredentialActivity]>
    /// nil: sign-in logs are not read (`sign_in_logs = false`).
    public var signIns: SignInLog?

    public init(
        application: Observed<ObservedApplication?>, servicePrincipal: Observed<ObservedServicePrincipal?>,
        appRoles: Observed<[GrantedAppRole]> = .value([]), delegatedGrants: Observed<[DelegatedGrant]> = .value([]),
        roleAssignments: Observed<[ObservedRoleAssignment]> = .value([]),
        credentialActivity: Observed<[CredentialActivity]> = .value([]), signIns: SignInLog? = nil
    ) {
        self.application = application
        self.servicePrincipal = servicePrincipal
        self.appRoles = appRoles
        self.delegatedGrants = delegatedGrants
        self.roleAssignments = roleAssignments
        self.credentialActivity = credentialActivity
        self.signIns = signIns
    }
}

extension ObservedConnectorFacts {
    /// Nothing could be read: every source blocked by `failure` — typically the observer's
    /// refused token (``ObservedFailure/observerRefused(_:details:)``), which makes every
    /// observed check of the tenant `unknown` with `observer_failed` (SPEC §3b).
    public static func blocked(_ failure: ObservedFailure, signInLogs: Bool = true) -> ObservedConnectorFacts {
        ObservedConnectorFacts(
            application: .blocked(failure), servicePrincipal: .blocked(failure), appRoles: .blocked(failure),
            delegatedGrants: .blocked(failure), roleAssignments: .blocked(failure),
            credentialActivity: .blocked(failure),
            signIns: signInLogs ? SignInLog(window: .blocked(failure), latestSuccess: .blocked(failure)) : nil)
    }
}

extension ObservedFailure {
    /// What blocks a tenant's observed checks when the observer's own token was refused.
    /// - Parameter message: the token refusal's one line (AADSTS code and text).
    public static func observerRefused(_ message: String, details: [String: JSONValue] = [:]) -> ObservedFailure {
        ObservedFailure(
            reason: .observerFailed, transient: false, message: "the observer's token was refused: \(message)",
            details: details)
    }
}

/// The observer's sign-in settings of a `[[tenant]]` (SPEC §4).
public struct SignInSettings: Sendable, Equatable {
    /// `sign_in_window`, default 24 h.
    public var window: TimeInterval
    /// `sign_in_stale_after`, default 7 d.
    public var staleAfter: TimeInterval

    public init(window: TimeInterval = 86400, staleAfter: TimeInterval = 7 * 86400) {
        self.window = window
        self.staleAfter = staleAfter
    }
}

/// A Graph permission or Azure role the observer needs (SPEC §3b), and what its absence costs.
public enum ObserverPermission: Sendable, Hashable, CustomStringConvertible {
    case applicationReadAll
    case directoryReadAll
    case auditLogReadAll
    /// Azure `Reader` on a subscription (azure-blob `roles`).
    case reader(subscriptionId: String)

    public var description: String {
        switch self {
        case .applicationReadAll: "Microsoft Graph: Application.Read.All"
        case .directoryReadAll: "Microsoft Graph: Directory.Read.All"
        case .auditLogReadAll: "Microsoft Graph: AuditLog.Read.All"
        case .reader(let sub): "Azure: Reader on subscription \(sub)"
        }
    }

    /// The value in the token's `roles` claim, for the Graph permissions.
    public var graphRole: String? {
        switch self {
        case .applicationReadAll: "Application.Read.All"
        case .directoryReadAll: "Directory.Read.All"
        case .auditLogReadAll: "AuditLog.Read.All"
        case .reader: nil
        }
    }

    /// What the observer cannot establish without it.
    public var costs: String {
        switch self {
        case .applicationReadAll:
            "the connectors' app, secret_expiry, certificate and consent checks (apps, service principals, grants) and the observer's own expiry"
        case .directoryReadAll:
            "azure-blob consent (delegated grants) and the signin check (the sign-in log needs it with AuditLog.Read.All)"
        case .auditLogReadAll:
            "the signin check and the secret in use (sign-in log and credential activity)"
        case .reader:
            "the azure-blob roles check for connectors in this subscription"
        }
    }

    /// Missing Application.Read.All leaves almost nothing observed: critical; the others cost one check.
    public var severity: CheckStatus {
        self == .applicationReadAll ? .critical : .warning
    }
}
