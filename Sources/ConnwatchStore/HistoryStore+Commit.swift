import ConnwatchCore
import Foundation
import GRDB

extension HistoryStore {
    /// Writes one batch in ONE transaction: connectors seen, latest results, history of
    /// changes, transitions, alert states, notifications and their deliveries. If any
    /// part fails, nothing of the batch is stored.
    ///
    /// Cheap for unchanged results: a latest row whose content (status, reason, summary,
    /// details, remediation, expiry) is the same only gets its `checked_at`, failure
    /// counter and `last_ok_at` updated; no history row, no transition.
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
                let oldStatus = try writer.upsertConnector(c.identity)
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
                    try writer.refreshConnectorStatus(c.identity.name, old: oldStatus, into: &ignored)
                }
            }
            let names = connectors.map(\.identity.name)
            let stale = try String.fetchAll(db, sql: "SELECT name FROM connector WHERE removed_at IS NULL")
                .filter { !Set(names).contains($0) }
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
                    RETURNING status
                    """), in: db)
        touch = RawStatement(
            try db.cachedStatement(
                sql: """
                    UPDATE latest_result SET checked_at = ?1, consecutive_failures = ?2,
                        last_ok_at = CASE WHEN status = 'ok' THEN ?1 ELSE last_ok_at END
                    WHERE connector = ?3 AND check_kind = ?4 AND status = ?5 AND reason = ?6 AND summary = ?7
                      AND details = ?8 AND remediation = ?9 AND expiry_credential_id IS ?10 AND expires_at IS ?11
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
                        last_good)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                    ON CONFLICT (connector, check_kind) DO UPDATE SET
                        status = excluded.status, reason = excluded.reason, summary = excluded.summary,
                        details = excluded.details, remediation = excluded.remediation,
                        expiry_credential_id = excluded.expiry_credential_id, expires_at = excluded.expires_at,
                        checked_at = excluded.checked_at, changed_at = excluded.changed_at,
                        consecutive_failures = excluded.consecutive_failures, last_ok_at = excluded.last_ok_at,
                        last_good = excluded.last_good
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

    /// Upserts a connector seen now; returns its stored status (nil if new or unchecked).
    mutating func upsertConnector(_ identity: ConnectorIdentity) throws -> CheckStatus? {
        let upsert = statements.connectorUpsert
        defer { upsert.reset() }
        upsert.bind(1, identity.name)
        upsert.bind(2, identity.kind.rawValue)
        upsert.bind(3, identity.tenantId)
        upsert.bind(4, identity.clientId)
        upsert.bind(5, identity.labels.isEmpty ? "{}" : CompactJSON.string(identity.labels))
        upsert.bind(6, at)
        guard try upsert.step(), let raw = upsert.optionalString(0) else { return nil }
        return CheckStatus(rawValue: raw)
    }

    mutating func write(_ cycle: ConnectorCycle, into summary: inout CommitSummary) throws {
        let name = cycle.identity.name
        let oldStatus = try upsertConnector(cycle.identity)
        var statusMayChange = false
        for outcome in cycle.outcomes {
            if try writeLatest(connector: name, outcome, into: &summary) { statusMayChange = true }
        }
        if statusMayChange {
            try refreshConnectorStatus(name, old: oldStatus, into: &summary)
        }
    }

    /// Upserts one latest row. Returns whether the check's status changed.
    private mutating func writeLatest(
        connector: String, _ outcome: CheckOutcome, into summary: inout CommitSummary
    )
        throws -> Bool
    {
        let r = outcome.result
        let details = CompactJSON.string(r.details)
        let expiresAt = r.expiry?.expiresAt.ms
        let checkedAt = r.checkedAt.ms
        // The common case, an unchanged result: one UPDATE that matches only if the stored
        // content is identical, and touches nothing but the check time and counters.
        let touch = statements.touch
        touch.bind(1, checkedAt)
        touch.bind(2, Int64(outcome.consecutiveFailures))
        touch.bind(3, connector)
        touch.bind(4, r.check.rawValue)
        touch.bind(5, r.status.rawValue)
        touch.bind(6, r.reason.rawValue)
        touch.bind(7, r.summary)
        touch.bind(8, details)
        touch.bind(9, r.remediation)
        touch.bind(10, r.expiry?.credentialId)
        touch.bind(11, expiresAt)
        try touch.run()
        if touch.changes == 1 {
            summary.unchanged += 1
            return false
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
    mutating func refreshConnectorStatus(_ name: String, old: CheckStatus?, into summary: inout CommitSummary) throws {
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
