import ConnwatchCore
import Foundation
import Testing

@testable import ConnwatchStore

/// `/metrics` counts with `SELECT COUNT(*) … GROUP BY`; the counts equal what the listings
/// they replaced (every open delivery, every firing alert, every silence loaded) gave.
@Suite struct CountTests {
    @Test(arguments: StoreKind.allCases)
    func countsMatchTheListings(_ kind: StoreKind) async throws {
        let (store, dir) = try kind.open()
        defer { _ = dir }
        let t0 = Fixture.t0
        #expect(
            try await store.counts(at: t0) == StoreCounts(deliveries: [:], firingAlerts: 0, activeSilences: 0))

        // Incidents: a1 firing (two notifications), a2 firing, a3 resolved; each to two webhooks.
        func outgoing(_ id: String, alert: String, connector i: Int, _ state: AlertPhase) -> OutgoingNotification {
            Fixture.outgoing(
                Fixture.notification(id, alertId: alert, connector: Fixture.identity(i).name, state: state, at: t0),
                webhooks: ["soc", "gone-hook"])
        }
        func firing(_ alert: String) -> AlertState {
            AlertState(firing: true, alertId: alert, notifyCount: 1)
        }
        var batch = CycleBatch(at: t0, connectors: (1...4).map { Fixture.cycle($0, at: t0) })
        batch.notifications = [
            outgoing("n1", alert: "a1", connector: 1, .firing), outgoing("n2", alert: "a1", connector: 1, .firing),
            outgoing("n3", alert: "a2", connector: 2, .firing), outgoing("n4", alert: "a3", connector: 3, .firing),
            outgoing("n5", alert: "a3", connector: 3, .resolved),
        ]
        batch.alertStates = [
            AlertKey(connector: Fixture.identity(1).name, check: .consent): firing("a1"),
            AlertKey(connector: Fixture.identity(2).name, check: .consent): firing("a2"),
            // Firing, but no notification recorded for it (pruned): not listed, not counted.
            AlertKey(connector: Fixture.identity(4).name, check: .probe): firing("a4"),
            AlertKey(connector: Fixture.identity(3).name, check: .secretExpiry):
                AlertState(ladderCredentialId: "6f1c0e0a-0000-4000-8000-000000000001", ladderStep: 60),
        ]
        try await store.commit(batch)

        // Deliveries (the head of each connector's queue is claimed): to soc, one delivered,
        // one dead, one still delivering, two pending; to gone-hook, a 410 makes its pending
        // ones gone, two others stay delivering.
        let soc = try await store.claimDueDeliveries(now: t0, lease: .seconds(600), limit: 100, webhook: "soc")
        #expect(soc.map(\.notificationId) == ["n1", "n3", "n4"])
        try await store.recordAttempt(
            deliveryID: soc[0].id, at: t0, httpStatus: 204, error: nil, duration: .zero, outcome: .delivered)
        try await store.recordAttempt(
            deliveryID: soc[1].id, at: t0, httpStatus: 500, error: "HTTP 500", duration: .zero, outcome: .dead)
        let gone = try await store.claimDueDeliveries(now: t0, lease: .seconds(600), limit: 100, webhook: "gone-hook")
        try await store.recordAttempt(
            deliveryID: gone[0].id, at: t0, httpStatus: 410, error: "HTTP 410", duration: .zero, outcome: .gone)

        // Silences: one in force, one lifted, one expired, one not yet begun.
        _ = try await store.addSilence(connector: "*", reason: "r", author: "a", now: t0 - 60, until: t0 + 3600)
        let lifted = try await store.addSilence(
            connector: "x", reason: "r", author: "a", now: t0 - 60, until: t0 + 3600)
        _ = try await store.removeSilence(id: lifted.id, now: t0)
        _ = try await store.addSilence(connector: "y", reason: "r", author: "a", now: t0 - 7200, until: t0 - 3600)
        _ = try await store.addSilence(connector: "z", reason: "r", author: "a", now: t0 + 60, until: t0 + 3600)

        let counts = try await store.counts(at: t0)
        #expect(
            counts
                == StoreCounts(
                    deliveries: [.pending: 2, .delivering: 3, .dead: 1, .gone: 3], firingAlerts: 2, activeSilences: 1))

        // The same numbers as the listings /metrics used to load.
        var listed: [DeliveryStatus: Int] = [:]
        for d in try await store.deliveries(states: [.pending, .delivering, .dead, .gone], limit: 1_000_000) {
            listed[d.status, default: 0] += 1
        }
        #expect(counts.deliveries == listed)
        #expect(counts.firingAlerts == (try await store.alerts(includeResolved: false, limit: 1_000_000).count))
        #expect(counts.activeSilences == (try await store.silences(activeAt: t0).count))
    }
}
