import ConnwatchCore
import ConnwatchTestSupport
import Foundation
import Testing

@testable import ConnwatchStore

/// The report's reads (HistoryStore+Report.swift) on a real SQLite file.
@Suite struct ReportReadTests {
    /// conn 1: ok at t0, critical at t0 + 2 d, ok at t0 + 4 d; conn 2: ok at t0 + 3 d.
    func filled() async throws -> (HistoryStore, TemporaryDirectory) {
        let dir = try TemporaryDirectory.store()
        let store = try HistoryStore.open(path: dir.databasePath)
        let t0 = Fixture.t0
        let day = Fixture.day
        try await store.commit(CycleBatch(at: t0, connectors: [Fixture.cycle(1, at: t0)]))
        let broken = t0 + 2 * day
        try await store.commit(
            CycleBatch(
                at: broken,
                connectors: [Fixture.cycle(1, at: broken, override: [.consent: Fixture.failing(.consent, at: broken)])])
        )
        try await store.commit(CycleBatch(at: t0 + 3 * day, connectors: [Fixture.cycle(2, at: t0 + 3 * day)]))
        try await store.commit(CycleBatch(at: t0 + 4 * day, connectors: [Fixture.cycle(1, at: t0 + 4 * day)]))
        return (store, dir)
    }

    @Test func statusesBeforeAnInstant() async throws {
        let (store, dir) = try await filled()
        defer { _ = dir }
        let t0 = Fixture.t0
        let day = Fixture.day
        #expect(try await store.connectorStatuses(before: t0) == [:])
        #expect(try await store.connectorStatuses(before: t0 + 1) == ["conn-00001": .ok])
        #expect(try await store.connectorStatuses(before: t0 + 2.5 * day) == ["conn-00001": .critical])
        #expect(
            try await store.connectorStatuses(before: t0 + 5 * day) == ["conn-00001": .ok, "conn-00002": .ok])
    }

    @Test func transitionsOfEveryConnectorSince() async throws {
        let (store, dir) = try await filled()
        defer { _ = dir }
        let t0 = Fixture.t0
        let day = Fixture.day
        let own = try await store.transitions(since: t0 + day, ownOnly: true)
        #expect(own.map(\.connector) == ["conn-00001", "conn-00002", "conn-00001"])
        #expect(own.map(\.to) == [.critical, .ok, .ok])
        #expect(own.allSatisfy { $0.check == nil })
        #expect(own[0].from == .ok && own[1].from == nil)
        let all = try await store.transitions(since: t0 + day, ownOnly: false)
        // The consent check's own transitions too, and conn 2's first status per check.
        #expect(all.contains { $0.check == .consent && $0.to == .critical && $0.connector == "conn-00001" })
        #expect(all.count > own.count)
        #expect(all.map(\.at) == all.map(\.at).sorted())
        #expect(try await store.transitions(since: t0 + day, ownOnly: false, limit: 2).count == 2)
    }
}
