import AsyncHTTPClient
import ConnwatchCore
import ConnwatchSimulator
import ConnwatchTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing

// Helpers build requests, assertions and JSON by hand (not through the simulator's own
// code) so that the tests check the wire format, not the implementation against itself.

/// IDs of the test tenant; app IDs per state.
enum Fixture {
    static let tenant = "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41"
    static let domain = "contoso.onmicrosoft.com"
    static let subscription = "3c7a9e2b-5d1f-4a68-9b04-e6f2c8d1a5b7"
    static let otherSubscription = "7d2e4f6a-8b0c-4d1e-9f3a-5b7c9d1e3f5a"
    static let sharePointHost = "contoso.sharepoint.com"
    static let otherTenant = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

    static let graph = "00000003-0000-0000-c000-000000000000"
    static let office = "c5393580-f805-4401-95e8-94b7a6ef2fc2"
    static let sharePoint = "00000003-0000-0ff1-ce00-000000000000"
    static let mipSync = "870c4f2e-85b6-4d43-bdda-6ed9a579b725"
    static let storageAccountContributor = "17d1049b-9a84-46fb-8f53-869881c3d3ab"

    /// Everything granted, a valid secret and a registered certificate.
    static let full = "a0000000-0000-4000-8000-000000000001"
    /// A valid secret, nothing granted.
    static let bare = "a0000000-0000-4000-8000-000000000002"
    static let expiredSecret = "a0000000-0000-4000-8000-000000000003"
    static let disabled = "a0000000-0000-4000-8000-000000000004"
    static let noServicePrincipal = "a0000000-0000-4000-8000-000000000005"
    static let blocked = "a0000000-0000-4000-8000-000000000006"
    /// The same certificate as `full`, registered with a window that has ended.
    static let expiredCert = "a0000000-0000-4000-8000-000000000007"
    /// No permission, but allowed to read itself.
    static let selfReader = "a0000000-0000-4000-8000-000000000008"
    /// A certificate and Sites.Read.All-less SharePoint roles.
    static let certNoSites = "a0000000-0000-4000-8000-000000000009"
    static let unknownApp = "a0000000-0000-4000-8000-0000000000ff"

    /// A fresh random secret value per test run.
    static let secret: String = "Xq8~" + randomToken()
    static let otherSecret: String = "Mq3~" + randomToken()

    static func randomToken() -> String {
        String((0..<32).map { _ in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".randomElement()! })
    }

    /// The Graph permissions of the Teams connector: 31 of them, so appRoleAssignments spans pages.
    static let graphRoles: [String] = PermissionCatalog.requirements(for: .teams).applicationPermissions(for: .graph)
        .map(\.name)

    static func scenario() -> Scenario {
        let cert = TestPKI.registered
        let future = Date().addingTimeInterval(365 * 86_400)
        let past = Date().addingTimeInterval(-86_400)
        func app(_ id: String, _ name: String) -> App {
            App(
                appId: id, displayName: name,
                secrets: [ClientSecret(displayName: "zscaler", value: secret, end: future)])
        }
        var full = app(full, "Zscaler Full")
        full.appRoles = [graph: graphRoles, office: ["ActivityFeed.Read"], sharePoint: ["Sites.Read.All"]]
        full.certificates = [CertificateCredential(displayName: "CN=connwatch test", pem: cert.certificatePEM)]
        full.roleAssignments = [
            RoleAssignment(roleDefinitionId: storageAccountContributor, subscription: subscription)
        ]
        full.delegatedGrants = [
            DelegatedGrant(resourceAppId: "e406a681-f3d4-42a8-90b6-c2b029497af1", scope: "user_impersonation")
        ]
        var expiredSecret = app(expiredSecret, "Expired Secret")
        expiredSecret.secrets = [
            ClientSecret(value: otherSecret, start: past.addingTimeInterval(-86_400 * 30), end: past)
        ]
        var disabled = app(disabled, "Disabled")
        disabled.disabled = true
        var noSP = app(noServicePrincipal, "No SP")
        noSP.servicePrincipal = false
        var blocked = app(blocked, "Blocked")
        blocked.blockedByPolicy = true
        var expiredCert = app(expiredCert, "Expired Cert")
        expiredCert.certificates = [
            CertificateCredential(pem: cert.certificatePEM, start: past.addingTimeInterval(-86_400 * 30), end: past)
        ]
        var selfReader = app(selfReader, "Self Reader")
        selfReader.selfRead = true
        var certNoSites = app(certNoSites, "Cert Without Sites")
        certNoSites.certificates = [CertificateCredential(pem: cert.certificatePEM)]
        certNoSites.appRoles = [sharePoint: ["User.Read.All"]]
        return Scenario(tenants: [
            Tenant(
                id: tenant, domains: [domain], displayName: "Contoso",
                subscriptions: [
                    Subscription(id: subscription, displayName: "Production"),
                    Subscription(id: otherSubscription, displayName: "Sandbox"),
                ],
                missingResources: [mipSync], sharepointHost: sharePointHost,
                apps: [
                    full, app(bare, "Bare"), expiredSecret, disabled, noSP, blocked, expiredCert, selfReader,
                    certNoSites,
                ]),
            Tenant(id: otherTenant, domains: ["fabrikam.onmicrosoft.com"], displayName: "Fabrikam"),
        ])
    }
}

extension TestPKI {
    /// Registered on `full`, `expiredCert` (expired window) and `certNoSites`.
    static let registered = try! TestPKI.rsaCertificate(commonName: "connwatch test", key: 0)
    /// Registered nowhere.
    static let stranger = try! TestPKI.rsaCertificate(commonName: "stranger", key: 1)
}

/// The claims of a JWT, unverified.
func claims(of token: String) -> [String: Any] {
    let parts = token.split(separator: ".")
    guard parts.count == 3, let bytes = b64urlDecode(parts[1]),
        let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
    else { return [:] }
    return object
}

/// An HTTP reply as the tests see it.
struct Reply {
    let status: Int
    let headers: HTTPHeaders
    let body: [UInt8]

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
    var jsonArray: [Any]? { (try? JSONSerialization.jsonObject(with: Data(body))) as? [Any] }
    var text: String { String(decoding: body, as: UTF8.self) }
    func header(_ name: String) -> String? { headers.first(name: name) }

    /// `error_codes[0]` of an identity-platform error.
    var aadCode: Int? { (json["error_codes"] as? [Int])?.first }
    /// `error.code` of a Graph/ARM/Office error.
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
}

/// A running simulator and an async HTTPS client trusting its CA.
struct Harness {
    let sim: SimulatorServer
    let http: HTTPClient

    static func with(
        _ scenario: Scenario = Fixture.scenario(), tls: Bool = true, _ body: (Harness) async throws -> Void
    ) async throws {
        try await SimulatorFixture.with(scenario, tls: tls) { fixture in
            var tlsConfig = TLSConfiguration.makeClientConfiguration()
            tlsConfig.trustRoots = .certificates(
                try NIOSSLCertificate.fromPEMBytes(Array(fixture.caCertificatePEM.utf8)))
            let http = HTTPClient(
                eventLoopGroupProvider: .singleton,
                configuration: HTTPClient.Configuration(tlsConfiguration: tlsConfig))
            do {
                try await body(Harness(sim: fixture.server, http: http))
            } catch {
                try? await http.shutdown()
                throw error
            }
            try await http.shutdown()
        }
    }

    /// Requests get a roomy deadline: the simulator under test runs in this process, and
    /// under the parallel test run its handlers may wait seconds for one of Swift's threads.
    func send(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        timeout: TimeAmount = .seconds(60), maxBody: Int = 64 << 20
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: path.hasPrefix("http") ? path : sim.baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await http.execute(request, timeout: timeout)
        let buffer = try await response.body.collect(upTo: maxBody)
        return Reply(
            status: Int(response.status.code), headers: response.headers, body: Array(buffer.readableBytesView))
    }

    func get(
        _ path: String, bearer: String? = nil, headers: [(String, String)] = [], timeout: TimeAmount = .seconds(60)
    )
        async throws -> Reply
    {
        try await send(
            .GET, path, headers: headers + (bearer.map { [("Authorization", "Bearer \($0)")] } ?? []), timeout: timeout)
    }

    /// POSTs a form to the token endpoint of `tenant`.
    func tokenRequest(
        tenant: String = Fixture.tenant, _ form: [(String, String)], headers: [(String, String)] = []
    ) async throws -> Reply {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let body = form.map {
            $0.0 + "=" + ($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)
        }.joined(separator: "&")
        return try await send(
            .POST, "/login/\(tenant)/oauth2/v2.0/token",
            headers: [("Content-Type", "application/x-www-form-urlencoded")] + headers, body: Array(body.utf8))
    }

    /// A token with the fixture secret.
    func secretToken(
        clientId: String = Fixture.full, scope: String = "https://graph.microsoft.com/.default",
        secret: String = Fixture.secret, tenant: String = Fixture.tenant
    ) async throws -> Reply {
        try await tokenRequest(
            tenant: tenant,
            [
                ("grant_type", "client_credentials"), ("client_id", clientId), ("client_secret", secret),
                ("scope", scope),
            ])
    }

    /// A token with a certificate assertion.
    func certificateToken(
        clientId: String = Fixture.full, scope: String, assertion: String, tenant: String = Fixture.tenant
    ) async throws -> Reply {
        try await tokenRequest(
            tenant: tenant,
            [
                ("grant_type", "client_credentials"), ("client_id", clientId), ("scope", scope),
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ("client_assertion", assertion),
            ])
    }

    /// The access token of a successful reply (records an issue otherwise).
    func accessToken(_ reply: Reply, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> String {
        #expect(reply.status == 200, "token request failed: \(reply.text)", sourceLocation: sourceLocation)
        return reply.json["access_token"] as? String ?? ""
    }

    var tokenEndpoint: String { sim.baseURL + "/login/\(Fixture.tenant)/oauth2/v2.0/token" }
}
