import ConnwatchCore
import ConnwatchEntra
import ConnwatchSimulator
import ConnwatchTestSupport
import Foundation
import Testing

@testable import ConnwatchDaemon

/// Every kind's checks against the simulator, healthy and broken, and a scan of every
/// result for secret material.
@Suite(.serialized) struct ConnectorCheckerTests {
    static let tenant = "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41"
    static let sub = "3c7a9e2b-5d1f-4a68-9b04-e6f2c8d1a5b7"
    static let host = "contoso.sharepoint.com"
    let secret = "Xq8~" + UUID().uuidString.replacingOccurrences(of: "-", with: "")

    static func id(_ n: Int) -> String { String(format: "c0000000-0000-4000-8000-%012d", n) }

    @Test func everyKindHealthyAndBroken() async throws {
        let key = try TestPKI.rsaCertificate(commonName: "connwatch test")
        let temporary = try TemporaryDirectory("checker")
        let keyFile = temporary.path + "/sp.json"
        try SharePointKeyFile.render(certificatePEM: key.certificatePEM, privateKeyPEM: key.privateKeyPEM).withValue {
            try Data($0.utf8).write(to: URL(fileURLWithPath: keyFile))
        }
        // A key file is read as a secret file: mode 0600, like the configuration demands.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyFile)

        func roles(_ kind: ConnectorKind) -> [String: [String]] {
            var out: [String: [String]] = [:]
            for p in PermissionCatalog.requirements(for: kind).permissions where p.type == .application {
                out[PermissionCatalog.resource(p.resource).appId, default: []].append(p.name)
            }
            return out
        }
        let soon = Date().addingTimeInterval(10 * 86400), later = Date().addingTimeInterval(200 * 86400)
        func app(_ n: Int, _ kind: ConnectorKind, end: Date = later) -> App {
            var a = App(appId: Self.id(n), displayName: "\(kind)", secrets: [ClientSecret(value: secret, end: end)])
            a.appRoles = roles(kind)
            return a
        }
        var exchangeSoon = app(1, .exchange, end: soon)
        exchangeSoon.appRoles[PermissionCatalog.resource(.graph).appId]?.append("Directory.ReadWrite.All")
        let onedrive = app(2, .onedrive)
        var sharepoint = app(3, .sharepoint)
        sharepoint.certificates = [ConnwatchSimulator.CertificateCredential(displayName: "sp", pem: key.certificatePEM)]
        var teams = app(4, .teams)
        teams.appRoles[PermissionCatalog.resource(.graph).appId]?.removeAll { $0 == "Chat.UpdatePolicyViolation.All" }
        var blob = app(5, .azureBlob)
        blob.roleAssignments = [
            RoleAssignment(roleDefinitionId: "ba92f5b4-2d11-453d-a403-e96b0029c9fe", subscription: Self.sub)
        ]
        var mip = app(6, .mip)
        mip.secrets = [ClientSecret(value: "Other~secret-value", end: later)]
        let tenant = Tenant(
            id: Self.tenant, domains: ["contoso.onmicrosoft.com"], displayName: "Contoso",
            subscriptions: [Subscription(id: Self.sub)], missingResources: [], sharepointHost: Self.host,
            apps: [exchangeSoon, onedrive, sharepoint, teams, blob, mip])
        let sim = try await SimulatorFixture.start(Scenario(tenants: [tenant]))
        defer { Task { await sim.stop() } }
        var settings = TransportSettings()
        settings.caFile = sim.caFile
        let transport = try HTTPTransport(settings: settings)
        defer { Task { await transport.shutdown() } }
        let endpoints = sim.endpoints
        let checker = ConnectorChecker(
            clients: MicrosoftClients(transport: transport, endpoints: endpoints), endpoints: endpoints,
            thresholds: ExpiryThresholds(warningDays: 30, criticalDays: 7))

        func connector(_ n: Int, _ kind: ConnectorKind) -> ConnectorConfig {
            var c = ConnectorConfig(
                name: "\(kind)", kind: kind, tenantId: Self.tenant, clientId: Self.id(n), clientSecret: Secret(secret),
                source: SourceLocation(file: "t"))
            if kind == .sharepoint {
                c.keyFile = keyFile
                c.sharePointHost = Self.host
            }
            if kind == .azureBlob { c.subscriptionId = Self.sub }
            if kind == .mip { c.secretExpires = CalendarDate(year: 2027, month: 3, day: 31) }
            return c
        }

        var all: [CheckResult] = []
        func run(_ n: Int, _ kind: ConnectorKind) async -> [CheckKind: CheckResult] {
            let results = await checker.run(connector(n, kind), now: Date())
            all += results
            #expect(results.map(\.check) == CheckPlan.checks(for: kind), "\(kind) runs its plan")
            return Dictionary(uniqueKeysWithValues: results.map { ($0.check, $0) })
        }

        let ex = await run(1, .exchange)
        #expect(ex[.credential]?.status == .ok)
        #expect(ex[.secretExpiry]?.reason == .secretExpiring)
        #expect(ex[.secretExpiry]?.status == .warning)
        #expect(ex[.consent]?.reason == .excessPermissions)
        #expect(ex[.probe]?.status == .ok)

        let od = await run(2, .onedrive)
        #expect(od.values.allSatisfy { $0.status == .ok }, "\(od.values.map { "\($0.check): \($0.summary)" })")

        let sp = await run(3, .sharepoint)
        #expect(sp.values.allSatisfy { $0.status == .ok }, "\(sp.values.map { "\($0.check): \($0.summary)" })")
        #expect(sp[.certificate]?.details["registered"] == true)

        let tm = await run(4, .teams)
        #expect(tm[.consent]?.reason == .consentMissing)
        #expect(tm[.consent]?.details["failing_actions"] == ["Block Message"])

        let bl = await run(5, .azureBlob)
        #expect(bl[.roles]?.reason == .roleMissing)
        #expect(bl[.secretExpiry]?.reason == .expiryUnreadable, "azure-blob cannot read its own app")
        #expect(bl[.probe]?.status == .ok)

        let mi = await run(6, .mip)
        #expect(mi[.credential]?.reason == .secretInvalid)
        #expect(mi[.consent]?.status == .unknown, "blocked by the credential, not a guess")
        #expect(mi[.secretExpiry]?.details["source"] == "secret_expires")

        // No secret, token or key material in any result.
        let encoded = String(decoding: try StatusReport.encoder.encode(all), as: UTF8.self)
        #expect(!encoded.contains(secret))
        #expect(!encoded.contains("eyJ"), "no JWT")
        #expect(!encoded.contains(String(key.key.pemRepresentation.split(separator: "\n")[1])))
    }
}
