import Foundation

/// `GET /v1/status` and `connwatchctl status --json` (SPEC §7). Field names are API.
public struct StatusReport: Sendable, Codable, Equatable {
    public static let currentSchemaVersion = 1
    public var schemaVersion: Int = StatusReport.currentSchemaVersion
    public var daemon: DaemonInfo
    public var connectors: [ConnectorStatus]
    /// One per `[[tenant]]` observer (SPEC §3b); absent when none is configured, so
    /// the reply of a daemon without observers is unchanged.
    public var observers: [ObserverStatus]?

    public init(daemon: DaemonInfo, connectors: [ConnectorStatus]) {
        self.daemon = daemon
        self.connectors = connectors
    }

    public init(daemon: DaemonInfo, connectors: [ConnectorStatus], observers: [ObserverStatus]?) {
        self.daemon = daemon
        self.connectors = connectors
        self.observers = observers
    }

    /// One per `[[email]]` sink: its digest schedule, when the next digest is due and when the
    /// last one went out. Absent when no sink is configured (the reply is then unchanged).
    public var emails: [EmailStatus]?

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case daemon, connectors, observers, emails
    }

    /// An `[[email]]` sink in `status --json`.
    public struct EmailStatus: Sendable, Codable, Equatable {
        public var name: String
        /// `off`, `daily at 08:00` or `weekly on Mon at 08:00` (local time).
        public var digest: String
        /// The next scheduled digest; absent when the digest is off.
        public var nextDigestAt: Date?
        /// When the sink's latest scheduled digest was accepted by the server; absent before the first.
        public var lastDigestAt: Date?

        public init(name: String, digest: String, nextDigestAt: Date?, lastDigestAt: Date?) {
            self.name = name
            self.digest = digest
            self.nextDigestAt = nextDigestAt
            self.lastDigestAt = lastDigestAt
        }

        enum CodingKeys: String, CodingKey {
            case name, digest
            case nextDigestAt = "next_digest_at"
            case lastDigestAt = "last_digest_at"
        }
    }

    /// A tenant's observer as `status --json` shows it (SPEC §3b): its ``ObserverCheck`` result.
    public struct ObserverStatus: Sendable, Codable, Equatable {
        public var tenantId: String
        public var clientId: String
        public var status: CheckStatus
        public var reason: Reason
        public var summary: String
        public var checkedAt: Date?
        /// When its own certificate or secret expires, when known.
        public var expiresAt: Date?

        /// Not checked yet: `unknown` / `pending`, as for a connector.
        public init(tenantId: String, clientId: String, result: CheckResult?) {
            self.tenantId = tenantId
            self.clientId = clientId
            status = result?.status ?? .unknown
            reason = result?.reason ?? .pending
            summary = result?.summary ?? "not checked yet"
            checkedAt = result?.checkedAt
            expiresAt = result?.expiry?.expiresAt
        }

        enum CodingKeys: String, CodingKey {
            case status, reason, summary
            case tenantId = "tenant_id"
            case clientId = "client_id"
            case checkedAt = "checked_at"
            case expiresAt = "expires_at"
        }
    }

    public struct DaemonInfo: Sendable, Codable, Equatable {
        public var version: String
        public var startedAt: Date
        public var lastCycleAt: Date?
        /// Whether the history database is being written (absent from replies of daemons
        /// that predate it).
        public var history: HistoryWriting?

        public init(version: String, startedAt: Date, lastCycleAt: Date?, history: HistoryWriting? = nil) {
            self.version = version
            self.startedAt = startedAt
            self.lastCycleAt = lastCycleAt
            self.history = history
        }

        enum CodingKeys: String, CodingKey {
            case version, history
            case startedAt = "started_at"
            case lastCycleAt = "last_cycle_at"
        }
    }

    /// `daemon.history`: a full file system or an I/O error stops the history database's
    /// commits; checks, alerts in the journal and status go on from memory, and what was not
    /// written is retried. An operator must see that, or a gap in history looks like calm.
    public struct HistoryWriting: Sendable, Codable, Equatable {
        public var writing: Bool
        /// When the first commit of the current outage failed.
        public var since: Date?
        /// Why, in a few words (`disk full`, `I/O error`, or SQLite's message).
        public var error: String?

        public init(writing: Bool, since: Date? = nil, error: String? = nil) {
            self.writing = writing
            self.since = since
            self.error = error
        }
    }

    public struct ConnectorStatus: Sendable, Codable, Equatable {
        public var name: String
        public var kind: ConnectorKind
        public var tenantId: String
        public var clientId: String
        public var labels: [String: String]
        public var status: CheckStatus
        public var reason: Reason
        public var summary: String
        public var checkedAt: Date?
        public var checks: [CheckResult]
        /// What status should know beyond the checks: a check that is absent and why (MIP
        /// has no zscaler check), a refresh interval stretched by a rate budget. Absent
        /// when empty.
        public var notes: [String]?

        enum CodingKeys: String, CodingKey {
            case name, kind, labels, status, reason, summary, checks, notes
            case tenantId = "tenant_id"
            case clientId = "client_id"
            case checkedAt = "checked_at"
        }

        /// The connector's status is the worst of its checks' (SPEC §3); its reason and
        /// summary are that check's. No results yet: `unknown` / `pending`. When Zscaler's
        /// verdict is as bad as the worst and explained by an Entra-side finding, it is
        /// the one shown: its summary names both sides.
        public init(identity: ConnectorIdentity, checks: [CheckResult], notes: [String] = []) {
            name = identity.name
            kind = identity.kind
            tenantId = identity.tenantId
            clientId = identity.clientId
            labels = identity.labels
            self.checks = checks
            self.notes = notes.isEmpty ? nil : notes
            if var worst = checks.max(by: { $0.status < $1.status }) {
                if let z = checks.first(where: { $0.check == .zscaler }), z.status == worst.status,
                    z.details["explained_by"] != nil
                {
                    worst = z
                }
                status = worst.status
                reason = worst.reason
                summary =
                    worst.status == .ok
                    ? "all \(checks.count) checks ok"
                    : worst.check == .zscaler ? worst.summary : "\(worst.check): \(worst.summary)"
                checkedAt = checks.map(\.checkedAt).max()
            } else {
                status = .unknown
                reason = .pending
                summary = "not checked yet"
                checkedAt = nil
            }
        }
    }

    /// Worst connector status (ok when there are none).
    public var worstStatus: CheckStatus { CheckStatus.worst(connectors.map(\.status)) }

    /// "12 connectors: 9 ok, 2 warning, 1 critical" — the sd_notify STATUS= line's head.
    public var countsLine: String {
        var parts: [String] = []
        for s in [CheckStatus.ok, .warning, .unknown, .critical] {
            let n = connectors.filter { $0.status == s }.count
            if n > 0 { parts.append("\(n) \(s)") }
        }
        let n = connectors.count
        return "\(n) connector\(n == 1 ? "" : "s")" + (parts.isEmpty ? "" : ": " + parts.joined(separator: ", "))
    }

    // MARK: JSON

    public static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(RFC3339.string(date))
        }
        return e
    }()

    public static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .custom { decoder in
            let s = try decoder.singleValueContainer().decode(String.self)
            guard let date = RFC3339.date(s) else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: decoder.codingPath, debugDescription: "not RFC 3339: \(s)"))
            }
            return date
        }
        return d
    }()

    // MARK: Text

    /// The human table: one line per connector.
    public func table(now: Date) -> String {
        var t = TextTable(headers: Self.tableHeaders)
        for c in connectors { t.append(Self.tableRow(c, now: now)) }
        return t.render()
    }

    public static let tableHeaders = ["NAME", "KIND", "STATUS", "REASON", "CHECKED", "SUMMARY"]

    /// The observers' table `connwatchd --once` prints above the connectors (SPEC §3b):
    /// nil when no `[[tenant]]` is configured.
    public func observerTable(now: Date) -> TextTable? {
        guard let observers, !observers.isEmpty else { return nil }
        var t = TextTable(headers: ["OBSERVER (TENANT)", "CLIENT", "STATUS", "REASON", "CHECKED", "SUMMARY"])
        for o in observers {
            t.append([
                o.tenantId, o.clientId, o.status.rawValue, o.reason.rawValue,
                o.checkedAt.map { HumanTime.age(from: $0, to: now) } ?? "never",
                o.summary.count > 110 ? String(o.summary.prefix(109)) + "…" : o.summary,
            ])
        }
        return t
    }

    /// One connector's line of ``table(now:)``.
    public static func tableRow(_ c: ConnectorStatus, now: Date) -> [String] {
        [
            c.name, c.kind.rawValue, c.status.rawValue, c.reason.rawValue,
            c.checkedAt.map { HumanTime.age(from: $0, to: now) } ?? "never",
            c.summary.count > 110 ? String(c.summary.prefix(109)) + "…" : c.summary,
        ]
    }
}

/// RFC 3339 UTC with whole seconds: `2026-11-29T06:32:07Z`. Integer arithmetic
/// (`CivilTime`), not `ISO8601DateFormatter`: a status of 10,000 connectors holds ~60,000
/// timestamps.
public enum RFC3339 {
    public static func string(_ d: Date) -> String {
        CivilTime(d).rfc3339
    }

    /// Accepts a `Z` or `±HH:MM` offset and fractional seconds.
    public static func date(_ s: String) -> Date? {
        CivilTime.parseTimestamp(s)
    }
}

/// Ages and durations in human units.
public enum HumanTime {
    /// "just now", "5m ago", "3h ago", "2d ago".
    public static func age(from then: Date, to now: Date) -> String {
        let s = Int(now.timeIntervalSince(then))
        if s < 60 { return s < 5 ? "just now" : "\(s)s ago" }
        if s < 3600 { return "\(s / 60)m ago" }
        if s < 86400 { return "\(s / 3600)h ago" }
        return "\(s / 86400)d ago"
    }
}
