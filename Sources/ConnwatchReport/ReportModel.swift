import ConnwatchCore
import Foundation

/// Everything the report shows (SPEC §5 "Report"; issue 20 point 7), gathered once and then
/// rendered twice: as one self-contained HTML page (``ReportRenderer/html(_:)``: the page
/// `connwatchctl report --html` writes and the digest mail's HTML part) and as plain text
/// (``ReportRenderer/text(_:)``: what `connwatchctl report` prints and the digest's text
/// part). A value, so the renderers are pure and tested on a fixed model.
///
/// Strings in it that came from Microsoft, Zscaler or the configuration (display names,
/// summaries, reasons, labels, credential hints) are kept as they came: the renderers escape
/// them for their output. No secret value is ever in it: credentials are named by their
/// Entra `keyId` or certificate thumbprint and the secret's hint (its first characters,
/// which Entra shows anyone who can read the app).
public struct ReportModel: Sendable, Equatable {
    /// When the report was made: "today" on the timeline and the last day of the strips.
    public var generatedAt: Date
    /// How far the expiry timeline looks ahead, in days (`--days`, 1…3650).
    public var horizonDays: Int
    /// The time zone days are counted in (the daemon's): the strips' local days and the dates shown.
    public var timeZoneIdentifier: String
    /// `[alerts] warning_days` / `critical_days`: the timeline's shaded zones, what "expiring" means.
    public var warningDays: Int
    public var criticalDays: Int
    /// The first instant of each local day of the status strips, oldest first (30 days, today last).
    public var stripDays: [Date]
    public var tenants: [Tenant]
    /// Changes since ``changesSince``, oldest first; nil: the report was not asked for them.
    public var changesSince: Date?
    public var changes: [Change]

    public init(
        generatedAt: Date, horizonDays: Int, timeZoneIdentifier: String, warningDays: Int = 30,
        criticalDays: Int = 7, stripDays: [Date], tenants: [Tenant], changesSince: Date? = nil,
        changes: [Change] = []
    ) {
        self.generatedAt = generatedAt
        self.horizonDays = horizonDays
        self.timeZoneIdentifier = timeZoneIdentifier
        self.warningDays = warningDays
        self.criticalDays = criticalDays
        self.stripDays = stripDays
        self.tenants = tenants
        self.changesSince = changesSince
        self.changes = changes
    }

    /// One Entra tenant: the connectors registered in it, its observer when one is configured.
    public struct Tenant: Sendable, Equatable {
        public var tenantId: String
        /// The tenant's name as Microsoft gives it (untrusted), when known.
        public var displayName: String?
        /// Its primary domain, when known.
        public var domain: String?
        /// Whether a `[[tenant]]` observer watches it (SPEC §3b).
        public var observed: Bool
        /// Its connectors by name; the observer's own row (kind `observer`) first when observed.
        public var connectors: [Connector]
        /// The credentials in use, soonest expiry first: one timeline row each.
        public var credentials: [Credential]

        public init(
            tenantId: String, displayName: String? = nil, domain: String? = nil, observed: Bool,
            connectors: [Connector], credentials: [Credential]
        ) {
            self.tenantId = tenantId
            self.displayName = displayName
            self.domain = domain
            self.observed = observed
            self.connectors = connectors
            self.credentials = credentials
        }
    }

    /// A connector (or a tenant's observer) as it stands now.
    public struct Connector: Sendable, Equatable {
        public var name: String
        /// The connector kind, or `observer` for a tenant's observer.
        public var kind: String
        public var status: CheckStatus
        /// The reason code of the worst check (`pending` before the first check).
        public var reason: String
        public var summary: String
        /// What to do: the remediations of the checks that are not ok, worst first; empty when all is well.
        public var remediation: String
        public var labels: [String: String]
        /// The worst status of each day of ``ReportModel/stripDays``; nil: no data that day.
        public var days: [CheckStatus?]

        public init(
            name: String, kind: String, status: CheckStatus, reason: String, summary: String, remediation: String,
            labels: [String: String] = [:], days: [CheckStatus?]
        ) {
            self.name = name
            self.kind = kind
            self.status = status
            self.reason = reason
            self.summary = summary
            self.remediation = remediation
            self.labels = labels
            self.days = days
        }
    }

    /// A credential in use and when it expires. Never its value.
    public struct Credential: Sendable, Equatable {
        public enum Which: String, Sendable, Equatable, CaseIterable {
            /// The client secret the connector authenticates with (`secret_expiry`).
            case secret
            /// The SharePoint connector's certificate (`certificate`).
            case certificate
            /// A `[[tenant]]` observer's own certificate or secret (`observer`).
            case observer
        }

        /// The connector (or observer name `observer:<tenant>`) that uses it.
        public var connector: String
        public var which: Which
        /// Entra `keyId` of the secret, or the certificate's SHA-1 thumbprint.
        public var credentialId: String
        /// The secret's hint (its first three characters as Entra shows them), when known.
        public var hint: String?
        public var expiresAt: Date
        /// What the expiry check says now.
        public var status: CheckStatus

        public init(
            connector: String, which: Which, credentialId: String, hint: String? = nil, expiresAt: Date,
            status: CheckStatus
        ) {
            self.connector = connector
            self.which = which
            self.credentialId = credentialId
            self.hint = hint
            self.expiresAt = expiresAt
            self.status = status
        }

        /// Whole days left at `now`, rounded down; negative once expired.
        public func daysLeft(at now: Date) -> Int {
            CredentialExpiry(credentialId: credentialId, expiresAt: expiresAt).daysLeft(at: now)
        }
    }

    /// A status change: of a connector (``check`` nil) or of one of its checks.
    public struct Change: Sendable, Equatable {
        public var connector: String
        public var check: String?
        /// nil: the first status recorded.
        public var from: CheckStatus?
        public var to: CheckStatus
        public var reason: String
        public var at: Date

        public init(connector: String, check: String?, from: CheckStatus?, to: CheckStatus, reason: String, at: Date) {
            self.connector = connector
            self.check = check
            self.from = from
            self.to = to
            self.reason = reason
            self.at = at
        }
    }

    /// The time zone of ``timeZoneIdentifier`` (UTC when the identifier is unknown).
    public var timeZone: TimeZone { TimeZone(identifier: timeZoneIdentifier) ?? TimeZone(identifier: "UTC")! }

    /// Every credential of every tenant.
    public var allCredentials: [Credential] { tenants.flatMap(\.credentials) }
}
