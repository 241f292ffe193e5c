import ConnwatchCore
import ConnwatchSimulator
import ConnwatchTestSupport
import Foundation
import Testing

@testable import ConnwatchEntra

/// The Entra client against the simulated Microsoft cloud over real loopback HTTPS. The
/// two only share the documented wire formats (microsoft-facts.md).
@Suite(.serialized) struct ClientVsSimulatorTests {
    static let tenant = "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41"
    static let domain = "contoso.onmicrosoft.com"
    static let subscription = "3c7a9e2b-5d1f-4a68-9b04-e6f2c8d1a5b7"
    static let spHost = "contoso.sharepoint.com"
    static let graphApp = "00000003-0000-0000-c000-000000000000"
    static let officeApp = "c5393580-f805-4401-95e8-94b7a6ef2fc2"
    static let sharePointApp = "00000003-0000-0ff1-ce00-000000000000"
    static let mipSync = "870c4f2e-85b6-4d43-bdda-6ed9a579b725"

    static let full = "b0000000-0000-4000-8000-000000000001"
    static let partial = "b0000000-0000-4000-8000-000000000002"
    static let bare = "b0000000-0000-4000-8000-000000000003"
    static let selfReader = "b0000000-0000-4000-8000-000000000004"
    static let expired = "b0000000-0000-4000-8000-000000000005"
    static let disabled = "b0000000-0000-4000-8000-000000000006"
    static let noSP = "b0000000-0000-4000-8000-000000000007"
    static let blocked = "b0000000-0000-4000-8000-000000000008"
    static let expiredCert = "b0000000-0000-4000-8000-000000000009"

    let secret = "Xq8~" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
    let oldSecret = "Zz1~" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
    let cert: TestPKI.Pair
    let otherCert: TestPKI.Pair
    let expiredPair: TestPKI.Pair

    init() throws {
        cert = try TestPKI.rsaCertificate()
        otherCert = try TestPKI.rsaCertificate(commonName: "not registered", key: 1)
        expiredPair = try TestPKI.rsaCertificate(
            commonName: "expired", notBefore: Date().addingTimeInterval(-400 * 86400),
            notAfter: Date().addingTimeInterval(-86400), key: 2)
    }

    static let graphRoles = PermissionCatalog.requirements(for: .teams).applicationPermissions(for: .graph).map(\.name)

    func scenario() -> Scenario {
        let future = Date().addingTimeInterval(200 * 86400)
        func app(_ id: String, _ name: String, roles: [String: [String]] = [:]) -> App {
            var a = App(
                appId: id, displayName: name,
                secrets: [ClientSecret(displayName: "zscaler", value: secret, end: future)])
            a.appRoles = roles
            return a
        }
        var full = app(
            Self.full, "Full",
            roles: [
                Self.graphApp: Self.graphRoles, Self.officeApp: ["ActivityFeed.Read"],
                Self.sharePointApp: ["Sites.Read.All"],
            ])
        full.secrets.append(
            ClientSecret(displayName: "old", value: oldSecret, end: Date().addingTimeInterval(5 * 86400)))
        full.certificates = [ConnwatchSimulator.CertificateCredential(displayName: "cert", pem: cert.certificatePEM)]
        full.roleAssignments = [
            RoleAssignment(roleDefinitionId: "ba92f5b4-2d11-453d-a403-e96b0029c9fe", subscription: Self.subscription),
            RoleAssignment(roleDefinitionId: "17d1049b-9a84-46fb-8f53-869881c3d3ab", subscription: Self.subscription),
        ]
        let partial = app(Self.partial, "Partial", roles: [Self.graphApp: ["User.Read.All", "Directory.Read.All"]])
        let bare = app(Self.bare, "Bare")
        var selfReader = app(Self.selfReader, "SelfReader")
        selfReader.selfRead = true
        var expired = app(Self.expired, "Expired")
        expired.secrets = [
            ClientSecret(
                value: secret, start: Date().addingTimeInterval(-400 * 86400), end: Date().addingTimeInterval(-86400))
        ]
        var disabled = app(Self.disabled, "Disabled")
        disabled.disabled = true
        var noSP = app(Self.noSP, "NoSP")
        noSP.servicePrincipal = false
        var blocked = app(Self.blocked, "Blocked")
        blocked.blockedByPolicy = true
        var expiredCert = app(Self.expiredCert, "ExpiredCert", roles: [Self.sharePointApp: ["Sites.Read.All"]])
        expiredCert.certificates = [
            ConnwatchSimulator.CertificateCredential(
                displayName: "old", pem: cert.certificatePEM, start: Date().addingTimeInterval(-400 * 86400),
                end: Date().addingTimeInterval(-86400))
        ]
        let tenant = Tenant(
            id: Self.tenant, domains: [Self.domain], displayName: "Contoso",
            subscriptions: [Subscription(id: Self.subscription, displayName: "prod")], missingResources: [Self.mipSync],
            sharepointHost: Self.spHost,
            apps: [full, partial, bare, selfReader, expired, disabled, noSP, blocked, expiredCert])
        return Scenario(tenants: [tenant])
    }

    /// A simulator plus clients trusting its CA.
    struct Rig {
        let sim: SimulatorFixture
        let transport: HTTPTransport
        let tokens: TokenClient
        let graph: GraphClient
        let arm: ARMClient
        let office: OfficeManagementClient
        let sharePoint: SharePointClient

        func stop() async {
            await transport.shutdown()
            await sim.stop()
        }
    }

    func rig(
        _ configure: (inout TransportSettings) -> Void = { _ in }, now: @escaping @Sendable () -> Date = Date.init
    ) async throws -> Rig {
        let sim = try await SimulatorFixture.start(scenario())
        var settings = TransportSettings()
        settings.caFile = sim.caFile
        settings.backoffBase = .milliseconds(20)
        // Roomy: the simulator runs in this process, and under the parallel test run its
        // handlers may wait seconds for one of Swift's threads.
        settings.requestTimeout = .seconds(60)
        configure(&settings)
        let transport = try HTTPTransport(settings: settings)
        let endpoints = sim.endpoints
        return Rig(
            sim: sim, transport: transport,
            tokens: TokenClient(transport: transport, loginEndpoint: endpoints.login, now: now),
            graph: GraphClient(transport: transport, graphEndpoint: endpoints.graph),
            arm: ARMClient(transport: transport, managementEndpoint: endpoints.management),
            office: OfficeManagementClient(transport: transport, officeManagementEndpoint: endpoints.officeManagement),
            sharePoint: SharePointClient(transport: transport, endpoints: endpoints))
    }

    static let graphScope = "https://graph.microsoft.com/.default"

    func failure(
        _ r: Rig, tenant: String = tenant, app: String, credential: ClientCredential? = nil, scope: String = graphScope
    )
        async -> TokenFailure?
    {
        do {
            _ = try await r.tokens.token(
                tenant: tenant, clientId: app, credential: credential ?? .secret(Secret(secret)), scope: scope)
            return nil
        } catch {
            if case .tokenRejected(let f) = error { return f }
            Issue.record("expected a token refusal, got \(error)")
            return nil
        }
    }

    /// Every AADSTS mapping the simulator can produce, through the real wire format.
    @Test func aadstsCodesMapToReasons() async throws {
        let r = try await rig()
        defer { Task { await r.stop() } }
        let wrong = ClientCredential.secret(Secret("Wr0~not-the-secret"))
        let cases: [(String, TokenFailure?, Int, Reason)] = [
            ("wrong secret", await failure(r, app: Self.full, credential: wrong), 7_000_215, .secretInvalid),
            ("expired secret", await failure(r, app: Self.expired), 7_000_222, .secretExpired),
            ("unknown app", await failure(r, app: "b0000000-0000-4000-8000-0000000000ff"), 700_016, .appNotFound),
            ("no service principal", await failure(r, app: Self.noSP), 700_016, .appNotFound),
            (
                "unknown tenant", await failure(r, tenant: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", app: Self.full),
                90002, .tenantNotFound
            ),
            ("malformed tenant", await failure(r, tenant: "not_a_tenant", app: Self.full), 900_023, .tenantInvalid),
            ("disabled", await failure(r, app: Self.disabled), 7_000_112, .appDisabled),
            ("blocked", await failure(r, app: Self.blocked), 53003, .blockedByPolicy),
            (
                "two resources",
                await failure(r, app: Self.full, scope: "\(Self.graphScope) https://manage.office.com/.default"), 70011,
                .idpError
            ),
            (
                "missing resource",
                await failure(r, app: Self.full, scope: "https://syncservice.o365syncservice.com/.default"), 500_011,
                .resourceMissing
            ),
        ]
        for (name, f, code, reason) in cases {
            let f = try #require(f, "\(name): no refusal")
            #expect(f.code == code, "\(name)")
            #expect(f.reason == reason, "\(name)")
            #expect(f.traceId?.isEmpty == false, "\(name): trace id kept")
            #expect(f.correlationId?.isEmpty == false, "\(name): correlation id kept")
            #expect(f.message.hasPrefix("AADSTS\(code):"), "\(name): \(f.message)")
            #expect(!f.description.contains(secret), "\(name): secret in the error")
        }
        // The domain form of the tenant works too.
        let viaDomain = try await r.tokens.token(
            tenant: Self.domain, clientId: Self.full, credential: .secret(Secret(secret)), scope: Self.graphScope)
        #expect(viaDomain.claims.tenantId == Self.tenant)
    }

    @Test func throttlingCodesFromTheTokenEndpoint() async throws {
        let r = try await rig()
        defer { Task { await r.stop() } }
        try await r.sim.setFaults([Fault(service: .login, status: 400, errorCode: "50196", count: 1)])
        let f = try #require(await failure(r, app: Self.full))
        #expect(f.code == 50196)
        #expect(f.reason == .throttled)
        #expect(f.isTransient)
    }

    @Test func consentFullPartialAndNone() async throws {
        let r = try await rig()
        defer { Task { await r.stop() } }
        let full = try await r.tokens.token(
            tenant: Self.tenant, clientId: Self.full, credential: .secret(Secret(secret)), scope: Self.graphScope)
        #expect(Set(full.claims.roles) == Set(Self.graphRoles))
        let partial = try await r.tokens.token(
            tenant: Self.tenant, clientId: Self.partial, credential: .secret(Secret(secret)), scope: Self.graphScope)
        #expect(Set(partial.claims.roles) == ["User.Read.All", "Directory.Read.All"])
        let bare = try await r.tokens.token(
            tenant: Self.tenant, clientId: Self.bare, credential: .secret(Secret(secret)), scope: Self.graphScope)
        #expect(bare.claims.roles.isEmpty)
        #expect(!bare.claims.hasRolesClaim, "no admin consent: no roles claim at all")
        #expect(bare.claims.authMethod == "1")

        // Evaluated by the Core check: the catalog against the token.
        let obs = [
            TokenObservation(
                resource: .graph,
                outcome: .value(GrantedToken(roles: partial.claims.roles, hasRolesClaim: true, objectId: nil)))
        ]
        #expect(ConsentCheck.evaluate(kind: .exchange, tokens: obs, now: Date()).reason == .consentMissing)

        // Granted permissions through Graph, names resolved via the resource's appRoles (paged).
        let sp = try await r.graph.servicePrincipal(appId: Self.full, token: full)
        #expect(sp.id == full.claims.objectId)
        let granted = try await r.graph.grantedPermissions(servicePrincipalId: sp.id, token: full)
        #expect(granted.byResourceAppId[Self.graphApp] == Set(Self.graphRoles))
        #expect(granted.byResourceAppId[Self.officeApp] == ["ActivityFeed.Read"])
        let grants = try await r.graph.oauth2PermissionGrants(clientId: sp.id, token: full)
        #expect(grants.isEmpty)
    }

    @Test func applicationReadForbiddenVersusAllowed() async throws {
        let r = try await rig()
        defer { Task { await r.stop() } }
        let full = try await r.tokens.token(
            tenant: Self.tenant, clientId: Self.full, credential: .secret(Secret(secret)), scope: Self.graphScope)
        let app = try await r.graph.application(appId: Self.full, token: full)
        #expect(app.passwordCredentials.count == 2)
        let inUse = try #require(app.passwordCredentials.first { $0.hint == String(secret.prefix(3)) })
        #expect(inUse.endDateTime != nil)
        let thumbprint = try CertificateCredential(certificatePEM: cert.certificatePEM, privateKey: cert.privateKeyPEM)
            .sha1Thumbprint
        #expect(app.keyCredentials.first?.thumbprintHex == thumbprint)

        let bare = try await r.tokens.token(
            tenant: Self.tenant, clientId: Self.bare, credential: .secret(Secret(secret)), scope: Self.graphScope)
        do {
            _ = try await r.graph.application(appId: Self.bare, token: bare)
            Issue.record("read without permission")
        } catch {
            guard case .apiError(let f) = error else { return #expect(Bool(false), "\(error)") }
            #expect(f.status == 403)
            #expect(f.code == "Authorization_RequestDenied")
            #expect(f.isForbidden)
            #expect(!error.isTransient, "not permitted is not down")
        }
        let me = try await r.tokens.token(
            tenant: Self.tenant, clientId: Self.selfReader, credential: .secret(Secret(secret)), scope: Self.graphScope)
        let own = try await r.graph.application(appId: Self.selfReader, token: me)
        #expect(own.appId == Self.selfReader)
    }

    @Test func certificateAssertionAcceptedAndRejected() async throws {
        let r = try await rig()
        defer { Task { await r.stop() } }
        let scope = "https://\(Self.spHost)/.default"
        let registered = try CertificateCredential(certificatePEM: cert.certificatePEM, privateKey: cert.privateKeyPEM)
        for alg in [CertificateCredential.Algorithm.rs256, .ps256] {
            let t = try await r.tokens.token(
                tenant: Self.tenant, clientId: Self.full, credential: .certificate(registered, alg), scope: scope)
            #expect(t.claims.roles == ["Sites.Read.All"])
            #expect(t.claims.authMethod == "2")
            let title = try await r.sharePoint.webTitle(host: Self.spHost, token: t)
            #expect(!title.isEmpty)
        }
        // SharePoint refuses a secret-issued token.
        let bySecret = try await r.tokens.token(
            tenant: Self.tenant, clientId: Self.full, credential: .secret(Secret(secret)), scope: scope)
        do {
            _ = try await r.sharePoint.webTitle(host: Self.spHost, token: bySecret)
            Issue.record("secret token accepted by SharePoint")
        } catch {
            guard case .apiError(let f) = error else { return #expect(Bool(false), "\(error)") }
            #expect(f.status == 401)
            #expect(f.message == "Unsupported app only token.")
        }
        let unregistered = try CertificateCredential(
            certificatePEM: otherCert.certificatePEM, privateKey: otherCert.privateKeyPEM)
        let notFound = try #require(
            await failure(r, app: Self.full, credential: .certificate(unregistered, .rs256), scope: scope))
        #expect(notFound.code == 700_027)
        #expect(notFound.reason == .certRejected)
        #expect(notFound.certificateProblem == .keyNotFound)
        let expired = try #require(
            await failure(r, app: Self.expiredCert, credential: .certificate(registered, .rs256), scope: scope))
        #expect(expired.certificateProblem == .keyExpired)
    }

    /// SharePoint also answers 401 with no body: the reason is read from `x-ms-diagnostics`
    /// and `WWW-Authenticate`, so the probe's summary still says why.
    @Test func sharePointRefusalWithoutABodyNamesItsReason() async throws {
        let r = try await rig()
        defer { Task { await r.stop() } }
        try await r.sim.update { $0.tenants[0].sharepointUnauthorizedBody = .empty }
        func refusal(_ token: AccessToken) async throws -> APIFailure {
            do {
                _ = try await r.sharePoint.webTitle(host: Self.spHost, token: token)
            } catch {
                guard case .apiError(let f) = error else { throw error }
                return f
            }
            throw EntraError.badResponse(endpoint: "test", detail: "SharePoint accepted the token")
        }
        // A secret-issued token for SharePoint: app-only needs a certificate.
        let bySecret = try await r.tokens.token(
            tenant: Self.tenant, clientId: Self.full, credential: .secret(Secret(secret)),
            scope: "https://\(Self.spHost)/.default")
        let unsupported = try await refusal(bySecret)
        #expect(unsupported.status == 401)
        #expect(unsupported.code == "invalid_client")
        #expect(
            EntraError.apiError(unsupported).description
                == "sharepoint GET /_api/web: HTTP 401 invalid_client: Unsupported app only token (x-ms-diagnostics 3000003): SharePoint accepts app-only tokens obtained with a certificate, not with a client secret"
        )
        // A Graph token sent to SharePoint: an invalid audience, named.
        let graph = try await r.tokens.token(
            tenant: Self.tenant, clientId: Self.full, credential: .secret(Secret(secret)), scope: Self.graphScope)
        let audience = try await refusal(graph)
        #expect(audience.code == "invalid_client")
        #expect(audience.message.hasPrefix("Invalid audience Uri '"))
        #expect(
            audience.message.hasSuffix(
                "(x-ms-diagnostics 3000003): the token was issued for another resource than this SharePoint host"))
    }

    @Test func clockSkewedAssertionIsRefused() async throws {
        let r = try await rig(now: { Date().addingTimeInterval(-3600) })
        defer { Task { await r.stop() } }
        let registered = try CertificateCredential(certificatePEM: cert.certificatePEM, privateKey: cert.privateKeyPEM)
        let f = try #require(
            await failure(
                r, app: Self.full, credential: .certificate(registered, .rs256),
                scope: "https://\(Self.spHost)/.default"))
        #expect(f.code == 700_024)
        #expect(f.reason == .clockSkew)
    }

    @Test func rbacPresentAndMissing() async throws {
        let r = try await rig()
        defer { Task { await r.stop() } }
        let mgmt = "https://management.azure.com/.default"
        let t = try await r.tokens.token(
            tenant: Self.tenant, clientId: Self.full, credential: .secret(Secret(secret)), scope: mgmt)
        let oid = try #require(t.claims.objectId)
        let list = try await r.arm.roleAssignments(subscriptionId: Self.subscription, principalId: oid, token: t)
        let held = list.map { ObservedRoleAssignment(roleDefinitionId: $0.roleDefinitionGuid, scope: $0.scope) }
        #expect(
            RolesCheck.evaluate(assignments: .value(held), subscriptionId: Self.subscription, now: Date()).status == .ok
        )
        let subs = try await r.arm.subscriptions(token: t)
        #expect(subs.map(\.subscriptionId) == [Self.subscription])

        try await r.sim.update { s in s.tenants[0].apps[0].roleAssignments.removeLast() }
        let after = try await r.arm.roleAssignments(subscriptionId: Self.subscription, principalId: oid, token: t)
        let r2 = RolesCheck.evaluate(
            assignments: .value(
                after.map { ObservedRoleAssignment(roleDefinitionId: $0.roleDefinitionGuid, scope: $0.scope) }),
            subscriptionId: Self.subscription, now: Date())
        #expect(r2.reason == .roleMissing)
        #expect(r2.details["missing_roles"] == ["Storage Account Contributor"])

        let bare = try await r.tokens.token(
            tenant: Self.tenant, clientId: Self.bare, credential: .secret(Secret(secret)), scope: mgmt)
        do {
            _ = try await r.arm.roleAssignments(
                subscriptionId: Self.subscription, principalId: bare.claims.objectId ?? "", token: bare)
            Issue.record("listed without a role")
        } catch {
            guard case .apiError(let f) = error else { return #expect(Bool(false), "\(error)") }
            #expect(f.code == "AuthorizationFailed")
            #expect(f.isForbidden)
        }
    }

    @Test func officeManagementProbe() async throws {
        let r = try await rig()
        defer { Task { await r.stop() } }
        let scope = "https://manage.office.com/.default"
        let ok = try await r.tokens.token(
            tenant: Self.tenant, clientId: Self.full, credential: .secret(Secret(secret)), scope: scope)
        _ = try await r.office.subscriptionsList(tenantId: Self.tenant, token: ok)
        let bare = try await r.tokens.token(
            tenant: Self.tenant, clientId: Self.bare, credential: .secret(Secret(secret)), scope: scope)
        do {
            _ = try await r.office.subscriptionsList(tenantId: Self.tenant, token: bare)
            Issue.record("listed without ActivityFeed.Read")
        } catch {
            guard case .apiError(let f) = error else { return #expect(Bool(false), "\(error)") }
            #expect(f.code == "AF10001")
            #expect(f.isForbidden)
        }
    }

    @Test func throttlingThenSuccessHonoursRetryAfter() async throws {
        let r = try await rig()
        defer { Task { await r.stop() } }
        let t = try await r.tokens.token(
            tenant: Self.tenant, clientId: Self.full, credential: .secret(Secret(secret)), scope: Self.graphScope)
        try await r.sim.setFaults([Fault(service: .graph, status: 429, retryAfter: 1, count: 1)])
        await r.sim.resetRequestCounts()
        let started = Date()
        let app = try await r.graph.application(appId: Self.full, token: t)
        #expect(app.appId == Self.full)
        #expect(Date().timeIntervalSince(started) >= 0.9, "waited for Retry-After")
        #expect(await r.sim.requestCounts().total == 2)

        try await r.sim.setFaults([Fault(service: .graph, status: 429, retryAfter: 120)])
        do {
            _ = try await r.graph.application(appId: Self.full, token: t)
            Issue.record("throttling ignored")
        } catch {
            #expect(error == .throttled(endpoint: "graph GET /v1.0/applications(appId=…)", retryAfter: 120))
            #expect(error.isTransient)
            #expect(error.reason == .throttled)
        }
    }

    @Test func brokenRepliesAreTypedErrorsNeverOk() async throws {
        let r = try await rig {
            $0.maxBodyBytes = 1 << 20
        }
        defer { Task { await r.stop() } }
        let t = try await r.tokens.token(
            tenant: Self.tenant, clientId: Self.full, credential: .secret(Secret(secret)), scope: Self.graphScope)
        for mode in [Fault.Mode.malformed, .wrongTypes, .oversized] {
            try await r.sim.setFaults([Fault(service: .graph, count: 1, mode: mode, sizeMb: 3)])
            do {
                _ = try await r.graph.application(appId: Self.full, token: t)
                Issue.record("\(mode) accepted")
            } catch {
                guard case .badResponse(let endpoint, let detail) = error else {
                    return #expect(Bool(false), "\(mode): \(error)")
                }
                #expect(endpoint == "graph GET /v1.0/applications(appId=…)")
                #expect(!detail.isEmpty)
            }
        }
        // A reply held for 120 s, through a transport with a 2 s deadline: the deadline ends
        // it (well before the hold would; the bound leaves room for a busy test machine).
        try await r.sim.setFaults([Fault(service: .graph, count: 1, mode: .timeout, holdSeconds: 120)])
        var quick = TransportSettings()
        quick.caFile = r.sim.caFile
        quick.backoffBase = .milliseconds(20)
        quick.requestTimeout = .seconds(2)
        let quickTransport = try HTTPTransport(settings: quick)
        let started = Date()
        do {
            _ = try await GraphClient(transport: quickTransport, graphEndpoint: r.sim.baseURL + "/graph")
                .application(appId: Self.full, token: t)
            Issue.record("slow server not timed out")
        } catch {
            #expect(error == .timeout(endpoint: "graph GET /v1.0/applications(appId=…)"))
            #expect(Date().timeIntervalSince(started) < 60)
        }
        await quickTransport.shutdown()
        // A malformed token reply too.
        try await r.sim.setFaults([Fault(service: .login, count: 1, mode: .malformed)])
        do {
            _ = try await r.tokens.token(
                tenant: Self.tenant, clientId: Self.full, credential: .secret(Secret(secret)),
                scope: "https://manage.office.com/.default")
            Issue.record("malformed token reply accepted")
        } catch {
            guard case .badResponse = error else { return #expect(Bool(false), "\(error)") }
        }
    }

    @Test func tlsIsVerified() async throws {
        let sim = try await SimulatorFixture.start(scenario())
        defer { Task { await sim.stop() } }
        var settings = TransportSettings()  // system trust only
        settings.connectTimeout = .seconds(2)
        let transport = try HTTPTransport(settings: settings)
        defer { Task { await transport.shutdown() } }
        let tokens = TokenClient(transport: transport, loginEndpoint: sim.baseURL + "/login")
        do {
            _ = try await tokens.token(
                tenant: Self.tenant, clientId: Self.full, credential: .secret(Secret(secret)), scope: Self.graphScope)
            Issue.record("untrusted certificate accepted")
        } catch {
            guard case .unreachable(_, let detail) = error else { return #expect(Bool(false), "\(error)") }
            #expect(detail.contains("TLS") || detail.lowercased().contains("certificate"), "\(detail)")
        }
    }

    @Test func tokensAreCachedPerResourceAndRefreshedOnDemand() async throws {
        let r = try await rig()
        defer { Task { await r.stop() } }
        await r.sim.resetRequestCounts()
        let cred = ClientCredential.secret(Secret(secret))
        async let a = r.tokens.token(tenant: Self.tenant, clientId: Self.full, credential: cred, scope: Self.graphScope)
        async let b = r.tokens.token(tenant: Self.tenant, clientId: Self.full, credential: cred, scope: Self.graphScope)
        _ = try await (a, b)
        _ = try await r.tokens.token(tenant: Self.tenant, clientId: Self.full, credential: cred, scope: Self.graphScope)
        #expect(await r.sim.requestCounts().total == 1, "concurrent and repeated requests share one token")
        _ = try await r.tokens.token(
            tenant: Self.tenant, clientId: Self.full, credential: cred, scope: Self.graphScope, forceRefresh: true)
        _ = try await r.tokens.token(
            tenant: Self.tenant, clientId: Self.full, credential: cred, scope: "https://manage.office.com/.default")
        #expect(await r.sim.requestCounts().total == 3)
    }
}
