import ConnwatchAlerting
import ConnwatchCore
import ConnwatchSimulator
import ConnwatchTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Testing

@testable import ConnwatchDaemon

#if canImport(Glibc)
    import Glibc
#endif

/// The control server in process: a real daemon against the simulator, its socket served
/// by `ControlService`, spoken to over the Unix socket from a plain thread.
@Suite(.serialized) struct ControlServerTests {
    static let tenant = "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41"
    static let graph = "00000003-0000-0000-c000-000000000000"

    func app(_ n: Int, _ kind: ConnectorKind, secret: String, end: Date) -> App {
        var a = App(
            appId: String(format: "d0000000-0000-4000-8000-%012d", n), displayName: "\(kind)",
            secrets: [ClientSecret(value: secret, end: end)])
        for p in PermissionCatalog.requirements(for: kind).permissions where p.type == .application {
            a.appRoles[PermissionCatalog.resource(p.resource).appId, default: []].append(p.name)
        }
        return a
    }

    @Test func routesOverTheSocket() async throws {
        let secret = "Xq8~" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let soon = Date().addingTimeInterval(10 * 86400), later = Date().addingTimeInterval(300 * 86400)
        var apps = [app(1, .exchange, secret: secret, end: soon), app(2, .onedrive, secret: secret, end: later)]
        let scenario = { (apps: [App]) in
            Scenario(tenants: [
                Tenant(
                    id: Self.tenant, domains: ["contoso.onmicrosoft.com"], displayName: "Contoso", subscriptions: [],
                    missingResources: [], apps: apps)
            ])
        }
        let sim = try await SimulatorFixture.start(scenario(apps))
        let temporary = try TemporaryDirectory("cs")
        let dir = temporary.path
        try FileManager.default.createDirectory(atPath: dir + "/creds", withIntermediateDirectories: true)
        for name in ["ex", "od"] {
            FileManager.default.createFile(
                atPath: dir + "/creds/" + name, contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600])
        }
        let socketPath = dir + "/c.sock"
        try """
        [daemon]
        check_interval = "1h"
        database = "\(dir)/db.sqlite"
        socket = "\(socketPath)"
        ca_file = "\(sim.caFile)"

        [cloud]
        login_endpoint = "\(sim.baseURL)/login"
        graph_endpoint = "\(sim.baseURL)/graph"
        management_endpoint = "\(sim.baseURL)/arm"
        office_management_endpoint = "\(sim.baseURL)/office"

        [[connector]]
        name = "ex"
        kind = "exchange"
        tenant_id = "\(Self.tenant)"
        client_id = "d0000000-0000-4000-8000-000000000001"
        client_secret_credential = "ex"

        [[connector]]
        name = "od"
        kind = "onedrive"
        tenant_id = "\(Self.tenant)"
        client_id = "d0000000-0000-4000-8000-000000000002"
        client_secret_credential = "od"

        """.write(toFile: dir + "/c.toml", atomically: true, encoding: .utf8)

        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let daemon = try await Daemon.start(
            options: .init(configPath: dir + "/c.toml", credentialsDirectory: dir + "/creds", environment: [:]),
            journal: JournalWriter(identifier: "connwatchd-test", forceStderr: true), logger: logger)
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
        let s = socketPath
        let client = ControlSocketClient(path: s)
        var replies = ""
        func ask(_ method: String, _ target: String, body: String? = nil, headers: [String] = []) async
            -> ControlSocketClient.Reply
        {
            let r = await client.request(method, target, body: body, headers: headers)
            replies += r.head + String(decoding: r.body, as: UTF8.self)
            return r
        }

        // Reads: nothing checked yet.
        var r = await ask("GET", "/v1/status")
        #expect(r.status == 200)
        #expect(r.head.lowercased().contains("content-type: application/json"))
        let pending = try StatusReport.decoder.decode(StatusReport.self, from: r.body)
        #expect(pending.connectors.map(\.name) == ["ex", "od"])
        #expect(pending.connectors.allSatisfy { $0.status == .unknown && $0.reason == .pending })
        var mode = stat()
        #expect(stat(s, &mode) == 0 && mode.st_mode & 0o777 == 0o660)

        // Checks: fresh results in the reply.
        r = await ask("POST", "/v1/connectors/ex/check")
        #expect(r.status == 200)
        let ex = try StatusReport.decoder.decode(ControlAPI.ConnectorReply.self, from: r.body).connector
        #expect(ex.status == .warning && ex.reason == .secretExpiring)
        r = await ask("POST", "/v1/check", body: #"{"connectors":["od"]}"#)
        let od = try StatusReport.decoder.decode(StatusReport.self, from: r.body)
        // The --once table, built a connector at a time without the report or the details,
        // reads as the report's own table; the report still carries the details.
        let now = Date()
        let once = await daemon.statusTable(now: now)
        let full = await daemon.statusReport()
        var lines: [String] = []
        once.table.render { lines.append($0) }
        #expect(lines.count == 3)
        #expect(lines.joined(separator: "\n") + "\n" == full.table(now: now))
        #expect(once.worst == full.worstStatus && once.worst == .warning)
        #expect(full.connectors.first { $0.name == "ex" }?.checks.contains { !$0.details.isEmpty } == true)
        #expect(od.connectors.map(\.name) == ["od"] && od.connectors[0].status == .ok)
        // /v1/status follows each check (its per-connector JSON is re-encoded when the
        // connector's stamp changes), byte for byte what the encoder makes of it.
        r = await ask("GET", "/v1/status")
        var all = try StatusReport.decoder.decode(StatusReport.self, from: r.body)
        #expect(all.connectors.map(\.status) == [.warning, .ok])
        #expect(r.body == (try StatusReport.encoder.encode(all)) + Data([0x0A]))
        r = await ask("POST", "/v1/check", body: #"{"connectors":["od","zz"]}"#)
        #expect(r.status == 404 && (r.json["error"] as? String)?.contains("\"zz\"") == true)
        r = await ask("GET", "/v1/connectors/zz")
        #expect(r.status == 404 && r.json["schema_version"] as? Int == 1)

        // A silence takes effect at the next evaluation: the alert is recorded, suppressed.
        r = await ask("POST", "/v1/silences", body: #"{"connector":"od","duration":"1h","reason":"test"}"#)
        #expect(r.status == 201)
        let silenceID = try #require((r.json["silence"] as? [String: Any])?["id"] as? Int)
        apps[1].appRoles[Self.graph]?.removeAll { $0 == "Sites.ReadWrite.All" }
        try await sim.replaceScenario(scenario(apps))
        r = await ask("POST", "/v1/connectors/od/check")
        #expect(
            try StatusReport.decoder.decode(ControlAPI.ConnectorReply.self, from: r.body).connector.status == .critical)
        r = await ask("GET", "/v1/status")
        all = try StatusReport.decoder.decode(StatusReport.self, from: r.body)
        #expect(all.connectors.map(\.status) == [.warning, .critical])
        r = await ask("GET", "/v1/alerts?all=true")
        var alerts = try StatusReport.decoder.decode(ControlAPI.AlertsReply.self, from: r.body)
        #expect(alerts.alerts.first { $0.connector == "od" }?.suppressed == true)
        #expect(alerts.silences.map(\.id) == [Int64(silenceID)])
        #expect(alerts.silences.first?.author == "root")
        // Lifted: the still-firing alert is told.
        r = await ask("DELETE", "/v1/silences/\(silenceID)")
        #expect(r.status == 200)
        _ = await ask("POST", "/v1/connectors/od/check")
        r = await ask("GET", "/v1/alerts")
        alerts = try StatusReport.decoder.decode(ControlAPI.AlertsReply.self, from: r.body)
        let loud = alerts.alerts.first { $0.connector == "od" }
        #expect(loud?.suppressed == false && loud?.cause == "silence_ended")
        #expect(alerts.silences.isEmpty)

        // Metrics.
        r = await ask("GET", "/metrics")
        let metrics = String(decoding: r.body, as: UTF8.self)
        #expect(r.head.contains("text/plain; version=0.0.4"))
        #expect(metrics.contains(#"connwatch_connector_status{connector="ex",kind="exchange",status="warning"} 1"#))
        #expect(metrics.contains(#"connwatch_credential_days_left{connector="ex",check="secret_expiry"} 9"#))

        // The report: the page, its text twin, and the model the digest is made of.
        r = await ask("GET", "/v1/report?days=30")
        #expect(r.status == 200 && r.head.lowercased().contains("content-type: text/html; charset=utf-8"))
        let page = String(decoding: r.body, as: UTF8.self)
        #expect(page.hasPrefix("<!DOCTYPE html>") && !page.contains(secret))
        #expect(page.components(separatedBy: "<g class=\"credential\"").count - 1 == 2)
        #expect(page.contains("data-connector=\"ex\" data-credential="))
        r = await ask("GET", "/v1/report?format=text")
        #expect(r.status == 200 && r.head.lowercased().contains("content-type: text/plain; charset=utf-8"))
        #expect(String(decoding: r.body, as: UTF8.self).contains("Expiring within 30 days:"))
        for bad in ["days=0", "days=3651", "days=x", "format=pdf", "since=soon"] {
            r = await ask("GET", "/v1/report?\(bad)")
            #expect(r.status == 400 && r.json["schema_version"] as? Int == 1, "\(bad)")
        }
        let model = try await daemon.reportModel(
            days: 90, changesSince: Date().addingTimeInterval(-3600), connectors: ["od"])
        let odRow = try #require(model.tenants.first?.connectors.first)
        #expect(model.tenants.flatMap(\.connectors).map(\.name) == ["od"])
        #expect(odRow.status == .critical && odRow.days.count == 30 && odRow.days.last == .critical)
        #expect(model.changes.contains { $0.connector == "od" && $0.check != nil && $0.from == .ok && $0.to == .critical })
        #expect(model.changes.contains { $0.connector == "od" && $0.check == nil && $0.from == nil })
        #expect(!model.changes.contains { $0.check == nil && $0.from != nil })
        #expect(model.allCredentials.map(\.connector) == ["od"] && model.allCredentials[0].which == .secret)

        // Browsers, unknown routes, malformed HTTP, bodies too large.
        r = await ask("GET", "/v1/status", headers: ["Origin: http://evil.example"])
        #expect(r.status == 403)
        r = await ask("POST", "/v1/reload", headers: ["Referer: http://evil.example/"])
        #expect(r.status == 403)
        r = await ask("GET", "/v1/nothing")
        #expect(r.status == 404 && (r.json["error"] as? String)?.hasPrefix("no such route") == true)
        r = await client.exchange("NOT HTTP AT ALL\r\n\r\n")
        #expect(r.status == 400)
        r = await ask("POST", "/v1/silences", body: String(repeating: "x", count: 70_000))
        #expect(r.status == 413)
        r = await ask("POST", "/v1/silences", body: #"{"connector":"od","duration":"1y","reason":"x"}"#)
        #expect(r.status == 400)

        // Reload through the socket.
        r = await ask("POST", "/v1/reload")
        #expect(r.status == 200 && r.json["connectors"] as? Int == 2)

        // A second claim while it serves is refused; shutdown removes the socket.
        #expect(throws: ControlSocketError.self) { try ControlSocketClaim.claim(path: s) }
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(!FileManager.default.fileExists(atPath: s))
        await daemon.shutdown()
        await sim.stop()
        #expect(!replies.contains(secret), "no reply holds the client secret")
    }
}
