import ConnwatchCore
import Foundation
import GRDB

/// Silences (SPEC §5, §7): stored so that they survive restarts, listed, and applied by
/// the alert state machine through `AlertContext.silenced`. An expired silence stops
/// applying by itself: every query compares with `now`.
extension HistoryStore {
    /// Adds a silence for `connector` (or ``ConnwatchCore/Silence/allConnectors``) from `now`
    /// until `until`.
    public func addSilence(
        connector: String, reason: String, author: String, now: Date, until: Date
    ) async throws
        -> Silence
    {
        guard !connector.isEmpty else { throw StoreError.invalidArgument("a silence needs a connector name or *") }
        guard until > now else { throw StoreError.invalidArgument("a silence must end after it starts") }
        return try await write("adding a silence") { db in
            try db.execute(
                sql: "INSERT INTO silence (connector, reason, author, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [connector, reason, author, now.ms, until.ms])
            return Silence(
                id: db.lastInsertedRowID, connector: connector, reason: reason, author: author,
                createdAt: Date(ms: now.ms), expiresAt: Date(ms: until.ms))
        }
    }

    /// Lifts a silence before it expires.
    ///
    /// - Returns: false when no such silence is active at `now`.
    @discardableResult
    public func removeSilence(id: Int64, now: Date) async throws -> Bool {
        try await write("removing a silence") { db in
            try db.execute(
                sql: "UPDATE silence SET removed_at = ? WHERE id = ? AND removed_at IS NULL AND expires_at > ?",
                arguments: [now.ms, id, now.ms])
            return db.changesCount == 1
        }
    }

    /// Silences in force at `now`, soonest to expire first. The daemon loads these once
    /// per cycle and asks `[Silence].covers(connector:at:)` for each connector.
    public func silences(activeAt now: Date) async throws -> [Silence] {
        try await read("reading silences") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, connector, reason, author, created_at, expires_at, removed_at FROM silence
                    WHERE removed_at IS NULL AND created_at <= ? AND expires_at > ?
                    ORDER BY expires_at, id
                    """, arguments: [now.ms, now.ms]
            ).map { row in
                Silence(
                    id: row[0], connector: row[1], reason: row[2], author: row[3], createdAt: Date(ms: row[4]),
                    expiresAt: Date(ms: row[5]), removedAt: (row[6] as Int64?).map(Date.init(ms:)))
            }
        }
    }

    /// Whether a silence covers `connector` at `now`.
    public func isSilenced(connector: String, now: Date) async throws -> Bool {
        try await read("reading silences") { db in
            try Bool.fetchOne(
                db,
                sql: """
                    SELECT EXISTS (SELECT 1 FROM silence
                        WHERE removed_at IS NULL AND created_at <= ? AND expires_at > ? AND connector IN (?, '*'))
                    """, arguments: [now.ms, now.ms, connector]) ?? false
        }
    }
}
