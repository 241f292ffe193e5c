import ConnwatchAlerting
import ConnwatchCore
import ConnwatchTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Testing

@testable import ConnwatchDaemon

/// The daemon with a `[[tenant]]` observer and observed connectors, through its control
/// socket: the observer's client injected (``Daemon/Options/observerFactory``), one pass
/// per explicit check for all connectors, `observers` in the status apart from the
/// connectors, notes, the observer's history under its reserved name, `/metrics`.
@Suite struct ObserverControlTests {
    typealias F = ObserverFixture

    @Test func observedConnectorsThroughTheControlSocket() async throws {
        let temporary = try TemporaryDirectory("obs")
        let dir = temporary.path
        try FileManager.default.createDirectory(atPath: dir + "/creds", withIntermediateDirectories: true)
        FileManager.default.createFile(
            atPath: dir + "/creds/monitor", contents: Data("observer-secret-value".utf8),
            attributes: [.posixPermissions: 0o600])
        let socketPath = dir + "/c.sock"
        try """
        [daemon]
        check_interval = "1h"
        database = "\(dir)/db.sqlite"
        socket = "\(socketPath)"

        [[tenant]]
        tenant_id = "\(F.tenantA)"
        client_id = "\(F.observerClient)"
        client_secret_credential = "monitor"

        [[connector]]
        name = "obs-exchange"
        kind = "exchange"
        tenant_id = "\(F.tenantA)"
        client_id = "\(F.client(1))"

        [[connector]]
        name = "obs-teams"
        kind = "teams"
        tenant_id = "\(F.tenantA)"
        client_id = "\(F.client(2))"

        """.write(toFile: dir + "/c.toml", atomically: true, encoding: .utf8)

        let double = ObserverDouble(answer: F.allHealthy)
        var options = Daemon.Options(configPath: dir + "/c.toml", credentialsDirectory: dir + "/creds", environment: [:])
        options.observerFactory = { tenant, _ in
            #expect(tenant.tenantId == F.tenantA)
            return double
        }
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let daemon = try await Daemon.start(
            options: options, journal: JournalWriter(identifier: "connwatchd-test", forceStderr: true), logger: logger)
        let scheduler = CheckScheduler(
            clock: ContinuousClock(), interval: .seconds(3600), concurrency: 2,
            connectors: daemon.configuration.connectors, job: { await daemon.check($0) })
        let readiness = ControlReadiness()
        let service = ControlService(
            claim: try ControlSocketClaim.claim(path: socketPath),
            backend: ControlBackend(daemon: daemon, scheduler: scheduler),
            socketGroup: "no-such-group-here", readiness: readiness)
        let group = ServiceGroup(services: [service], logger: logger)
        let running = Task { try await group.run() }
        await readiness.wait()
        let client = ControlSocketClient(path: socketPath)

        // Before any check: the observer is pending, and not a connector.
        var r = await client.request("GET", "/v1/status")
        var report = try StatusReport.decoder.decode(StatusReport.self, from: r.body)
        #expect(report.connectors.map(\.name) == ["obs-exchange", "obs-teams"])
        #expect(report.observers?.map(\.reason) == [.pending])

        // `check --all`: both connectors from one pass of the observer.
        r = await client.request("POST", "/v1/check", body: "{}")
        #expect(r.status == 200)
        #expect(double.passes == 1)
        r = await client.request("GET", "/v1/status")
        report = try StatusReport.decoder.decode(StatusReport.self, from: r.body)
        for c in report.connectors {
            #expect(c.checks.map(\.check) == [.app, .secretExpiry, .consent, .signin], "\(c.name)")
            #expect(c.status == .ok, "\(c.name): \(c.checks.map(\.summary))")
        }
        let observer = try #require(report.observers?.first)
        #expect(observer.status == .ok)
        #expect(observer.clientId == F.observerClient)
        #expect(observer.expiresAt != nil)

        // `check NAME` forces a fresh pass.
        r = await client.request("POST", "/v1/connectors/obs-teams/check")
        #expect(r.status == 200)
        let teams = try StatusReport.decoder.decode(ControlAPI.ConnectorReply.self, from: r.body).connector
        #expect(double.passes == 2)
        #expect(teams.notes == [CheckPlan.observedAbsence(for: .teams)])

        // The observer's own history, under its reserved name.
        r = await client.request("GET", "/v1/connectors/observer:\(F.tenantA)/history")
        #expect(r.status == 200)
        let history = try StatusReport.decoder.decode(ControlAPI.HistoryReply.self, from: r.body)
        #expect(history.results.contains { $0.result.check == .observer && $0.result.status == .ok })

        r = await client.request("GET", "/metrics")
        let metrics = String(decoding: r.body, as: UTF8.self)
        #expect(metrics.contains("connwatch_observer_passes_total{tenant_id=\"\(F.tenantA)\"} 2\n"))
        #expect(metrics.contains("connwatch_observer_graph_requests_total{tenant_id=\"\(F.tenantA)\"} 6\n"))
        #expect(metrics.contains("connwatch_connectors 2\n"))

        await group.triggerGracefulShutdown()
        try await running.value
        await daemon.shutdown()
    }
}
