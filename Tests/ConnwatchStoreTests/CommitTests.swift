import ConnwatchCore
import ConnwatchTestSupport
import Foundation
import GRDB
import Testing

@testable import ConnwatchStore

@Suite struct CommitTests {
    @Test(arguments: StoreKind.allCases)
    func commitThenLoadRoundTrips(_ kind: StoreKind) async throws {
        let (store, dir) = try kind.open()
        defer { _ = dir }
        let at = Fixture.t0
        var broken = Fixture.failing(.consent, at: at)
        broken.details["nested"] = ["a": [1, 2, ["deep": "\"quoted\"\n"]], "f": .double(0.5), "n": .null]
        let cycles = [
            Fixture.cycle(1, at: at),
            Fixture.cycle(2, at: at, override: [.consent: broken]),
        ]
        var batch = CycleBatch(at: at, connectors: cycles)
        batch.connectors[1].outcomes[4].consecutiveFailures = 2
        let summary = try await store.commit(batch)
        #expect(summary.updated == 12)
        #expect(summary.historyRows == 12)

        let snapshot = try await store.loadState()
        #expect(snapshot.connectors.map(\.identity) == [Fixture.identity(1), Fixture.identity(2)])
        #expect(snapshot.connectors.map(\.status) == [.ok, .critical])
        #expect(snapshot.connectors.allSatisfy { $0.firstSeen == at && $0.lastSeen == at && $0.removedAt == nil })
        #expect(snapshot.latest.count == 12)
        for cycle in batch.connectors {
            for outcome in cycle.outcomes {
                let key = AlertKey(connector: cycle.identity.name, check: outcome.result.check)
                let latest = try #require(snapshot.latest[key])
                #expect(latest.result == outcome.result)
                #expect(latest.consecutiveFailures == outcome.consecutiveFailures)
                #expect(latest.changedAt == at)
            }
        }
        let status = try await store.status()
        #expect(status.map(\.connector.identity.name) == ["conn-00001", "conn-00002"])
        #expect(status[1].checks.map(\.result.check) == Fixture.checks)
        #expect(status[1].checks[3].result == broken)
        #expect(try await store.status(connector: "conn-00002").map(\.checks.count) == [6])
    }

    @Test(arguments: StoreKind.allCases)
    func historyKeepsOnlyResultsThatChangedSomething(_ kind: StoreKind) async throws {
        let (store, dir) = try kind.open()
        defer { _ = dir }
        let name = Fixture.identity(1).name
        try await store.commit(CycleBatch(at: Fixture.t0, connectors: [Fixture.cycle(1, at: Fixture.t0)]))
        // Five more identical hourly cycles: latest rows touched, history untouched.
        for h in 1...5 {
            let at = Fixture.t0 + Double(h) * Fixture.hour
            let s = try await store.commit(CycleBatch(at: at, connectors: [Fixture.cycle(1, at: at)]))
            #expect(s.unchanged == 6 && s.updated == 0 && s.historyRows == 0 && s.transitions == 0)
        }
        #expect(try await store.history(connector: name).count == 6)
        let t5 = Fixture.t0 + 5 * Fixture.hour
        let latest = try await store.loadState().latest[AlertKey(connector: name, check: .probe)]
        #expect(latest?.result.checkedAt == t5)
        #expect(latest?.changedAt == Fixture.t0)

        // Details only: the latest row follows, history does not.
        let t6 = t5 + Fixture.hour
        var probe = Fixture.ok(.probe, at: t6)
        probe.details["calls"] = ["Graph users": "ok", "Graph organization": "ok"]
        var s = try await store.commit(
            CycleBatch(at: t6, connectors: [Fixture.cycle(1, at: t6, override: [.probe: probe])]))
        #expect(s.updated == 1 && s.historyRows == 0)
        #expect(try await store.loadState().latest[AlertKey(connector: name, check: .probe)]?.result == probe)

        // Summary change: one history row. Status change: one more and a transition.
        let t7 = t6 + Fixture.hour
        let renamed = Fixture.ok(.probe, at: t7, summary: "Graph users, Graph organization answered")
        var next = probe
        next.summary = renamed.summary
        next.checkedAt = t7
        s = try await store.commit(CycleBatch(at: t7, connectors: [Fixture.cycle(1, at: t7, override: [.probe: next])]))
        #expect(s.historyRows == 1 && s.transitions == 0)
        let t8 = t7 + Fixture.hour
        let failed = Fixture.failing(.probe, at: t8, reason: .probeFailed)
        s = try await store.commit(
            CycleBatch(at: t8, connectors: [Fixture.cycle(1, at: t8, override: [.probe: failed])]))
        #expect(s.historyRows == 1)
        let history = try await store.history(connector: name)
        #expect(history.count == 8)
        #expect(history.suffix(2).map(\.result) == [next, failed])
        #expect(try await store.history(connector: name, since: t7).count == 2)

        // A row without a content hash (written before schema v2) is rewritten once, quietly.
        try await store.writer.write { db in try db.execute(sql: "UPDATE latest_result SET content_hash = NULL") }
        let t9 = t8 + Fixture.hour
        let same = Fixture.cycle(1, at: t9, override: [.probe: Fixture.failing(.probe, at: t9, reason: .probeFailed)])
        s = try await store.commit(CycleBatch(at: t9, connectors: [same]))
        #expect(s.updated == 6 && s.historyRows == 0 && s.transitions == 0)
        s = try await store.commit(CycleBatch(at: t9 + 1, connectors: [same]))
        #expect(s.unchanged == 6 && s.updated == 0)
    }

    @Test(arguments: StoreKind.allCases)
    func transitionsOfChecksAndOfTheConnector(_ kind: StoreKind) async throws {
        let (store, dir) = try kind.open()
        defer { _ = dir }
        let name = Fixture.identity(1).name
        let t0 = Fixture.t0
        try await store.commit(CycleBatch(at: t0, connectors: [Fixture.cycle(1, at: t0)]))
        var transitions = try await store.transitions(connector: name)
        // Six checks from nothing to ok, then the connector itself.
        #expect(transitions.count == 7)
        #expect(transitions.filter { $0.check == nil }.map(\.to) == [.ok])
        #expect(transitions.allSatisfy { $0.from == nil })

        let t1 = t0 + Fixture.hour
        try await store.commit(
            CycleBatch(
                at: t1, connectors: [Fixture.cycle(1, at: t1, override: [.consent: Fixture.failing(.consent, at: t1)])])
        )
        let t2 = t1 + Fixture.hour
        try await store.commit(
            CycleBatch(
                at: t2,
                connectors: [
                    Fixture.cycle(
                        1, at: t2,
                        override: [
                            .consent: Fixture.failing(.consent, at: t2),
                            .zscaler: Fixture.failing(.zscaler, at: t2, reason: .zscalerUnmatched, status: .warning),
                        ])
                ]))
        let t3 = t2 + Fixture.hour
        try await store.commit(CycleBatch(at: t3, connectors: [Fixture.cycle(1, at: t3)]))

        transitions = Array(try await store.transitions(connector: name).dropFirst(7))
        let seen = transitions.map {
            "\($0.check?.rawValue ?? "connector") \($0.from?.rawValue ?? "-")→\($0.to.rawValue) \($0.reason)"
        }
        #expect(
            seen == [
                "consent ok→critical consent_missing", "connector ok→critical consent_missing",
                "zscaler ok→warning zscaler_unmatched",
                "consent critical→ok ok", "zscaler warning→ok ok", "connector critical→ok ok",
            ])
        #expect(transitions.map(\.at) == [t1, t1, t2, t3, t3, t3])
        #expect(try await store.loadState().connectors.first?.status == .ok)
    }

    @Test(arguments: StoreKind.allCases)
    func lastGoodResultAndFailureCountersSurvive(_ kind: StoreKind) async throws {
        let (store, dir) = try kind.open()
        defer { _ = dir }
        let key = AlertKey(connector: Fixture.identity(1).name, check: .credential)
        let t0 = Fixture.t0
        let good = Fixture.ok(.credential, at: t0)
        try await store.commit(CycleBatch(at: t0, connectors: [Fixture.cycle(1, at: t0)]))

        // The daemon's transient policy keeps showing the good result while counting.
        var held = Fixture.cycle(1, at: t0)
        held.outcomes[0].consecutiveFailures = 2
        let s = try await store.commit(CycleBatch(at: t0 + Fixture.hour, connectors: [held]))
        #expect(s.unchanged == 6)
        var latest = try #require(try await store.loadState().latest[key])
        #expect(latest.consecutiveFailures == 2)
        #expect(latest.lastGood == good)

        // The third failure shows: the good result stays visible with its age.
        let t3 = t0 + 3 * Fixture.hour
        let unreachable = CheckResult(
            check: .credential, status: .unknown, reason: .unreachable, summary: "token endpoint timed out",
            checkedAt: t3)
        var cycle = Fixture.cycle(1, at: t3, override: [.credential: unreachable])
        cycle.outcomes[0].consecutiveFailures = 3
        try await store.commit(CycleBatch(at: t3, connectors: [cycle]))
        latest = try #require(try await store.loadState().latest[key])
        #expect(latest.result == unreachable)
        #expect(latest.consecutiveFailures == 3)
        #expect(latest.lastGood == good)
        #expect(latest.lastOkAt == t0)

        // Still failing, differently: the good result is kept.
        let t4 = t3 + Fixture.hour
        var worse = unreachable
        worse.summary = "token endpoint refused the connection"
        worse.checkedAt = t4
        cycle = Fixture.cycle(1, at: t4, override: [.credential: worse])
        cycle.outcomes[0].consecutiveFailures = 4
        try await store.commit(CycleBatch(at: t4, connectors: [cycle]))
        latest = try #require(try await store.status().first?.checks.first)
        #expect(latest.lastGood == good)
        #expect(latest.consecutiveFailures == 4)

        // Recovered: the current result is the good one.
        let t5 = t4 + Fixture.hour
        try await store.commit(CycleBatch(at: t5, connectors: [Fixture.cycle(1, at: t5)]))
        latest = try #require(try await store.loadState().latest[key])
        #expect(latest.lastGood == Fixture.ok(.credential, at: t5))
        #expect(latest.lastOkAt == t5)
        #expect(latest.consecutiveFailures == 0)
    }

    @Test func alertStatesPersistAcrossCloseAndReopen() async throws {
        let dir = try TemporaryDirectory.store()
        var store = try HistoryStore.open(path: dir.databasePath)
        let t0 = Fixture.t0
        let firing = AlertState(
            firing: true, alertId: "0190f0aa-0000-7000-8000-000000000001", status: .critical, reason: .consentMissing,
            eventType: .consentMissing, severity: .critical, firstNotifiedAt: t0, lastNotifiedAt: t0 + 0.5,
            notifyCount: 2, suppressed: false, reachedSinks: true)
        let ladder = AlertState(ladderCredentialId: "6f1c0e0a-0000-4000-8000-000000000001", ladderStep: 60)
        let k1 = AlertKey(connector: "conn-00001", check: .consent)
        let k2 = AlertKey(connector: "conn-00001", check: .secretExpiry)
        let k3 = AlertKey(connector: "conn-00002", check: .probe)
        var batch = CycleBatch(at: t0, connectors: [Fixture.cycle(1, at: t0), Fixture.cycle(2, at: t0)])
        batch.alertStates = [k1: firing, k2: ladder, k3: AlertState(firing: true, alertId: "x", notifyCount: 1)]
        var s = try await store.commit(batch)
        #expect(s.alertStatesWritten == 3)
        try store.close()

        store = try HistoryStore.open(path: dir.databasePath)
        var states = try await store.loadState().alertStates
        #expect(states == [k1: firing, k2: ladder, k3: AlertState(firing: true, alertId: "x", notifyCount: 1)])

        // Equal states are not rewritten; idle deletes; forget deletes.
        s = try await store.commit(
            CycleBatch(at: t0 + 60, alertStates: [k1: firing, k2: .idle], forgetAlertStates: [k3]))
        #expect(s.alertStatesWritten == 1)
        try store.close()
        store = try HistoryStore.open(path: dir.databasePath)
        states = try await store.loadState().alertStates
        #expect(states == [k1: firing])
        #expect(try await store.count("alert_state", where: "firing = 1 AND alert_id = '\(firing.alertId!)'") == 1)
        try store.close()
    }

    @Test(arguments: StoreKind.allCases)
    func notificationAndDeliveriesAreWrittenWithTheStateChange(_ kind: StoreKind) async throws {
        let (store, dir) = try kind.open()
        defer { _ = dir }
        let t0 = Fixture.t0
        let name = Fixture.identity(1).name
        let firing = Fixture.notification("n1", connector: name, at: t0)
        let silenced = Fixture.notification("n2", connector: name, check: .probe, suppressed: true, at: t0)
        var ladder = Fixture.notification("n3", connector: name, check: .secretExpiry, severity: .info, at: t0)
        ladder.cause = .ladderStep(days: 60)
        ladder.eventType = .secretExpiring
        ladder.daysLeft = 59
        ladder.expiresAt = t0 + 59 * Fixture.day
        ladder.missingPermissions = nil
        let key = AlertKey(connector: name, check: .consent)
        let state = AlertState(firing: true, alertId: "n1", status: .critical, reason: .consentMissing, notifyCount: 1)
        let s = try await store.commit(
            CycleBatch(
                at: t0, connectors: [Fixture.cycle(1, at: t0, override: [.consent: Fixture.failing(.consent, at: t0)])],
                alertStates: [key: state],
                notifications: [
                    Fixture.outgoing(firing, webhooks: ["soc", "ops", "soc"]),
                    Fixture.outgoing(silenced, webhooks: ["soc"]),
                    Fixture.outgoing(ladder, webhooks: []),
                ]))
        #expect(s.notifications == 3)
        #expect(s.deliveries == 2)

        let stored = try await store.alerts(includeResolved: true)
        #expect(Set(stored.map(\.notification.id)) == ["n1", "n2", "n3"])
        for original in [firing, silenced, ladder] {
            let back = try #require(stored.first { $0.notification.id == original.id })
            #expect(back.notification == original)
            #expect(back.body == Fixture.outgoing(original, webhooks: []).body)
        }
        let deliveries = try await store.deliveries()
        #expect(deliveries.map(\.webhook).sorted() == ["ops", "soc"])
        #expect(deliveries.allSatisfy { $0.notificationId == "n1" && $0.status == .pending && $0.nextAttemptAt == t0 })
        #expect(try await store.loadState().alertStates == [key: state])

        // Only n1's incident fires: `alerts` without resolved lists its latest notification.
        let active = try await store.alerts(includeResolved: false)
        #expect(active.map(\.notification.id) == ["n1"])
    }

    static let failingBatches: [(String, @Sendable (Date) -> [OutgoingNotification])] = [
        (
            "duplicate notification id",
            { at in
                [
                    Fixture.outgoing(Fixture.notification("dup", connector: "conn-00001", at: at), webhooks: ["soc"]),
                    Fixture.outgoing(Fixture.notification("dup", connector: "conn-00001", at: at), webhooks: ["soc"]),
                ]
            }
        ),
        (
            "body that is not JSON",
            { at in
                [
                    OutgoingNotification(
                        notification: Fixture.notification("n1", connector: "conn-00001", at: at),
                        body: Data("not json".utf8), webhooks: ["soc"])
                ]
            }
        ),
        (
            "notification for a connector never seen",
            { at in [Fixture.outgoing(Fixture.notification("n1", connector: "ghost", at: at), webhooks: ["soc"])] }
        ),
    ]

    @Test(arguments: failingBatches)
    func aFailingPartRollsTheWholeBatchBack(
        _ name: String, _ notifications: @Sendable (Date) -> [OutgoingNotification]
    )
        async throws
    {
        let store = try HistoryStore.openInMemory()
        let t0 = Fixture.t0
        try await store.commit(CycleBatch(at: t0, connectors: [Fixture.cycle(1, at: t0)]))
        let t1 = t0 + Fixture.hour
        let batch = CycleBatch(
            at: t1,
            connectors: [
                Fixture.cycle(1, at: t1, override: [.consent: Fixture.failing(.consent, at: t1)]),
                Fixture.cycle(2, at: t1),
            ],
            alertStates: [
                AlertKey(connector: "conn-00001", check: .consent): AlertState(
                    firing: true, alertId: "n1", notifyCount: 1)
            ],
            notifications: notifications(t1))
        let error = await #expect(throws: StoreError.self, "\(name)") { try await store.commit(batch) }
        guard case .sqlite? = error else {
            Issue.record("expected an SQLite error, got \(String(describing: error))")
            return
        }
        // Nothing of the batch is visible: not the result, not the new connector, not the state.
        #expect(try await store.count("connector") == 1)
        #expect(try await store.count("latest_result", where: "status <> 'ok'") == 0)
        #expect(try await store.count("result_history") == 6)
        #expect(try await store.count("transition") == 7)
        #expect(try await store.count("alert_state") == 0)
        #expect(try await store.count("notification") == 0)
        #expect(try await store.count("delivery") == 0)
        #expect(try await store.loadState().latest.values.allSatisfy { $0.result.checkedAt == t0 })
    }

    @Test(arguments: StoreKind.allCases)
    func syncingTheConfigurationMarksRemovedConnectorsAndDropsUnplannedChecks(_ kind: StoreKind) async throws {
        let (store, dir) = try kind.open()
        defer { _ = dir }
        let t0 = Fixture.t0
        try await store.commit(
            CycleBatch(
                at: t0,
                connectors: [
                    Fixture.cycle(
                        1, at: t0,
                        override: [
                            .zscaler: Fixture.failing(.zscaler, at: t0, reason: .zscalerUnmatched, status: .warning)
                        ]),
                    Fixture.cycle(2, at: t0),
                ]))
        let t1 = t0 + Fixture.day
        let newcomer = Fixture.identity(3)
        let removed = try await store.syncConfiguredConnectors(
            [
                ConfiguredConnector(identity: Fixture.identity(1), checks: Fixture.checks.filter { $0 != .zscaler }),
                ConfiguredConnector(identity: newcomer, checks: Fixture.checks),
            ], at: t1)
        #expect(removed == ["conn-00002"])
        let status = try await store.status()
        #expect(status.map(\.connector.identity.name) == ["conn-00001", "conn-00003"])
        #expect(status[0].checks.map(\.result.check) == [.credential, .secretExpiry, .certificate, .consent, .probe])
        // zscaler was the only warning: the connector is ok now, and says so in its transitions.
        #expect(status[0].connector.status == .ok)
        let last = try await store.transitions(connector: "conn-00001").last
        #expect(last?.check == nil && last?.from == .warning && last?.to == .ok && last?.at == t1)
        // A connector not checked yet: present, no status, no checks (shown as pending).
        #expect(status[1].connector.status == nil)
        #expect(status[1].checks.isEmpty)
        let all = try await store.loadState().connectors
        #expect(all.first { $0.identity.name == "conn-00002" }?.removedAt == t1)
        #expect(try await store.history(connector: "conn-00001").count == 6)

        // Seen again in a cycle: no longer removed.
        try await store.commit(CycleBatch(at: t1 + 60, connectors: [Fixture.cycle(2, at: t1 + 60)]))
        #expect(try await store.status().map(\.connector.identity.name) == ["conn-00001", "conn-00002", "conn-00003"])
    }

    @Test func daemonEventsAreKept() async throws {
        let store = try HistoryStore.openInMemory()
        try await store.recordDaemonEvent(.start, message: "connwatch 1.0.0", at: Fixture.t0)
        try await store.recordDaemonEvent(.reloadFailed, message: "connwatch.toml:12: unknown key", at: Fixture.t0 + 5)
        try await store.recordDaemonEvent(.stop, at: Fixture.t0 + 10)
        let events = try await store.daemonEvents()
        #expect(events.map(\.kind) == [.start, .reloadFailed, .stop])
        #expect(events[1].message == "connwatch.toml:12: unknown key")
        #expect(try await store.daemonEvents(since: Fixture.t0 + 5).count == 2)
    }
}
