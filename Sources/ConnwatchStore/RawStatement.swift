import Foundation
import GRDB
import GRDBSQLite

/// Direct binding and stepping of a prepared GRDB statement, for the few loops that run
/// 60,000 times per cycle (the commit's unchanged-result path, the status read). GRDB
/// prepares, caches and finalizes the statement; this only skips the boxing of every
/// argument and column into `DatabaseValue`, which dominates those loops.
struct RawStatement {
    /// Held so that the statement is not finalized while this value uses its handle.
    private let statement: Statement
    private let handle: OpaquePointer
    private let db: Database

    init(_ statement: Statement, in db: Database) {
        self.statement = statement
        handle = statement.sqliteStatement
        self.db = db
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    // SQLite copies the bytes (SQLITE_TRANSIENT): the Swift string may go away.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    func bind(_ index: Int32, _ value: String) {
        sqlite3_bind_text(handle, index, value, -1, Self.transient)
    }

    func bind(_ index: Int32, _ value: String?) {
        if let value { bind(index, value) } else { sqlite3_bind_null(handle, index) }
    }

    func bind(_ index: Int32, _ value: Int64) {
        sqlite3_bind_int64(handle, index, value)
    }

    func bind(_ index: Int32, _ value: Int64?) {
        if let value { bind(index, value) } else { sqlite3_bind_null(handle, index) }
    }

    func bind(_ index: Int32, _ value: Int) {
        sqlite3_bind_int64(handle, index, Int64(value))
    }

    /// Runs to the next row: true for a row, false when done. Errors carry the SQL, never
    /// the arguments.
    func step() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code:
            let message = db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) }
            sqlite3_reset(handle)
            // `statement.sql` is computed (trimmed) on each call: only on this path.
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: statement.sql)
        }
    }

    /// Steps a statement that returns no row, then resets it for the next use.
    func run() throws {
        defer { sqlite3_reset(handle) }
        _ = try step()
    }

    func reset() {
        sqlite3_reset(handle)
    }

    var changes: Int { db.sqliteConnection.map { Int(sqlite3_changes($0)) } ?? 0 }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    func string(_ column: Int32) -> String {
        guard let text = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    func optionalString(_ column: Int32) -> String? {
        isNull(column) ? nil : string(column)
    }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    func optionalInt64(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }
}
