import ConnwatchTestSupport
import Foundation
import Testing

@testable import ConnwatchConfig
@testable import ConnwatchCore

/// `[[tenant]]` observers and observed connectors (SPEC §3b, §4); the invalid cases are
/// fixtures 49–58 in ConfigFixtureTests.
@Suite struct ObserverConfigTests {
    @Test func observerFixtureLoadsTenantsAndObservedConnectors() throws {
        let sandbox = try FixtureSandbox(fixture: "valid/observer")
        defer { sandbox.remove() }
        let loaded = try sandbox.load()
        let c = loaded.configuration
        let dir = sandbox.root.path

        #expect(c.tenants.map(\.tenantId) == ["5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41", "fabrikam.onmicrosoft.com"])
        let contoso = c.tenants[0]
        #expect(contoso.clientId == "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6")
        guard case .certificate(let path) = contoso.credential else {
            Issue.record("expected a certificate credential")
            return
        }
        #expect(path == dir + "/monitor.pem")
        #expect(
            contoso.subscriptions == ["3c7a9e2b-5d1f-4a68-9b04-e6f2c8d1a5b7", "7d2c4e6a-1b3f-4c5d-9e8f-0a1b2c3d4e5f"])
        #expect(contoso.signInLogs)
        #expect(contoso.signInWindow == .hours(12))
        #expect(contoso.signInStaleAfter == .days(30))
        #expect(contoso.source == SourceLocation(file: dir + "/connwatch.toml", line: 3))

        let fabrikam = c.tenants[1]
        guard case .secret(let secret) = fabrikam.credential else {
            Issue.record("expected a secret credential")
            return
        }
        #expect(secret.withValue { $0 } == "Mq3~fixture.monitor-secret")
        #expect(!fabrikam.signInLogs)
        #expect(fabrikam.signInWindow == .hours(24) && fabrikam.signInStaleAfter == .days(7))  // defaults
        #expect(fabrikam.subscriptions.isEmpty)
        #expect(fabrikam.source.file == dir + "/connectors.d/10-fabrikam.toml")

        #expect(
            c.connectors.map(\.name) == [
                "contoso-onedrive", "contoso-blob", "contoso-teams", "fabrikam-sharepoint", "northwind-exchange",
                "fabrikam-sharepoint-keyed",
            ])
        let observed = c.connectors.filter(\.isObserved).map(\.name)
        #expect(observed == ["contoso-onedrive", "contoso-blob", "fabrikam-sharepoint", "fabrikam-sharepoint-keyed"])
        #expect(c.connectors[1].subscriptionId == "7d2c4e6a-1b3f-4c5d-9e8f-0a1b2c3d4e5f")
        #expect(c.connectors[2].clientSecret?.withValue { $0 } == FixtureSandbox.clientSecretValue)
        let sp = c.connectors[3]
        #expect(sp.keyFile == nil)  // optional when observed
        #expect(sp.sharePointHost == "fabrikam.sharepoint.com")  // still derived from the domain
        let keyed = c.connectors[5]
        #expect(keyed.keyFile == dir + "/keyfile.json" && keyed.sharePointHost == "fabrikam-my.sharepoint.com")
        #expect(c.observer(forTenant: "5F1B6C0E-8A3D-4F4E-9C2A-1D7E3B9A6C41")?.clientId == contoso.clientId)
        #expect(c.observer(forTenant: "northwind.onmicrosoft.com") == nil)

        // The check report says who watches what, and never a secret.
        let report = ConfigCheckReport.success(loaded).replacingOccurrences(of: dir, with: "<dir>")
        #expect(report.contains("6 connectors, 0 webhooks; check interval 1h"))
        #expect(
            report.contains(
                "2 observers ([[tenant]]); 4 connectors observed (no secret held), 2 with their own secret (1 of them also observed)\n"
            ))
        #expect(
            report.contains(
                "observer 5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41: monitoring app 0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6 with a certificate, 2 subscriptions, sign-in logs (window 12h, stale after 30d); 3 connectors in the tenant (<dir>/connwatch.toml:3)\n"
            ))
        #expect(
            report.contains(
                "observer fabrikam.onmicrosoft.com: monitoring app 6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d with a client secret, 0 subscriptions, no sign-in logs; 2 connectors in the tenant (<dir>/connectors.d/10-fabrikam.toml:2)\n"
            ))
        let rows = report.split(separator: "\n").map(String.init)
        #expect(rows.contains { $0.hasPrefix("contoso-onedrive") && $0.contains(" observer ") })
        #expect(rows.contains { $0.hasPrefix("contoso-teams") && $0.contains(" secret + observer ") })
        #expect(
            rows.contains { $0.hasPrefix("northwind-exchange") && $0.contains(" secret ") && !$0.contains("observer") })
        #expect(!report.contains("Mq3~") && !report.contains(FixtureSandbox.clientSecretValue))
        #expect(!report.contains("PRIVATE KEY"))
    }

    /// Without observers the report says every connector holds its own secret.
    @Test func reportWithoutObservers() throws {
        let sandbox = try FixtureSandbox(fixture: "valid/full")
        defer { sandbox.remove() }
        try sandbox.write("ca.pem", "-----BEGIN CERTIFICATE-----\n", mode: 0o644)
        try sandbox.write(
            "credentials/hook2", "whsec_" + Data(repeating: 7, count: 32).base64EncodedString(), mode: 0o600)
        let report = ConfigCheckReport.success(try sandbox.load())
        #expect(
            report.contains(
                "no [[tenant]] observers; 0 connectors observed (no secret held), 4 with their own secret\n"))
    }

    /// Commands that read no secret (consent-url) load observers without reading the
    /// certificate file or the secret: only the keys are validated.
    @Test func withoutResolvingSecretsTheCertificateFileIsNotRead() throws {
        let sandbox = try FixtureSandbox(fixture: "valid/observer")
        defer { sandbox.remove() }
        try FileManager.default.removeItem(atPath: sandbox.root.appendingPathComponent("monitor.pem").path)
        #expect(throws: ConfigErrors.self) { try sandbox.load() }
        let c = try ConfigLoader(credentialsDirectory: nil, resolveSecrets: false).load(path: sandbox.configPath)
            .configuration
        #expect(c.tenants.count == 2)
    }

    /// The marker check of certificate_file, alone: each missing part is its own problem,
    /// and no problem quotes the file.
    @Test func certificateFileProblems() throws {
        let pem = FixtureSandbox.monitorPEM
        func problems(_ text: String) -> [String] { ConfigLoader.certificateFileProblems(Data(text.utf8)) }
        #expect(problems(pem.privateKeyFile + pem.certificateFile).isEmpty)
        #expect(problems(pem.certificateFile + pem.privateKeyFile).isEmpty)  // any order
        let pkcs1 = "-----BEGIN " + "RSA PRIVATE KEY-----\nAAAA\n-----END " + "RSA PRIVATE KEY-----\n"  // markers only: no key
        #expect(problems(pkcs1 + pem.certificateFile).isEmpty)
        #expect(
            problems(pem.certificateFile).count == 1 && problems(pem.certificateFile)[0].contains("no PEM private key"))
        #expect(
            problems(pem.privateKeyFile).count == 1 && problems(pem.privateKeyFile)[0].contains("no PEM certificate"))
        #expect(problems("").count == 2)
        let ec = "-----BEGIN " + "EC PRIVATE KEY-----\nAAAA\n-----END " + "EC PRIVATE KEY-----\n"  // markers only: no key
        #expect(problems(ec + pem.certificateFile) == [problems(ec + pem.certificateFile)[0]])
        #expect(problems(ec + pem.certificateFile)[0].contains("needs an RSA key"))
        // A block that is cut off does not count.
        let truncated = String(pem.certificateFile.prefix(200))
        #expect(problems(pem.privateKeyFile + truncated).count == 1)
        let key = pem.privateKeyFile
        for p in problems(key) + problems(pem.certificateFile) {
            #expect(!p.contains(String(key.dropFirst(40).prefix(20))))
        }
    }

    /// Every valid [[tenant]] and observed connector round-trips through the loader
    /// whatever the order of files: a [[tenant]] in a later drop-in still covers a
    /// connector in the main file (checked in the valid fixture), and an observer with an
    /// error elsewhere does not also produce "no [[tenant]]" for its connectors.
    @Test func brokenObserverDoesNotAlsoOrphanItsConnectors() throws {
        let sandbox = try FixtureSandbox(fixture: "valid/observer")
        defer { sandbox.remove() }
        try FileManager.default.setAttributes(
            [.posixPermissions: 0o644], ofItemAtPath: sandbox.root.appendingPathComponent("monitor.pem").path)
        let lines = try #require(sandbox.errorLines())
        #expect(
            lines == [
                "<dir>/connwatch.toml:6: tenant \"5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41\".certificate_file: <dir>/monitor.pem is readable by group or others (mode 0644); run: chmod 600 <dir>/monitor.pem (it holds a private key)"
            ])
    }

    /// An observed sharepoint connector needs no key file, but one it names is still
    /// checked as a secret file.
    @Test func observedSharePointKeyFileIsStillChecked() throws {
        let sandbox = try FixtureSandbox(fixture: "valid/observer")
        defer { sandbox.remove() }
        try FileManager.default.setAttributes(
            [.posixPermissions: 0o644], ofItemAtPath: sandbox.root.appendingPathComponent("keyfile.json").path)
        #expect(
            sandbox.errorLines() == [
                "<dir>/connectors.d/10-fabrikam.toml:14: connector \"fabrikam-sharepoint-keyed\".key_file: <dir>/keyfile.json is readable by group or others (mode 0644); run: chmod 600 <dir>/keyfile.json (it holds a private key)"
            ])
    }
}
