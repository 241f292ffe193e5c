import ConnwatchCore
import Foundation
import GRDB

/// The durable webhook outbox (ops-facts §2.3): deliveries are written with their
/// notification in ``HistoryStore/commit(_:)``; the delivery worker claims due ones with
/// a lease, sends, and records each attempt. A crash mid-send leaves a `delivering` row
/// whose lease runs out; it is claimed again. The `webhook-id` (notification id) never
/// changes across attempts.
extension HistoryStore {
    /// Claims up to `limit` due deliveries for `lease`, in one write transaction.
    ///
    /// Due: `pending` with `next_attempt_at <= now`, or `delivering` with an expired lease
    /// (its worker died). Ordered: a delivery is claimed only when no earlier delivery
    /// for the same connector and webhook is still pending or delivering, so a
    /// `resolved` never overtakes its `firing`.
    /// `webhook`: only deliveries to this webhook (the worker caps deliveries per webhook,
    /// so one slow endpoint cannot take every slot).
    public func claimDueDeliveries(
        now: Date, lease: Duration, limit: Int, webhook: String? = nil
    ) async throws -> [ClaimedDelivery] {
        guard limit > 0 else { return [] }
        let leaseUntil = now.ms + lease.milliseconds
        return try await write("claiming deliveries") { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT d.id, d.notification_id, d.connector, d.webhook, n.event_type, d.attempts, n.body,
                           d.created_at
                    FROM delivery d JOIN notification n ON n.id = d.notification_id
                    WHERE ((d.status = 'pending' AND d.next_attempt_at <= :now)
                           OR (d.status = 'delivering' AND d.lease_until <= :now))
                      AND (:webhook IS NULL OR d.webhook = :webhook)
                      AND NOT EXISTS (
                          SELECT 1 FROM delivery e
                          WHERE e.connector = d.connector AND e.webhook = d.webhook AND e.id < d.id
                            AND e.status IN ('pending', 'delivering'))
                    ORDER BY d.next_attempt_at, d.id
                    LIMIT :limit
                    """, arguments: ["now": now.ms, "limit": limit, "webhook": webhook])
            let claim = try db.cachedStatement(
                sql: "UPDATE delivery SET status = 'delivering', lease_until = ? WHERE id = ?")
            return try rows.map { row in
                let id: Int64 = row[0]
                try claim.execute(arguments: [leaseUntil, id])
                let body: String = row[6]
                return ClaimedDelivery(
                    id: id, notificationId: row[1], connector: row[2], webhook: row[3],
                    eventType: try StoreDecoding.enumValue(
                        AlertEventType.self, row[4], table: "notification", column: "event_type"),
                    attempts: row[5], body: Data(body.utf8), createdAt: Date(ms: row[7]),
                    leaseUntil: Date(ms: leaseUntil))
            }
        }
    }

    /// Records one attempt of a claimed delivery and moves it on.
    ///
    /// - Parameters:
    ///   - httpStatus: the response status, nil when no response came (timeout, TLS, DNS).
    ///   - error: why it failed, already free of secrets (no URL with a token in it).
    ///   - outcome: decided by the worker from the status, `Retry-After` and the schedule.
    ///     `.gone` also marks every other pending delivery of the webhook gone, and
    ///     new ones are created gone until ``clearGoneWebhook(_:)``.
    /// - Throws: ``StoreError/deliveryNotLeased(id:)`` when the delivery is not `delivering`.
    public func recordAttempt(
        deliveryID: Int64, at: Date, httpStatus: Int?, error: String?, duration: Duration, outcome: AttemptOutcome
    ) async throws {
        try await write("recording a delivery attempt") { db in
            guard
                let webhook = try String.fetchOne(
                    db, sql: "SELECT webhook FROM delivery WHERE id = ? AND status = 'delivering'",
                    arguments: [deliveryID])
            else { throw StoreError.deliveryNotLeased(id: deliveryID) }
            try db.execute(
                sql: """
                    INSERT INTO delivery_attempt (delivery_id, at, http_status, error, duration_ms, outcome)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [deliveryID, at.ms, httpStatus, error, max(0, duration.milliseconds), outcome.code])
            let status: DeliveryStatus
            var nextAttempt: Int64?
            switch outcome {
            case .delivered: status = .delivered
            case .retry(let next):
                status = .pending
                nextAttempt = next.ms
            case .dead: status = .dead
            case .gone: status = .gone
            }
            try db.execute(
                sql: """
                    UPDATE delivery SET status = ?, attempts = attempts + 1, lease_until = NULL,
                        next_attempt_at = coalesce(?, next_attempt_at), last_http_status = ?, last_error = ?,
                        finished_at = ?
                    WHERE id = ?
                    """,
                arguments: [
                    status.rawValue, nextAttempt, httpStatus, error, status.isFinished ? at.ms : nil, deliveryID,
                ])
            if outcome == .gone {
                try db.execute(
                    sql: """
                        UPDATE delivery SET status = 'gone', finished_at = ?, last_error = 'webhook answered 410 Gone'
                        WHERE webhook = ? AND status = 'pending'
                        """, arguments: [at.ms, webhook])
                try db.execute(
                    sql: "INSERT OR REPLACE INTO webhook_gone (name, gone_at) VALUES (?, ?)",
                    arguments: [webhook, at.ms])
            }
        }
    }

    /// An operator's retry (`connwatchctl deliveries retry ID`): a `dead` or `gone`
    /// delivery becomes pending now, keeping its id and attempts. Retrying a gone one
    /// also lifts the webhook's gone mark (the operator says the endpoint is back).
    ///
    /// - Returns: false when the delivery does not exist or is not dead/gone.
    @discardableResult
    public func retryDelivery(id: Int64, now: Date) async throws -> Bool {
        try await write("retrying a delivery") { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT webhook, status FROM delivery WHERE id = ? AND status IN ('dead', 'gone')",
                    arguments: [id])
            else { return false }
            try db.execute(
                sql: """
                    UPDATE delivery SET status = 'pending', next_attempt_at = ?, finished_at = NULL, lease_until = NULL
                    WHERE id = ?
                    """, arguments: [now.ms, id])
            if row[1] == "gone" {
                try db.execute(sql: "DELETE FROM webhook_gone WHERE name = ?", arguments: [row[0] as String])
            }
            return true
        }
    }

    /// Start-up recovery: `delivering` rows whose lease ran out (the previous process died
    /// mid-send) go back to `pending`, due now. Claiming would take them anyway; this
    /// makes `connwatchctl deliveries` truthful right after a restart.
    ///
    /// - Returns: how many were recovered.
    @discardableResult
    public func recoverExpiredLeases(now: Date) async throws -> Int {
        try await releaseLeases(now: now, onlyExpired: true)
    }

    /// Daemon start-up: one daemon owns a database (its control socket is exclusive), so
    /// every `delivering` row belongs to a process that is gone — a `kill -9` mid-send. They
    /// are due again now, without waiting for their leases; the consumer deduplicates on the
    /// unchanged `webhook-id` if the interrupted attempt did arrive.
    ///
    /// - Returns: how many were released.
    @discardableResult
    public func releaseAllLeases(now: Date) async throws -> Int {
        try await releaseLeases(now: now, onlyExpired: false)
    }

    /// `delivering` rows (all, or those whose lease ran out) back to `pending`, due now.
    private func releaseLeases(now: Date, onlyExpired: Bool) async throws -> Int {
        try await write("releasing delivery leases") { db in
            try db.execute(
                sql: """
                    UPDATE delivery SET status = 'pending', lease_until = NULL, next_attempt_at = min(next_attempt_at, ?)
                    WHERE status = 'delivering'
                    """ + (onlyExpired ? " AND lease_until <= ?" : ""),
                arguments: onlyExpired ? [now.ms, now.ms] : [now.ms])
            return db.changesCount
        }
    }

    /// When the worker should wake next: the earliest `next_attempt_at` of a pending
    /// delivery or lease end of a delivering one, counting only the head of each
    /// (connector, webhook) queue — one waiting behind an earlier delivery is not due
    /// however old it is; nil when the outbox is empty.
    public func nextDeliveryDue() async throws -> Date? {
        try await read("reading the outbox") { db in
            try Int64.fetchOne(
                db,
                sql: """
                    SELECT min(CASE d.status WHEN 'pending' THEN d.next_attempt_at ELSE d.lease_until END)
                    FROM delivery d WHERE d.status IN ('pending', 'delivering')
                      AND NOT EXISTS (
                          SELECT 1 FROM delivery e
                          WHERE e.connector = d.connector AND e.webhook = d.webhook AND e.id < d.id
                            AND e.status IN ('pending', 'delivering'))
                    """
            ).map(Date.init(ms:))
        }
    }

    /// Deliveries to webhooks that are no longer configured (removed on reload) cannot be
    /// sent: pending ones become `dead`, saying why, so they do not wait forever.
    ///
    /// - Returns: how many were given up.
    @discardableResult
    public func abandonDeliveries(toWebhooksNotIn configured: Set<String>, now: Date) async throws -> Int {
        try await write("abandoning deliveries of removed webhooks") { db in
            var sql = """
                UPDATE delivery SET status = 'dead', finished_at = ?, lease_until = NULL,
                    last_error = 'the webhook is no longer configured'
                WHERE (status = 'pending' OR (status = 'delivering' AND lease_until <= ?))
                """
            var arguments: StatementArguments = [now.ms, now.ms]
            if !configured.isEmpty {
                sql += " AND webhook NOT IN (\(Array(repeating: "?", count: configured.count).joined(separator: ", ")))"
                arguments += StatementArguments(configured.sorted())
            }
            try db.execute(sql: sql, arguments: arguments)
            return db.changesCount
        }
    }

    /// Lifts a webhook's gone mark (its URL changed on reload): new deliveries go out again.
    public func clearGoneWebhook(_ name: String) async throws {
        try await write("clearing a gone webhook") { db in
            try db.execute(sql: "DELETE FROM webhook_gone WHERE name = ?", arguments: [name])
        }
    }

    /// Webhooks that answered 410 Gone, with when.
    public func goneWebhooks() async throws -> [String: Date] {
        try await read("reading gone webhooks") { db in
            var out: [String: Date] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, gone_at FROM webhook_gone") {
                out[row[0]] = Date(ms: row[1])
            }
            return out
        }
    }

    /// Deliveries, newest first, optionally only in some states (`connwatchctl deliveries`).
    public func deliveries(states: Set<DeliveryStatus>? = nil, limit: Int = 1000) async throws -> [DeliveryRecord] {
        try await read("reading deliveries") { db in
            var sql = """
                SELECT d.id, d.notification_id, d.connector, d.webhook, n.event_type, d.status, d.attempts,
                       d.next_attempt_at, d.lease_until, d.last_http_status, d.last_error, d.created_at, d.finished_at
                FROM delivery d JOIN notification n ON n.id = d.notification_id
                """
            var arguments: StatementArguments = []
            if let states {
                guard !states.isEmpty else { return [] }
                sql += " WHERE d.status IN (\(Array(repeating: "?", count: states.count).joined(separator: ", ")))"
                arguments += StatementArguments(states.map(\.rawValue).sorted())
            }
            sql += " ORDER BY d.id DESC LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                DeliveryRecord(
                    id: row[0], notificationId: row[1], connector: row[2], webhook: row[3],
                    eventType: try StoreDecoding.enumValue(
                        AlertEventType.self, row[4], table: "notification", column: "event_type"),
                    status: try StoreDecoding.enumValue(
                        DeliveryStatus.self, row[5], table: "delivery", column: "status"),
                    attempts: row[6], nextAttemptAt: Date(ms: row[7]),
                    leaseUntil: (row[8] as Int64?).map(Date.init(ms:)),
                    lastHTTPStatus: row[9], lastError: row[10], createdAt: Date(ms: row[11]),
                    finishedAt: (row[12] as Int64?).map(Date.init(ms:)))
            }
        }
    }

    /// Attempts of one delivery, oldest first.
    public func attempts(deliveryID: Int64) async throws -> [DeliveryAttempt] {
        try await read("reading delivery attempts") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, delivery_id, at, http_status, error, duration_ms, outcome
                    FROM delivery_attempt WHERE delivery_id = ? ORDER BY at, id
                    """, arguments: [deliveryID]
            ).map { row in
                DeliveryAttempt(
                    id: row[0], deliveryId: row[1], at: Date(ms: row[2]), httpStatus: row[3], error: row[4],
                    duration: .milliseconds(row[5] as Int64), outcome: row[6])
            }
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
