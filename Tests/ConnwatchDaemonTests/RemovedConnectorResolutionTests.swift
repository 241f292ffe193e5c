import ConnwatchAlerting
import ConnwatchCore
import ConnwatchStore
import Foundation
import GRDB
import Logging
import Synchronization
import Testing

@testable import ConnwatchDaemon

/// The journal entries a coordinator wrote, in order.
final class RecordingJournal: JournalSink {
    private let entries = Mutex<[JournalEntry]>([])

    var all: [JournalEntry] { entries.withLock { $0 } }

    func send(_ entry: JournalEntry, file: String, line: Int, function: String) -> Bool {
        entries.withLock { $0.append(entry) }
        return true
    }
}

/// A connector removed by a reload (or while the daemon was down) has its incidents resolved
/// with the identity they were announced with, read from the store — and a resolution the
/// store could not record is neither lost nor, after a restart, sent twice.
@Suite struct RemovedConnectorResolutionTests {
    static let t0 = Date(timeIntervalSince1970: 1_790_000_000)
    static let tenant = "7e000000-0000-4000-8000-000000000000"
    static let client = "a0000000-0000-4000-8000-000000000001"

    static func labelled() -> ConnectorConfig {
        var c = ConnectorConfig(
            name: "contoso-sp", kind: .sharepoint, tenantId: tenant, clientId: client, clientSecret: Secret("not-used"),
            source: SourceLocation(file: "test.toml"))
        c.labels = ["customer": "Contoso", "owner": "secops"]
        return c
    }

    /// One webhook for Contoso's connectors only, one for another customer's.
    static func webhooks() -> [WebhookConfig] {
        var contoso = WebhookConfig(
            name: "contoso-soc", url: Secret("https://hooks.example/contoso"), source: SourceLocation(file: "test.toml")
        )
        contoso.labels = ["customer": "Contoso"]
        var fabrikam = WebhookConfig(
            name: "fabrikam-soc", url: Secret("https://hooks.example/fabrikam"),
            source: SourceLocation(file: "test.toml"))
        fabrikam.labels = ["customer": "Fabrikam"]
        return [contoso, fabrikam]
    }

    static func configuration(_ connectors: [ConnectorConfig]) -> ConnwatchCore.Configuration {
        ConnwatchCore.Configuration(webhooks: webhooks(), connectors: connectors)
    }

    /// Every check ok but the credential, whose secret is refused: one critical incident.
    static func failing(at t: Date) -> [CheckResult] {
        CheckPlan.checks(for: .sharepoint, zscaler: false).map {
            $0 == .credential
                ? CheckResult(
                    check: $0, status: .critical, reason: .secretInvalid, summary: "the secret is refused", checkedAt: t
                )
                : CheckResult(check: $0, status: .ok, reason: .ok, summary: "fine", checkedAt: t)
        }
    }

    static func database() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cw-removed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent("connwatch.sqlite").path
    }

    static func coordinator(
        _ store: HistoryStore, _ configuration: ConnwatchCore.Configuration, journal: any JournalSink, now: Date
    ) async throws -> CycleCoordinator {
        let c = CycleCoordinator(
            store: store, journal: journal, configuration: configuration, snapshot: try await store.loadState(),
            startedAt: now, logger: Logger(label: "test"))
        await c.reconcile(now: now)
        return c
    }

    /// A coordinator on a new database file whose labelled connector has one incident
    /// firing (committed at `firedAt`).
    static func firingIncident(
        journal: any JournalSink = RecordingJournal()
    ) async throws -> (CycleCoordinator, HistoryStore, path: String, firedAt: Date) {
        let path = try database()
        let store = try HistoryStore.open(path: path)
        let c = try await coordinator(store, configuration([labelled()]), journal: journal, now: t0)
        let t1 = t0.addingTimeInterval(60)
        await c.record(connector: "contoso-sp", results: failing(at: t1), now: t1)
        await c.flush(now: t1)
        return (c, store, path, t1)
    }

    /// `data.connector` of the stored standard webhook body.
    static func connectorObject(_ n: StoredNotification) throws -> [String: JSONValue] {
        guard case .object(let body) = try CompactJSON.parse(n.body), case .object(let data)? = body["data"],
            case .object(let connector)? = data["connector"]
        else { throw CocoaError(.coderReadCorrupt) }
        return connector
    }

    @Test func aRemovedConnectorsResolutionCarriesItsLastIdentity() async throws {
        let journal = RecordingJournal()
        let (c, store, _, t1) = try await Self.firingIncident(journal: journal)

        // The reload removes it: its incident is resolved.
        let t2 = t1.addingTimeInterval(60)
        await c.reload(Self.configuration([]), now: t2)

        let notifications = try await store.alerts(includeResolved: true)
        #expect(notifications.map(\.notification.state) == [.resolved, .firing])
        guard let resolved = notifications.first, let fired = notifications.last else { return }
        #expect(resolved.notification.cause == .noLongerChecked)
        #expect(resolved.notification.alertId == fired.notification.alertId)

        // The webhook body names the connector as the alert did: kind, tenant, client, labels.
        let connector = try Self.connectorObject(resolved)
        #expect(connector == (try Self.connectorObject(fired)))
        #expect(connector["kind"] == .string("sharepoint"))
        #expect(connector["tenant_id"] == .string(Self.tenant))
        #expect(connector["client_id"] == .string(Self.client))
        #expect(connector["labels"] == .object(["customer": .string("Contoso"), "owner": .string("secops")]))

        // The label-filtered webhook that got the alert gets its resolution; the other neither.
        let deliveries = try await store.deliveries()
        #expect(deliveries.filter { $0.notificationId == fired.notification.id }.map(\.webhook) == ["contoso-soc"])
        #expect(deliveries.filter { $0.notificationId == resolved.notification.id }.map(\.webhook) == ["contoso-soc"])

        // So does the journal entry.
        let entries = journal.all.filter { e in
            e.fields.contains { $0 == ("CONNWATCH_ALERT_ID", fired.notification.alertId) }
        }
        #expect(entries.count == 2)
        for entry in entries {
            let fields = Dictionary(entry.fields, uniquingKeysWith: { a, _ in a })
            #expect(fields["CONNWATCH_CONNECTOR"] == "contoso-sp")
            #expect(fields["CONNWATCH_KIND"] == "sharepoint")
            #expect(fields["CONNWATCH_TENANT_ID"] == Self.tenant)
            #expect(fields["CONNWATCH_CLIENT_ID"] == Self.client)
        }
    }

    /// The same after a restart: the connector left the configuration while the daemon was down.
    @Test func aConnectorRemovedWhileDownIsResolvedWithItsStoredIdentity() async throws {
        var (_, store, path, t1) = try await Self.firingIncident()
        try store.close()

        store = try HistoryStore.open(path: path)
        let journal = RecordingJournal()
        _ = try await Self.coordinator(store, Self.configuration([]), journal: journal, now: t1.addingTimeInterval(60))
        let resolved = try #require(try await store.alerts(includeResolved: true).first)
        #expect(resolved.notification.state == .resolved)
        #expect(try Self.connectorObject(resolved)["kind"] == .string("sharepoint"))
        #expect(
            try await store.deliveries().filter { $0.notificationId == resolved.notification.id }.map(\.webhook) == [
                "contoso-soc"
            ])
        let fields = journal.all.flatMap(\.fields)
        #expect(fields.contains { $0 == ("CONNWATCH_KIND", "sharepoint") })
        #expect(fields.contains { $0 == ("CONNWATCH_CLIENT_ID", Self.client) })
    }

    @Test func aFailedFlushKeepsTheForgetSoARestartDoesNotResolveTwice() async throws {
        var (c, store, path, t1) = try await Self.firingIncident()

        // The database refuses the next notification: the reload's commit fails.
        let side = try DatabaseQueue(path: path)
        try await side.write { db in
            try db.execute(
                sql: """
                    CREATE TRIGGER refuse BEFORE INSERT ON notification
                    BEGIN SELECT RAISE(ABORT, 'injected failure'); END
                    """)
        }
        let t2 = t1.addingTimeInterval(60)
        await c.reload(Self.configuration([]), now: t2)
        #expect(await c.commitFailures == 1)
        #expect(await c.pendingForget == [AlertKey(connector: "contoso-sp", check: .credential)])
        #expect(try await store.alerts(includeResolved: true).map(\.notification.state) == [.firing])

        // The database accepts again: the next flush records the resolution and the forget.
        try await side.write { db in try db.execute(sql: "DROP TRIGGER refuse") }
        try side.close()
        await c.flush(now: t2.addingTimeInterval(1))
        #expect(await c.pendingForget.isEmpty)
        #expect(try await store.alerts(includeResolved: true).map(\.notification.state) == [.resolved, .firing])
        #expect(try await store.loadState().alertStates.isEmpty)

        // A restart on the same database: nothing is left to resolve.
        try store.close()
        store = try HistoryStore.open(path: path)
        _ = try await Self.coordinator(
            store, Self.configuration([]), journal: RecordingJournal(), now: t2.addingTimeInterval(120))
        #expect(try await store.alerts(includeResolved: true).map(\.notification.state) == [.resolved, .firing])
        #expect(
            try await store.deliveries().map(\.webhook) == ["contoso-soc", "contoso-soc"],
            "one delivery for the alert, one for its resolution")
    }
}
