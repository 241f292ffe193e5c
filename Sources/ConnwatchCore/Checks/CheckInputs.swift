import Foundation

/// A failure observed while gathering facts for a check, already classified.
/// `transient` failures (network, 5xx, 429, timeouts) count towards the N-consecutive rule.
public struct ObservedFailure: Sendable, Equatable {
    public var reason: Reason
    public var transient: Bool
    /// One line for the summary, e.g. "AADSTS7000215: Invalid client secret provided."
    public var message: String
    /// Safe diagnostic details (trace ids, HTTP status, AADSTS code).
    public var details: [String: JSONValue]
    /// The API said "not permitted" (403 Authorization_RequestDenied, AuthorizationFailed, AF10001).
    public var forbidden: Bool
    /// The tenant has no Entra ID P1/P2 licence for this data (Graph
    /// `Authentication_RequestFromNonPremiumTenantOrB2CTenant`, seen as 401 and as 403):
    /// observer mode leaves the check out with a note instead of reporting it (SPEC §3b).
    public var notLicensed: Bool

    public init(
        reason: Reason, transient: Bool, message: String, details: [String: JSONValue] = [:], forbidden: Bool = false,
        notLicensed: Bool = false
    ) {
        self.reason = reason
        self.transient = transient
        self.message = message
        self.details = details
        self.forbidden = forbidden
        self.notLicensed = notLicensed
    }
}

/// The outcome of one fetch: the value, or why there is none.
public enum Observed<Value: Sendable & Equatable>: Sendable, Equatable {
    case value(Value)
    case failed(ObservedFailure)
    /// Not attempted because an earlier step failed (e.g. no token): carries that failure.
    case blocked(ObservedFailure)
}

/// What the token endpoint said for one resource.
public struct TokenObservation: Sendable, Equatable {
    public var resource: ResourceID
    public var outcome: Observed<GrantedToken>

    public init(resource: ResourceID, outcome: Observed<GrantedToken>) {
        self.resource = resource
        self.outcome = outcome
    }
}

/// The diagnostic claims of an issued token (decoded, not verified).
public struct GrantedToken: Sendable, Equatable {
    public var roles: [String]
    /// False when the token carries no `roles` claim at all: no admin consent.
    public var hasRolesClaim: Bool
    /// The service principal's object id (`oid`).
    public var objectId: String?

    public init(roles: [String], hasRolesClaim: Bool, objectId: String?) {
        self.roles = roles
        self.hasRolesClaim = hasRolesClaim
        self.objectId = objectId
    }
}

/// A client secret on the application, as Graph reports it (never the value).
public struct SecretInfo: Sendable, Equatable {
    public var keyId: String
    public var displayName: String?
    public var hint: String?
    public var start: Date?
    public var end: Date?

    public init(keyId: String, displayName: String? = nil, hint: String? = nil, start: Date? = nil, end: Date? = nil) {
        self.keyId = keyId
        self.displayName = displayName
        self.hint = hint
        self.start = start
        self.end = end
    }
}

/// A certificate on the application, as Graph reports it.
public struct RegisteredCertificate: Sendable, Equatable {
    public var keyId: String
    /// Upper-case hex SHA-1.
    public var thumbprint: String?
    public var end: Date?

    public init(keyId: String, thumbprint: String?, end: Date?) {
        self.keyId = keyId
        self.thumbprint = thumbprint
        self.end = end
    }
}

/// The application object's credentials.
public struct ApplicationCredentials: Sendable, Equatable {
    public var secrets: [SecretInfo]
    public var certificates: [RegisteredCertificate]

    public init(secrets: [SecretInfo], certificates: [RegisteredCertificate]) {
        self.secrets = secrets
        self.certificates = certificates
    }
}

/// The local SharePoint key file, parsed (or why not).
public struct LocalCertificate: Sendable, Equatable {
    public var thumbprint: String
    public var notAfter: Date
    public var subject: String

    public init(thumbprint: String, notAfter: Date, subject: String) {
        self.thumbprint = thumbprint
        self.notAfter = notAfter
        self.subject = subject
    }
}

/// An Azure role assignment of the connector's service principal.
public struct ObservedRoleAssignment: Sendable, Equatable {
    public var roleDefinitionId: String
    public var scope: String

    public init(roleDefinitionId: String, scope: String) {
        self.roleDefinitionId = roleDefinitionId
        self.scope = scope
    }
}

/// Thresholds shared by the expiry checks.
public struct ExpiryThresholds: Sendable, Equatable {
    public var warningDays: Int
    public var criticalDays: Int

    public init(warningDays: Int, criticalDays: Int) {
        self.warningDays = warningDays
        self.criticalDays = criticalDays
    }

    public init(_ alerts: AlertSettings) {
        self.init(warningDays: alerts.warningDays, criticalDays: alerts.criticalDays)
    }

    /// ok / warning / critical for a number of days left (negative: expired).
    public func status(daysLeft: Int) -> CheckStatus {
        if daysLeft <= criticalDays || daysLeft < 0 { return .critical }
        if daysLeft <= warningDays { return .warning }
        return .ok
    }
}

enum Format {
    /// `9 Dec 2026` (UTC).
    static func day(_ d: Date) -> String {
        CivilTime(d).dayMonthYear
    }

    /// `2026-12-09T00:00:00Z`
    static func iso(_ d: Date) -> String {
        CivilTime(d).rfc3339
    }

    /// "in 12 days", "today", "3 days ago".
    static func relative(daysLeft: Int) -> String {
        switch daysLeft {
        case 0: "today"
        case 1: "in 1 day"
        case 2...: "in \(daysLeft) days"
        case -1: "1 day ago"
        default: "\(-daysLeft) days ago"
        }
    }
}

extension ObservedFailure {
    /// The result a check reports when it cannot run or its fetch failed: `unknown`
    /// for transient trouble or a blocking failure (SPEC §3: the blocking check's reason,
    /// not a guess).
    func unknownResult(_ check: CheckKind, what: String, now: Date, blocked: Bool) -> CheckResult {
        let summary = blocked ? "not checked: \(message)" : "\(what) could not be read: \(message)"
        return CheckResult(
            check: check, status: .unknown, reason: reason, summary: summary, details: details,
            remediation: blocked ? "fix the failing credential check first" : "", checkedAt: now)
    }
}
