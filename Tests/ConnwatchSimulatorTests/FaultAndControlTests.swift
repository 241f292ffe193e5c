import AsyncHTTPClient
import ConnwatchSimulator
import ConnwatchTestSupport
import Foundation
import NIOCore
import Testing

@Suite("Faults, scenario updates, control endpoint")
struct FaultAndControlTests {
    static let appPath = "/graph/v1.0/applications(appId='\(Fixture.full)')"

    @Test("a revoked permission is missing from the next token; the old token keeps it")
    func updateRevokesRole() async throws {
        try await Harness.with { h in
            let before = h.accessToken(try await h.secretToken())
            #expect((claims(of: before)["roles"] as? [String])?.contains("Application.Read.All") == true)
            try await h.sim.update { scenario in
                let i = scenario.tenants[0].apps.firstIndex { $0.appId == Fixture.full }!
                scenario.tenants[0].apps[i].appRoles[Fixture.graph]?.removeAll { $0 == "Application.Read.All" }
            }
            let after = h.accessToken(try await h.secretToken())
            #expect((claims(of: after)["roles"] as? [String])?.contains("Application.Read.All") == false)
            #expect((claims(of: before)["roles"] as? [String])?.contains("Application.Read.All") == true)
            // The old token still reads (roles are baked in until it expires), as on Entra ID.
            #expect(try await h.get(Self.appPath, bearer: before).status == 200)

            // Expire the secret: the next token request fails with 7000222.
            try await h.sim.update { scenario in
                let i = scenario.tenants[0].apps.firstIndex { $0.appId == Fixture.full }!
                scenario.tenants[0].apps[i].secrets[0].end = Date().addingTimeInterval(-60)
            }
            #expect(try await h.secretToken().aadCode == 7000222)

            // An inconsistent update is refused and changes nothing.
            await #expect(throws: SimulatorError.self) {
                try await h.sim.update { $0.tenants[0].apps[0].appRoles["not-a-resource"] = ["X"] }
            }
            #expect(await h.sim.scenario().tenants[0].apps[0].appRoles["not-a-resource"] == nil)
        }
    }

    @Test("the scenario's now decides credential expiry")
    func scenarioClock() async throws {
        var scenario = Fixture.scenario()
        scenario.now = Date().addingTimeInterval(2 * 365 * 86_400)
        try await Harness.with(scenario) { h in
            let reply = try await h.secretToken()
            #expect(reply.aadCode == 7000222)
        }
    }

    @Test("429 with Retry-After in the service's error shape, for count requests only")
    func throttling() async throws {
        try await Harness.with { h in
            let token = h.accessToken(try await h.secretToken())
            try await h.sim.setFaults([
                Fault(service: .graph, path: "applications", status: 429, retryAfter: 7, count: 1)
            ])
            let throttled = try await h.get(Self.appPath, bearer: token)
            #expect(throttled.status == 429)
            #expect(throttled.header("Retry-After") == "7")
            #expect(throttled.errorCode == "TooManyRequests")
            #expect(try await h.get(Self.appPath, bearer: token).status == 200)

            try await h.sim.setFaults([Fault(service: .login, status: 429, retryAfter: 3)])
            let login = try await h.secretToken()
            #expect(login.status == 429)
            #expect(login.aadCode == 90055)
            #expect(login.header("Retry-After") == "3")

            // Tenant-scoped faults leave other tenants alone.
            try await h.sim.setFaults([Fault(service: .login, tenant: Fixture.domain, status: 503)])
            #expect(try await h.secretToken().status == 503)
            #expect(try await h.secretToken(tenant: Fixture.otherTenant).aadCode == 700016)
        }
    }

    @Test("latency is added to every matching request")
    func latency() async throws {
        try await Harness.with { h in
            try await h.sim.setFaults([.latency(2000)])
            let clock = ContinuousClock()
            let start = clock.now
            let reply = try await h.secretToken()
            #expect(reply.status == 200)
            #expect(clock.now - start >= .milliseconds(2000))
            // The control endpoint is never delayed. 60 s of latency against a 30 s bound: a
            // delayed control request would take 60 s, while the parallel test run on a busy
            // 2-core machine can hold any request for seconds.
            try await h.sim.setFaults([.latency(60_000)])
            let control = clock.now
            _ = try await h.get("/_sim/stats", timeout: .seconds(90))
            #expect(clock.now - control < .seconds(30))
        }
    }

    @Test("malformed, wrong_types and oversized replies")
    func brokenReplies() async throws {
        try await Harness.with { h in
            let token = h.accessToken(try await h.secretToken())
            try await h.sim.setFaults([Fault(service: .graph, count: 1, mode: .malformed)])
            let malformed = try await h.get(Self.appPath, bearer: token)
            #expect(malformed.status == 200)
            #expect((try? JSONSerialization.jsonObject(with: Data(malformed.body))) == nil)

            try await h.sim.setFaults([Fault(service: .graph, count: 1, mode: .wrongTypes)])
            let wrong = try await h.get(Self.appPath, bearer: token)
            #expect(wrong.status == 200)
            #expect(wrong.json["passwordCredentials"] is String)
            #expect(wrong.json["appId"] is NSNumber)

            try await h.sim.setFaults([Fault(service: .login, count: 1, mode: .wrongTypes)])
            let wrongToken = try await h.secretToken()
            #expect(wrongToken.json["expires_in"] is String)
            #expect(wrongToken.json["access_token"] is NSNumber)

            try await h.sim.setFaults([Fault(service: .graph, count: 1, mode: .oversized, sizeMb: 1.5)])
            let big = try await h.get(Self.appPath, bearer: token)
            #expect(big.status == 200)
            #expect(big.header("Content-Length") == nil)
            #expect(big.body.count >= 1_500_000 && big.body.count <= 1_600_000)
            #expect(String(decoding: big.body.prefix(10), as: UTF8.self) == #"{"value":["#)
        }
    }

    @Test("truncated, empty_body, wrong_content_type and reset replies")
    func brokenTransport() async throws {
        try await Harness.with { h in
            let token = h.accessToken(try await h.secretToken())
            try await h.sim.setFaults([Fault(service: .graph, count: 1, mode: .emptyBody)])
            let empty = try await h.get(Self.appPath, bearer: token)
            #expect(empty.status == 200)
            #expect(empty.body.isEmpty)
            #expect(empty.header("Content-Type")?.hasPrefix("application/json") == true)

            try await h.sim.setFaults([Fault(service: .graph, count: 1, mode: .wrongContentType)])
            let html = try await h.get(Self.appPath, bearer: token)
            #expect(html.status == 200)
            #expect(html.header("Content-Type")?.hasPrefix("text/html") == true)
            #expect(html.text.hasPrefix("<!DOCTYPE html>"))

            // The body stops short of its Content-Length and the connection closes: the
            // client's HTTP parser fails at the early end of the stream.
            try await h.sim.setFaults([Fault(service: .graph, mode: .truncated)])
            await #expect(throws: (any Error).self) { _ = try await h.get(Self.appPath, bearer: token) }

            // No reply at all.
            try await h.sim.setFaults([Fault(service: .graph, mode: .reset)])
            await #expect(throws: (any Error).self) { _ = try await h.get(Self.appPath, bearer: token) }

            // Other services are untouched while a fault holds, and everything answers after.
            #expect(try await h.secretToken().status == 200)
            try await h.sim.setFaults([])
            #expect(try await h.get(Self.appPath, bearer: token).status == 200)
        }
    }

    @Test("timeout holds the request: a client deadline fires, and shutdown releases held requests")
    func timeoutHold() async throws {
        try await Harness.with { h in
            try await h.sim.setFaults([Fault(service: .graph, count: 1, mode: .timeout, holdSeconds: 1)])
            let clock = ContinuousClock()
            let start = clock.now
            _ = try await h.get(Self.appPath)
            #expect(clock.now - start >= .milliseconds(1000))

            try await h.sim.setFaults([Fault(service: .graph, mode: .timeout, holdSeconds: 60)])
            await #expect(throws: HTTPClientError.self) {
                _ = try await h.get(Self.appPath, timeout: .milliseconds(300))
            }
        }
        // Shutting down with a held request returns promptly.
        let sim = try await SimulatorServer.start(scenario: Fixture.scenario(), tls: false)
        try await sim.setFaults([Fault(service: .graph, mode: .timeout, holdSeconds: 120)])
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let held = Task {
            var request = HTTPClientRequest(url: sim.baseURL + Self.appPath)
            request.method = .GET
            _ = try? await http.execute(request, timeout: .seconds(30))
        }
        try await Task.sleep(for: .milliseconds(300))
        let clock = ContinuousClock()
        let start = clock.now
        await sim.shutdown()
        #expect(clock.now - start < .seconds(10))
        await held.value
        try await http.shutdown()
    }

    @Test("control endpoint: scenario, faults, stats, reset")
    func controlEndpoint() async throws {
        try await Harness.with { h in
            _ = try await h.secretToken()
            let token = h.accessToken(try await h.secretToken())
            _ = try await h.get(Self.appPath, bearer: token)
            var stats = try await h.get("/_sim/stats")
            #expect(stats.json["total"] as? Int == 3)
            #expect((stats.json["services"] as? [String: Int])?["login"] == 2)
            #expect((stats.json["services"] as? [String: Int])?["graph"] == 1)
            let counts = await h.sim.requestCounts()
            #expect(counts.total == 3 && counts[.login] == 2 && counts[.graph] == 1 && counts[.arm] == 0)

            let reset = try await h.send(.POST, "/_sim/reset-stats")
            #expect(reset.status == 200)
            stats = try await h.get("/_sim/stats")
            #expect(stats.json["total"] as? Int == 0)

            // The scenario round-trips; a replaced scenario takes effect at once.
            let current = try await h.get("/_sim/scenario")
            #expect(current.status == 200)
            var scenario = try Scenario.decode(Data(current.body))
            #expect(scenario.tenants[0].id == Fixture.tenant)
            let i = scenario.tenants[0].apps.firstIndex { $0.appId == Fixture.bare }!
            scenario.tenants[0].apps[i].appRoles = [Fixture.graph: ["User.Read.All"]]
            let put = try await h.send(.PUT, "/_sim/scenario", body: Array(try scenario.encoded()))
            #expect(put.status == 200, "\(put.text)")
            let bare = claims(of: h.accessToken(try await h.secretToken(clientId: Fixture.bare)))
            #expect(bare["roles"] as? [String] == ["User.Read.All"])

            let bad = try await h.send(.PUT, "/_sim/scenario", body: Array(#"{"tenants": [{"id": 5}]}"#.utf8))
            #expect(bad.status == 400)
            #expect((bad.json["error"] as? String)?.contains("tenants") == true)

            let faults = try await h.send(
                .PUT, "/_sim/faults",
                body: Array(#"[{"service": "graph", "status": 503, "retry_after": 2, "count": 1}]"#.utf8))
            #expect(faults.status == 200)
            let unavailable = try await h.get(Self.appPath, bearer: token)
            #expect(unavailable.status == 503)
            #expect(unavailable.header("Retry-After") == "2")
            let invalid = try await h.send(.PUT, "/_sim/faults", body: Array(#"[{"service": "graph"}]"#.utf8))
            #expect(invalid.status == 400)
        }
    }

    @Test("plain HTTP mode serves the same API")
    func plainHTTP() async throws {
        try await Harness.with(tls: false) { h in
            #expect(h.sim.baseURL.hasPrefix("http://127.0.0.1:"))
            let token = h.accessToken(try await h.secretToken())
            #expect(try await h.get(Self.appPath, bearer: token).status == 200)
        }
    }

    @Test("scenario JSON: snake_case keys, defaults, pem_file, and consistency errors")
    func scenarioJSON() throws {
        let temporary = try TemporaryDirectory("sim")
        let dir = temporary.url
        try Data(TestPKI.registered.certificatePEM.utf8).write(to: dir.appendingPathComponent("cert.pem"))
        let json = """
            {"now": "2027-01-15",
             "tenants": [{"id": "\(Fixture.tenant)", "domains": ["contoso.onmicrosoft.com"],
               "subscriptions": [{"id": "\(Fixture.subscription)"}],
               "apps": [{"app_id": "\(Fixture.full)", "self_read": true,
                 "secrets": [{"value": "abc", "end": "2027-06-01T00:00:00.5Z"}],
                 "certificates": [{"pem_file": "cert.pem"}],
                 "app_roles": {"\(Fixture.graph)": ["Mail.Send"]},
                 "role_assignments": [{"role_definition_id": "\(Fixture.storageAccountContributor)", "subscription": "\(Fixture.subscription)"}]}]}],
             "faults": [{"service": "*", "latency_ms": 50}]}
            """
        let file = dir.appendingPathComponent("scenario.json")
        try Data(json.utf8).write(to: file)
        let scenario = try Scenario.load(from: file.path)
        let app = scenario.tenants[0].apps[0]
        #expect(app.selfRead && app.servicePrincipal && !app.disabled)
        #expect(app.certificates[0].pem?.contains("BEGIN CERTIFICATE") == true)
        #expect(app.appRoles[Fixture.graph] == ["Mail.Send"])
        #expect(scenario.faults == [Fault(service: .any, latencyMs: 50)])
        #expect(scenario.now == ISO8601DateFormatter().date(from: "2027-01-15T00:00:00Z"))

        #expect(throws: SimulatorError.self) {
            try Scenario.decode(Data(#"{"tenants": [{"id": "x", "apps": [{"display_name": "no app id"}]}]}"#.utf8))
        }
    }

    @Test("inconsistent scenarios do not start")
    func inconsistentScenario() async throws {
        var scenario = Fixture.scenario()
        scenario.tenants[0].apps[0].roleAssignments = [
            RoleAssignment(roleDefinitionId: Fixture.storageAccountContributor, subscription: Fixture.otherTenant)
        ]
        await #expect(throws: SimulatorError.self) {
            _ = try await SimulatorServer.start(scenario: scenario)
        }
        var badCert = Fixture.scenario()
        badCert.tenants[0].apps[0].certificates = [CertificateCredential(pem: "not a certificate")]
        await #expect(throws: SimulatorError.self) {
            _ = try await SimulatorServer.start(scenario: badCert)
        }
    }
}
