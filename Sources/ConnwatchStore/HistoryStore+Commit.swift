import ConnwatchCore
import Foundation
import GRDB

extension HistoryStore {
    /// Writes one batch in ONE transaction: connectors seen, latest results, history of
    /// changes, transitions, alert states, notifications and their deliveries. If any
    /// part fails, nothing of the batch is stored.
    ///    /// Cheap for unchanged results: a latest row whose content (status, reason, summary,
    /// details, remediation, expiry) is the same only gets its `checked_at`, failure
    /// counter and `last_ok_at` updated; no history row, no transition. Sameness is
    /// judged on a stored 64-bit hash of that content, and a connector whose checks are
    /// all unchanged costs two statements (its `last_seen`, one UPDATE for its checks).
    @discardableResult
    public func commit(_ batch: CycleBatch) async throws -> CommitSummary {
        try await write("committing a batch of \(batch.connectors.count) connectors") { db in
            var summary = CommitSummary()
            var commit = try BatchWriter(db: db, at: batch.at.ms)
            for cycle in batch.connectors {
                try commit.write(cycle, into: &summary)
            }
            try commit.writeAlertStates(batch.alertStates, forget: batch.forgetAlertStates, into: &summary)
            try commit.writeNotifications(batch.notifications, into: &summary)
            return summary
        }
    }

    /// Aligns the connector table with the configuration (start and reload): upserts the
    /// configured connectors (so that a new one shows as pending before its first check),
    /// marks the others removed, and drops latest rows of checks a connector no longer
    /// runs. Their history stays until ``prune(now:retention:)``.
    ///
    /// - Returns: names newly marked removed.
    @discardableResult
    public func syncConfiguredConnectors(_ connectors: [ConfiguredConnector], at: Date) async throws -> [String] {
        try await write("syncing configured connectors") { db in
            var writer = try BatchWriter(db: db, at: at.ms)
            for c in connectors {
                try writer.upsertConnector(c.identity)
                let planned = Set(c.checks.map(\.rawValue))
                let existing = try String.fetchAll(
                    db, sql: "SELECT check_kind FROM latest_result WHERE connector = ?", arguments: [c.identity.name])
                let dropped = existing.filter { !planned.contains($0) }
                for check in dropped {
                    try db.execute(
                        sql: "DELETE FROM latest_result WHERE connector = ? AND check_kind = ?",
                        arguments: [c.identity.name, check])
                }
                if !dropped.isEmpty {
                    var ignored = CommitSummary()
                    try writer.refreshConnectorStatus(c.identity.name, into: &ignored)
                }
            }
            // One set, not one per stored connector (quadratic: seconds at 10,000 connectors).
            let names = Set(connectors.map(\.identity.name))
            let stale = try String.fetchAll(db, sql: "SELECT name FROM connector WHERE removed_at IS NULL")
                .filter { !names.contains($0) }
            for name in stale {
                try db.execute(sql: "UPDATE connector SET removed_at = ? WHERE name = ?", arguments: [at.ms, name])
            }
            return stale
        }
    }
}

/// The statements a commit runs per connector and per result, prepared once per batch.
struct CommitStatements {
    let connectorUpsert: RawStatement
    let touch: RawStatement
    let selectPrior: RawStatement
    let upsertLatest: RawStatement
    let insertHistory: RawStatement
    let selectStatuses: RawStatement
    let insertTransition: RawStatement

    init(db: Database) throws {
        connectorUpsert = RawStatement(
            try db.cachedStatement(
                sql: """
                    INSERT INTO connector (name, kind, tenant_id, client_id, labels, first_seen, last_seen)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
                    ON CONFLICT (name) DO UPDATE SET
                        kind = excluded.kind, tenant_id = excluded.tenant_id, client_id = excluded.client_id,
                        labels = excluded.labels, last_seen = max(connector.last_seen, excluded.last_seen),
                        removed_at = NULL
                    """), in: db)
        touch = RawStatement(
            try db.cachedStatement(
                sql: """
                    UPDATE latest_result SET checked_at = ?1, consecutive_failures = ?2,
                        last_ok_at = CASE WHEN status = 'ok' THEN ?1 ELSE last_ok_at END
                    WHERE connector = ?3 AND check_kind = ?4 AND content_hash = ?5
                    """), in: db)
        selectPrior = RawStatement(
            try db.cachedStatement(
                sql: """
                    SELECT status, reason, summary, details, remediation, expiry_credential_id, expires_at,
                           checked_at, changed_at, last_ok_at, last_good
                    FROM latest_result WHERE connector = ?1 AND check_kind = ?2
                    """), in: db)
        upsertLatest = RawStatement(
            try db.cachedStatement(
                sql: """
                    INSERT INTO latest_result (connector, check_kind, status, reason, summary, details, remediation,
                        expiry_credential_id, expires_at, checked_at, changed_at, consecutive_failures, last_ok_at,
                        last_good, content_hash)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
                    ON CONFLICT (connector, check_kind) DO UPDATE SET
                        status = excluded.status, reason = excluded.reason, summary = excluded.summary,
                        details = excluded.details, remediation = excluded.remediation,
                        expiry_credential_id = excluded.expiry_credential_id, expires_at = excluded.expires_at,
                        checked_at = excluded.checked_at, changed_at = excluded.changed_at,
                        consecutive_failures = excluded.consecutive_failures, last_ok_at = excluded.last_ok_at,
                        last_good = excluded.last_good, content_hash = excluded.content_hash
                    """), in: db)
        insertHistory = RawStatement(
            try db.cachedStatement(
                sql: """
                    INSERT INTO result_history (connector, check_kind, status, reason, summary, details,
                        remediation, expiry_credential_id, expires_at, checked_at)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                    """), in: db)
        selectStatuses = RawStatement(
            try db.cachedStatement(
                sql: "SELECT check_kind, status, reason FROM latest_result WHERE connector = ?1"), in: db)
        insertTransition = RawStatement(
            try db.cachedStatement(
                sql: """
                    INSERT INTO transition (connector, check_kind, from_status, to_status, reason, at)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                    """), in: db)
    }
}

/// One commit's writes. Statements are prepared once per batch (and cached by GRDB across
/// batches), so 60,000 results cost 60,000 bound executions, not 60,000 compilations.
struct BatchWriter {
    let db: Database
    let at: Int64
    private let statements: CommitStatements
    /// `touchAll` statements by number of checks.
    private var touchAllStatements: [Int: RawStatement] = [:]
    private let stateEncoder: JSONEncoder
    private let resultEncoder: JSONEncoder

    init(db: Database, at: Int64) throws {
        self.db = db
        self.at = at
        statements = try CommitStatements(db: db)
        stateEncoder = JSONEncoder()
        stateEncoder.outputFormatting = [.sortedKeys]
        resultEncoder = JSONEncoder()
        resultEncoder.outputFormatting = [.sortedKeys]
        resultEncoder.dateEncodingStrategy = .millisecondsSince1970
    }

    /// Upserts a connector seen now.
    mutating func upsertConnector(_ identity: ConnectorIdentity) throws {
        let upsert = statements.connectorUpsert
        upsert.bind(1, identity.name)
        upsert.bind(2, identity.kind.rawValue)
        upsert.bind(3, identity.tenantId)
        upsert.bind(4, identity.clientId)
        upsert.bind(5, identity.labels.isEmpty ? "{}" : CompactJSON.string(identity.labels))
        upsert.bind(6, at)
        try upsert.run()
    }

    mutating func write(_ cycle: ConnectorCycle, into summary: inout CommitSummary) throws {
        let name = cycle.identity.name
        try upsertConnector(cycle.identity)
        let prepared = cycle.outcomes.map { outcome in
            let details = CompactJSON.string(outcome.result.details)
            return PreparedOutcome(
                outcome: outcome, details: details, hash: BatchWriter.contentHash(outcome.result, details: details))
        }
        guard !prepared.isEmpty else { return }
        let touched = try touchAll(connector: name, prepared)
        if touched == prepared.count {
            summary.unchanged += prepared.count
            return
        }
        var statusMayChange = false
        for p in prepared {
            // None touched (a first cycle, or every check changed): no single one can be
            // unchanged either, so each skips its own touch.
            if try writeLatest(connector: name, p, mayBeUnchanged: touched > 0, into: &summary) {
                statusMayChange = true
            }
        }
        if statusMayChange {
            try refreshConnectorStatus(name, into: &summary)
        }
    }

    /// One UPDATE for all of a connector's checks whose stored content hash matches (the
    /// usual case: nothing changed). Returns how many rows it touched.
    private mutating func touchAll(connector: String, _ prepared: [PreparedOutcome]) throws -> Int {
        let n = prepared.count
        let statement: RawStatement
        if let cached = touchAllStatements[n] {
            statement = cached
        } else {
            // CASE per column rather than UPDATE … FROM (VALUES …): SQLite runs the latter
            // as a join through a temporary table, measured 2.5 times slower here.
            func cases(_ offset: Int) -> String {
                "CASE check_kind "
                    + (0..<n).map { i in "WHEN ?\(4 * i + 2) THEN ?\(4 * i + 2 + offset)" }.joined(separator: " ")
                    + " END"
            }
            statement = RawStatement(
                try db.cachedStatement(
                    sql: """
                        UPDATE latest_result SET checked_at = \(cases(1)), consecutive_failures = \(cases(2)),
                            last_ok_at = CASE WHEN status = 'ok' THEN \(cases(1)) ELSE last_ok_at END
                        WHERE connector = ?1 AND content_hash = \(cases(3))
                        """), in: db)
            touchAllStatements[n] = statement
        }
        statement.bind(1, connector)
        for (i, p) in prepared.enumerated() {
            let base = Int32(4 * i + 2)
            statement.bind(base, p.outcome.result.check.rawValue)
            statement.bind(base + 1, p.outcome.result.checkedAt.ms)
            statement.bind(base + 2, p.outcome.consecutiveFailures)
            statement.bind(base + 3, p.hash)
        }
        try statement.run()
        return statement.changes
    }

    /// FNV-1a (64-bit) of what makes a result "the same": status, reason, summary,
    /// details, remediation and expiry, with separators. A collision (odds about 2⁻⁶⁴ per
    /// change) would only delay a content update until the result differs again.
    static func contentHash(_ r: CheckResult, details: String) -> Int64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func add(_ s: String) {
            for byte in s.utf8 {
                h ^= UInt64(byte)
                h &*= 0x0000_0100_0000_01B3
            }
            h ^= 0x1F
            h &*= 0x0000_0100_0000_01B3
        }
        add(r.status.rawValue)
        add(r.reason.rawValue)
        add(r.summary)
        add(details)
        add(r.remediation)
        add(r.expiry?.credentialId ?? "")
        add(r.expiry.map { String($0.expiresAt.ms) } ?? "")
        return Int64(bitPattern: h)
    }

    /// Upserts one latest row. Returns whether the check's status changed.
    private mutating func writeLatest(
        connector: String, _ prepared: PreparedOutcome, mayBeUnchanged: Bool, into summary: inout CommitSummary
    ) throws -> Bool {
        let outcome = prepared.outcome
        let r = outcome.result
        let details = prepared.details
        let checkedAt = r.checkedAt.ms
        // Unchanged after all (another check of its connector changed).
        if mayBeUnchanged {
            let touch = statements.touch
            touch.bind(1, checkedAt)
            touch.bind(2, outcome.consecutiveFailures)
            touch.bind(3, connector)
            touch.bind(4, r.check.rawValue)
            touch.bind(5, prepared.hash)
            try touch.run()
            if touch.changes == 1 {
                summary.unchanged += 1
                return false
            }
        }

        let select = statements.selectPrior
        select.bind(1, connector)
        select.bind(2, r.check.rawValue)
        let prior = try select.step() ? PriorLatest(select) : nil
        select.reset()

        let priorStatus = prior.flatMap { CheckStatus(rawValue: $0.status) }
        let meaningful: Bool
        let changedAt: Int64
        if let prior, prior.status == r.status.rawValue, prior.reason == r.reason.rawValue,
            prior.summary == r.summary
        {
            meaningful = false
            changedAt = prior.changedAt
        } else {
            meaningful = true
            changedAt = checkedAt
        }

        // The last good result: the current one when ok (stored as NULL: no copy), else
        // the previous row if it was ok, else whatever was kept before.
        var lastGood: String?
        var lastOkAt: Int64?
        if r.status == .ok {
            lastOkAt = checkedAt
        } else if let prior, priorStatus == .ok {
            lastGood = try encodeResult(prior, check: r.check)
            lastOkAt = prior.checkedAt
        } else if let prior {
            lastGood = prior.lastGood
            lastOkAt = prior.lastOkAt
        }

        let upsert = statements.upsertLatest
        bindResult(upsert, connector: connector, r, details: details)
        upsert.bind(11, changedAt)
        upsert.bind(12, outcome.consecutiveFailures)
        upsert.bind(13, lastOkAt)
        upsert.bind(14, lastGood)
        upsert.bind(15, prepared.hash)
        try upsert.run()
        summary.updated += 1

        if meaningful {
            let history = statements.insertHistory
            bindResult(history, connector: connector, r, details: details)
            try history.run()
            summary.historyRows += 1
        }
        guard priorStatus != r.status else { return false }
        try insertTransition(
            connector: connector, check: r.check.rawValue, from: priorStatus, to: r.status, reason: r.reason.rawValue,
            at: checkedAt)
        summary.transitions += 1
        return true
    }

    /// Recomputes a connector's status (the worst of its latest results) and records a
    /// transition when it moved.
    mutating func refreshConnectorStatus(_ name: String, into summary: inout CommitSummary) throws {
        let old = try String.fetchOne(
            db.cachedStatement(sql: "SELECT status FROM connector WHERE name = ?"), arguments: [name]
        ).flatMap(CheckStatus.init(rawValue:))
        let select = statements.selectStatuses
        select.bind(1, name)
        var worst: (status: CheckStatus, reason: String, order: Int)?
        while try select.step() {
            guard let check = CheckKind(rawValue: select.string(0)),
                let status = CheckStatus(rawValue: select.string(1))
            else { continue }
            let order = check.order
            if worst == nil || status > worst!.status || (status == worst!.status && order < worst!.order) {
                worst = (status, select.string(2), order)
            }
        }
        select.reset()
        let new = worst?.status
        guard new != old else { return }
        try db.cachedStatement(sql: "UPDATE connector SET status = ? WHERE name = ?")
            .execute(arguments: [new?.rawValue, name])
        guard let worst else { return }
        try insertTransition(connector: name, check: nil, from: old, to: worst.status, reason: worst.reason, at: at)
        summary.transitions += 1
    }

    /// Binds ?1–?10 in the column order shared by `latest_result` and `result_history`.
    private func bindResult(_ s: RawStatement, connector: String, _ r: CheckResult, details: String) {
        s.bind(1, connector)
        s.bind(2, r.check.rawValue)
        s.bind(3, r.status.rawValue)
        s.bind(4, r.reason.rawValue)
        s.bind(5, r.summary)
        s.bind(6, details)
        s.bind(7, r.remediation)
        s.bind(8, r.expiry?.credentialId)
        s.bind(9, r.expiry?.expiresAt.ms)
        s.bind(10, r.checkedAt.ms)
    }

    private func insertTransition(
        connector: String, check: String?, from: CheckStatus?, to: CheckStatus, reason: String, at: Int64
    ) throws {
        let insert = statements.insertTransition
        insert.bind(1, connector)
        insert.bind(2, check)
        insert.bind(3, from?.rawValue)
        insert.bind(4, to.rawValue)
        insert.bind(5, reason)
        insert.bind(6, at)
        try insert.run()
    }

    /// The previous ok row, as a `CheckResult` JSON for `last_good`.
    private func encodeResult(_ prior: PriorLatest, check: CheckKind) throws -> String {
        let result = try StoreDecoding.result(
            table: "latest_result", check: check, status: prior.status, reason: prior.reason, summary: prior.summary,
            details: prior.details, remediation: prior.remediation, credentialId: prior.credentialId,
            expiresAt: prior.expiresAt, checkedAt: prior.checkedAt)
        return String(decoding: try resultEncoder.encode(result), as: UTF8.self)
    }

    mutating func writeAlertStates(
        _ states: [AlertKey: AlertState], forget: [AlertKey], into summary: inout CommitSummary
    ) throws {
        let delete = try db.cachedStatement(sql: "DELETE FROM alert_state WHERE connector = ? AND check_kind = ?")
        // Sorted: deterministic write order, and neighbouring keys share B-tree pages.
        for key in states.keys.sorted() {
            let state = states[key]!
            if state.isIdle {
                try delete.execute(arguments: [key.connector, key.check.rawValue])
                summary.alertStatesWritten += db.changesCount
                continue
            }
            let json = String(decoding: try stateEncoder.encode(state), as: UTF8.self)
            try db.cachedStatement(
                sql: """
                    INSERT INTO alert_state (connector, check_kind, firing, alert_id, state, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (connector, check_kind) DO UPDATE SET
                        firing = excluded.firing, alert_id = excluded.alert_id, state = excluded.state,
                        updated_at = excluded.updated_at
                    WHERE alert_state.state <> excluded.state
                    """
            ).execute(arguments: [
                key.connector, key.check.rawValue, state.firing, state.firing ? state.alertId : nil, json, at,
            ])
            summary.alertStatesWritten += db.changesCount
        }
        for key in forget {
            try delete.execute(arguments: [key.connector, key.check.rawValue])
        }
    }

    mutating func writeNotifications(
        _ notifications: [OutgoingNotification], into summary: inout CommitSummary
    )
        throws
    {
        guard !notifications.isEmpty else { return }
        let gone = try Set(String.fetchAll(db, sql: "SELECT name FROM webhook_gone"))
        for outgoing in notifications {
            let n = outgoing.notification
            try db.cachedStatement(
                sql: """
                    INSERT INTO notification (id, alert_id, connector, check_kind, event_type, state, severity, status,
                        reason, cause, ladder_days, summary, remediation, details, days_left, expires_at,
                        missing_permissions, suppressed, body, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                n.id, n.alertId, n.connector, n.check.rawValue, n.eventType.rawValue, n.state.rawValue,
                n.severity.rawValue, n.status.rawValue, n.reason.rawValue, n.cause.code, n.cause.ladderDays,
                n.summary, n.remediation, CompactJSON.string(n.details), n.daysLeft, n.expiresAt?.ms,
                n.missingPermissions.map(CompactJSON.string), n.suppressed,
                String(decoding: outgoing.body, as: UTF8.self), n.createdAt.ms,
            ])
            summary.notifications += 1
            guard !n.suppressed else { continue }
            var seen = Set<String>()
            for webhook in outgoing.webhooks where seen.insert(webhook).inserted {
                let isGone = gone.contains(webhook)
                try db.cachedStatement(
                    sql: """
                        INSERT INTO delivery (notification_id, connector, webhook, status, next_attempt_at, created_at,
                            finished_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """
                ).execute(arguments: [
                    n.id, n.connector, webhook, isGone ? "gone" : "pending", at, at, isGone ? at : nil,
                ])
                summary.deliveries += 1
            }
        }
    }
}

/// The stored latest row a new result is compared with.
private struct PriorLatest {
    var status: String
    var reason: String
    var summary: String
    var details: String
    var remediation: String
    var credentialId: String?
    var expiresAt: Int64?
    var checkedAt: Int64
    var changedAt: Int64
    var lastOkAt: Int64?
    var lastGood: String?

    init(_ s: RawStatement) {
        status = s.string(0)
        reason = s.string(1)
        summary = s.string(2)
        details = s.string(3)
        remediation = s.string(4)
        credentialId = s.optionalString(5)
        expiresAt = s.optionalInt64(6)
        checkedAt = s.int64(7)
        changedAt = s.int64(8)
        lastOkAt = s.optionalInt64(9)
        lastGood = s.optionalString(10)
    }
}

/// An outcome with its canonical details JSON and content hash, computed once.
struct PreparedOutcome {
    var outcome: CheckOutcome
    var details: String
    var hash: Int64
}
