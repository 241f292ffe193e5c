import ConnwatchTestSupport
import Foundation
import Testing

@testable import ConnwatchConfig
@testable import ConnwatchCore

@Suite struct ConfigLoaderTests {
    @Test func fullFixtureLoadsEveryKey() throws {
        let sandbox = try FixtureSandbox(fixture: "valid/full")
        defer { sandbox.remove() }
        try sandbox.write("ca.pem", "-----BEGIN CERTIFICATE-----\n", mode: 0o644)
        try sandbox.write(
            "credentials/hook2", "whsec_" + Data(repeating: 7, count: 32).base64EncodedString(), mode: 0o600)
        let loaded = try sandbox.load()
        let c = loaded.configuration
        let dir = sandbox.root.path

        #expect(
            loaded.files.map { $0.replacingOccurrences(of: dir, with: "") } == [
                "/connwatch.toml", "/connectors.d/10-sharepoint.toml", "/connectors.d/20-blob.toml",
            ])
        #expect(c.daemon.checkInterval == .minutes(15))
        #expect(c.daemon.concurrency == 64)
        #expect(c.daemon.failureThreshold == 5)
        #expect(c.daemon.database == "/var/tmp/connwatch-test.sqlite")
        #expect(c.daemon.socket == "/run/connwatch-test/ctl.sock")
        #expect(c.daemon.socketGroup == "monitoring")
        #expect(c.daemon.historyRetention == .days(90))
        #expect(c.daemon.caFile == dir + "/ca.pem")
        #expect(c.daemon.proxy == "http://proxy.example:3128")
        #expect(c.daemon.proxyCredentials?.withValue { $0 } == "alice:hunter2-proxy-pass")
        #expect(c.daemon.noProxy == ["localhost", ".internal.example", "10.0.0.1:8443"])
        #expect(!"\(c.daemon)".contains("hunter2"))
        #expect(c.daemon.operators == ["alice", "@wheel"])

        #expect(c.cloud.name == .usgov)
        #expect(c.cloud.endpoints.graph == "https://127.0.0.1:8443/graph")
        #expect(c.cloud.endpoints.login == "https://127.0.0.1:8443/login")
        #expect(c.cloud.endpoints.management == "https://management.usgovcloudapi.net")

        #expect(c.alerts.warningDays == 45)
        #expect(c.alerts.criticalDays == 10)
        #expect(c.alerts.ladderDays == [90, 45, 10, 0])
        #expect(c.alerts.repeatCritical == .hours(12))
        #expect(c.alerts.sendResolved == false)

        let z = try #require(c.zscaler)
        #expect(z.tokenEndpoint == "https://contoso.zslogin.net/oauth2/v1/token")
        #expect(z.apiBase == "https://api.zsapi.net/zia/api/v1")
        #expect(z.clientId == "zs.api-client_01")
        #expect(z.clientSecret.withValue { $0 } == FixtureSandbox.clientSecretValue)
        #expect(z.maxValidationAge == .days(3))
        #expect(ZscalerSettings.audience == "https://api.zscaler.com")
        #expect(
            ConfigCheckReport.success(loaded).hasSuffix(
                "zscaler: https://api.zsapi.net/zia/api/v1 as API client zs.api-client_01; 3 connectors with a zscaler check (1 by zscaler_tenant_id), 1 MIP without (no Zscaler API for MIP accounts)\n"
            ))

        #expect(c.webhooks.map(\.name) == ["soc", "slack"])
        let soc = c.webhooks[0]
        #expect(soc.url.withValue { $0 } == "https://hooks.example/connwatch")
        #expect(soc.signingSecrets.count == 2)
        #expect(soc.signingSecrets[0].withValue { $0 } == FixtureSandbox.signingKey)
        #expect(soc.minSeverity == .critical)
        #expect(soc.timeout == .seconds(30))
        #expect(soc.connectors == ["contoso-exchange"])
        #expect(soc.labels == ["customer": "Contoso"])
        #expect(c.webhooks[1].format == .slack)
        #expect(c.webhooks[1].url.withValue { $0 } == "https://hooks.slack.example/services/T0/B0/tok3n")

        #expect(c.connectors.map(\.name) == ["contoso-exchange", "contoso-sharepoint", "contoso-mip", "contoso-blob"])
        let ex = c.connectors[0]
        #expect(ex.kind == .exchange)
        #expect(ex.tenantId == "contoso.onmicrosoft.com")
        #expect(ex.clientId == "2d9f6b13-7e4a-4c25-b8d1-6a0f3e5c9b72")
        #expect(ex.zscalerTenantId == 4242)
        #expect(c.connectors.dropFirst().allSatisfy { $0.zscalerTenantId == nil })
        #expect(ex.clientSecret?.withValue { $0 } == FixtureSandbox.clientSecretValue)  // trailing newline dropped
        #expect(ex.secretExpires == CalendarDate(year: 2027, month: 1, day: 15))
        #expect(ex.redirectURI == "https://admin.zscalertwo.net/")
        #expect(ex.labels == ["customer": "Contoso", "owner": "secops@contoso.example"])
        #expect(ex.source.line == 43)

        let sp = c.connectors[1]
        #expect(sp.keyFile == dir + "/keyfile.json")
        #expect(sp.sharePointHost == "contoso.sharepoint.com")  // derived from the tenant domain
        let blob = c.connectors[3]
        #expect(blob.subscriptionId == "3c7a9e2b-5d1f-4a68-9b04-e6f2c8d1a5b7")
        #expect(blob.clientSecret?.withValue { $0 } == FixtureSandbox.clientSecretValue)
        #expect(blob.secretExpires?.description == "2026-12-20")
    }

    /// The shipped example (config/connwatch.toml + config/connectors.d/) loads, with
    /// stand-in secrets created the way scripts/example-secrets.sh does.
    @Test func shippedExampleConfigurationLoads() throws {
        let repoConfig = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("config")
        let fm = FileManager.default
        let temporary = try TemporaryDirectory("example")
        let root = temporary.url
        try fm.copyItem(
            at: repoConfig.appendingPathComponent("connwatch.toml"), to: root.appendingPathComponent("connwatch.toml"))
        try fm.copyItem(
            at: repoConfig.appendingPathComponent("connectors.d"), to: root.appendingPathComponent("connectors.d"))
        func put(_ path: String, _ text: String) throws { try temporary.write(path, text) }
        for id in ["contoso-onedrive", "contoso-exchange", "contoso-sharepoint", "contoso-teams", "contoso-blob"] {
            try put("credentials/\(id)", "Xq8~example-\(id)\n")
        }
        try put("credentials/webhook-soc", FixtureSandbox.signingKey)
        try put("credentials/webhook-slack-url", "https://hooks.slack.example/services/T/B/x")
        try put("secrets/contoso-mip", "Mq3~example")
        try put("keys/contoso-sharepoint.json", "{}")
        let monitor = FixtureSandbox.monitorPEM
        try put("keys/monitor-fabrikam.pem", monitor.privateKeyFile + monitor.certificateFile)

        let loaded = try ConfigLoader(credentialsDirectory: root.appendingPathComponent("credentials").path)
            .load(path: root.appendingPathComponent("connwatch.toml").path)
        let kinds = loaded.configuration.connectors.map(\.kind)
        #expect(Set(kinds) == Set(ConnectorKind.allCases), "one example per kind")
        #expect(loaded.configuration.webhooks.count == 2)
        #expect(loaded.files.count == 7)
        // Fabrikam's connectors are observed by its [[tenant]] (60-fabrikam-observed.toml).
        #expect(loaded.configuration.tenants.count == 1)
        #expect(loaded.configuration.connectors.filter(\.isObserved).count == 4)
    }

    @Test func configValuesNeverPrintSecrets() throws {
        let sandbox = try FixtureSandbox(fixture: "valid/full")
        defer { sandbox.remove() }
        try sandbox.write("ca.pem", "-----BEGIN CERTIFICATE-----\n", mode: 0o644)
        try sandbox.write(
            "credentials/hook2", "whsec_" + Data(repeating: 7, count: 32).base64EncodedString(), mode: 0o600)
        let c = try sandbox.load().configuration
        var dumped = ""
        dump(c, to: &dumped)
        let renderings =
            [String(describing: c), String(reflecting: c), dumped]
            + c.connectors.map { String(describing: $0) } + c.webhooks.map { String(describing: $0) }
        for r in renderings {
            #expect(!r.contains(FixtureSandbox.clientSecretValue))
            #expect(!r.contains("whsec_"))
            #expect(!r.contains("tok3n"))
            #expect(!r.contains("hooks.example/connwatch"), "webhook URLs are secrets too")
        }
    }

    @Test func credentialsDirectoryComesFromOverrideThenEnvironment() {
        #expect(ConfigLoader.credentialsDirectory(override: "/x", environment: ["CREDENTIALS_DIRECTORY": "/y"]) == "/x")
        #expect(ConfigLoader.credentialsDirectory(override: nil, environment: ["CREDENTIALS_DIRECTORY": "/y"]) == "/y")
        #expect(ConfigLoader.credentialsDirectory(override: nil, environment: [:]) == nil)
    }

    @Test func missingMainFileIsOneClearError() {
        do {
            _ = try ConfigLoader(credentialsDirectory: nil).load(path: "/nonexistent/connwatch.toml")
            Issue.record("loaded a missing file")
        } catch {
            #expect(
                error.errors.map(\.description) == ["/nonexistent/connwatch.toml: cannot read the file: no such file"])
        }
    }

    @Test func emptyMainFileIsAValidConfigurationWithDefaults() throws {
        let sandbox = try FixtureSandbox(fixture: "invalid/02-unknown-key.toml")
        defer { sandbox.remove() }
        try sandbox.write("connwatch.toml", "", mode: 0o644)
        let c = try sandbox.load().configuration
        #expect(c.connectors.isEmpty)
        #expect(c.daemon == DaemonSettings())
        #expect(c.daemon.databasePath(stateDirectory: "/var/lib/connwatch") == "/var/lib/connwatch/connwatch.sqlite")
        #expect(c.daemon.databasePath(stateDirectory: nil) == "/var/lib/connwatch/connwatch.sqlite")
        #expect(c.daemon.databasePath(stateDirectory: "/state/a:/state/b") == "/state/a/connwatch.sqlite")
        #expect(c.alerts == AlertSettings())
        #expect(c.cloud.endpoints == CloudName.global.defaultEndpoints)
    }

    @Test func connectorsOfOneTenantShareItsIdString() throws {
        let sandbox = try FixtureSandbox(fixture: "invalid/02-unknown-key.toml")
        defer { sandbox.remove() }
        var text = ""
        for (i, tenant) in [
            "7E000000-0000-4000-8000-00000000AAAA", "7e000000-0000-4000-8000-00000000aaaa",
            "7e000000-0000-4000-8000-00000000bbbb", "Contoso.onmicrosoft.com",
        ].enumerated() {
            text += """
                [[connector]]
                name = "c\(i)"
                kind = "exchange"
                tenant_id = "\(tenant)"
                client_id = "a0000000-0000-4000-8000-00000000000\(i)"
                client_secret_credential = "c1"


                """
        }
        try sandbox.write("connwatch.toml", text, mode: 0o644)
        let c = try sandbox.load().configuration.connectors
        #expect(
            c.map(\.tenantId) == [
                "7e000000-0000-4000-8000-00000000aaaa", "7e000000-0000-4000-8000-00000000aaaa",
                "7e000000-0000-4000-8000-00000000bbbb", "contoso.onmicrosoft.com",
            ])
        func storage(_ s: String) -> UnsafeRawPointer? {
            var s = s
            return s.withUTF8 { UnsafeRawPointer($0.baseAddress) }
        }
        // Equal IDs (whatever their case in the file) are one string; others are not.
        #expect(storage(c[0].tenantId) != nil)
        #expect(storage(c[0].tenantId) == storage(c[1].tenantId))
        #expect(storage(c[0].tenantId) != storage(c[2].tenantId))
    }

    @Test func sharePointHostIsDerivedOnlyFromOnmicrosoftDomains() {
        #expect(ConfigLoader.derivedSharePointHost(tenant: "contoso.onmicrosoft.com") == "contoso.sharepoint.com")
        #expect(ConfigLoader.derivedSharePointHost(tenant: "contoso.com") == nil)
        #expect(ConfigLoader.derivedSharePointHost(tenant: "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41") == nil)
    }

    @Test func standardWebhooksKeyShape() {
        #expect(ConfigLoader.isStandardWebhooksKey(Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")))
        #expect(!ConfigLoader.isStandardWebhooksKey(Secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")))
        #expect(!ConfigLoader.isStandardWebhooksKey(Secret("whsec_c2hvcnQ=")))  // 5 bytes
        #expect(!ConfigLoader.isStandardWebhooksKey(Secret("whsec_not base64!")))
    }
}

@Suite struct WebhookSeverityConfigTests {
    @Test func minSeverityAcceptsInfoWarningCriticalOnly() throws {
        let sandbox = try FixtureSandbox(fixture: "invalid/02-unknown-key.toml")
        defer { sandbox.remove() }
        for (value, expected) in [("info", Severity.info), ("warning", .warning), ("critical", .critical)] {
            try sandbox.write(
                "connwatch.toml", "[[webhook]]\nname = \"h\"\nurl = \"https://example.com/h\"\nmin_severity = \"\(value)\"\n",
                mode: 0o644)
            #expect(try sandbox.load().configuration.webhooks.first?.minSeverity == expected)
        }
        try sandbox.write(
            "connwatch.toml", "[[webhook]]\nname = \"h\"\nurl = \"https://example.com/h\"\nmin_severity = \"debug\"\n",
            mode: 0o644)
        #expect(
            sandbox.errorLines() == [
                #"<dir>/connwatch.toml:4: webhook "h".min_severity: unknown severity "debug"; use "info", "warning" or "critical""#
            ])
    }

    /// Secret files are checked at every load (and so at every reload): a file that now
    /// belongs to another user is refused. Real when the tests run as root (CI does).
    @Test(.enabled(if: geteuid() == 0)) func secretFileOwnedByAnotherUserIsRefused() throws {
        let sandbox = try FixtureSandbox(fixture: "invalid/10-loose-secret-file.toml")
        defer { sandbox.remove() }
        let path = sandbox.root.appendingPathComponent("loose-secret").path
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        #expect(chown(path, 65534, 65534) == 0)
        #expect(
            sandbox.errorLines() == [
                #"<dir>/connwatch.toml:6: connector "contoso-onedrive".client_secret_file: <dir>/loose-secret is owned by uid 65534; a secret file must be owned by root or by the user connwatch runs as (uid 0): run: chown root <dir>/loose-secret"#
            ])
        #expect(chown(path, 0, 0) == 0)
        #expect(sandbox.errorLines() == nil)
    }
}
