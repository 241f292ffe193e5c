import ConnwatchCore
import Foundation
import GRDB
import GRDBSQLite

/// The SQLite history of connwatch (SPEC §6): connectors seen, latest result per check,
/// results that changed something, status transitions, alert states, notifications with
/// their webhook deliveries and attempts (the outbox), silences, and daemon lifecycle
/// events. No secret is ever stored: only what `CheckResult` and `AlertNotification`
/// carry (hints, keyIds, thumbprints), and the daemon's rendered webhook bodies.
///
/// One instance per database file. Every write method is one transaction. Record types
/// stay inside this module; Core values cross its boundary.
public final class HistoryStore: Sendable {
    /// The database file (`:memory:` for ``openInMemory()``).
    public let path: String
    let writer: any DatabaseWriter

    /// Each connection's page cache (`PRAGMA cache_size`), in KiB.
    static let pageCacheKiB = 512

    private init(path: String, writer: any DatabaseWriter) {
        self.path = path
        self.writer = writer
    }

    /// Opens (creating it if needed) and migrates the database at `path`, in WAL mode with
    /// foreign keys on.
    ///
    /// - Throws: ``StoreError/directoryMissing(path:directory:)`` when the parent
    ///   directory does not exist (it is not created: systemd's `StateDirectory=` owns
    ///   it); ``StoreError/newerDatabase(path:unknownMigrations:)`` for a file written by
    ///   a newer connwatch and ``StoreError/notAConnwatchDatabase(path:)`` for someone
    ///   else's database — both checked read-only, before anything touches the file;
    ///   ``StoreError/cannotOpen(path:reason:)`` otherwise.
    public static func open(path: String) throws -> HistoryStore {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
        else { throw StoreError.directoryMissing(path: path, directory: directory) }

        if FileManager.default.fileExists(atPath: path) {
            try preflight(path: path)
        }
        do {
            let pool = try DatabasePool(path: path, configuration: configuration())
            try Schema.migrator.migrate(pool)
            return HistoryStore(path: path, writer: pool)
        } catch let error as DatabaseError {
            throw StoreError.cannotOpen(path: path, reason: error.description)
        }
    }

    /// A migrated in-memory database (tests, `--once` dry runs). Same schema and rules.
    public static func openInMemory() throws -> HistoryStore {
        do {
            let queue = try DatabaseQueue(configuration: configuration())
            try Schema.migrator.migrate(queue)
            return HistoryStore(path: ":memory:", writer: queue)
        } catch let error as DatabaseError {
            throw StoreError.cannotOpen(path: ":memory:", reason: error.description)
        }
    }

    /// Closes every connection. Later calls fail.
    public func close() throws {
        do {
            try writer.close()
        } catch let error as DatabaseError {
            throw StoreError.sqlite(operation: "close", message: error.description)
        }
    }

    private static func configuration() -> GRDB.Configuration {
        var config = GRDB.Configuration()
        config.foreignKeysEnabled = true
        config.label = "connwatch"
        // The control socket reads while the scheduler writes; WAL makes that lock-free,
        // and this covers a checkpoint or an operator's sqlite3 shell.
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            // Keep the -wal file from staying large after a big first cycle.
            try db.execute(sql: "PRAGMA journal_size_limit = 16777216")
            // SQLite's default page cache is 2 MiB per connection; the pages it would keep
            // are in the kernel's page cache anyway, and the writer touches few per commit.
            // At 10,000 connectors the default held ~2 MB of a ~36 MB heap (BENCHMARKS.md).
            try db.execute(sql: "PRAGMA cache_size = -\(HistoryStore.pageCacheKiB)")
        }
        return config
    }

    /// Refuses, without modifying it, a file this version must not migrate.
    ///
    /// Read with the raw SQLite API because GRDB does not pass `SQLITE_OPEN_URI`: the
    /// `immutable=1` URI parameter is what keeps a read-only open of a WAL database from
    /// creating `-wal` and `-shm` files next to it. When a `-wal` file is already there
    /// (unclean shutdown), it must be read, so the open is plain read-only.
    private static func preflight(path: String) throws {
        var uri = URLComponents()
        uri.scheme = "file"
        uri.path = path
        let hasWAL = FileManager.default.fileExists(atPath: path + "-wal")
        uri.queryItems = [
            hasWAL ? URLQueryItem(name: "mode", value: "ro") : URLQueryItem(name: "immutable", value: "1")
        ]
        guard let name = uri.string else { throw StoreError.cannotOpen(path: path, reason: "unusable path") }

        var handle: OpaquePointer?
        defer { sqlite3_close_v2(handle) }
        guard sqlite3_open_v2(name, &handle, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nil) == SQLITE_OK, let handle
        else {
            throw StoreError.cannotOpen(
                path: path, reason: handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory")
        }
        func strings(_ sql: String) throws -> [String] {
            var statement: OpaquePointer?
            defer { sqlite3_finalize(statement) }
            guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK else {
                throw StoreError.cannotOpen(path: path, reason: String(cString: sqlite3_errmsg(handle)))
            }
            var out: [String] = []
            while true {
                switch sqlite3_step(statement) {
                case SQLITE_ROW: out.append(sqlite3_column_text(statement, 0).map { String(cString: $0) } ?? "")
                case SQLITE_DONE: return out
                default: throw StoreError.cannotOpen(path: path, reason: String(cString: sqlite3_errmsg(handle)))
                }
            }
        }
        let tables = Set(
            try strings("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
        if tables.contains("grdb_migrations") {
            let unknown = Set(try strings("SELECT identifier FROM grdb_migrations"))
                .subtracting(Schema.migrator.migrations).sorted()
            if !unknown.isEmpty { throw StoreError.newerDatabase(path: path, unknownMigrations: unknown) }
        } else if !tables.isEmpty {
            throw StoreError.notAConnwatchDatabase(path: path)
        }
    }

    // MARK: - Access helpers

    /// One write transaction; GRDB errors become ``StoreError/sqlite(operation:message:)``.
    func write<T: Sendable>(_ operation: String, _ body: @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await writer.write(body)
        } catch let error as DatabaseError {
            throw StoreError.sqlite(operation: operation, message: error.description)
        }
    }

    func read<T: Sendable>(_ operation: String, _ body: @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await writer.read(body)
        } catch let error as DatabaseError {
            throw StoreError.sqlite(operation: operation, message: error.description)
        }
    }

    /// `PRAGMA integrity_check` and `foreign_key_check`: empty when the file is sound,
    /// else what SQLite reports.
    public func integrityProblems() async throws -> [String] {
        try await read("integrity check") { db in
            let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check")
            let foreign = try Row.fetchAll(db, sql: "PRAGMA foreign_key_check")
            return integrity.filter { $0 != "ok" }
                + foreign.map { "foreign key violation in \($0[0] as String? ?? "?") row \($0[1] as Int64? ?? -1)" }
        }
    }

    /// Records a daemon lifecycle event (start, stop, reload, reload failure with why).
    public func recordDaemonEvent(_ kind: DaemonEventKind, message: String = "", at: Date) async throws {
        try await write("recording a daemon event") { db in
            try db.execute(
                sql: "INSERT INTO daemon_event (kind, message, at) VALUES (?, ?, ?)",
                arguments: [kind.rawValue, message, at.ms])
        }
    }

    /// Lifecycle events since `since`, oldest first.
    public func daemonEvents(since: Date = .distantPast, limit: Int = 1000) async throws -> [DaemonEvent] {
        try await read("reading daemon events") { db in
            try Row.fetchAll(
                db, sql: "SELECT id, kind, message, at FROM daemon_event WHERE at >= ? ORDER BY at, id LIMIT ?",
                arguments: [since.ms, limit]
            ).map { row in
                guard let kind = DaemonEventKind(rawValue: row[1]) else {
                    throw StoreError.unreadableRow(table: "daemon_event", detail: "kind \(row[1] as String)")
                }
                return DaemonEvent(id: row[0], kind: kind, message: row[2], at: Date(ms: row[3]))
            }
        }
    }
}
