import Foundation
import GRDB

extension HistoryStore {
    /// Checkpoints the write-ahead log into the database file (and truncates it), then
    /// returns the bytes the database holds: pages in use × page size, free pages excluded.
    /// For measuring growth (the benchmark); safe at any time, it only waits for writers.
    public func checkpointedSize() async throws -> Int64 {
        do {
            try await writer.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            }
        } catch let error as DatabaseError {
            throw StoreError.sqlite(operation: "checkpoint", message: error.description)
        }
        return try await read("measuring the database") { db in
            let pages = try Int64.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            let free = try Int64.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
            let size = try Int64.fetchOne(db, sql: "PRAGMA page_size") ?? 0
            return (pages - free) * size
        }
    }

    /// Rows per table of the history (for the benchmark's report).
    public func rowCounts() async throws -> [String: Int] {
        try await read("counting rows") { db in
            var out: [String: Int] = [:]
            for table in [
                "connector", "latest_result", "result_history", "transition", "alert_state", "notification",
                "delivery",
            ] {
                out[table] = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0
            }
            return out
        }
    }
}
