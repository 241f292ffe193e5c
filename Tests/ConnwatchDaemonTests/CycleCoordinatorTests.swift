import ConnwatchAlerting
import ConnwatchCore
import ConnwatchStore
import Foundation
import Logging
import Testing

@testable import ConnwatchDaemon

/// The coordinator's connector table: configuration order, stamps and the end of a cycle
/// across reloads (it keeps one slot per name over the configuration's own array).
@Suite struct CycleCoordinatorTests {
    static let t0 = Date(timeIntervalSince1970: 1_790_000_000)

    static func connector(_ name: String, _ kind: ConnectorKind = .exchange) -> ConnectorConfig {
        ConnectorConfig(
            name: name, kind: kind, tenantId: "7e000000-0000-4000-8000-000000000000",
            clientId: "a0000000-0000-4000-8000-000000000000", clientSecret: Secret("not-used"),
            source: SourceLocation(file: "test.toml"))
    }

    static func results(_ kind: ConnectorKind, at t: Date) -> [CheckResult] {
        CheckPlan.checks(for: kind, zscaler: false).map {
            CheckResult(check: $0, status: .ok, reason: .ok, summary: "fine", checkedAt: t)
        }
    }

    static func coordinator(_ names: [String]) async throws -> (CycleCoordinator, HistoryStore) {
        let store = try HistoryStore.openInMemory()
        let configuration = Configuration(connectors: names.map { connector($0) })
        let coordinator = CycleCoordinator(
            store: store, journal: JournalWriter(forceStderr: true), configuration: configuration,
            snapshot: try await store.loadState(), startedAt: t0, logger: Logger(label: "test"))
        await coordinator.reconcile(now: t0)
        return (coordinator, store)
    }

    @Test func aCycleEndsWhenEveryConfiguredConnectorIsRecordedAcrossReloads() async throws {
        let (c, _) = try await Self.coordinator(["a", "b", "c"])
        let t1 = Self.t0.addingTimeInterval(60)
        await c.record(connector: "a", results: Self.results(.exchange, at: t1), now: t1)
        await c.record(connector: "b", results: Self.results(.exchange, at: t1), now: t1)
        // Recording one twice does not count it twice.
        await c.record(connector: "b", results: Self.results(.exchange, at: t1), now: t1)
        #expect(await c.lastCycleAt == nil)

        // c is no longer configured: a and b were checked this cycle, so the next record ends it.
        await c.reload(Configuration(connectors: [Self.connector("b"), Self.connector("a")]), now: t1)
        let t2 = t1.addingTimeInterval(60)
        await c.record(connector: "a", results: Self.results(.exchange, at: t2), now: t2)
        #expect(await c.lastCycleAt == t2)

        // A new cycle: d is added; recording a, b is not enough, d completes it.
        await c.reload(
            Configuration(connectors: [Self.connector("b"), Self.connector("a"), Self.connector("d", .mip)]), now: t2)
        let t3 = t2.addingTimeInterval(60)
        await c.record(connector: "a", results: Self.results(.exchange, at: t3), now: t3)
        await c.record(connector: "b", results: Self.results(.exchange, at: t3), now: t3)
        #expect(await c.lastCycleAt == t2)
        // A connector that is not configured is ignored.
        await c.record(connector: "c", results: Self.results(.exchange, at: t3), now: t3)
        #expect(await c.lastCycleAt == t2)
        await c.record(connector: "d", results: Self.results(.mip, at: t3), now: t3)
        #expect(await c.lastCycleAt == t3)

        // Status follows the configuration's order and each connector's kind plan.
        let report = await c.status(version: "t")
        #expect(report.connectors.map(\.name) == ["b", "a", "d"])
        #expect(report.connectors.map(\.kind) == [.exchange, .exchange, .mip])
        #expect(
            report.connectors.last?.checks.map(\.check) == CheckPlan.checks(for: .mip, zscaler: false))
    }

    @Test func stampsChangeOnlyForRecordedConnectorsAndOnReload() async throws {
        let (c, _) = try await Self.coordinator(["a", "b"])
        let t1 = Self.t0.addingTimeInterval(60)
        await c.record(connector: "a", results: Self.results(.exchange, at: t1), now: t1)
        let first = await c.statusUpdate(version: "t", known: [:])
        #expect(first.entries.map(\.name) == ["a", "b"])
        #expect(first.entries.allSatisfy { $0.status != nil })
        let known = Dictionary(uniqueKeysWithValues: first.entries.map { ($0.name, $0.stamp) })

        // Nothing recorded: every stamp is current, no status is rebuilt.
        #expect(await c.statusUpdate(version: "t", known: known).entries.allSatisfy { $0.status == nil })

        // Recording b changes b's stamp only.
        await c.record(connector: "b", results: Self.results(.exchange, at: t1), now: t1)
        let second = await c.statusUpdate(version: "t", known: known)
        #expect(second.entries.map { $0.status != nil } == [false, true])

        // A reload changes every stamp (the epoch), and keeps each connector's revision.
        await c.reload(Configuration(connectors: [Self.connector("b"), Self.connector("a")]), now: t1)
        let third = await c.statusUpdate(version: "t", known: known)
        #expect(third.entries.map(\.name) == ["b", "a"])
        #expect(third.entries.allSatisfy { $0.status != nil })
        #expect(third.entries.first { $0.name == "a" }?.stamp.revision == known["a"]?.revision)
    }
}
