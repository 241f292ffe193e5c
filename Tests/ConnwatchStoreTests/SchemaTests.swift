import ConnwatchCore
import ConnwatchTestSupport
import Foundation
import GRDB
import Testing

@testable import ConnwatchStore

/// Thrown when a statement meant to violate a constraint touched nothing (a broken test).
private struct NoRowMatched: Error {}

@Suite struct SchemaTests {
    @Test func migratesAnEmptyFileInWALWithForeignKeys() async throws {
        let dir = try TemporaryDirectory.store()
        let store = try HistoryStore.open(path: dir.databasePath)
        let (mode, foreignKeys, applied, tables) = try await store.writer.read { db in
            (
                try String.fetchOne(db, sql: "PRAGMA journal_mode"),
                try Bool.fetchOne(db, sql: "PRAGMA foreign_keys"),
                try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"),
                try Set(String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'"))
            )
        }
        #expect(mode == "wal")
        #expect(foreignKeys == true)
        // The small page cache on the writer and on a reader (BENCHMARKS.md: heap at scale).
        let writerCache = try await store.writer.write { db in try Int.fetchOne(db, sql: "PRAGMA cache_size") }
        let readerCache = try await store.writer.read { db in try Int.fetchOne(db, sql: "PRAGMA cache_size") }
        #expect(writerCache == -HistoryStore.pageCacheKiB)
        #expect(readerCache == -HistoryStore.pageCacheKiB)
        #expect(HistoryStore.pageCacheKiB < 2000)
        #expect(applied == Schema.migrator.migrations)
        for table in [
            "connector", "latest_result", "result_history", "transition", "alert_state", "notification", "delivery",
            "delivery_attempt", "webhook_gone", "silence", "daemon_event",
        ] {
            #expect(tables.contains(table), "missing table \(table)")
        }
        #expect(try await store.integrityProblems() == [])
        try store.close()

        // Reopening an up-to-date file applies nothing and works.
        let again = try HistoryStore.open(path: dir.databasePath)
        #expect(try await again.count("connector") == 0)
        try again.close()
    }

    /// The CHECK lists are frozen literals: a new Core case must come with a migration.
    @Test func schemaEnumListsMatchCore() {
        #expect(Schema.checkKinds == CheckKind.allCases.map(\.rawValue))
        #expect(Schema.statuses == CheckStatus.allCases.map(\.rawValue))
        #expect(Schema.connectorKinds == ConnectorKind.allCases.map(\.rawValue))
        #expect(Schema.severities == Severity.allCases.map(\.rawValue))
        #expect(Schema.phases == AlertPhase.allCases.map(\.rawValue))
        #expect(Schema.eventTypes == AlertEventType.allCases.map(\.rawValue))
        #expect(Schema.causes == NotificationCause.allCodes)
        #expect(Schema.deliveryStatuses == DeliveryStatus.allCases.map(\.rawValue))
        #expect(Schema.daemonEventKinds == DaemonEventKind.allCases.map(\.rawValue))
    }

    /// v3 rebuilds the tables that name checks and event types: a v2 file keeps its rows,
    /// indexes and foreign keys, and then takes the observer-mode values (SPEC §3b).
    @Test func v3WidensChecksAndEventTypesKeepingRows() throws {
        let dir = try TemporaryDirectory.store()
        let queue = try DatabaseQueue(path: dir.databasePath)
        try Schema.migrator.migrate(queue, upTo: "v2-latest-content-hash")
        try queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO connector (name, kind, tenant_id, client_id, first_seen, last_seen) VALUES ('c1', 'exchange', 't', 'c', 0, 0);
                    INSERT INTO latest_result (connector, check_kind, status, reason, summary, checked_at, changed_at, content_hash)
                        VALUES ('c1', 'consent', 'ok', 'ok', 's', 1, 1, 42);
                    """)
            #expect(throws: DatabaseError.self) {
                try db.execute(
                    sql:
                        "INSERT INTO latest_result (connector, check_kind, status, reason, summary, checked_at, changed_at) VALUES ('c1', 'signin', 'ok', 'ok', 's', 1, 1)"
                )
            }
        }
        let indexesBefore = try queue.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name")
        }
        // Up to v3 only: later migrations add their own tables and indexes.
        try Schema.migrator.migrate(queue, upTo: "v3-observer-checks-and-events")
        try queue.write { db in
            #expect(try Int.fetchOne(db, sql: "SELECT content_hash FROM latest_result WHERE connector = 'c1'") == 42)
            try db.execute(
                sql:
                    "INSERT INTO latest_result (connector, check_kind, status, reason, summary, checked_at, changed_at) VALUES ('c1', 'signin', 'warning', 'signin_stale', 's', 1, 1)"
            )
            #expect(throws: DatabaseError.self) {
                try db.execute(sql: "UPDATE latest_result SET check_kind = 'nonsense' WHERE check_kind = 'signin'")
            }
            #expect(
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name")
                    == indexesBefore)
            #expect(try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").isEmpty)
            // Still cascades from connector.
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            try db.execute(sql: "DELETE FROM connector WHERE name = 'c1'")
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM latest_result") == 0)
            #expect(
                !(try String.fetchOne(db, sql: "SELECT group_concat(sql) FROM sqlite_master") ?? "").contains(
                    "_widened"))
        }
    }

    static let invalidInserts: [(String, String)] = [
        ("status outside the enum", "UPDATE latest_result SET status = 'fine'"),
        ("empty reason", "UPDATE latest_result SET reason = ''"),
        ("NULL summary", "UPDATE latest_result SET summary = NULL"),
        ("details not JSON", "UPDATE latest_result SET details = '{oops'"),
        ("negative failure count", "UPDATE latest_result SET consecutive_failures = -1"),
        ("expiry half set", "UPDATE latest_result SET expires_at = NULL WHERE expiry_credential_id IS NOT NULL"),
        ("unknown connector kind", "UPDATE connector SET kind = 'dropbox'"),
        ("labels not JSON", "UPDATE connector SET labels = 'x'"),
        ("latest row of an unknown connector", "UPDATE latest_result SET connector = 'nobody'"),
        (
            "notification id with a dot",
            "INSERT INTO notification SELECT 'a.b', alert_id, connector, check_kind, event_type, state, severity, status, reason, cause, ladder_days, summary, remediation, details, days_left, expires_at, missing_permissions, suppressed, body, created_at FROM notification"
        ),
        ("unknown event type", "UPDATE notification SET event_type = 'connector.exploded'"),
        ("ladder cause without days", "UPDATE notification SET cause = 'ladder_step'"),
        ("delivery state outside the enum", "UPDATE delivery SET status = 'sent'"),
        ("delivering without a lease", "UPDATE delivery SET status = 'delivering', lease_until = NULL"),
        ("finished without a time", "UPDATE delivery SET status = 'delivered'"),
        (
            "duplicate delivery",
            "INSERT INTO delivery (notification_id, connector, webhook, status, next_attempt_at, created_at) SELECT notification_id, connector, webhook, 'pending', 0, 0 FROM delivery"
        ),
        ("firing state without an incident id", "UPDATE alert_state SET alert_id = NULL"),
        ("unknown daemon event", "INSERT INTO daemon_event (kind, message, at) VALUES ('crash', '', 0)"),
        (
            "silence ending before it starts",
            "INSERT INTO silence (connector, reason, author, created_at, expires_at) VALUES ('a', '', '', 10, 5)"
        ),
        (
            "transition to the same status",
            "INSERT INTO transition (connector, check_kind, from_status, to_status, reason, at) SELECT name, NULL, 'ok', 'ok', 'ok', 0 FROM connector"
        ),
    ]

    /// Invariants live in the schema: every bad write is refused by SQLite itself.
    @Test(arguments: invalidInserts)
    func schemaRefusesInvalidRows(_ name: String, _ sql: String) async throws {
        let store = try HistoryStore.openInMemory()
        let at = Fixture.t0
        var batch = CycleBatch(at: at, connectors: [Fixture.cycle(1, at: at)])
        batch.alertStates = [
            AlertKey(connector: "conn-00001", check: .consent): AlertState(
                firing: true, alertId: "n1", status: .critical, reason: .consentMissing, notifyCount: 1)
        ]
        batch.notifications = [
            Fixture.outgoing(Fixture.notification("n1", connector: "conn-00001", at: at), webhooks: ["soc"])
        ]
        try await store.commit(batch)
        await #expect(throws: DatabaseError.self, "\(name) must be refused") {
            try await store.writer.write { db in
                try db.execute(sql: sql)
                // An UPDATE that matched nothing would prove nothing.
                if db.changesCount == 0 { throw NoRowMatched() }
            }
        }
        #expect(try await store.integrityProblems() == [])
    }

    @Test func refusesADatabaseFromANewerVersionWithoutTouchingIt() async throws {
        let dir = try TemporaryDirectory.store()
        let store = try HistoryStore.open(path: dir.databasePath)
        try await store.commit(CycleBatch(at: Fixture.t0, connectors: [Fixture.cycle(1, at: Fixture.t0)]))
        try await store.writer.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v9-from-the-future')")
        }
        try store.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: dir.databasePath))
        let filesBefore = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()

        do {
            _ = try HistoryStore.open(path: dir.databasePath)
            Issue.record("a newer database was opened")
        } catch let error as StoreError {
            #expect(error == .newerDatabase(path: dir.databasePath, unknownMigrations: ["v9-from-the-future"]))
            #expect(error.description.contains(dir.databasePath))
            #expect(error.description.contains("upgrade connwatch"))
            #expect(error.description.contains("move the file away"))
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.databasePath)) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == filesBefore)
    }

    @Test func refusesSomeoneElsesDatabaseAndGarbage() throws {
        let dir = try TemporaryDirectory.store()
        let foreign = dir.path + "/other.sqlite"
        let queue = try DatabaseQueue(path: foreign)
        try queue.write { db in try db.execute(sql: "CREATE TABLE customers (id INTEGER PRIMARY KEY)") }
        try queue.close()
        #expect(throws: StoreError.notAConnwatchDatabase(path: foreign)) { try HistoryStore.open(path: foreign) }

        let garbage = dir.path + "/garbage.sqlite"
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: garbage))
        let error = #expect(throws: StoreError.self) { try HistoryStore.open(path: garbage) }
        guard case .cannotOpen(let path, _)? = error else {
            Issue.record("expected cannotOpen, got \(String(describing: error))")
            return
        }
        #expect(path == garbage)
    }

    @Test func failsClearlyWhenTheDirectoryIsMissing() throws {
        let dir = try TemporaryDirectory.store()
        let path = dir.path + "/not-there/connwatch.sqlite"
        #expect(throws: StoreError.directoryMissing(path: path, directory: dir.path + "/not-there")) {
            try HistoryStore.open(path: path)
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/not-there"))
        let description = StoreError.directoryMissing(path: path, directory: dir.path + "/not-there").description
        #expect(description.contains("does not exist"))
        #expect(description.contains("StateDirectory"))
    }
}
