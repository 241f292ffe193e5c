/// The validated configuration model (SPEC §4). Built by `ConnwatchConfig.ConfigLoader`
/// from TOML; every value here has passed validation and every secret is resolved.
public struct Configuration: Sendable {
    public var daemon: DaemonSettings
    public var cloud: CloudSettings
    public var alerts: AlertSettings
    public var webhooks: [WebhookConfig]
    public var connectors: [ConnectorConfig]
    /// `[[tenant]]`: observers, at most one per Entra tenant (SPEC §3b).
    public var tenants: [TenantConfig]
    /// `[zscaler]`: nil when Zscaler's own verdict is not read (no `zscaler` check).
    public var zscaler: ZscalerSettings?
    /// `[[email]]` sinks (SPEC §5).
    public var emails: [EmailConfig] = []

    public init(
        daemon: DaemonSettings = .init(), cloud: CloudSettings = .init(), alerts: AlertSettings = .init(),
        webhooks: [WebhookConfig] = [], connectors: [ConnectorConfig] = [], tenants: [TenantConfig] = [],
        zscaler: ZscalerSettings? = nil
    ) {
        self.daemon = daemon
        self.cloud = cloud
        self.alerts = alerts
        self.webhooks = webhooks
        self.connectors = connectors
        self.tenants = tenants
        self.zscaler = zscaler
    }
}

/// `[zscaler]`: OneAPI client credentials for the ZIA SaaS Security API
/// (microsoft-facts §3.1–3.2). Read-only use: connwatch never writes to ZIA.
public struct ZscalerSettings: Sendable, Equatable {
    /// OneAPI requires this audience on every token request; it is not configurable.
    public static let audience = "https://api.zscaler.com"

    /// `https://{vanity}.zslogin.net/oauth2/v1/token`
    public var tokenEndpoint: String
    /// `https://api.zsapi.net/zia/api/v1` (no trailing slash).
    public var apiBase: String
    /// The OneAPI (ZIdentity) API client's ID.
    public var clientId: String
    public var clientSecret: Secret
    /// A tenant whose last validation by Zscaler is older than this is a `warning`.
    public var maxValidationAge: ConfigDuration = .days(7)
    public var source: SourceLocation

    public init(
        tokenEndpoint: String, apiBase: String, clientId: String, clientSecret: Secret, source: SourceLocation
    ) {
        self.tokenEndpoint = tokenEndpoint
        self.apiBase = apiBase
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.source = source
    }
}

/// Where a value came from, for error messages and `--check-config` output.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int?

    public init(file: String, line: Int? = nil) {
        self.file = file
        self.line = line
    }

    public var description: String { line.map { "\(file):\($0)" } ?? file }
}

/// `[daemon]`
public struct DaemonSettings: Sendable, Equatable {
    public static let defaultSocket = "/run/connwatch/connwatch.sock"
    public static let defaultDatabase = "/var/lib/connwatch/connwatch.sqlite"

    public var checkInterval: ConfigDuration = .hours(1)
    public var concurrency: Int = 16
    /// nil: `$STATE_DIRECTORY/connwatch.sqlite`, else ``defaultDatabase``.
    public var database: String?
    public var socket: String = DaemonSettings.defaultSocket
    /// Group owning the control socket (mode 0660).
    public var socketGroup: String = "connwatch"
    public var historyRetention: ConfigDuration = .days(400)
    public var caFile: String?
    /// nil: `HTTPS_PROXY` / `https_proxy` from the environment. An `http://` URL without
    /// credentials (those come from ``proxyCredentials``).
    public var proxy: String?
    /// `user:password` for the proxy's Basic authentication, from `proxy_credential` /
    /// `proxy_file`: never in the (world-readable) configuration or the environment.
    public var proxyCredentials: Secret?
    /// Hosts reached without the proxy (`"*"`, `host`, `.domain`, an IP, each with an
    /// optional `:port`); nil: `NO_PROXY` / `no_proxy` from the environment.
    public var noProxy: [String]?
    /// Users, and `@groups`, allowed to mutate over the socket besides root and the daemon's uid.
    public var operators: [String] = []
    /// Consecutive transient failures before a check turns `unknown`.
    public var failureThreshold: Int = 3

    public init() {}

    /// The database path given the environment's `STATE_DIRECTORY` (SPEC §1).
    public func databasePath(stateDirectory: String?) -> String {
        if let database { return database }
        if let dir = stateDirectory?.split(separator: ":").first, !dir.isEmpty {
            return String(dir) + "/connwatch.sqlite"
        }
        return DaemonSettings.defaultDatabase
    }
}

/// The Microsoft cloud a connector lives in. Presets give endpoints; `[cloud]` keys
/// override the endpoints only, never the token scopes (SPEC §4).
public enum CloudName: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case global
    case usgov
    case china

    public var description: String { rawValue }

    /// Base URLs of the national cloud (Microsoft's "national cloud deployments" table;
    /// usgov is GCC High).
    public var defaultEndpoints: CloudEndpoints {
        switch self {
        case .global:
            CloudEndpoints(
                login: "https://login.microsoftonline.com", graph: "https://graph.microsoft.com",
                management: "https://management.azure.com", officeManagement: "https://manage.office.com")
        case .usgov:
            CloudEndpoints(
                login: "https://login.microsoftonline.us", graph: "https://graph.microsoft.us",
                management: "https://management.usgovcloudapi.net", officeManagement: "https://manage.office365.us")
        case .china:
            CloudEndpoints(
                login: "https://login.chinacloudapi.cn", graph: "https://microsoftgraph.chinacloudapi.cn",
                management: "https://management.chinacloudapi.cn", officeManagement: "https://manage.office.cn")
        }
    }
}

public struct CloudEndpoints: Sendable, Equatable {
    public var login: String
    public var graph: String
    public var management: String
    public var officeManagement: String
    /// SharePoint REST is served by each tenant's own host (`https://contoso.sharepoint.com`).
    /// When set, requests go to `<sharePoint>/<host>/…` instead — for a proxy or the simulator.
    public var sharePoint: String?

    public init(login: String, graph: String, management: String, officeManagement: String, sharePoint: String? = nil) {
        self.login = login
        self.graph = graph
        self.management = management
        self.officeManagement = officeManagement
        self.sharePoint = sharePoint
    }

    /// Base URL of a tenant's SharePoint REST API.
    public func sharePointBase(host: String) -> String {
        if let sharePoint { return "\(sharePoint)/\(host)" }
        return "https://\(host)"
    }
}

/// `[cloud]`
public struct CloudSettings: Sendable, Equatable {
    public var name: CloudName = .global
    public var endpoints: CloudEndpoints = CloudName.global.defaultEndpoints

    public init() {}

    public init(name: CloudName, endpoints: CloudEndpoints? = nil) {
        self.name = name
        self.endpoints = endpoints ?? name.defaultEndpoints
    }
}

/// `[alerts]`
public struct AlertSettings: Sendable, Equatable {
    public var warningDays: Int = 30
    public var criticalDays: Int = 7
    /// Descending, distinct, ≥ 0: one notification per step crossed.
    public var ladderDays: [Int] = [60, 30, 14, 7, 3, 1, 0]
    public var repeatCritical: ConfigDuration = .hours(24)
    public var sendResolved: Bool = true

    public init() {}
}

public enum WebhookFormat: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case standard
    case slack
    case teams

    public var description: String { rawValue }
}

/// `[[webhook]]`
public struct WebhookConfig: Sendable {
    public var name: String
    /// The endpoint. A Secret, because Slack and Teams URLs carry a token.
    public var url: Secret
    /// Standard Webhooks keys (`whsec_…`); several during a key rotation, all signatures sent.
    public var signingSecrets: [Secret]
    public var format: WebhookFormat = .standard
    public var minSeverity: Severity = .warning
    /// Only these connectors (empty: all).
    public var connectors: [String] = []
    /// Only connectors carrying all of these labels (empty: all).
    public var labels: [String: String] = [:]
    public var timeout: ConfigDuration = .seconds(15)
    public var source: SourceLocation

    public init(name: String, url: Secret, signingSecrets: [Secret] = [], source: SourceLocation) {
        self.name = name
        self.url = url
        self.signingSecrets = signingSecrets
        self.source = source
    }
}

/// A calendar date without time (`secret_expires = "2027-05-01"`), taken as 00:00 UTC.
public struct CalendarDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    public init?(year: Int, month: Int, day: Int) {
        guard (1970...9999).contains(year), (1...12).contains(month) else { return nil }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard (1...days).contains(day) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses exactly `YYYY-MM-DD`.
    public init?(parsing s: String) {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.map(\.count) == [4, 2, 2], parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2])
        else { return nil }
        self.init(year: y, month: m, day: d)
    }

    public var description: String {
        func pad(_ n: Int, _ w: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    /// Days since 1970-01-01 (proleptic Gregorian).
    public var daysSinceEpoch: Int {
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// Seconds since the Unix epoch at 00:00 UTC of this date.
    public var unixTime: Int64 { Int64(daysSinceEpoch) * 86400 }

    public static func < (lhs: CalendarDate, rhs: CalendarDate) -> Bool { lhs.daysSinceEpoch < rhs.daysSinceEpoch }
}

/// `[[connector]]`
///
/// The settings only some kinds use live in one shared, immutable box that is absent when
/// none is set: 112 bytes a connector instead of 224, which a 10,000-connector
/// configuration holds more than once (the loaded configuration, the scheduler's table).
public struct ConnectorConfig: Sendable {
    public var name: String
    /// Directory (tenant) ID: a GUID or a verified domain.
    public var tenantId: String
    /// Application (client) ID.
    public var clientId: String
    /// nil: the connector is *observed* (SPEC §3b) — connwatch holds no secret of its
    /// own and its tenant's `[[tenant]]` observer checks it.
    public var clientSecret: Secret?
    public var labels: [String: String] = [:]
    private var optional: OptionalSettings.Box?
    public var source: SourceLocation
    public var kind: ConnectorKind

    public init(
        name: String, kind: ConnectorKind, tenantId: String, clientId: String, clientSecret: Secret?,
        source: SourceLocation
    ) {
        self.name = name
        self.kind = kind
        self.tenantId = tenantId
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.source = source
    }

    /// The operator's record of the secret's expiry, used when Graph cannot tell.
    public var secretExpires: CalendarDate? { get { self[\.secretExpires] } set { self[\.secretExpires] = newValue } }
    /// SharePoint only: the reference step 5 key file (private key + certificate).
    public var keyFile: String? { get { self[\.keyFile] } set { self[\.keyFile] = newValue } }
    /// SharePoint only: e.g. `contoso.sharepoint.com`.
    public var sharePointHost: String? { get { self[\.sharePointHost] } set { self[\.sharePointHost] = newValue } }
    /// azure-blob only: where the two storage roles must be assigned.
    public var subscriptionId: String? { get { self[\.subscriptionId] } set { self[\.subscriptionId] = newValue } }
    /// The redirect URI registered on the app, for `consent-url`.
    public var redirectURI: String? { get { self[\.redirectURI] } set { self[\.redirectURI] = newValue } }
    /// The Zscaler SaaS tenant ID (`casbTenant` `tenantId`) this connector authorizes;
    /// nil: matched from `GET /casbTenant/lite` by the Entra tenant ID.
    public var zscalerTenantId: Int? { get { self[\.zscalerTenantId] } set { self[\.zscalerTenantId] = newValue } }

    /// One optional setting, read from the box or written into a new one.
    private subscript<Value>(setting: WritableKeyPath<OptionalSettings, Value?>) -> Value? {
        get { optional?.settings[keyPath: setting] }
        set { update { $0[keyPath: setting] = newValue } }
    }

    /// A new box for every change (they happen while the configuration is read), none when
    /// nothing is set: copies of a connector share it.
    private mutating func update(_ change: (inout OptionalSettings) -> Void) {
        var settings = optional?.settings ?? OptionalSettings()
        change(&settings)
        optional = settings.isEmpty ? nil : OptionalSettings.Box(settings)
    }

    private struct OptionalSettings: Sendable {
        var secretExpires: CalendarDate?
        var keyFile: String?
        var sharePointHost: String?
        var subscriptionId: String?
        var redirectURI: String?
        var zscalerTenantId: Int?

        var isEmpty: Bool {
            secretExpires == nil && keyFile == nil && sharePointHost == nil && subscriptionId == nil
                && redirectURI == nil && zscalerTenantId == nil
        }

        final class Box: Sendable {
            let settings: OptionalSettings
            init(_ settings: OptionalSettings) { self.settings = settings }
        }
    }

    public var requirements: KindRequirements { PermissionCatalog.requirements(for: kind) }

    /// True when connwatch holds no secret for the connector: only its tenant's observer
    /// can check it (SPEC §3b).
    public var isObserved: Bool { clientSecret == nil }
}
