import ConnwatchCore
import ConnwatchEntra
import ConnwatchSimulator
import ConnwatchTestSupport
import Foundation
import Synchronization
import Testing

@testable import ConnwatchDaemon

/// The ZIA client and the zscaler check against the simulator over real loopback HTTPS:
/// matching, every tenant state, every validation error-code class, 429 with
/// Retry-After, the rate budget over hours of a test clock, and the secret-bearing
/// `tenantAuthorizationInfo` never getting out.
@Suite(.serialized) struct ZscalerTests {
    static func guid(_ n: Int) -> String { String(format: "e0000000-0000-4000-8000-%012d", n) }
    static func app(_ n: Int) -> String { String(format: "a0000000-0000-4000-8000-%012d", n) }

    let apiClient = "connwatch-reader"
    let apiSecret = "zs-api-" + UUID().uuidString
    /// Planted in every tenant's `tenantAuthorizationInfo`: must never come out.
    let planted = "PLANTED-" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
    var plantedValues: [String] { ["\(planted)-secret", "\(planted)-token", "\(planted)-credjson"] }

    func tenant(
        _ id: Int, _ entra: Int, _ status: [String], app: Int? = nil, validated: Date? = Date().addingTimeInterval(-3600),
        deleted: Bool = false, code: Int? = nil, message: String? = nil
    ) -> ZscalerSaaSTenant {
        ZscalerSaaSTenant(
            tenantId: id, tenantName: "Tenant \(id)", saasApplication: "MSFT_ONE_DRIVE_FOR_BUSINESS",
            enterpriseTenantId: Self.guid(entra), status: status, lastValidationTime: validated,
            tenantDeleted: deleted, errorCode: code, errorMsg: message,
            authorization: ZscalerAuthorization(
                clientId: Self.app(app ?? entra), clientSecret: "\(planted)-secret", accessToken: "\(planted)-token",
                credJson: "{\"private_key\":\"\(planted)-credjson\"}"))
    }

    func zscalerScenario(enforce: Bool = true) -> ZscalerScenario {
        ZscalerScenario(
            apiClients: [ZscalerAPIClient(clientId: apiClient, clientSecret: apiSecret)],
            tenants: [
                tenant(101, 1, ["ACTIVE"]),
                tenant(102, 2, ["VALIDATION_FAILED"], code: 401, message: "AADSTS7000222: The provided client secret keys are expired."),
                tenant(103, 3, ["REAUTH_REQUIRED"]),
                tenant(104, 4, ["INACTIVE"]),
                tenant(105, 5, ["ACTIVE"], deleted: true),
                tenant(106, 6, ["ACTIVE"], validated: Date().addingTimeInterval(-30 * 86400)),
                tenant(107, 7, ["VALIDATION_FAILED"], code: 2, message: "Validation timed out."),
                tenant(108, 8, ["VALIDATION_FAILED"], code: 250, message: "JSON serialization failed."),
                tenant(109, 9, ["VALIDATION_FAILED"], code: 42),
                // Two tenants in one Entra directory, authorized with different apps.
                tenant(110, 10, ["ACTIVE"], app: 10),
                tenant(111, 10, ["ACTIVE"], app: 11),
                tenant(112, 12, ["Reauthorization Required"]),
            ], enforceRateLimit: enforce)
    }

    struct Rig {
        let sim: SimulatorFixture
        let transport: HTTPTransport
        let settings: ZscalerSettings

        func stop() async {
            await transport.shutdown()
            await sim.stop()
        }

        func monitor(
            interval: TimeInterval = 3600, gate: ZIARateGate = ZIARateGate(), now: @escaping @Sendable () -> Date = Date.init
        ) -> ZscalerMonitor {
            ZscalerMonitor(
                client: ZIAClient(transport: transport, settings: settings, gate: gate, now: now), settings: settings,
                checkInterval: interval, now: now)
        }

        /// `GET /_sim/stats`: request counts and the 429s answered for rate-limit breaches.
        func stats() async throws -> [String: Any] {
            let r = try await transport.send(TransportRequest(url: sim.baseURL + "/_sim/stats", endpoint: "stats"))
            return try #require(try JSONSerialization.jsonObject(with: r.body) as? [String: Any])
        }

        func ziaRequests() async -> Int { await sim.requestCounts()[.zia] }

        /// A OneAPI token obtained by hand, for raw requests that bypass the client.
        func bearer() async throws -> String {
            let form =
                "grant_type=client_credentials&client_id=\(settings.clientId)&client_secret=\(settings.clientSecret.withValue { $0 })&audience=https%3A%2F%2Fapi.zscaler.com"
            let token = try await transport.send(
                TransportRequest(
                    method: .POST, url: settings.tokenEndpoint,
                    headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Data(form.utf8),
                    endpoint: "token"))
            return try #require(
                (try JSONSerialization.jsonObject(with: token.body) as? [String: Any])?["access_token"] as? String)
        }

        func raw(_ path: String, bearer: String) async throws -> TransportResponse {
            try await transport.exchange(
                TransportRequest(url: settings.apiBase + path, headers: [("Authorization", "Bearer \(bearer)")], endpoint: "raw"))
        }
    }

    func rig(enforce: Bool = true, secret: String? = nil, tenants: [ZscalerSaaSTenant]? = nil) async throws -> Rig {
        var zs = zscalerScenario(enforce: enforce)
        if let tenants { zs.tenants = tenants }
        let sim = try await SimulatorFixture.start(Scenario(tenants: [], zscaler: zs))
        var ts = TransportSettings()
        ts.caFile = sim.caFile
        let transport = try HTTPTransport(settings: ts)
        let settings = ZscalerSettings(
            tokenEndpoint: sim.baseURL + "/zslogin/oauth2/v1/token", apiBase: sim.baseURL + "/zia/api/v1",
            clientId: apiClient, clientSecret: Secret(secret ?? apiSecret), source: SourceLocation(file: "test"))
        return Rig(sim: sim, transport: transport, settings: settings)
    }

    func connector(_ name: String, entra: Int, app: Int? = nil, zscalerId: Int? = nil, kind: ConnectorKind = .onedrive)
        -> ConnectorConfig
    {
        var c = ConnectorConfig(
            name: name, kind: kind, tenantId: Self.guid(entra), clientId: Self.app(app ?? entra),
            clientSecret: Secret("x"), source: SourceLocation(file: "test"))
        c.zscalerTenantId = zscalerId
        return c
    }

    /// Every sink-bound rendering of a result: its JSON (status, history, webhooks) and text.
    func assertNoLeak(_ results: [CheckResult], extra: [String] = []) throws {
        let json = String(decoding: try StatusReport.encoder.encode(results), as: UTF8.self)
        for text in [json, "\(results)"] + extra {
            for v in plantedValues + [apiSecret] { #expect(!text.contains(v), "leaked \(v)") }
        }
    }

    // MARK: Matching and states

    @Test func everyStateAndMatchAgainstTheSimulator() async throws {
        let r = try await rig()
        defer { Task { await r.stop() } }
        let m = r.monitor()
        let cases: [(ConnectorConfig, CheckStatus, Reason, String)] = [
            (connector("active", entra: 1), .ok, .ok, "Zscaler: tenant \"Tenant 101\" (101) is Active, last validated"),
            (connector("failed", entra: 2), .critical, .zscalerValidationFailed, "Zscaler: validation failed (code 401)"),
            (connector("reauth", entra: 3), .warning, .zscalerReauthRequired, "requires reauthorization"),
            (connector("inactive", entra: 4), .warning, .zscalerInactive, "is inactive"),
            (connector("deleted", entra: 5), .warning, .zscalerTenantDeleted, "is deleted in Zscaler"),
            (connector("stale", entra: 6), .warning, .zscalerValidationStale, "Zscaler last validated it on"),
            (connector("transient", entra: 7), .unknown, .zscalerValidationFailed, "validation failed (code 2)"),
            (connector("serial", entra: 8), .unknown, .zscalerValidationFailed, "validation failed (code 250)"),
            (connector("other-code", entra: 9), .critical, .zscalerValidationFailed, "validation failed (code 42)"),
            (connector("by-client", entra: 10, app: 11), .ok, .ok, "(111) is Active"),
            (connector("ambiguous", entra: 10, app: 13), .warning, .zscalerUnmatched, "2 Zscaler SaaS tenants share"),
            (connector("unmatched", entra: 20), .warning, .zscalerUnmatched, "no Zscaler SaaS tenant has Entra tenant ID"),
            (connector("by-id", entra: 20, zscalerId: 104), .warning, .zscalerInactive, "(104) is inactive"),
            (connector("bad-id", entra: 1, zscalerId: 999), .warning, .zscalerUnmatched, "zscaler_tenant_id 999 is not among"),
            (connector("label", entra: 12), .warning, .zscalerReauthRequired, "requires reauthorization"),
        ]
        var results: [CheckResult] = []
        for (c, status, reason, text) in cases {
            let result = await m.check(c, entra: [])
            results.append(result)
            #expect(result.check == .zscaler)
            #expect(result.status == status, "\(c.name): \(result.summary)")
            #expect(result.reason == reason, "\(c.name): \(result.summary)")
            #expect(result.summary.contains(text), "\(c.name): \(result.summary)")
        }
        let byName = Dictionary(uniqueKeysWithValues: zip(cases.map(\.0.name), results))
        #expect(byName["failed"]?.details["error_code"] == 401)
        #expect(byName["failed"]?.details["error_class"] == "authentication")
        #expect(byName["failed"]?.details["error_message"] == "AADSTS7000222: The provided client secret keys are expired.")
        #expect(byName["transient"]?.details["error_class"] == "transient")
        #expect(byName["serial"]?.details["error_class"] == "serialization")
        #expect(byName["other-code"]?.details["error_class"] == "other")
        #expect(byName["active"]?.details["last_tenant_validation_time"] != nil)
        #expect(byName["by-client"]?.details["match"] == "enterpriseTenantId and authorized client ID")
        #expect(byName["by-id"]?.details["match"] == "zscaler_tenant_id")
        #expect(byName["ambiguous"]?.details["candidates"] == [110, 111])
        #expect(TransientPolicy.isTransient(byName["transient"]!))
        #expect(TransientPolicy.isTransient(byName["serial"]!))
        #expect(!TransientPolicy.isTransient(byName["failed"]!))
        try assertNoLeak(results)

        // One list call for all connectors; detail calls only for tenants not Active (102,
        // 103, 104, 107, 108, 109, 112) and once each for the two sharing directory 10.
        let limited = try await r.stats()["zia_rate_limited"] as? Int ?? -1
        #expect(await r.ziaRequests() - limited == 1 + 7 + 2)
        #expect(limited == 0, "the gate's spacing kept within 2/s")
    }

    /// Zscaler's failure explained by the Entra side, and the connector summary naming both.
    @Test func validationFailureIsExplainedByTheEntraSide() async throws {
        let r = try await rig()
        defer { Task { await r.stop() } }
        let m = r.monitor()
        let now = Date()
        let expiry = CheckResult(
            check: .secretExpiry, status: .critical, reason: .secretExpired,
            summary: "the client secret expired on 3 Dec 2026", checkedAt: now)
        let credential = CheckResult(
            check: .credential, status: .critical, reason: .secretExpired,
            summary: "token for Microsoft Graph refused: AADSTS7000222: …", checkedAt: now)
        let z = await m.check(connector("failed", entra: 2), entra: [credential, expiry])
        #expect(z.summary == "Zscaler: validation failed (code 401) — Entra: the client secret expired on 3 Dec 2026")
        #expect(z.details["explained_by"] == "secret_expiry")
        #expect(z.remediation.hasPrefix("fix the Entra side first (secret_expiry:"))
        #expect(z.remediation.contains("SaaS Application Tenants"))

        let status = StatusReport.ConnectorStatus(
            identity: ConnectorIdentity(connector("failed", entra: 2)), checks: [credential, expiry, z])
        #expect(status.status == .critical)
        #expect(status.reason == .zscalerValidationFailed)
        #expect(status.summary == z.summary)
        #expect(status.checks.map(\.reason).contains(.secretExpired))

        // A finding whose summary needs its check's name gets it.
        let roles = CheckResult(
            check: .roles, status: .critical, reason: .roleMissing,
            summary: "missing at subscription scope: Storage Account Contributor", checkedAt: now)
        let byRoles = await m.check(connector("failed", entra: 2), entra: [roles])
        #expect(
            byRoles.summary
                == "Zscaler: validation failed (code 401) — Entra: roles: missing at subscription scope: Storage Account Contributor")

        // Without an Entra-side failure: no explanation, the plain verdict.
        let plain = await m.check(connector("failed", entra: 2), entra: [])
        #expect(plain.summary == "Zscaler: validation failed (code 401)")
        #expect(plain.details["explained_by"] == nil)
    }

    /// A transient code keeps the previous verdict until N consecutive failures.
    @Test func transientCodesTurnUnknownOnlyAfterNFailures() async throws {
        let r = try await rig()
        defer { Task { await r.stop() } }
        let m = r.monitor(interval: 10)
        let previous = CheckResult(check: .zscaler, status: .ok, reason: .ok, summary: "Zscaler: ok", checkedAt: Date())
        var shown = previous
        var failures = 0
        var seen: [CheckStatus] = []
        for _ in 0..<3 {
            let fresh = await m.check(connector("transient", entra: 7), entra: [])
            (shown, failures) = TransientPolicy.apply(fresh: fresh, previous: shown, failures: failures, threshold: 3)
            seen.append(shown.status)
        }
        #expect(seen == [.ok, .ok, .unknown])
        #expect(shown.reason == .zscalerValidationFailed)
    }

    // MARK: Errors and throttling

    @Test func throttlingHonoursRetryAfter() async throws {
        let r = try await rig()
        defer { Task { await r.stop() } }
        try await r.sim.setFaults([Fault(service: .zia, path: "casbTenant/lite", status: 429, retryAfter: 2, count: 1)])
        let gate = ZIARateGate()
        let client = ZIAClient(transport: r.transport, settings: r.settings, gate: gate)
        let start = Date()
        let tenants = try await client.tenants()
        #expect(tenants.count == 12)  // the deleted one too: includeDeleted=true
        #expect(Date().timeIntervalSince(start) >= 2, "waited out Retry-After before the retry")
        #expect(await gate.throttledResponses == 1)
        #expect(await r.ziaRequests() == 2)

        // A Retry-After longer than the gate will wait: throttled at once, and nothing is
        // sent to ZIA until it has passed.
        try await r.sim.setFaults([Fault(service: .zia, status: 429, retryAfter: 600, count: 1)])
        let m = ZscalerMonitor(client: client, settings: r.settings, checkInterval: 3600)
        let result = await m.check(connector("active", entra: 1), entra: [])
        #expect(result.status == .unknown)
        #expect(result.reason == .throttled)
        #expect(result.details["retry_after_seconds"] == 600)
        #expect(TransientPolicy.isTransient(result))
        let before = await r.ziaRequests()
        do {
            _ = try await client.validationStatus(tenantId: 101)
            Issue.record("expected throttled")
        } catch {
            guard case .throttled = error else { Issue.record("\(error)"); return }
        }
        #expect(await r.ziaRequests() == before, "a blocked gate sends nothing")
    }

    @Test func apiClientRefusedAndServerErrors() async throws {
        let bad = try await rig(secret: "wrong-secret-\(UUID().uuidString)")
        defer { Task { await bad.stop() } }
        let denied = await bad.monitor().check(connector("active", entra: 1), entra: [])
        #expect(denied.status == .unknown)
        #expect(denied.reason == .zscalerAPIDenied)
        #expect(denied.summary.contains("invalid_client"))
        #expect(!TransientPolicy.isTransient(denied))
        #expect(!denied.summary.contains("wrong-secret"))

        let r = try await rig()
        defer { Task { await r.stop() } }
        try await r.sim.setFaults([Fault(service: .zia, status: 503)])
        let down = await r.monitor().check(connector("active", entra: 1), entra: [])
        #expect(down.status == .unknown)
        #expect(down.reason == .unreachable)
        #expect(TransientPolicy.isTransient(down))

        // A 503 with Retry-After is throttling: waited out once, then `throttled` (SPEC §3).
        let busyRig = try await rig()
        defer { Task { await busyRig.stop() } }
        try await busyRig.sim.setFaults([Fault(service: .zia, status: 503, retryAfter: 1)])
        let busy = await busyRig.monitor().check(connector("active", entra: 1), entra: [])
        #expect(busy.status == .unknown)
        #expect(busy.reason == .throttled)
        #expect(TransientPolicy.isTransient(busy))
        #expect(await busyRig.ziaRequests() == 2, "one retry after the Retry-After")

        try await r.sim.setFaults([Fault(service: .zia, path: "validate", mode: .wrongTypes)])
        let garbled = await r.monitor().check(connector("failed", entra: 2), entra: [])
        #expect(garbled.status == .unknown)
        #expect(garbled.reason == .badResponse)
        try assertNoLeak([denied, down, garbled])
    }

    /// The raw client: validation replies decode without the secret-bearing fields, and no
    /// error message carries them either (a malformed reply included).
    @Test func authorizationInfoIsDroppedAtTheDecoder() async throws {
        let r = try await rig()
        defer { Task { await r.stop() } }
        let client = ZIAClient(transport: r.transport, settings: r.settings)
        let v = try await client.validationStatus(tenantId: 102)
        #expect(v.authorizedClientId == Self.app(2))
        #expect(v.errorCode == 401)
        let dump = "\(v) \(String(reflecting: v))"
        for p in plantedValues { #expect(!dump.contains(p)) }

        // The simulator does serve them, as ZIA does: a leak would be seen.
        try await Task.sleep(for: .seconds(1))
        let raw = try await r.raw("/casbTenant/validate/status/102", bearer: try await r.bearer())
        #expect(raw.status == 200)
        let body = String(decoding: raw.body, as: UTF8.self)
        for p in plantedValues { #expect(body.contains(p)) }
        #expect(body.contains("tenantAuthorizationInfo"))
        try await Task.sleep(for: .seconds(1))

        try await r.sim.setFaults([Fault(service: .zia, path: "validate", mode: .malformed)])
        do {
            _ = try await client.validationStatus(tenantId: 102)
            Issue.record("expected a bad response")
        } catch {
            let text = "\(error)"
            #expect(text.contains("not valid JSON"))
            for p in plantedValues { #expect(!text.contains(p)) }
        }
    }

    // MARK: Rate budget

    /// ZIA's 2/s limit is real in the simulator: a burst without the gate is refused, the
    /// same calls through the gate never are.
    @Test func gateKeepsWithinTwoPerSecondOverRealTime() async throws {
        let r = try await rig()
        defer { Task { await r.stop() } }
        let client = ZIAClient(transport: r.transport, settings: r.settings)
        _ = try await client.tenants()  // token + first request
        let start = Date()
        for id in [102, 103, 104, 107, 108, 109] { _ = try await client.validationStatus(tenantId: id) }
        #expect(Date().timeIntervalSince(start) >= 6 * 1.0 - 0.05)
        var stats = try await r.stats()
        #expect(stats["zia_rate_limited"] as? Int == 0)

        // The control: the same burst straight at the API.
        let bearer = try await r.bearer()
        var statuses: [Int] = []
        for _ in 0..<4 { statuses.append(try await r.raw("/casbTenant/lite", bearer: bearer).status) }
        #expect(statuses.contains(429))
        stats = try await r.stats()
        #expect((stats["zia_rate_limited"] as? Int ?? 0) > 0)
    }

    /// Hours of schedule on a test clock: many connectors, many tenants not Active, a
    /// short check interval. Every request goes through the gate (the simulator counts
    /// the same number), no window of 1 s holds more than 2 nor any hour more than 1,000,
    /// and the check reports the stretched interval.
    @Test func rateBudgetHoldsOverALongRunOnATestClock() async throws {
        var tenants: [ZscalerSaaSTenant] = []
        for i in 0..<60 {
            tenants.append(tenant(1000 + i, 100 + i, i % 2 == 0 ? ["VALIDATION_FAILED"] : ["ACTIVE"], code: 401))
        }
        let r = try await rig(enforce: false, tenants: tenants)
        defer { Task { await r.stop() } }
        let clock = VirtualTime()
        let gate = ZIARateGate(now: { clock.now }, sleep: { clock.advance($0) }, recordLog: true)
        let m = r.monitor(interval: 60, gate: gate, now: { clock.now })
        let connectors = (0..<60).map { connector("c\($0)", entra: 100 + $0) }

        let start = clock.now
        var last: CheckResult?
        var cycles = 0
        while clock.now.timeIntervalSince(start) < 3 * 3600 {
            let cycleStart = clock.now
            for c in connectors { last = await m.check(c, entra: []) }
            cycles += 1
            let next = cycleStart.addingTimeInterval(60)
            if next > clock.now { clock.set(next) }
        }
        let log = await gate.log
        #expect(cycles >= 150)
        #expect(await r.ziaRequests() == log.count, "every request went through the gate")
        #expect(log.count > 500)
        var worstSecond = 0, worstHour = 0
        var lo1 = 0, lo3600 = 0
        for (i, t) in log.enumerated() {
            while log[lo1].timeIntervalSince(t) <= -1 { lo1 += 1 }
            while log[lo3600].timeIntervalSince(t) <= -3600 { lo3600 += 1 }
            worstSecond = max(worstSecond, i - lo1 + 1)
            worstHour = max(worstHour, i - lo3600 + 1)
        }
        #expect(worstSecond <= 2)
        #expect(worstHour <= ZscalerRateBudget.perHour)
        #expect(worstHour <= ZscalerRateBudget.plannedPerHour + 31, "plans within the headroom")
        // 1 list + 30 detail calls per cycle: 31 × 60 per hour would be 1,860.
        #expect(await m.requestsPerCycle == 31)
        #expect(await m.effectiveInterval == 124)
        let note = try #require(last?.details["rate_budget_note"]?.stringValue)
        #expect(note.contains("every 124s instead of every 1m"))
    }

    /// A failed list is retried after 5 minutes, not after the hour a success is kept.
    @Test func failuresAreRetriedSoonerThanSuccessesRefresh() async throws {
        let r = try await rig(enforce: false)
        defer { Task { await r.stop() } }
        let clock = VirtualTime(Date())  // tenant 101 was validated an hour before the real now
        let gate = ZIARateGate(now: { clock.now }, sleep: { clock.advance($0) })
        let m = r.monitor(interval: 3600, gate: gate, now: { clock.now })
        try await r.sim.setFaults([Fault(service: .zia, status: 503, count: 1)])
        let c = connector("active", entra: 1)
        #expect(await m.check(c, entra: []).reason == .unreachable)
        clock.advance(.seconds(120))
        #expect(await m.check(c, entra: []).reason == .unreachable, "kept for a while: no hammering")
        #expect(await r.ziaRequests() == 1)
        clock.advance(.seconds(200))
        #expect(await m.check(c, entra: []).status == .ok, "retried after 5 minutes")
        #expect(await r.ziaRequests() == 2)
        clock.advance(.seconds(1800))
        #expect(await m.check(c, entra: []).status == .ok)
        #expect(await r.ziaRequests() == 2, "a success is kept for the interval")
    }

    @Test func budgetArithmetic() {
        var b = ZscalerRateBudget()
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        let a = b.reserve(now: t0), c = b.reserve(now: t0), d = b.reserve(now: t0)
        #expect(a == t0)
        #expect(abs(c.timeIntervalSince(a) - 1.0) < 1e-6)
        #expect(abs(d.timeIntervalSince(c) - 1.0) < 1e-6)
        b.block(for: 30, now: t0)
        #expect(b.earliest(now: t0) == t0.addingTimeInterval(30))
        #expect(ZscalerRateBudget.cycleInterval(requestsPerCycle: 1, configured: 3600) == 3600)
        #expect(ZscalerRateBudget.cycleInterval(requestsPerCycle: 31, configured: 60) == 124)
        var full = ZscalerRateBudget()
        for _ in 0..<1000 { _ = full.reserve(now: t0) }
        // The 1,001st waits for the first of the hour to leave the window.
        #expect(full.earliest(now: t0) == t0.addingTimeInterval(3600))
    }
}

/// A wall clock that moves only when slept on or set.
final class VirtualTime: Sendable {
    private let t: Mutex<Date>
    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { t = Mutex(start) }
    var now: Date { t.withLock { $0 } }
    func advance(_ d: Duration) {
        let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        t.withLock { $0 = $0.addingTimeInterval(s) }
    }
    func set(_ d: Date) { t.withLock { $0 = d } }
}
