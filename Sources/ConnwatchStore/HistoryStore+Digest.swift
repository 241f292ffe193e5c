import ConnwatchCore
import Foundation
import GRDB

/// A digest row claimed for one send attempt (``HistoryStore/claimDueDigests(sinks:now:lease:)``).
public struct ClaimedDigest: Sendable, Equatable {
    public var sink: String
    public var period: String
    public var dueAt: Date
    /// Attempts made before this one.
    public var attempts: Int
    public var messageID: String
    /// The due time of the sink's previous delivered digest when this period was claimed;
    /// nil for the sink's first digest.
    public var changesSince: Date?
    public var leaseUntil: Date
}

/// A digest row as stored (status, `connwatchctl status`, tests).
public struct DigestRecord: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable { case pending, delivered, dead }
    public var sink: String
    public var period: String
    public var dueAt: Date
    public var createdAt: Date
    public var status: Status
    public var attempts: Int
    public var nextAttemptAt: Date
    public var leaseUntil: Date?
    public var lastError: String?
    public var messageID: String
    public var changesSince: Date?
    public var recipients: [String]
    public var sentAt: Date?
}

/// The digest ledger (SPEC §5): a period is claimed by inserting its row — the primary key
/// (sink, period) refuses a second insert, so a period is sent at most once whatever the
/// restarts; a send holds a lease so a process killed mid-send leaves a row the next one
/// claims again, with the same Message-ID.
extension HistoryStore {
    /// Inserts the row of `period` for `sink` unless there is one. Its "changes since" is the
    /// due time of the sink's latest delivered digest (nil when none). Returns true when this
    /// call created it.
    ///
    /// An older period of the sink still waiting for a retry is superseded (dead, saying so):
    /// the new digest covers everything since the last delivered one, and two digests
    /// arriving together — one of them stale — would help nobody. One being sent right now
    /// (a live lease) is left to finish.
    @discardableResult
    public func claimDigestPeriod(
        sink: String, period: DigestPeriod, messageID: String, now: Date
    ) async throws -> Bool {
        try await write("claiming a digest period") { db in
            let since = try Int64.fetchOne(
                db, sql: "SELECT max(due_at) FROM digest WHERE sink = ? AND status = 'delivered' AND period <> ?",
                arguments: [sink, period.key])
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO digest
                        (sink, period, due_at, created_at, status, attempts, next_attempt_at, message_id, changes_since)
                    VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?)
                    """,
                arguments: [sink, period.key, period.dueAt.ms, now.ms, now.ms, messageID, since])
            guard db.changesCount == 1 else { return false }
            try db.execute(
                sql: """
                    UPDATE digest SET status = 'dead', last_error = ?
                    WHERE sink = ? AND status = 'pending' AND period <> ? AND due_at < ?
                      AND (lease_until IS NULL OR lease_until <= ?)
                    """,
                arguments: ["superseded by \(period.key)", sink, period.key, period.dueAt.ms, now.ms])
            return true
        }
    }

    /// Leases every pending digest of `sinks` whose next attempt is due and that no live
    /// sender holds (no lease, or an expired one).
    public func claimDueDigests(sinks: Set<String>, now: Date, lease: Duration) async throws -> [ClaimedDigest] {
        guard !sinks.isEmpty else { return [] }
        let leaseUntil = now.ms + lease.milliseconds
        return try await write("claiming due digests") { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT sink, period, due_at, attempts, message_id, changes_since FROM digest
                    WHERE status = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
                    ORDER BY next_attempt_at, sink, period
                    """, arguments: [now.ms, now.ms])
            var out: [ClaimedDigest] = []
            for row in rows {
                let sink: String = row[0]
                guard sinks.contains(sink) else { continue }
                let period: String = row[1]
                try db.execute(
                    sql: "UPDATE digest SET lease_until = ? WHERE sink = ? AND period = ?",
                    arguments: [leaseUntil, sink, period])
                out.append(
                    ClaimedDigest(
                        sink: sink, period: period, dueAt: Date(ms: row[2]), attempts: row[3], messageID: row[4],
                        changesSince: (row[5] as Int64?).map(Date.init(ms:)), leaseUntil: Date(ms: leaseUntil)))
            }
            return out
        }
    }

    /// Records one attempt of a leased digest: delivered (with the accepted recipients), a
    /// retry at a time, or dead. `error` is already free of secrets.
    /// - Throws: ``StoreError/deliveryNotLeased(id:)`` (id 0) when the row is not pending.
    public func recordDigestAttempt(
        sink: String, period: String, at: Date, outcome: AttemptOutcome, error: String?, recipients: [String]
    ) async throws {
        let recipientsJSON = String(decoding: try JSONEncoder().encode(recipients), as: UTF8.self)
        try await write("recording a digest attempt") { db in
            var status = "pending"
            var next: Int64?
            var sentAt: Int64?
            switch outcome {
            case .delivered:
                status = "delivered"
                sentAt = at.ms
            case .retry(let when): next = when.ms
            case .dead, .gone: status = "dead"
            }
            try db.execute(
                sql: """
                    UPDATE digest SET status = ?, attempts = attempts + 1, lease_until = NULL,
                        next_attempt_at = coalesce(?, next_attempt_at), last_error = ?, recipients = ?, sent_at = ?
                    WHERE sink = ? AND period = ? AND status = 'pending'
                    """,
                arguments: [status, next, error, recipientsJSON, sentAt, sink, period])
            if db.changesCount == 0 { throw StoreError.deliveryNotLeased(id: 0) }
        }
    }

    /// Digest rows, newest due first; of one sink when given.
    public func digests(sink: String? = nil, limit: Int = 1000) async throws -> [DigestRecord] {
        try await read("reading digests") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT sink, period, due_at, created_at, status, attempts, next_attempt_at, lease_until,
                           last_error, message_id, changes_since, recipients, sent_at
                    FROM digest WHERE (:sink IS NULL OR sink = :sink) ORDER BY due_at DESC, sink LIMIT :limit
                    """, arguments: ["sink": sink, "limit": limit]
            ).map { row in
                guard let status = DigestRecord.Status(rawValue: row[4]) else {
                    throw StoreError.unreadableRow(table: "digest", detail: "status \(row[4] as String)")
                }
                let recipients = (try? JSONDecoder().decode([String].self, from: Data((row[11] as String).utf8))) ?? []
                return DigestRecord(
                    sink: row[0], period: row[1], dueAt: Date(ms: row[2]), createdAt: Date(ms: row[3]),
                    status: status, attempts: row[5], nextAttemptAt: Date(ms: row[6]),
                    leaseUntil: (row[7] as Int64?).map(Date.init(ms:)), lastError: row[8], messageID: row[9],
                    changesSince: (row[10] as Int64?).map(Date.init(ms:)), recipients: recipients,
                    sentAt: (row[12] as Int64?).map(Date.init(ms:)))
            }
        }
    }

    /// When each sink's latest digest went out (for the status report).
    public func lastDigestSent() async throws -> [String: Date] {
        try await read("reading digests") { db in
            var out: [String: Date] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT sink, max(sent_at) FROM digest WHERE status = 'delivered' GROUP BY sink")
            {
                out[row[0]] = Date(ms: row[1])
            }
            return out
        }
    }

    /// When the earliest pending digest of `sinks` may be attempted (its next attempt, or
    /// the end of its lease); nil when none is pending.
    public func nextDigestAttempt(sinks: Set<String>) async throws -> Date? {
        guard !sinks.isEmpty else { return nil }
        return try await read("reading digests") { db in
            var earliest: Int64?
            for row in try Row.fetchAll(
                db, sql: "SELECT sink, max(next_attempt_at, coalesce(lease_until, 0)) FROM digest WHERE status = 'pending'")
            where sinks.contains(row[0]) {
                let t: Int64 = row[1]
                earliest = min(earliest ?? t, t)
            }
            return earliest.map(Date.init(ms:))
        }
    }
}
