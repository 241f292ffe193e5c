import ConnwatchCore
import Foundation
import GRDB

/// Turning rows back into Core values.
enum StoreDecoding {
    static func enumValue<T: RawRepresentable>(
        _ type: T.Type, _ raw: String, table: String, column: String
    ) throws
        -> T where T.RawValue == String
    {
        guard let value = T(rawValue: raw) else {
            throw StoreError.unreadableRow(table: table, detail: "\(column) '\(raw)' is unknown to this version")
        }
        return value
    }

    static func json(_ text: String, table: String, column: String) throws -> [String: JSONValue] {
        do {
            return try CompactJSON.parseObject(text)
        } catch {
            throw StoreError.unreadableRow(table: table, detail: "\(column): \(error)")
        }
    }

    static func result(
        table: String, check: CheckKind, status: String, reason: String, summary: String, details: String,
        remediation: String, credentialId: String?, expiresAt: Int64?, checkedAt: Int64
    ) throws -> CheckResult {
        var expiry: CredentialExpiry?
        if let credentialId, let expiresAt {
            expiry = CredentialExpiry(credentialId: credentialId, expiresAt: Date(ms: expiresAt))
        }
        return CheckResult(
            check: check, status: try enumValue(CheckStatus.self, status, table: table, column: "status"),
            reason: try enumValue(Reason.self, reason, table: table, column: "reason"), summary: summary,
            details: try json(details, table: table, column: "details"), remediation: remediation,
            checkedAt: Date(ms: checkedAt), expiry: expiry)
    }

    /// The columns of a latest row, in the order ``latest(_:at:)`` reads them.
    static let latestColumns = """
        l.connector, l.check_kind, l.status, l.reason, l.summary, l.details, l.remediation, l.expiry_credential_id,
        l.expires_at, l.checked_at, l.changed_at, l.consecutive_failures, l.last_ok_at, l.last_good
        """

    static func latest(_ s: RawStatement, at i: Int32) throws -> LatestResult {
        let check = try enumValue(CheckKind.self, s.string(i + 1), table: "latest_result", column: "check_kind")
        let result = try self.result(
            table: "latest_result", check: check, status: s.string(i + 2), reason: s.string(i + 3),
            summary: s.string(i + 4), details: s.string(i + 5), remediation: s.string(i + 6),
            credentialId: s.optionalString(i + 7), expiresAt: s.optionalInt64(i + 8), checkedAt: s.int64(i + 9))
        let lastGood: CheckResult?
        if result.status == .ok {
            lastGood = result
        } else if let text = s.optionalString(i + 13) {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .millisecondsSince1970
            do {
                lastGood = try decoder.decode(CheckResult.self, from: Data(text.utf8))
            } catch {
                throw StoreError.unreadableRow(table: "latest_result", detail: "last_good: \(error)")
            }
        } else {
            lastGood = nil
        }
        return LatestResult(
            connector: s.string(i), result: result, consecutiveFailures: Int(s.int64(i + 11)),
            changedAt: Date(ms: s.int64(i + 10)), lastOkAt: s.optionalInt64(i + 12).map(Date.init(ms:)),
            lastGood: lastGood)
    }

    static let connectorColumns =
        "c.name, c.kind, c.tenant_id, c.client_id, c.labels, c.status, c.first_seen, c.last_seen, c.removed_at"

    static func connector(_ s: RawStatement) throws -> StoredConnector {
        let labels: [String: String]
        let labelsText = s.string(4)
        do {
            labels = labelsText == "{}" ? [:] : try CompactJSON.parseStringObject(labelsText)
        } catch {
            throw StoreError.unreadableRow(table: "connector", detail: "labels: \(error)")
        }
        let identity = ConnectorIdentity(
            name: s.string(0), kind: try enumValue(ConnectorKind.self, s.string(1), table: "connector", column: "kind"),
            tenantId: s.string(2), clientId: s.string(3), labels: labels)
        return StoredConnector(
            identity: identity,
            status: try s.optionalString(5).map {
                try enumValue(CheckStatus.self, $0, table: "connector", column: "status")
            },
            firstSeen: Date(ms: s.int64(6)), lastSeen: Date(ms: s.int64(7)),
            removedAt: s.optionalInt64(8).map(Date.init(ms:)))
    }

    static func alertState(_ text: String) throws -> AlertState {
        do {
            return try JSONDecoder().decode(AlertState.self, from: Data(text.utf8))
        } catch {
            throw StoreError.unreadableRow(table: "alert_state", detail: "state: \(error)")
        }
    }

    static let notificationColumns = """
        id, alert_id, connector, check_kind, event_type, state, severity, status, reason, cause, ladder_days, summary,
        remediation, details, days_left, expires_at, missing_permissions, suppressed, body, created_at
        """

    static func notification(_ row: Row) throws -> StoredNotification {
        let t = "notification"
        let causeCode: String = row[9]
        guard let cause = NotificationCause(code: causeCode, ladderDays: row[10]) else {
            throw StoreError.unreadableRow(table: t, detail: "cause '\(causeCode)' is unknown to this version")
        }
        var missing: [String]?
        if let text = row[16] as String? {
            do {
                missing = try CompactJSON.parseStringArray(text)
            } catch {
                throw StoreError.unreadableRow(table: t, detail: "missing_permissions: \(error)")
            }
        }
        let n = AlertNotification(
            id: row[0], alertId: row[1], connector: row[2],
            check: try enumValue(CheckKind.self, row[3], table: t, column: "check_kind"),
            eventType: try enumValue(AlertEventType.self, row[4], table: t, column: "event_type"),
            state: try enumValue(AlertPhase.self, row[5], table: t, column: "state"),
            severity: try enumValue(Severity.self, row[6], table: t, column: "severity"),
            status: try enumValue(CheckStatus.self, row[7], table: t, column: "status"),
            reason: try enumValue(Reason.self, row[8], table: t, column: "reason"), summary: row[11],
            remediation: row[12], details: try json(row[13], table: t, column: "details"), daysLeft: row[14],
            expiresAt: (row[15] as Int64?).map(Date.init(ms:)), missingPermissions: missing, cause: cause,
            suppressed: row[17], createdAt: Date(ms: row[19]))
        let body: String = row[18]
        return StoredNotification(notification: n, body: Data(body.utf8))
    }
}

extension HistoryStore {
    /// Everything the daemon needs at start-up: connectors, latest results (with failure
    /// counters and last good results) and every alert state.
    public func loadState() async throws -> StoreSnapshot {
        try await read("loading state") { db in
            var connectors: [StoredConnector] = []
            let c = RawStatement(
                try db.makeStatement(sql: "SELECT \(StoreDecoding.connectorColumns) FROM connector c ORDER BY c.name"),
                in: db)
            while try c.step() { connectors.append(try StoreDecoding.connector(c)) }
            var latest: [AlertKey: LatestResult] = [:]
            let l = RawStatement(
                try db.makeStatement(sql: "SELECT \(StoreDecoding.latestColumns) FROM latest_result l"), in: db)
            while try l.step() {
                let entry = try StoreDecoding.latest(l, at: 0)
                latest[entry.key] = entry
            }
            var states: [AlertKey: AlertState] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT connector, check_kind, state FROM alert_state") {
                let check = try StoreDecoding.enumValue(
                    CheckKind.self, row[1], table: "alert_state", column: "check_kind")
                states[AlertKey(connector: row[0], check: check)] = try StoreDecoding.alertState(row[2])
            }
            return StoreSnapshot(connectors: connectors, latest: latest, alertStates: states)
        }
    }

    /// The stored identities (kind, tenant, client, labels as last configured) of the named
    /// connectors, removed ones included; a name never stored is absent. What a resolution of
    /// a connector that left the configuration is rendered and routed with: its incident
    /// was announced with these, so its end must carry them too.
    public func connectorIdentities(named names: Set<String>) async throws -> [String: ConnectorIdentity] {
        guard !names.isEmpty else { return [:] }
        let list = CompactJSON.string(names.sorted())
        return try await read("reading connector identities") { db in
            // One statement for any number of names: the list is bound as one JSON array.
            let s = RawStatement(
                try db.makeStatement(
                    sql: """
                        SELECT \(StoreDecoding.connectorColumns) FROM connector c
                        WHERE c.name IN (SELECT value FROM json_each(?1))
                        """), in: db)
            s.bind(1, list)
            var out: [String: ConnectorIdentity] = [:]
            while try s.step() {
                let identity = try StoreDecoding.connector(s).identity
                out[identity.name] = identity
            }
            return out
        }
    }

    /// What `/metrics` reports from the store, counted by SQLite in one read: the outbox
    /// holds every delivery ever made (up to a million rows and more), which are not loaded
    /// to be counted.
    public func counts(at now: Date) async throws -> StoreCounts {
        try await read("counting deliveries, alerts and silences") { db in
            var deliveries: [DeliveryStatus: Int] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT status, COUNT(*) FROM delivery WHERE status IN ('pending', 'delivering', 'dead', 'gone')
                    GROUP BY status
                    """)
            {
                let status = try StoreDecoding.enumValue(
                    DeliveryStatus.self, row[0], table: "delivery", column: "status")
                deliveries[status] = row[1]
            }
            // An incident counts once it has been announced (what `alerts` lists): a firing
            // state whose notification is recorded.
            let firing =
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT COUNT(DISTINCT a.alert_id) FROM alert_state a
                        WHERE a.firing = 1 AND EXISTS (SELECT 1 FROM notification n WHERE n.alert_id = a.alert_id)
                        """) ?? 0
            let silences =
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT COUNT(*) FROM silence WHERE removed_at IS NULL AND created_at <= ?1 AND expires_at > ?1
                        """, arguments: [now.ms]) ?? 0
            return StoreCounts(deliveries: deliveries, firingAlerts: firing, activeSilences: silences)
        }
    }

    /// Latest results of the configured connectors (or of one), ordered by name, checks
    /// in `CheckKind` order: `connwatchctl status`. One query walking two primary keys
    /// in step (no sort, no temporary table).
    public func status(connector: String? = nil) async throws -> [ConnectorLatest] {
        try await status(connector: connector, into: [ConnectorLatest]()) { $0.append($1) }
    }

    /// The same walk, one connector at a time: `accumulate` sees each connector as soon
    /// as its rows are read, so a caller that encodes as it goes (the socket's JSON
    /// response) never holds 10,000 connectors' results in memory at once.
    public func status<Accumulator: Sendable>(
        connector: String? = nil, into initial: Accumulator,
        _ accumulate: @escaping @Sendable (inout Accumulator, ConnectorLatest) throws -> Void
    ) async throws -> Accumulator {
        try await read("reading status") { db in
            let filter = connector == nil ? "c.removed_at IS NULL" : "c.name = ?1"
            let s = RawStatement(
                try db.makeStatement(
                    sql: """
                        SELECT \(StoreDecoding.connectorColumns), \(StoreDecoding.latestColumns)
                        FROM connector c LEFT JOIN latest_result l ON l.connector = c.name
                        WHERE \(filter)
                        ORDER BY c.name
                        """), in: db)
            if let connector { s.bind(1, connector) }
            var result = initial
            var current: ConnectorLatest?
            func flush() throws {
                guard var done = current else { return }
                done.checks.sort { $0.result.check.order < $1.result.check.order }
                try accumulate(&result, done)
                current = nil
            }
            while try s.step() {
                if current?.connector.identity.name != s.string(0) {
                    try flush()
                    current = ConnectorLatest(connector: try StoreDecoding.connector(s), checks: [])
                }
                if !s.isNull(9) {
                    current!.checks.append(try StoreDecoding.latest(s, at: 9))
                }
            }
            try flush()
            return result
        }
    }

    /// Results of `connector` that changed something, since `since`, oldest first.
    public func history(
        connector: String, since: Date = .distantPast, limit: Int = 1000
    ) async throws
        -> [HistoryEntry]
    {
        try await read("reading history") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, connector, check_kind, status, reason, summary, details, remediation,
                           expiry_credential_id, expires_at, checked_at
                    FROM result_history WHERE connector = ? AND checked_at >= ?
                    ORDER BY checked_at, id LIMIT ?
                    """, arguments: [connector, since.ms, limit]
            ).map { row in
                let check = try StoreDecoding.enumValue(
                    CheckKind.self, row[2], table: "result_history", column: "check_kind")
                return HistoryEntry(
                    id: row[0], connector: row[1],
                    result: try StoreDecoding.result(
                        table: "result_history", check: check, status: row[3], reason: row[4], summary: row[5],
                        details: row[6], remediation: row[7], credentialId: row[8], expiresAt: row[9],
                        checkedAt: row[10]))
            }
        }
    }

    /// Status transitions of `connector` (its own, `check == nil`, and its checks'), oldest first.
    public func transitions(
        connector: String, since: Date = .distantPast, limit: Int = 1000
    ) async throws
        -> [StatusTransition]
    {
        try await read("reading transitions") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, connector, check_kind, from_status, to_status, reason, at
                    FROM transition WHERE connector = ? AND at >= ? ORDER BY at, id LIMIT ?
                    """, arguments: [connector, since.ms, limit]
            ).map { row in
                let t = "transition"
                return StatusTransition(
                    id: row[0], connector: row[1],
                    check: try (row[2] as String?).map {
                        try StoreDecoding.enumValue(CheckKind.self, $0, table: t, column: "check_kind")
                    },
                    from: try (row[3] as String?).map {
                        try StoreDecoding.enumValue(CheckStatus.self, $0, table: t, column: "from_status")
                    },
                    to: try StoreDecoding.enumValue(CheckStatus.self, row[4], table: t, column: "to_status"),
                    reason: row[5], at: Date(ms: row[6]))
            }
        }
    }

    /// Notifications, newest first. Without `includeResolved`: the latest notification of
    /// each incident that is still firing (what `connwatchctl alerts` lists); with it:
    /// every notification since `since`.
    public func alerts(
        includeResolved: Bool, since: Date = .distantPast, limit: Int = 1000
    ) async throws
        -> [StoredNotification]
    {
        try await read("reading alerts") { db in
            let sql =
                includeResolved
                ? """
                SELECT \(StoreDecoding.notificationColumns) FROM notification
                WHERE created_at >= ? ORDER BY created_at DESC, rowid DESC LIMIT ?
                """
                : """
                SELECT \(StoreDecoding.notificationColumns) FROM notification n
                WHERE n.created_at >= ?
                  AND n.alert_id IN (SELECT alert_id FROM alert_state WHERE firing = 1)
                  AND n.rowid = (SELECT rowid FROM notification m WHERE m.alert_id = n.alert_id
                                 ORDER BY m.created_at DESC, m.rowid DESC LIMIT 1)
                ORDER BY n.created_at DESC, n.rowid DESC LIMIT ?
                """
            return try Row.fetchAll(db, sql: sql, arguments: [since.ms, limit]).map(StoreDecoding.notification)
        }
    }
}

extension CheckKind {
    /// Position in declaration order (the order checks are listed in).
    var order: Int {
        switch self {
        case .credential: 0
        case .secretExpiry: 1
        case .certificate: 2
        case .consent: 3
        case .roles: 4
        case .probe: 5
        case .zscaler: 6
        case .app: 7
        case .signin: 8
        case .observer: 9
        }
    }
}
