import ConnwatchCore
import ConnwatchSimulator
import ConnwatchTestSupport
import Foundation
import Testing

@testable import ConnwatchEntra

/// ``ObserverClient`` against the simulated cloud over real loopback HTTPS: certificate
/// assertions (PS256, `x5t#S256`) and the secret fallback, cached tokens, `$batch`,
/// paging, `Retry-After` on a batch and inside one, the reports gate, the licence error,
/// a missing permission, and the verdicts the facts lead to (SPEC §3b).
@Suite(.serialized) struct ObserverClientTests {
    static let tenant = "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41"
    static let subscription = "3c7a9e2b-5d1f-4a68-9b04-e6f2c8d1a5b7"
    static let graphApp = "00000003-0000-0000-c000-000000000000"
    static let storageApp = "e406a681-f3d4-42a8-90b6-c2b029497af1"
    static let serviceManagementApp = "797f4846-ba00-4fd7-ba43-dac1f8f63013"
    static let observer = "a0000000-0000-4000-8000-000000000001"
    static let narrowObserver = "a0000000-0000-4000-8000-000000000002"
    static let healthy = "c0000000-0000-4000-8000-000000000001"
    static let expired = "c0000000-0000-4000-8000-000000000002"
    static let stale = "c0000000-0000-4000-8000-000000000003"
    static let disabled = "c0000000-0000-4000-8000-000000000004"
    static let noSP = "c0000000-0000-4000-8000-000000000005"
    static let blob = "c0000000-0000-4000-8000-000000000006"
    static let inUseKeyId = "d0000000-0000-4000-8000-000000000001"
    static let newerKeyId = "d0000000-0000-4000-8000-000000000002"
    static let reader = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
    static let observerRoles = ["Application.Read.All", "Directory.Read.All", "AuditLog.Read.All"]
    /// Twelve Graph roles: more than the simulator's page of ten app-role assignments.
    static let manyRoles = [
        "Mail.Send", "Mail.ReadWrite", "User.Read.All", "Files.ReadWrite.All", "Sites.Read.All", "Group.Read.All",
        "ChannelMessage.Read.All", "Team.ReadBasic.All", "TeamSettings.Read.All", "Calendars.Read",
        "Contacts.Read", "MailboxSettings.Read",
    ]
    static let thresholds = ExpiryThresholds(warningDays: 30, criticalDays: 7)

    let secret = "Ob1~" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
    let cert: TestPKI.Pair
    let unregistered: TestPKI.Pair

    init() throws {
        cert = try TestPKI.rsaCertificate(commonName: "connwatch observer (test)", key: 3)
        unregistered = try TestPKI.rsaCertificate(commonName: "not registered", key: 1)
    }

    func scenario(connectors extra: Int = 0, premium: Bool = true) -> Scenario {
        let future = Date().addingTimeInterval(200 * 86400)
        func app(_ id: String, _ name: String, roles: [String: [String]]) -> App {
            App(
                appId: id, displayName: name,
                secrets: [ClientSecret(displayName: "zscaler", value: "Zs9~" + id.suffix(6), end: future)],
                appRoles: roles)
        }
        var observer = app(Self.observer, "connwatch observer", roles: [Self.graphApp: Self.observerRoles])
        observer.secrets = [ClientSecret(displayName: "connwatch", value: secret, end: future)]
        observer.certificates = [
            ConnwatchSimulator.CertificateCredential(displayName: "observer", pem: cert.certificatePEM)
        ]
        observer.roleAssignments = [RoleAssignment(roleDefinitionId: Self.reader, subscription: Self.subscription)]
        var narrow = app(
            Self.narrowObserver, "observer without Directory.Read.All",
            roles: [Self.graphApp: ["Application.Read.All", "AuditLog.Read.All"]])
        narrow.secrets = [ClientSecret(displayName: "connwatch", value: secret, end: future)]

        var healthy = app(Self.healthy, "Zscaler CASB Exchange", roles: [Self.graphApp: Self.manyRoles])
        // The older secret stays in use until someone rotates it in the Admin Portal.
        healthy.secrets = [
            ClientSecret(
                keyId: Self.inUseKeyId, displayName: "zscaler", value: "Hh1~x",
                end: Date().addingTimeInterval(20 * 86400)),
            ClientSecret(keyId: Self.newerKeyId, displayName: "zscaler 2", value: "Nn2~x", end: future),
        ]
        var expired = app(Self.expired, "Zscaler CASB OneDrive", roles: [Self.graphApp: ["Files.ReadWrite.All"]])
        expired.secrets = [
            ClientSecret(
                value: "Ee2~x", start: Date().addingTimeInterval(-400 * 86400), end: Date().addingTimeInterval(-86400))
        ]
        var stale = app(Self.stale, "Zscaler CASB Teams", roles: [Self.graphApp: ["ChannelMessage.Read.All"]])
        stale.signIns = .stale
        var disabled = app(Self.disabled, "Zscaler CASB Box", roles: [Self.graphApp: ["User.Read.All"]])
        disabled.disabled = true
        var noSP = app(Self.noSP, "Zscaler CASB never consented", roles: [:])
        noSP.servicePrincipal = false
        var blob = app(Self.blob, "Zscaler CASB Blob", roles: [:])
        blob.delegatedGrants = [
            DelegatedGrant(resourceAppId: Self.storageApp, scope: "user_impersonation"),
            DelegatedGrant(resourceAppId: Self.serviceManagementApp, scope: "user_impersonation"),
        ]
        blob.roleAssignments = [
            RoleAssignment(roleDefinitionId: "ba92f5b4-2d11-453d-a403-e96b0029c9fe", subscription: Self.subscription),
            RoleAssignment(roleDefinitionId: "17d1049b-9a84-46fb-8f53-869881c3d3ab", subscription: Self.subscription),
        ]
        var apps = [observer, narrow, healthy, expired, stale, disabled, noSP, blob]
        for n in 0..<extra {
            apps.append(app(Self.fleet(n), "Zscaler CASB \(n)", roles: [Self.graphApp: ["Mail.Send"]]))
        }
        return Scenario(tenants: [
            Tenant(
                id: Self.tenant, domains: ["contoso.onmicrosoft.com"], displayName: "Contoso",
                subscriptions: [Subscription(id: Self.subscription, displayName: "prod")], apps: apps,
                premium: premium, licenceErrorStatus: premium ? nil : 401)
        ])
    }

    static func fleet(_ n: Int) -> String { String(format: "e0000000-0000-4000-8000-%012d", n) }

    static let targets: [ObservationTarget] = [
        ObservationTarget(clientId: healthy, kind: .exchange),
        ObservationTarget(clientId: expired, kind: .onedrive),
        ObservationTarget(clientId: stale, kind: .teams),
        ObservationTarget(clientId: disabled, kind: .mip),
        ObservationTarget(clientId: noSP, kind: .exchange),
        ObservationTarget(clientId: blob, kind: .azureBlob, subscriptionId: subscription),
    ]

    struct Rig {
        let sim: SimulatorFixture
        let transport: HTTPTransport
        let dir: String

        func client(_ tenant: TenantConfig) -> ObserverClient {
            ObserverClient(tenant: tenant, endpoints: sim.endpoints, transport: transport)
        }

        func stop() async {
            await transport.shutdown()
            await sim.stop()
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    func rig(_ scenario: Scenario) async throws -> Rig {
        let sim = try await SimulatorFixture.start(scenario)
        var settings = TransportSettings()
        settings.caFile = sim.caFile
        settings.requestTimeout = .seconds(60)
        let transport = try HTTPTransport(settings: settings)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("obs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return Rig(sim: sim, transport: transport, dir: dir)
    }

    /// One PEM with the key and the certificate, mode 0600.
    func certificateFile(_ pair: TestPKI.Pair, in dir: String) throws -> String {
        let path = dir + "/observer-\(UUID().uuidString).pem"
        try (pair.privateKeyFile + pair.certificateFile).write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        return path
    }

    func tenant(
        _ credential: TenantConfig.Credential, clientId: String = observer, signInLogs: Bool = true
    ) -> TenantConfig {
        var t = TenantConfig(
            tenantId: Self.tenant, clientId: clientId, credential: credential,
            source: SourceLocation(file: "test.toml"))
        t.subscriptions = [Self.subscription]
        t.signInLogs = signInLogs
        return t
    }

    func evaluate(_ o: TenantObservation, _ target: ObservationTarget, now: Date) -> ObservedChecks.Evaluation {
        ObservedChecks.evaluate(
            kind: target.kind, facts: o.facts(for: target.clientId, signInLogs: true),
            subscriptionId: target.subscriptionId, thresholds: Self.thresholds, now: now)
    }

    func result(_ e: ObservedChecks.Evaluation, _ check: CheckKind) -> CheckResult? {
        e.results.first { $0.check == check }
    }

    // MARK: -

    @Test func certificateObserverReadsTheScenariosTruthWithOneToken() async throws {
        let r = try await rig(scenario())
        defer { Task { await r.stop() } }
        let client = r.client(tenant(.certificate(path: try certificateFile(cert, in: r.dir))))
        let now = Date()
        let o = await client.observe(Self.targets, now: now)

        guard case .value(let token) = o.observer.token else {
            Issue.record("no token: \(o.observer.token)")
            return
        }
        #expect(Set(token.roles) == Set(Self.observerRoles))
        #expect(o.observer.credential == .certificate(thumbprint: cert.thumbprint, notAfter: cert.certificate.notValidAfter))
        #expect(o.observer.refused.isEmpty)
        let own = ObserverCheck.evaluate(o.observer, thresholds: Self.thresholds, now: now)
        #expect(own.status == .ok, "\(own.summary)")
        #expect(own.expiry != nil)

        // The secret in use (the older one), from the sign-in log; the newer one waits.
        let healthy = evaluate(o, Self.targets[0], now: now)
        #expect(result(healthy, .app)?.status == .ok)
        #expect(result(healthy, .signin)?.status == .ok)
        let rotation = try #require(result(healthy, .secretExpiry))
        #expect(rotation.reason == .rotationPending, "\(rotation.summary)")
        #expect(rotation.details["in_use_source"] == "sign_in_log")
        // Twelve roles over two pages, each named through Graph's appRoles.
        guard case .value(let roles) = o.connectors[Self.healthy]?.appRoles else {
            Issue.record("no app roles")
            return
        }
        #expect(Set(roles.compactMap(\.permission)) == Set(Self.manyRoles))

        // An expired secret: the service's sign-ins fail with AADSTS7000222.
        let expired = evaluate(o, Self.targets[1], now: now)
        #expect(result(expired, .signin)?.status == .critical)
        #expect(result(expired, .signin)?.reason == .secretExpired)
        #expect(result(expired, .secretExpiry)?.reason == .secretExpired)

        // Nobody signed in for ten days.
        let stale = evaluate(o, Self.targets[2], now: now)
        #expect(result(stale, .signin)?.status == .warning)
        #expect(result(stale, .signin)?.reason == .signinStale)

        #expect(result(evaluate(o, Self.targets[3], now: now), .app)?.reason == .appDisabled)
        let noSP = evaluate(o, Self.targets[4], now: now)
        #expect(result(noSP, .app)?.reason == .consentNone)
        #expect(result(noSP, .consent)?.status == .unknown)

        // azure-blob: the delegated grant and the ARM roles, read with Reader.
        let blob = evaluate(o, Self.targets[5], now: now)
        #expect(result(blob, .consent)?.status == .ok, "\(result(blob, .consent)?.summary ?? "")")
        #expect(result(blob, .roles)?.status == .ok, "\(result(blob, .roles)?.summary ?? "")")

        // The second pass reuses the token: no request to the token endpoint at all.
        let logins = await r.sim.requestCounts()[.login]
        #expect(logins == 2)  // Graph and ARM, once each
        await r.sim.resetRequestCounts()
        let started = Date()
        let second = await client.observe(Self.targets, now: Date())
        let elapsed = Date().timeIntervalSince(started)
        let counts = await r.sim.requestCounts()
        #expect(counts[.login] == 0)
        #expect(second.httpRequests == counts[.graph] + counts[.arm])
        // Five reports requests a pass (activity, window, three latest successes): the
        // second pass waits for the first one's to leave the 10 s window, and the
        // simulator's own gate never answers 429.
        #expect(await client.reportsThrottled == 0)
        #expect(elapsed >= 5, "the second pass did not wait for the reports gate (\(elapsed) s)")
        print("observer pass of \(Self.targets.count) connectors: \(second.httpRequests) HTTP requests")
    }

    @Test func aCertificateNotOnTheAppIsRefusedAndBlocksEveryTarget() async throws {
        let r = try await rig(scenario())
        defer { Task { await r.stop() } }
        let client = r.client(tenant(.certificate(path: try certificateFile(unregistered, in: r.dir))))
        let now = Date()
        let o = await client.observe(Self.targets, now: now)
        guard case .failed(let f) = o.observer.token else {
            Issue.record("the token was not refused: \(o.observer.token)")
            return
        }
        #expect(f.reason == .observerFailed)
        #expect(!f.transient)
        #expect(f.details["aadsts"] == .int(700027))
        #expect(o.httpRequests == 0)
        #expect(ObserverCheck.evaluate(o.observer, thresholds: Self.thresholds, now: now).reason == .observerFailed)
        for t in Self.targets {
            let app = result(evaluate(o, t, now: now), .app)
            #expect(app?.status == .unknown)
            #expect(app?.reason == .observerFailed)
        }
    }

    @Test func aTokenEndpointInTroubleIsTransientNotARefusal() async throws {
        let r = try await rig(scenario())
        defer { Task { await r.stop() } }
        try await r.sim.setFaults([Fault(service: .login, status: 503)])
        let client = r.client(tenant(.secret(Secret(secret))))
        let now = Date()
        let o = await client.observe([Self.targets[0]], now: now)
        guard case .failed(let f) = o.observer.token else {
            Issue.record("a token despite the 503s: \(o.observer.token)")
            return
        }
        #expect(f.transient)
        #expect(f.reason != .observerFailed)
        #expect(ObserverCheck.evaluate(o.observer, thresholds: Self.thresholds, now: now).status == .unknown)
        let app = result(evaluate(o, Self.targets[0], now: now), .app)
        #expect(app?.status == .unknown)
        #expect(app?.reason.isTransient == true)
        // Recovered: the next pass gets its token and reads.
        try await r.sim.setFaults([])
        let next = await client.observe([Self.targets[0]], now: now)
        #expect(result(evaluate(next, Self.targets[0], now: now), .app)?.status == .ok)
    }

    @Test func aSecretObserverWatchesItsOwnSecret() async throws {
        let r = try await rig(scenario())
        defer { Task { await r.stop() } }
        let client = r.client(tenant(.secret(Secret(secret)), signInLogs: false))
        let now = Date()
        let o = await client.observe(Array(Self.targets.prefix(2)), now: now)
        #expect(o.observer.credential == .secret(hint: String(secret.prefix(3))))
        guard case .value(let own?) = o.observer.ownApplication else {
            Issue.record("own application not read: \(o.observer.ownApplication)")
            return
        }
        #expect(own.appId == Self.observer)
        let check = ObserverCheck.evaluate(o.observer, thresholds: Self.thresholds, now: now)
        #expect(check.status == .ok, "\(check.summary)")
        #expect(check.expiry?.daysLeft(at: now) ?? 0 >= 199)
        // Without sign-in logs: no reports read, the signin check left out.
        #expect(o.connectors[Self.healthy]?.signIns == nil)
        #expect(evaluate(o, Self.targets[0], now: now).notes.count == 1)
        // The directory batch, then the grants (and the resources they name, and page 2).
        let counts = await r.sim.requestCounts()
        #expect(o.httpRequests == counts[.graph])
        #expect(o.httpRequests <= 3)
    }

    @Test func aHundredConnectorsStayWithinHalfARequestEach() async throws {
        let r = try await rig(scenario(connectors: 100))
        defer { Task { await r.stop() } }
        let client = r.client(tenant(.secret(Secret(secret))))
        let targets = (0..<100).map { ObservationTarget(clientId: Self.fleet($0), kind: .exchange) }
        let now = Date()
        _ = await client.observe(targets, now: now)  // the first pass also reads the resources
        await r.sim.resetRequestCounts()
        let o = await client.observe(targets, now: now.addingTimeInterval(3600))
        let counts = await r.sim.requestCounts()
        print(
            "observer, 100 connectors in one tenant: \(o.httpRequests) Graph/ARM HTTP requests per pass = \(Double(o.httpRequests) / 100) per connector"
        )
        #expect(o.httpRequests <= 50)
        #expect(o.httpRequests == counts[.graph] + counts[.arm])
        #expect(counts[.login] == 0)
        for t in targets {
            let e = evaluate(o, t, now: now.addingTimeInterval(3600))
            #expect(result(e, .app)?.status == .ok)
            #expect(result(e, .signin)?.status == .ok)
        }
    }

    @Test func retryAfterOnTheBatchAndInsideIt() async throws {
        let r = try await rig(scenario())
        defer { Task { await r.stop() } }
        try await r.sim.setFaults([
            Fault(service: .graph, path: "v1.0/$batch", status: 429, retryAfter: 1, count: 1),
            Fault(service: .graph, path: "appRoleAssignments", status: 429, retryAfter: 1, count: 1),
            Fault(service: .graph, path: "auditLogs/signIns", status: 429, retryAfter: 1, count: 1),
        ])
        let client = r.client(tenant(.secret(Secret(secret))))
        let now = Date()
        let targets = Array(Self.targets.prefix(3))
        let o = await client.observe(targets, now: now)
        let counts = await r.sim.requestCounts()
        #expect(o.httpRequests == counts[.graph])
        guard case .value(let roles) = o.connectors[Self.healthy]?.appRoles else {
            Issue.record("app roles not read after 429: \(String(describing: o.connectors[Self.healthy]?.appRoles))")
            return
        }
        #expect(roles.count == Self.manyRoles.count)
        // The 429 inside the reports batch was seen, and its request sent again.
        #expect(await client.reportsThrottled == 1)
        #expect(result(evaluate(o, targets[1], now: now), .signin)?.reason == .secretExpired)
        #expect(result(evaluate(o, targets[2], now: now), .signin)?.reason == .signinStale)
    }

    @Test func noLicenceLeavesSignInsOutAndAMissingPermissionIsNamed() async throws {
        let r = try await rig(scenario(premium: false))
        defer { Task { await r.stop() } }
        let now = Date()
        let client = r.client(tenant(.secret(Secret(secret))))
        let o = await client.observe([Self.targets[0]], now: now)
        guard case .failed(let f) = o.connectors[Self.healthy]?.signIns?.window else {
            Issue.record("sign-ins read without a licence")
            return
        }
        #expect(f.notLicensed)
        #expect(o.observer.refused.isEmpty)
        let e = evaluate(o, Self.targets[0], now: now)
        #expect(result(e, .signin) == nil)
        #expect(e.notes.contains { $0.contains("P1/P2") })

        // Without Directory.Read.All: azure-blob's grants are refused, and named.
        let narrow = r.client(tenant(.secret(Secret(secret)), clientId: Self.narrowObserver))
        let n = await narrow.observe([Self.targets[5]], now: now)
        #expect(n.observer.refused.contains(.directoryReadAll))
        let check = ObserverCheck.evaluate(n.observer, thresholds: Self.thresholds, now: now)
        #expect(check.reason == .permissionMissing)
        #expect(check.summary.contains("Directory.Read.All"))
        let consent = result(evaluate(n, Self.targets[5], now: now), .consent)
        #expect(consent?.reason == .permissionMissing)
    }
}
