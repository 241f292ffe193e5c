import ConnwatchCore
import ConnwatchTestSupport
import Foundation
import GRDB
import Testing

@testable import ConnwatchStore

@Suite struct OutboxTests {
    /// Commits `ids` as firing/resolved notifications of connector `i`, each to `webhooks`.
    private func notify(
        _ store: HistoryStore, connector i: Int, ids: [String], webhooks: [String], at: Date
    ) async throws {
        let name = Fixture.identity(i).name
        try await store.commit(
            CycleBatch(
                at: at, connectors: [Fixture.cycle(i, at: at)],
                notifications: ids.enumerated().map { index, id in
                    Fixture.outgoing(
                        Fixture.notification(
                            id, alertId: ids[0], connector: name, state: index % 2 == 0 ? .firing : .resolved, at: at),
                        webhooks: webhooks)
                }))
    }

    @Test(arguments: StoreKind.allCases)
    func claimLeasesDueDeliveriesAndRecordsAttempts(_ kind: StoreKind) async throws {
        let (store, dir) = try kind.open()
        defer { _ = dir }
        let t0 = Fixture.t0
        try await notify(store, connector: 1, ids: ["a1"], webhooks: ["soc"], at: t0)
        #expect(try await store.claimDueDeliveries(now: t0 - 1, lease: .seconds(60), limit: 10).isEmpty)
        #expect(try await store.nextDeliveryDue() == t0)

        let claimed = try await store.claimDueDeliveries(now: t0, lease: .seconds(60), limit: 10)
        #expect(claimed.count == 1)
        let d = try #require(claimed.first)
        #expect(d.notificationId == "a1" && d.webhook == "soc" && d.connector == "conn-00001" && d.attempts == 0)
        #expect(d.eventType == .consentMissing)
        #expect(d.leaseUntil == t0 + 60)
        #expect(String(decoding: d.body, as: UTF8.self).contains(#""alert_id":"a1""#))
        // Leased: nobody else gets it.
        #expect(try await store.claimDueDeliveries(now: t0 + 30, lease: .seconds(60), limit: 10).isEmpty)

        // A 503: rescheduled.
        try await store.recordAttempt(
            deliveryID: d.id, at: t0 + 1, httpStatus: 503, error: "HTTP 503", duration: .milliseconds(250),
            outcome: .retry(at: t0 + 6))
        var record = try #require(try await store.deliveries().first)
        #expect(record.status == .pending && record.attempts == 1 && record.nextAttemptAt == t0 + 6)
        #expect(record.lastHTTPStatus == 503 && record.lastError == "HTTP 503" && record.leaseUntil == nil)
        #expect(try await store.claimDueDeliveries(now: t0 + 5, lease: .seconds(60), limit: 10).isEmpty)

        // Second attempt delivers, under the same webhook-id.
        let again = try await store.claimDueDeliveries(now: t0 + 6, lease: .seconds(60), limit: 10)
        #expect(again.map(\.id) == [d.id])
        #expect(again.first?.notificationId == "a1")
        #expect(again.first?.attempts == 1)
        try await store.recordAttempt(
            deliveryID: d.id, at: t0 + 7, httpStatus: 204, error: nil, duration: .milliseconds(80), outcome: .delivered)
        record = try #require(try await store.deliveries().first)
        #expect(record.status == .delivered && record.attempts == 2 && record.finishedAt == t0 + 7)
        #expect(record.lastError == nil)
        let attempts = try await store.attempts(deliveryID: d.id)
        #expect(attempts.map(\.httpStatus) == [503, 204])
        #expect(attempts.map(\.outcome) == ["retry", "delivered"])
        #expect(attempts.map(\.duration) == [.milliseconds(250), .milliseconds(80)])
        #expect(attempts.map(\.at) == [t0 + 1, t0 + 7])
        #expect(try await store.nextDeliveryDue() == nil)

        // Finished: recording again is refused.
        await #expect(throws: StoreError.deliveryNotLeased(id: d.id)) {
            try await store.recordAttempt(
                deliveryID: d.id, at: t0 + 8, httpStatus: 200, error: nil, duration: .zero, outcome: .delivered)
        }
    }

    /// A crash mid-send: the process dies holding a lease; after a restart the delivery is
    /// sent again, same id, once the lease has run out.
    @Test func leaseExpiryRecoversACrashedSendAfterReopen() async throws {
        let dir = try TemporaryDirectory.store()
        var store = try HistoryStore.open(path: dir.databasePath)
        let t0 = Fixture.t0
        try await notify(store, connector: 1, ids: ["a1"], webhooks: ["soc"], at: t0)
        let claimed = try await store.claimDueDeliveries(now: t0, lease: .seconds(60), limit: 10)
        #expect(claimed.count == 1)
        try store.close()  // the "crash": no attempt recorded

        store = try HistoryStore.open(path: dir.databasePath)
        #expect(try await store.deliveries(states: [.delivering]).count == 1)
        // Before the lease ends it is still someone's.
        #expect(try await store.recoverExpiredLeases(now: t0 + 59) == 0)
        #expect(try await store.claimDueDeliveries(now: t0 + 59, lease: .seconds(60), limit: 10).isEmpty)
        // After: recovered to pending, and claimed again under the same id.
        #expect(try await store.recoverExpiredLeases(now: t0 + 61) == 1)
        #expect(try await store.deliveries(states: [.pending]).map(\.id) == claimed.map(\.id))
        let again = try await store.claimDueDeliveries(now: t0 + 61, lease: .seconds(60), limit: 10)
        #expect(again.map(\.id) == claimed.map(\.id))
        #expect(again.map(\.notificationId) == ["a1"])

        // Without the recovery step, claiming takes an expired lease over as well.
        try store.close()
        store = try HistoryStore.open(path: dir.databasePath)
        let taken = try await store.claimDueDeliveries(now: t0 + 200, lease: .seconds(60), limit: 10)
        #expect(taken.map(\.id) == claimed.map(\.id))
        try store.close()
    }

    @Test(arguments: StoreKind.allCases)
    func deliveriesGoOutInOrderPerConnectorAndWebhook(_ kind: StoreKind) async throws {
        let (store, dir) = try kind.open()
        defer { _ = dir }
        let t0 = Fixture.t0
        // Connector 1: firing then resolved, to two webhooks. Connector 2: one firing.
        try await notify(store, connector: 1, ids: ["f1", "r1"], webhooks: ["soc", "ops"], at: t0)
        try await notify(store, connector: 2, ids: ["f2"], webhooks: ["soc"], at: t0)

        var claimed = try await store.claimDueDeliveries(now: t0, lease: .seconds(60), limit: 10)
        // Only the head of each (connector, webhook) queue.
        #expect(
            Set(claimed.map { "\($0.connector) \($0.webhook) \($0.notificationId)" }) == [
                "conn-00001 soc f1", "conn-00001 ops f1", "conn-00002 soc f2",
            ])
        let f1soc = try #require(claimed.first { $0.notificationId == "f1" && $0.webhook == "soc" })
        let f1ops = try #require(claimed.first { $0.notificationId == "f1" && $0.webhook == "ops" })
        let f2soc = try #require(claimed.first { $0.notificationId == "f2" })
        try await store.recordAttempt(
            deliveryID: f2soc.id, at: t0 + 1, httpStatus: 200, error: nil, duration: .milliseconds(5),
            outcome: .delivered)

        // soc fails for f1 and backs off: r1 must wait for it, even though r1 is due.
        try await store.recordAttempt(
            deliveryID: f1soc.id, at: t0 + 1, httpStatus: 500, error: "HTTP 500", duration: .milliseconds(5),
            outcome: .retry(at: t0 + 300))
        try await store.recordAttempt(
            deliveryID: f1ops.id, at: t0 + 1, httpStatus: 200, error: nil, duration: .milliseconds(5),
            outcome: .delivered)
        claimed = try await store.claimDueDeliveries(now: t0 + 2, lease: .seconds(60), limit: 10)
        #expect(claimed.map { "\($0.webhook) \($0.notificationId)" } == ["ops r1"])
        try await store.recordAttempt(
            deliveryID: claimed[0].id, at: t0 + 3, httpStatus: 200, error: nil, duration: .milliseconds(5),
            outcome: .delivered)

        claimed = try await store.claimDueDeliveries(now: t0 + 300, lease: .seconds(60), limit: 10)
        #expect(claimed.map { "\($0.webhook) \($0.notificationId)" } == ["soc f1"])
        try await store.recordAttempt(
            deliveryID: claimed[0].id, at: t0 + 301, httpStatus: 200, error: nil, duration: .milliseconds(5),
            outcome: .delivered)
        claimed = try await store.claimDueDeliveries(now: t0 + 302, lease: .seconds(60), limit: 10)
        #expect(claimed.map { "\($0.webhook) \($0.notificationId)" } == ["soc r1"])

        // A dead head no longer blocks its queue (it will never be sent).
        try await notify(store, connector: 3, ids: ["f3", "r3"], webhooks: ["soc"], at: t0 + 400)
        let head = try await store.claimDueDeliveries(now: t0 + 400, lease: .seconds(60), limit: 10)
            .filter { $0.connector == "conn-00003" }
        #expect(head.map(\.notificationId) == ["f3"])
        try await store.recordAttempt(
            deliveryID: head[0].id, at: t0 + 401, httpStatus: 400, error: "HTTP 400", duration: .milliseconds(5),
            outcome: .dead)
        let next = try await store.claimDueDeliveries(now: t0 + 402, lease: .seconds(60), limit: 10)
            .filter { $0.connector == "conn-00003" }
        #expect(next.map(\.notificationId) == ["r3"])
    }

    @Test(arguments: StoreKind.allCases)
    func deadThenRetriedByTheOperator(_ kind: StoreKind) async throws {
        let (store, dir) = try kind.open()
        defer { _ = dir }
        let t0 = Fixture.t0
        try await notify(store, connector: 1, ids: ["a1"], webhooks: ["soc"], at: t0)
        let d = try #require(try await store.claimDueDeliveries(now: t0, lease: .seconds(60), limit: 1).first)
        try await store.recordAttempt(
            deliveryID: d.id, at: t0 + 1, httpStatus: nil, error: "connection refused", duration: .seconds(1),
            outcome: .dead)
        var record = try #require(try await store.deliveries(states: [.dead]).first)
        #expect(record.id == d.id && record.attempts == 1 && record.finishedAt == t0 + 1)
        #expect(record.lastHTTPStatus == nil && record.lastError == "connection refused")
        #expect(try await store.claimDueDeliveries(now: t0 + 1000, lease: .seconds(60), limit: 10).isEmpty)

        #expect(try await store.retryDelivery(id: d.id, now: t0 + 2000))
        #expect(try await store.retryDelivery(id: d.id, now: t0 + 2000) == false)  // already pending
        #expect(try await store.retryDelivery(id: 9999, now: t0 + 2000) == false)
        record = try #require(try await store.deliveries().first)
        #expect(record.status == .pending && record.nextAttemptAt == t0 + 2000 && record.finishedAt == nil)
        let again = try await store.claimDueDeliveries(now: t0 + 2000, lease: .seconds(60), limit: 1)
        #expect(again.map(\.id) == [d.id])
        #expect(again.first?.attempts == 1)
        #expect(again.first?.notificationId == "a1")
    }

    @Test(arguments: StoreKind.allCases)
    func goneStopsEveryDeliveryToTheWebhook(_ kind: StoreKind) async throws {
        let (store, dir) = try kind.open()
        defer { _ = dir }
        let t0 = Fixture.t0
        try await notify(store, connector: 1, ids: ["a1", "a2"], webhooks: ["soc", "ops"], at: t0)
        try await notify(store, connector: 2, ids: ["b1"], webhooks: ["soc"], at: t0)
        let claimed = try await store.claimDueDeliveries(now: t0, lease: .seconds(60), limit: 10)
        let a1soc = try #require(claimed.first { $0.notificationId == "a1" && $0.webhook == "soc" })
        // b1 to soc is in flight too; it will get its own 410.
        try await store.recordAttempt(
            deliveryID: a1soc.id, at: t0 + 1, httpStatus: 410, error: "HTTP 410", duration: .milliseconds(5),
            outcome: .gone)
        let all = try await store.deliveries()
        let soc = all.filter { $0.webhook == "soc" }
        #expect(soc.filter { $0.notificationId != "b1" }.allSatisfy { $0.status == .gone && $0.finishedAt == t0 + 1 })
        #expect(soc.first { $0.notificationId == "b1" }?.status == .delivering)
        #expect(all.filter { $0.webhook == "ops" }.allSatisfy { $0.status != .gone })
        #expect(try await store.goneWebhooks() == ["soc": t0 + 1])

        // New notifications do not go to a gone webhook; they are recorded as gone.
        try await notify(store, connector: 3, ids: ["c1"], webhooks: ["soc", "ops"], at: t0 + 10)
        let c1 = try await store.deliveries().filter { $0.notificationId == "c1" }
        #expect(
            Dictionary(uniqueKeysWithValues: c1.map { ($0.webhook, $0.status) }) == ["soc": .gone, "ops": .pending])
        let claimable = try await store.claimDueDeliveries(now: t0 + 10, lease: .seconds(60), limit: 10)
        #expect(claimable.map { "\($0.webhook) \($0.notificationId)" } == ["ops c1"])

        // The URL was fixed on reload: new deliveries flow again.
        try await store.clearGoneWebhook("soc")
        try await notify(store, connector: 4, ids: ["d1"], webhooks: ["soc"], at: t0 + 20)
        #expect(try await store.deliveries().first { $0.notificationId == "d1" }?.status == .pending)
        // Retrying a gone delivery lifts the mark too.
        try await store.recordAttempt(
            deliveryID: try #require(
                try await store.claimDueDeliveries(now: t0 + 20, lease: .seconds(60), limit: 10).first {
                    $0.notificationId == "d1"
                }
            ).id, at: t0 + 21, httpStatus: 410, error: "HTTP 410", duration: .zero, outcome: .gone)
        let d1 = try #require(try await store.deliveries().first { $0.notificationId == "d1" })
        #expect(try await store.retryDelivery(id: d1.id, now: t0 + 30))
        #expect(try await store.goneWebhooks().isEmpty)
    }
}

@Suite struct OutboxWorkerSupportTests {
    private func notify(_ store: HistoryStore, connector i: Int, id: String, webhooks: [String], at: Date) async throws {
        try await store.commit(
            CycleBatch(
                at: at, connectors: [Fixture.cycle(i, at: at)],
                notifications: [
                    Fixture.outgoing(
                        Fixture.notification(id, alertId: id, connector: Fixture.identity(i).name, state: .firing, at: at),
                        webhooks: webhooks)
                ]))
    }

    @Test(arguments: StoreKind.allCases)
    func claimingCanBeLimitedToOneWebhook(_ kind: StoreKind) async throws {
        let (store, dir) = try kind.open()
        defer { _ = dir }
        let t0 = Fixture.t0
        try await notify(store, connector: 1, id: "n1", webhooks: ["soc", "slack"], at: t0)
        let slack = try await store.claimDueDeliveries(now: t0, lease: .seconds(60), limit: 10, webhook: "slack")
        #expect(slack.map(\.webhook) == ["slack"])
        let rest = try await store.claimDueDeliveries(now: t0, lease: .seconds(60), limit: 10)
        #expect(rest.map(\.webhook) == ["soc"])
    }

    @Test(arguments: StoreKind.allCases)
    func deliveriesToRemovedWebhooksAreGivenUp(_ kind: StoreKind) async throws {
        let (store, dir) = try kind.open()
        defer { _ = dir }
        let t0 = Fixture.t0
        try await notify(store, connector: 1, id: "n1", webhooks: ["soc", "old"], at: t0)
        #expect(try await store.abandonDeliveries(toWebhooksNotIn: ["soc"], now: t0 + 1) == 1)
        let byHook = Dictionary(uniqueKeysWithValues: try await store.deliveries().map { ($0.webhook, $0) })
        #expect(byHook["old"]?.status == .dead && byHook["old"]?.lastError == "the webhook is no longer configured")
        #expect(byHook["soc"]?.status == .pending)
        // None configured: everything pending is given up.
        #expect(try await store.abandonDeliveries(toWebhooksNotIn: [], now: t0 + 2) == 1)
    }

    @Test(arguments: StoreKind.allCases)
    func aDeliveryWaitingBehindAnEarlierOneIsNotDue(_ kind: StoreKind) async throws {
        let (store, dir) = try kind.open()
        defer { _ = dir }
        let t0 = Fixture.t0
        try await notify(store, connector: 1, id: "n1", webhooks: ["soc"], at: t0)
        try await notify(store, connector: 1, id: "n2", webhooks: ["soc"], at: t0 + 1)
        let first = try await store.claimDueDeliveries(now: t0 + 1, lease: .seconds(60), limit: 10)
        #expect(first.map(\.notificationId) == ["n1"])
        try await store.recordAttempt(
            deliveryID: first[0].id, at: t0 + 2, httpStatus: 500, error: "HTTP 500", duration: .milliseconds(5),
            outcome: .retry(at: t0 + 3600))
        // n2 has been due since t0+1, but waits for n1: the outbox is next due at n1's retry.
        #expect(try await store.nextDeliveryDue() == t0 + 3600)
        #expect(try await store.claimDueDeliveries(now: t0 + 10, lease: .seconds(60), limit: 10).isEmpty)
    }

    @Test(arguments: StoreKind.allCases)
    func startUpReleasesEveryLeaseEvenUnexpired(_ kind: StoreKind) async throws {
        let (store, dir) = try kind.open()
        defer { _ = dir }
        let t0 = Fixture.t0
        try await notify(store, connector: 1, id: "n1", webhooks: ["soc"], at: t0)
        let claimed = try await store.claimDueDeliveries(now: t0, lease: .seconds(75), limit: 10)
        #expect(claimed.count == 1)
        // The process died mid-send; the lease has 70 s to run. A restart does not wait for it.
        #expect(try await store.recoverExpiredLeases(now: t0 + 5) == 0)
        #expect(try await store.releaseAllLeases(now: t0 + 5) == 1)
        let again = try await store.claimDueDeliveries(now: t0 + 5, lease: .seconds(75), limit: 10)
        #expect(again.map(\.notificationId) == ["n1"] && again.first?.attempts == 0)
    }
}
