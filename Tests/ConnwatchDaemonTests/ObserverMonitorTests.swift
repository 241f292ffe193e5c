import ConnwatchAlerting
import ConnwatchCore
import ConnwatchEntra
import ConnwatchStore
import Foundation
import Logging
import Synchronization
import Testing

@testable import ConnwatchDaemon

/// An in-memory observer client: counts its passes, answers from a script, and can hold a
/// pass open until released (to prove concurrent callers share it).
final class ObserverDouble: TenantObserving {
    struct State {
        var passes = 0
        var targets: [[ObservationTarget]] = []
        var holding = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    let state = Mutex(State())
    let answer: @Sendable ([ObservationTarget], Date) -> TenantObservation

    init(answer: @escaping @Sendable ([ObservationTarget], Date) -> TenantObservation) { self.answer = answer }

    var passes: Int { state.withLock { $0.passes } }

    /// Passes wait for ``release()`` from now on.
    func hold() { state.withLock { $0.holding = true } }

    func release() {
        let waiting = state.withLock { s in
            s.holding = false
            let list = s.waiting
            s.waiting = []
            return list
        }
        for w in waiting { w.resume() }
    }

    func observe(_ targets: [ObservationTarget], now: Date) async -> TenantObservation {
        let holding = state.withLock {
            $0.passes += 1
            $0.targets.append(targets)
            return $0.holding
        }
        if holding {
            await withCheckedContinuation { c in
                let resumeNow = state.withLock { s -> Bool in
                    guard s.holding else { return true }
                    s.waiting.append(c)
                    return false
                }
                if resumeNow { c.resume() }
            }
        }
        return answer(targets, now)
    }
}

/// Facts for the observer tests.
enum ObserverFixture {
    static let t0 = Date(timeIntervalSince1970: 1_795_910_400)  // 2026-11-29
    static let tenantA = "7e000000-0000-4000-8000-00000000000a"
    static let tenantB = "7e000000-0000-4000-8000-00000000000b"
    static let observerClient = "0b000000-0000-4000-8000-000000000001"
    static let graph = "00000003-0000-0000-c000-000000000000"
    static let thresholds = ExpiryThresholds(warningDays: 30, criticalDays: 7)

    static func client(_ i: Int) -> String { String(format: "c0000000-0000-4000-8000-%012d", i) }

    static func tenant(_ id: String) -> TenantConfig {
        TenantConfig(
            tenantId: id, clientId: observerClient, credential: .secret(Secret("observer-secret")),
            source: SourceLocation(file: "test.toml"))
    }

    /// An observed connector (no secret), or one with its own secret.
    static func connector(
        _ name: String, tenant: String = tenantA, client i: Int, kind: ConnectorKind = .exchange,
        ownSecret: Bool = false
    ) -> ConnectorConfig {
        ConnectorConfig(
            name: name, kind: kind, tenantId: tenant, clientId: client(i),
            clientSecret: ownSecret ? Secret("own-secret") : nil, source: SourceLocation(file: "test.toml"))
    }

    static func grantedToken(
        _ roles: [String] = ["Application.Read.All", "Directory.Read.All", "AuditLog.Read.All"]
    )
        -> GrantedToken
    {
        GrantedToken(roles: roles, hasRolesClaim: true, objectId: "observer-oid")
    }

    /// The observer's own facts: accepted, its secret ("obs" hint) valid for a year.
    static func observerOK(at now: Date) -> ObserverFacts {
        ObserverFacts(
            token: .value(grantedToken()),
            ownApplication: .value(
                ObservedApplication(
                    objectId: "obs-oid", appId: observerClient,
                    credentials: ApplicationCredentials(
                        secrets: [SecretInfo(keyId: "obs-key", hint: "obs", end: now.addingTimeInterval(365 * 86400))],
                        certificates: []))),
            credential: .secret(hint: "obs"))
    }

    static let refused = ObservedFailure.observerRefused(
        "AADSTS7000222: the provided client secret keys are expired", details: ["aadsts": 7_000_222])

    static func observerRefused() -> ObserverFacts {
        ObserverFacts(token: .failed(refused), ownApplication: .blocked(refused), credential: .secret(hint: "obs"))
    }

    static func roles(_ kind: ConnectorKind) -> [GrantedAppRole] {
        PermissionCatalog.requirements(for: kind).permissions.enumerated().map {
            GrantedAppRole(
                resourceAppId: PermissionCatalog.resource($0.element.resource).appId,
                appRoleId: "r\($0.offset)", permission: $0.element.name)
        }
    }

    static func success(_ at: Date) -> SignInEvent {
        SignInEvent(createdAt: at, resourceAppId: graph, resourceDisplayName: "Microsoft Graph", errorCode: 0)
    }

    static func failure(_ at: Date, code: Int) -> SignInEvent {
        SignInEvent(
            createdAt: at, resourceAppId: graph, resourceDisplayName: "Microsoft Graph", errorCode: code,
            failureReason: "AADSTS\(code)", keyId: "old-key", ipAddress: "203.0.113.7")
    }

    /// A healthy exchange connector app; `signIns` as given (nil: not read).
    static func healthy(kind: ConnectorKind = .exchange, at now: Date, signIns: SignInLog?) -> ObservedConnectorFacts {
        ObservedConnectorFacts(
            application: .value(
                ObservedApplication(
                    objectId: "app-oid", appId: "app",
                    credentials: ApplicationCredentials(
                        secrets: [SecretInfo(keyId: "k1", hint: "abc", end: now.addingTimeInterval(200 * 86400))],
                        certificates: []))),
            servicePrincipal: .value(ObservedServicePrincipal(objectId: "sp-oid", appId: "app", accountEnabled: true)),
            appRoles: .value(roles(kind)), signIns: signIns)
    }

    static func recentSuccess(_ now: Date) -> SignInLog {
        SignInLog(
            window: .value([success(now.addingTimeInterval(-3600))]),
            latestSuccess: .value(success(now.addingTimeInterval(-3600))))
    }

    /// Every target healthy with recent sign-ins, the observer accepted.
    static func allHealthy(_ targets: [ObservationTarget], _ now: Date) -> TenantObservation {
        TenantObservation(
            observer: observerOK(at: now),
            connectors: Dictionary(
                uniqueKeysWithValues: targets.map {
                    ($0.clientId.lowercased(), healthy(kind: $0.kind, at: now, signIns: recentSuccess(now)))
                }),
            readAt: now, httpRequests: 3)
    }

    static func coordinator(
        _ configuration: Configuration, journal: any JournalSink = JournalWriter(forceStderr: true), now: Date = t0
    ) async throws -> (CycleCoordinator, HistoryStore) {
        let store = try HistoryStore.openInMemory()
        let c = CycleCoordinator(
            store: store, journal: journal, configuration: configuration, snapshot: try await store.loadState(),
            startedAt: now, logger: Logger(label: "test"))
        await c.reconcile(now: now)
        return (c, store)
    }

    /// A wall clock the test moves.
    final class Clock: Sendable {
        let time: Mutex<Date>
        init(_ t: Date = t0) { time = Mutex(t) }
        var wall: WallClock { WallClock { [self] in time.withLock { $0 } } }
        func advance(_ seconds: TimeInterval) { time.withLock { $0 = $0.addingTimeInterval(seconds) } }
        var now: Date { time.withLock { $0 } }
    }
}

@Suite struct ObserverMonitorTests {
    typealias F = ObserverFixture

    /// What the daemon gives the factory (no request is made: the doubles answer).
    static let context = ObserverContext(
        clients: MicrosoftClients(
            transport: try! HTTPTransport(settings: TransportSettings()), endpoints: CloudSettings().endpoints),
        endpoints: CloudSettings().endpoints)

    /// Monitors for a configuration, recording observer results into `coordinator`.
    static func monitors(
        _ c: Configuration, clock: F.Clock, doubles: [String: ObserverDouble], coordinator: CycleCoordinator? = nil
    ) -> ObserverMonitors {
        ObserverMonitors(
            configuration: c, context: context, factory: { tenant, _ in doubles[tenant.tenantId]! },
            clock: clock.wall,
            record: { tenant, _, result in
                await coordinator?.recordObserver(tenantId: tenant.tenantId, result: result, now: clock.now)
            })
    }

    static func observe(
        _ connector: ConnectorConfig, _ monitors: ObserverMonitors, clock: F.Clock,
        own: @escaping @Sendable () async -> [CheckResult] = {
            Issue.record("an observed connector's own checks ran")
            return []
        }
    ) async -> ObservedRun.Outcome {
        await ObservedRun.run(
            connector, monitor: monitors.monitor(forTenant: connector.tenantId)!, thresholds: F.thresholds,
            now: { clock.now }, own: own, zscaler: nil)
    }

    @Test func onePassPerTenantPerCycleForAnyNumberOfConnectors() async throws {
        let a = (0..<12).map { F.connector("a\($0)", client: $0) }
        let b = (0..<5).map { F.connector("b\($0)", tenant: F.tenantB, client: 100 + $0, ownSecret: $0 == 0) }
        let configuration = Configuration(connectors: a + b, tenants: [F.tenant(F.tenantA), F.tenant(F.tenantB)])
        let doubles = [
            F.tenantA: ObserverDouble(answer: F.allHealthy), F.tenantB: ObserverDouble(answer: F.allHealthy),
        ]
        let clock = F.Clock()
        let monitors = Self.monitors(configuration, clock: clock, doubles: doubles)

        // One cycle spread over the interval (1 h): every observed connector checked once.
        for (i, c) in (a + b).enumerated() where c.clientSecret == nil {
            let outcome = await Self.observe(c, monitors, clock: clock)
            #expect(outcome.results.map(\.check) == [.app, .secretExpiry, .consent, .signin])
            #expect(outcome.results.allSatisfy { $0.status == .ok }, "\(outcome.results)")
            clock.advance(Double(i) * 10)
        }
        #expect(doubles[F.tenantA]!.passes == 1)
        #expect(doubles[F.tenantB]!.passes == 1)
        // The pass covered every connector of the tenant, the one with its own secret too.
        #expect(doubles[F.tenantB]!.state.withLock { $0.targets[0].count } == 5)
        #expect(doubles[F.tenantA]!.state.withLock { $0.targets[0].map(\.clientId) } == a.map(\.clientId))

        // The next cycle: one more pass per tenant.
        clock.advance(3600)
        for c in a { _ = await Self.observe(c, monitors, clock: clock) }
        #expect(doubles[F.tenantA]!.passes == 2)
        #expect(doubles[F.tenantB]!.passes == 1)
        #expect(await monitors.monitor(forTenant: F.tenantA)!.httpRequests == 6)
    }

    @Test func concurrentCallersAwaitTheSamePass() async throws {
        let connectors = (0..<20).map { F.connector("c\($0)", client: $0) }
        let configuration = Configuration(connectors: connectors, tenants: [F.tenant(F.tenantA)])
        let double = ObserverDouble(answer: F.allHealthy)
        double.hold()
        let clock = F.Clock()
        let monitors = Self.monitors(configuration, clock: clock, doubles: [F.tenantA: double])
        let results = await withTaskGroup(of: [CheckResult].self) { group in
            for c in connectors { group.addTask { await Self.observe(c, monitors, clock: clock).results } }
            // Let every caller reach the monitor while the pass is held open.
            while await monitors.monitor(forTenant: F.tenantA)!.passes == 0 { await Task.yield() }
            try? await Task.sleep(for: .milliseconds(50))
            double.release()
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 20)
        #expect(results.allSatisfy { $0.count == 4 && $0.allSatisfy { $0.status == .ok } })
        #expect(double.passes == 1)
    }

    @Test func anExplicitCheckForcesAFreshPassSharedByTheConnectorsItNames() async throws {
        let connectors = (0..<3).map { F.connector("c\($0)", client: $0) }
        let configuration = Configuration(connectors: connectors, tenants: [F.tenant(F.tenantA)])
        let double = ObserverDouble(answer: F.allHealthy)
        let clock = F.Clock()
        let monitors = Self.monitors(configuration, clock: clock, doubles: [F.tenantA: double])
        let monitor = try #require(monitors.monitor(forTenant: F.tenantA))
        _ = await Self.observe(connectors[0], monitors, clock: clock)
        _ = await Self.observe(connectors[1], monitors, clock: clock)
        #expect(double.passes == 1)
        // `connwatchctl check --all`: every connector, one fresh pass.
        clock.advance(1)
        await monitor.requireFresh(after: clock.now)
        for c in connectors { _ = await Self.observe(c, monitors, clock: clock) }
        #expect(double.passes == 2)
        // Then reused as usual.
        clock.advance(60)
        _ = await Self.observe(connectors[2], monitors, clock: clock)
        #expect(double.passes == 2)
    }

    @Test func aRefusedObserverTokenMakesEveryObservedCheckUnknownAndAlertsOnce() async throws {
        let journal = RecordingJournal()
        let connectors = [
            F.connector("obs-exchange", client: 1), F.connector("obs-blob", client: 2, kind: .azureBlob),
            F.connector("obs-sp", client: 3, kind: .sharepoint),
        ]
        let configuration = Configuration(connectors: connectors, tenants: [F.tenant(F.tenantA)])
        let (coordinator, _) = try await F.coordinator(configuration, journal: journal)
        let double = ObserverDouble { _, now in
            TenantObservation(observer: F.observerRefused(), connectors: [:], readAt: now, httpRequests: 0)
        }
        let clock = F.Clock()
        let monitors = Self.monitors(
            configuration, clock: clock, doubles: [F.tenantA: double], coordinator: coordinator)
        for c in connectors {
            let outcome = await Self.observe(c, monitors, clock: clock)
            await coordinator.record(connector: c.name, results: outcome.results, notes: outcome.notes, now: clock.now)
        }
        await coordinator.flush(now: clock.now)
        let report = await coordinator.status(version: "t")
        #expect(report.connectors.map(\.name) == connectors.map(\.name))
        for c in report.connectors {
            #expect(!c.checks.isEmpty)
            #expect(
                c.checks.allSatisfy { $0.status == .unknown && $0.reason == .observerFailed }, "\(c.name): \(c.checks)")
        }
        // The observer: critical, apart from the connectors.
        let observer = try #require(report.observers?.first)
        #expect(report.observers?.count == 1)
        #expect(observer.tenantId == F.tenantA)
        #expect(observer.clientId == F.observerClient)
        #expect(observer.status == .critical)
        #expect(observer.reason == .observerFailed)
        #expect(!report.connectors.contains { ObserverIdentity.isObserver($0.name) })
        // One alert: the observer's, not one per connector.
        let firing = journal.all.filter { $0.messageID != nil }
        #expect(firing.count == 1, "\(firing.map(\.message))")
        #expect(firing.first?.messageID == MessageIDs.byEventType["observer.credential.invalid"])
        let fields = Dictionary(firing.first?.fields ?? [], uniquingKeysWith: { a, _ in a })
        #expect(fields["CONNWATCH_CONNECTOR"] == "observer:\(F.tenantA)")
        #expect(fields["CONNWATCH_KIND"] == "observer")
        #expect(fields["CONNWATCH_CLIENT_ID"] == F.observerClient)
        #expect(fields["CONNWATCH_CHECK"] == "observer")
    }

    @Test func aConnectorWithItsOwnSecretGainsAppAndSigninFailingElsewhere() async throws {
        let connector = F.connector("both", client: 7, kind: .onedrive, ownSecret: true)
        let configuration = Configuration(connectors: [connector], tenants: [F.tenant(F.tenantA)])
        let double = ObserverDouble { targets, now in
            let failing = SignInLog(
                window: .value([
                    F.success(now.addingTimeInterval(-7200)), F.failure(now.addingTimeInterval(-600), code: 7_000_222),
                ]),
                latestSuccess: .value(F.success(now.addingTimeInterval(-7200))))
            return TenantObservation(
                observer: F.observerOK(at: now),
                connectors: [targets[0].clientId.lowercased(): F.healthy(kind: .onedrive, at: now, signIns: failing)],
                readAt: now, httpRequests: 2)
        }
        let clock = F.Clock()
        let (coordinator, _) = try await F.coordinator(configuration)
        let monitors = Self.monitors(
            configuration, clock: clock, doubles: [F.tenantA: double], coordinator: coordinator)
        let ownPlan = CheckPlan.checks(for: .onedrive, zscaler: false)
        let outcome = await Self.observe(
            connector, monitors, clock: clock,
            own: {
                ownPlan.map { CheckResult(check: $0, status: .ok, reason: .ok, summary: "fine", checkedAt: F.t0) }
            })
        #expect(outcome.results.map(\.check) == ownPlan + [.app, .signin])
        #expect(
            outcome.results.map(\.check)
                == CheckPlan.checks(for: .onedrive, mode: .ownWithObserver, zscaler: false))
        let signin = try #require(outcome.results.last)
        #expect(signin.status == .critical)
        #expect(signin.reason == .signinFailingElsewhere)
        #expect(signin.remediation == "re-authorize the tenant in the Admin Portal (step 4)")
        await coordinator.record(
            connector: connector.name, results: outcome.results, notes: outcome.notes, now: clock.now)
        let status = try #require(await coordinator.status(version: "t").connectors.first)
        #expect(status.checks.map(\.check) == ownPlan + [.app, .signin])
        #expect(status.status == .critical)
        #expect(status.reason == .signinFailingElsewhere)
        #expect(status.notes == nil)

        // Its own credential refused: the failing sign-ins are not blamed on the service.
        let refused = await Self.observe(
            connector, monitors, clock: clock,
            own: {
                ownPlan.map {
                    $0 == .credential
                        ? CheckResult(
                            check: $0, status: .critical, reason: .secretExpired, summary: "", checkedAt: F.t0)
                        : CheckResult(check: $0, status: .ok, reason: .ok, summary: "fine", checkedAt: F.t0)
                }
            })
        #expect(refused.results.last?.reason == .secretExpired)
        #expect(refused.results.last?.status == .unknown)
        #expect(double.passes == 1)
    }

    @Test func notesSayWhatAnObservedConnectorCannotHaveAndWhatWasLeftOut() async throws {
        let connector = F.connector("obs", client: 1)
        let configuration = Configuration(connectors: [connector], tenants: [F.tenant(F.tenantA)])
        let unlicensed = ObservedFailure(
            reason: .badResponse, transient: false, message: "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            notLicensed: true)
        let licensed = Mutex(true)
        let double = ObserverDouble { targets, now in
            let log =
                licensed.withLock { $0 }
                ? F.recentSuccess(now) : SignInLog(window: .failed(unlicensed), latestSuccess: .failed(unlicensed))
            return TenantObservation(
                observer: F.observerOK(at: now),
                connectors: [targets[0].clientId.lowercased(): F.healthy(at: now, signIns: log)], readAt: now,
                httpRequests: 1)
        }
        let clock = F.Clock()
        let (coordinator, _) = try await F.coordinator(configuration)
        let monitors = Self.monitors(
            configuration, clock: clock, doubles: [F.tenantA: double], coordinator: coordinator)
        let first = await Self.observe(connector, monitors, clock: clock)
        await coordinator.record(connector: "obs", results: first.results, notes: first.notes, now: clock.now)
        var status = try #require(await coordinator.status(version: "t").connectors.first)
        #expect(status.checks.map(\.check) == [.app, .secretExpiry, .consent, .signin])
        #expect(status.notes == [CheckPlan.observedAbsence(for: .exchange)])
        #expect(status.notes?[0].contains("credential and probe not checked") == true)

        // No licence any more: signin is left out with a note, and no older signin is shown.
        licensed.withLock { $0 = false }
        clock.advance(3600)
        let second = await Self.observe(connector, monitors, clock: clock)
        #expect(second.notes.count == 1)
        await coordinator.record(connector: "obs", results: second.results, notes: second.notes, now: clock.now)
        status = try #require(await coordinator.status(version: "t").connectors.first)
        #expect(status.checks.map(\.check) == [.app, .secretExpiry, .consent])
        #expect(status.status == .ok)
        #expect(status.notes?.count == 2)
        #expect(status.notes?[1].contains("P1/P2") == true)
        // The same in the status table's stamped path.
        let update = await coordinator.statusUpdate(version: "t", known: [:])
        #expect(update.entries.first?.status?.notes == status.notes)
    }

    @Test func aRemovedObserverIsResolvedOnReloadAndMonitorsFollowTheConfiguration() async throws {
        let journal = RecordingJournal()
        let connector = F.connector("obs", client: 1)
        let withA = Configuration(
            connectors: [connector, F.connector("b-obs", tenant: F.tenantB, client: 2)],
            tenants: [F.tenant(F.tenantA), F.tenant(F.tenantB)])
        let (coordinator, store) = try await F.coordinator(withA, journal: journal)
        let doubles = [
            F.tenantA: ObserverDouble { _, now in
                TenantObservation(observer: F.observerRefused(), connectors: [:], readAt: now, httpRequests: 0)
            },
            F.tenantB: ObserverDouble(answer: F.allHealthy),
        ]
        let clock = F.Clock()
        let monitors = Self.monitors(withA, clock: clock, doubles: doubles, coordinator: coordinator)
        let monitorB = try #require(monitors.monitor(forTenant: F.tenantB))
        _ = await monitors.monitor(forTenant: F.tenantA)!.observation()
        await coordinator.flush(now: clock.now)
        #expect(
            try await store.loadState().alertStates.keys.contains(
                AlertKey(connector: "observer:\(F.tenantA)", check: .observer)))

        // Tenant A's observer (and its connector) leave the configuration.
        clock.advance(60)
        let withoutA = Configuration(
            connectors: [F.connector("b-obs", tenant: F.tenantB, client: 2)], tenants: [F.tenant(F.tenantB)])
        await coordinator.reload(withoutA, now: clock.now)
        await monitors.reload(withoutA, context: Self.context, newClients: false)
        #expect(monitors.monitor(forTenant: F.tenantA) == nil)
        #expect(monitors.monitor(forTenant: F.tenantB) === monitorB)  // unchanged: kept
        let resolved = journal.all.filter { $0.messageID == MessageIDs.resolved }
        #expect(resolved.count == 1)
        let fields = Dictionary(resolved.first?.fields ?? [], uniquingKeysWith: { a, _ in a })
        #expect(fields["CONNWATCH_CONNECTOR"] == "observer:\(F.tenantA)")
        #expect(fields["CONNWATCH_KIND"] == "observer")
        #expect(fields["CONNWATCH_CLIENT_ID"] == F.observerClient)
        #expect(try await store.loadState().alertStates.isEmpty)
        #expect(await coordinator.status(version: "t").observers?.map(\.tenantId) == [F.tenantB])

        // A changed observer gets a new monitor; none left: no `observers` at all.
        var changed = F.tenant(F.tenantB)
        changed.signInLogs = false
        await monitors.reload(
            Configuration(connectors: [], tenants: [changed]), context: Self.context, newClients: false)
        #expect(monitors.monitor(forTenant: F.tenantB) !== monitorB)
        await coordinator.reload(Configuration(connectors: []), now: clock.now)
        #expect(await coordinator.status(version: "t").observers == nil)
    }

    /// The `/v1/status` body assembled from per-connector fragments equals the whole
    /// report's encoding, `observers` included.
    @Test func theStatusBodyCarriesObserversApartFromConnectors() async throws {
        let connectors = [F.connector("obs", client: 1), F.connector("own", client: 2, ownSecret: true)]
        let configuration = Configuration(connectors: connectors, tenants: [F.tenant(F.tenantA)])
        let (coordinator, _) = try await F.coordinator(configuration)
        let clock = F.Clock()
        let monitors = Self.monitors(
            configuration, clock: clock, doubles: [F.tenantA: ObserverDouble(answer: F.allHealthy)],
            coordinator: coordinator)
        let outcome = await Self.observe(connectors[0], monitors, clock: clock)
        await coordinator.record(connector: "obs", results: outcome.results, notes: outcome.notes, now: clock.now)
        let cache = StatusJSONCache()
        let body = try await cache.body { known in await coordinator.statusUpdate(version: "t", known: known) }
        let bytes = Data(body.readableBytesView)
        let report = await coordinator.status(version: "t")
        #expect(bytes == (try StatusReport.encoder.encode(report)) + Data("\n".utf8))
        let json = try #require(try JSONSerialization.jsonObject(with: bytes) as? [String: Any])
        let observers = try #require(json["observers"] as? [[String: Any]])
        #expect(observers.count == 1)
        #expect(observers[0]["tenant_id"] as? String == F.tenantA)
        #expect(observers[0]["status"] as? String == "ok")
        #expect(observers[0]["reason"] as? String == "ok")
        #expect(observers[0]["expires_at"] is String)
        #expect(observers[0]["checked_at"] is String)
        let names = (json["connectors"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        #expect(names == ["obs", "own"])
        // A second body from cached fragments is the same.
        let again = try await cache.body { known in await coordinator.statusUpdate(version: "t", known: known) }
        #expect(Data(again.readableBytesView) == bytes)
    }

    @Test func metricsCountObserversAndTheirRequests() throws {
        var report = StatusReport(
            daemon: .init(version: "t", startedAt: F.t0, lastCycleAt: nil), connectors: [],
            observers: [
                StatusReport.ObserverStatus(
                    tenantId: F.tenantA, clientId: F.observerClient,
                    result: ObserverCheck.evaluate(F.observerRefused(), thresholds: F.thresholds, now: F.t0)),
                StatusReport.ObserverStatus(
                    tenantId: F.tenantB, clientId: F.observerClient,
                    result: ObserverCheck.evaluate(F.observerOK(at: F.t0), thresholds: F.thresholds, now: F.t0)),
            ])
        let text = MetricsExposition(
            report: report, checks: CheckMetrics.Snapshot(), consecutiveFailures: [:], deliveries: [:],
            firingAlerts: 0, activeSilences: 0, commitFailures: 0, now: F.t0,
            observerTraffic: [F.tenantB: .init(passes: 3, httpRequests: 17)]
        ).render()
        #expect(text.contains("connwatch_observers 2\n"))
        #expect(
            text.contains(
                "connwatch_observer_status{tenant_id=\"\(F.tenantA)\",client_id=\"\(F.observerClient)\",status=\"critical\"} 1\n"
            ))
        #expect(
            text.contains(
                "connwatch_observer_status{tenant_id=\"\(F.tenantA)\",client_id=\"\(F.observerClient)\",status=\"ok\"} 0\n"
            ))
        #expect(
            text.contains(
                "connwatch_observer_status{tenant_id=\"\(F.tenantB)\",client_id=\"\(F.observerClient)\",status=\"ok\"} 1\n"
            ))
        #expect(text.contains("connwatch_observer_graph_requests_total{tenant_id=\"\(F.tenantB)\"} 17\n"))
        #expect(text.contains("connwatch_observer_graph_requests_total{tenant_id=\"\(F.tenantA)\"} 0\n"))
        #expect(text.contains("connwatch_observer_passes_total{tenant_id=\"\(F.tenantB)\"} 3\n"))
        #expect(text.contains("connwatch_observer_credential_expiry_timestamp_seconds{tenant_id=\"\(F.tenantB)\"}"))
        // No observers configured: no observer families.
        report.observers = nil
        let plain = MetricsExposition(
            report: report, checks: CheckMetrics.Snapshot(), consecutiveFailures: [:], deliveries: [:],
            firingAlerts: 0, activeSilences: 0, commitFailures: 0, now: F.t0
        ).render()
        #expect(!plain.contains("connwatch_observer"))
    }
}
