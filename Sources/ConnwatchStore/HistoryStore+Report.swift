import ConnwatchCore
import Foundation
import GRDB

/// The reads of the report (SPEC §5): every connector's own status at one instant and the
/// transitions since, across all connectors in one query each (a report of 10,000
/// connectors is two reads, not 20,000).
extension HistoryStore {
    /// Each connector's own status (the worst of its checks, `check_kind IS NULL`) as it
    /// stood just before `date`: the last such transition before it. A connector with no
    /// transition before `date` (not yet checked then, or pruned by retention) is absent.
    public func connectorStatuses(before date: Date) async throws -> [String: CheckStatus] {
        try await read("reading statuses at a time") { db in
            let s = RawStatement(
                try db.makeStatement(
                    sql: """
                        SELECT connector, to_status FROM (
                            SELECT connector, to_status,
                                   ROW_NUMBER() OVER (PARTITION BY connector ORDER BY at DESC, id DESC) AS n
                            FROM transition WHERE check_kind IS NULL AND at < ?1
                        ) WHERE n = 1
                        """), in: db)
            s.bind(1, date.ms)
            var out: [String: CheckStatus] = [:]
            while try s.step() {
                out[s.string(0)] = try StoreDecoding.enumValue(
                    CheckStatus.self, s.string(1), table: "transition", column: "to_status")
            }
            return out
        }
    }

    /// Transitions of every connector since `since` (inclusive), oldest first: the
    /// connectors' own (`ownOnly`) or theirs and their checks'. `limit` bounds the rows read
    /// (nil: all of them; a transition is a status change, not a check, so a month of a
    /// large fleet is thousands of rows, not millions).
    public func transitions(
        since: Date, ownOnly: Bool, limit: Int? = nil
    ) async throws -> [StatusTransition] {
        try await read("reading transitions") { db in
            let s = RawStatement(
                try db.makeStatement(
                    sql: """
                        SELECT id, connector, check_kind, from_status, to_status, reason, at
                        FROM transition WHERE at >= ?1 \(ownOnly ? "AND check_kind IS NULL" : "")
                        ORDER BY at, id LIMIT ?2
                        """), in: db)
            s.bind(1, since.ms)
            s.bind(2, Int64(limit ?? -1))  // LIMIT -1: no limit
            let t = "transition"
            var out: [StatusTransition] = []
            while try s.step() {
                out.append(
                    StatusTransition(
                        id: s.int64(0), connector: s.string(1),
                        check: try s.optionalString(2).map {
                            try StoreDecoding.enumValue(CheckKind.self, $0, table: t, column: "check_kind")
                        },
                        from: try s.optionalString(3).map {
                            try StoreDecoding.enumValue(CheckStatus.self, $0, table: t, column: "from_status")
                        },
                        to: try StoreDecoding.enumValue(CheckStatus.self, s.string(4), table: t, column: "to_status"),
                        reason: s.string(5), at: Date(ms: s.int64(6))))
            }
            return out
        }
    }
}
