import ConnwatchCore
import Foundation
import GRDB
import Testing

@testable import ConnwatchStore

@Suite struct SilenceTests {
    @Test(arguments: StoreKind.allCases)
    func silencesApplyUntilTheyExpireOrAreRemoved(_ kind: StoreKind) async throws {
        let (store, dir) = try kind.open()
        defer { _ = dir }
        let t0 = Fixture.t0
        let one = try await store.addSilence(
            connector: "conn-00001", reason: "tenant migration", author: "alice", now: t0, until: t0 + 3600)
        let all = try await store.addSilence(
            connector: Silence.allConnectors, reason: "change window", author: "bob", now: t0 + 100, until: t0 + 200)
        #expect(one.id != all.id)

        #expect(try await store.isSilenced(connector: "conn-00001", now: t0 + 10))
        #expect(try await store.isSilenced(connector: "conn-00002", now: t0 + 10) == false)
        #expect(try await store.isSilenced(connector: "conn-00002", now: t0 + 150))
        #expect(try await store.silences(activeAt: t0 + 150) == [all, one])
        // Expired: no longer applies, without anyone removing it.
        #expect(try await store.isSilenced(connector: "conn-00002", now: t0 + 200) == false)
        #expect(try await store.silences(activeAt: t0 + 3600).isEmpty)
        #expect(try await store.isSilenced(connector: "conn-00001", now: t0 + 3600) == false)

        // Removed early.
        #expect(try await store.removeSilence(id: one.id, now: t0 + 60))
        #expect(try await store.removeSilence(id: one.id, now: t0 + 61) == false)
        #expect(try await store.isSilenced(connector: "conn-00001", now: t0 + 70) == false)
        // Expired ones cannot be removed any more; unknown ids are not an error.
        #expect(try await store.removeSilence(id: all.id, now: t0 + 500) == false)
        #expect(try await store.removeSilence(id: 424242, now: t0) == false)

        await #expect(throws: StoreError.self) {
            try await store.addSilence(connector: "x", reason: "", author: "a", now: t0, until: t0)
        }
        await #expect(throws: StoreError.self) {
            try await store.addSilence(connector: "", reason: "", author: "a", now: t0, until: t0 + 1)
        }
    }

    /// The daemon's path: load active silences once, evaluate each connector with them.
    @Test func silencesFeedTheStateMachineAndStillReachHistory() async throws {
        let store = try HistoryStore.openInMemory()
        let t0 = Fixture.t0
        let silence = try await store.addSilence(
            connector: "conn-00001", reason: "maintenance", author: "alice", now: t0, until: t0 + 7200)
        let active = try await store.silences(activeAt: t0 + 60)
        let result = Fixture.failing(.consent, at: t0 + 60)
        var n = 0
        let (state, actions) = AlertStateMachine.evaluate(
            previous: nil, connector: "conn-00001", result: result,
            context: AlertContext(
                now: t0 + 60, settings: AlertSettings(), silenced: active.covers(connector: "conn-00001", at: t0 + 60)),
            nextID: {
                n += 1
                return "s\(n)"
            })
        #expect(actions.map(\.isSuppressed) == [true])
        try await store.commit(
            CycleBatch(
                at: t0 + 60, connectors: [Fixture.cycle(1, at: t0 + 60, override: [.consent: result])],
                alertStates: [AlertKey(connector: "conn-00001", check: .consent): state],
                notifications: actions.map { Fixture.outgoing($0.notification, webhooks: ["soc"]) }))
        let history = try await store.alerts(includeResolved: true)
        #expect(history.map(\.notification.suppressed) == [true])
        #expect(try await store.deliveries().isEmpty)
        #expect(silence.isActive(at: t0 + 60))
    }
}

@Suite struct RetentionTests {
    @Test(arguments: StoreKind.allCases)
    func pruneKeepsFailuresLongestAndNeverTheLatestState(_ kind: StoreKind) async throws {
        let (store, dir) = try kind.open()
        defer { _ = dir }
        let retention = ConfigDuration.days(10)
        let t0 = Fixture.t0
        let day = Fixture.day
        // Day 0: everything ok. Day 1: consent fails. Day 2: it recovers. Day 25: ok again
        // for the connectors (latest rows are refreshed but unchanged).
        try await store.commit(CycleBatch(at: t0, connectors: [Fixture.cycle(1, at: t0), Fixture.cycle(2, at: t0)]))
        let t1 = t0 + day
        try await store.commit(
            CycleBatch(
                at: t1, connectors: [Fixture.cycle(1, at: t1, override: [.consent: Fixture.failing(.consent, at: t1)])],
                notifications: [
                    Fixture.outgoing(Fixture.notification("c1", connector: "conn-00001", at: t1), webhooks: ["soc"]),
                    Fixture.outgoing(
                        Fixture.notification("w1", connector: "conn-00001", check: .probe, severity: .warning, at: t1),
                        webhooks: ["soc"]),
                ]))
        let t2 = t1 + day
        try await store.commit(CycleBatch(at: t2, connectors: [Fixture.cycle(1, at: t2)]))
        try await store.recordDaemonEvent(.start, at: t0)
        try await store.recordDaemonEvent(.reloadFailed, message: "bad config", at: t0)
        _ = try await store.addSilence(connector: "conn-00001", reason: "", author: "a", now: t0, until: t0 + day)
        // Deliveries: c1 delivered, w1 dead.
        // (Same connector and webhook: w1 is claimable only once c1 is finished.)
        var finished = 0
        while true {
            let claimed = try await store.claimDueDeliveries(now: t1, lease: .seconds(60), limit: 10)
            if claimed.isEmpty { break }
            for d in claimed {
                try await store.recordAttempt(
                    deliveryID: d.id, at: t1, httpStatus: d.notificationId == "c1" ? 200 : 500, error: nil,
                    duration: .zero, outcome: d.notificationId == "c1" ? .delivered : .dead)
                finished += 1
            }
        }
        #expect(finished == 2)
        // A firing incident whose notification is old must stay while it fires.
        try await store.commit(
            CycleBatch(
                at: t1,
                alertStates: [
                    AlertKey(connector: "conn-00002", check: .probe): AlertState(firing: true, alertId: "f1")
                ],
                notifications: [
                    Fixture.outgoing(
                        Fixture.notification("f1", connector: "conn-00002", check: .probe, severity: .warning, at: t1),
                        webhooks: [])
                ]))
        // conn-00002 leaves the configuration on day 3.
        try await store.syncConfiguredConnectors(
            [ConfiguredConnector(identity: Fixture.identity(1), checks: Fixture.checks)], at: t0 + 3 * day)

        // Day 15: past `retention` for day 0–2 rows, not past twice that.
        var s = try await store.prune(now: t0 + 15 * day, retention: retention)
        // ok history rows of both connectors from day 0 (12) and conn-00001's consent recovery
        // on day 2 go; the day-1 failure stays.
        #expect(s.history == 13)
        #expect(try await store.count("result_history", where: "status <> 'ok'") == 1)
        #expect(try await store.count("transition", where: "to_status <> 'ok'") == 2)
        #expect(s.deliveries == 1)  // delivered c1; dead w1 stays
        #expect(try await store.deliveries().map(\.status) == [.dead])
        // w1 (warning, finished delivery dead → kept), c1 critical → kept, f1 still firing → kept.
        #expect(s.notifications == 0)
        #expect(s.silences == 1)
        #expect(s.daemonEvents == 1)
        #expect(s.connectors == 0)
        // Latest rows and alert states are untouched.
        #expect(try await store.count("latest_result") == 12)
        #expect(try await store.count("alert_state") == 1)

        // Day 25: past twice the retention: failures go too, and the removed connector.
        s = try await store.prune(now: t0 + 25 * day, retention: retention)
        #expect(try await store.count("result_history") == 0)
        #expect(try await store.count("transition") == 0)
        #expect(try await store.count("daemon_event") == 0)
        #expect(try await store.count("delivery") == 0)
        #expect(s.connectors == 1)
        #expect(try await store.loadState().connectors.map(\.identity.name) == ["conn-00001"])
        #expect(try await store.count("latest_result") == 6)
        #expect(try await store.count("notification") == 0)
        #expect(try await store.integrityProblems() == [])
    }
}
