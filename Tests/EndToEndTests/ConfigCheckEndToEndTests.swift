import ConnwatchTestSupport
import Foundation
import Testing

/// `connwatchd --check-config` and `connwatchctl` as an operator runs them.
@Suite struct ConfigCheckEndToEndTests {
    /// A copy of the shipped example with stand-in secrets, like scripts/example-secrets.sh makes.
    struct ExampleTree {
        let directory: TemporaryDirectory
        var root: URL { directory.url }
        var config: String { root.appendingPathComponent("connwatch.toml").path }
        var credentials: String { root.appendingPathComponent("credentials").path }
        static let secretValue = "Xq8~e2e-secret-value-9f3a"

        init() throws {
            let fm = FileManager.default
            directory = try TemporaryDirectory("e2e")
            let config = Binaries.repoRoot.appendingPathComponent("config")
            try fm.copyItem(
                at: config.appendingPathComponent("connwatch.toml"), to: root.appendingPathComponent("connwatch.toml"))
            try fm.copyItem(
                at: config.appendingPathComponent("connectors.d"), to: root.appendingPathComponent("connectors.d"))
            for id in ["contoso-onedrive", "contoso-exchange", "contoso-sharepoint", "contoso-teams", "contoso-blob"] {
                try put("credentials/\(id)", ExampleTree.secretValue)
            }
            try put("credentials/webhook-soc", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            try put("credentials/webhook-slack-url", "https://hooks.slack.example/services/T/B/x")
            try put("secrets/contoso-mip", ExampleTree.secretValue)
            try put("keys/contoso-sharepoint.json", "{}")
            let monitor = try TestPKI.rsaCertificate(commonName: "connwatch monitor (example)")
            try put("keys/monitor-fabrikam.pem", monitor.privateKeyFile + monitor.certificateFile)
        }

        func put(_ path: String, _ text: String, mode: Int = 0o600) throws {
            try directory.write(path, text, mode: mode)
        }

        func remove() { try? FileManager.default.removeItem(at: root) }
    }

    @Test func exampleConfigurationChecksOK() throws {
        let tree = try ExampleTree()
        defer { tree.remove() }
        let r = try Binaries.run(
            "connwatchd", ["--check-config", "--config", tree.config, "--credentials-dir", tree.credentials])
        #expect(r.status == 0, "\(r.stderr)")
        for name in [
            "contoso-onedrive", "contoso-exchange", "contoso-sharepoint", "contoso-teams", "contoso-blob",
            "contoso-mip", "fabrikam-onedrive", "fabrikam-exchange", "fabrikam-teams", "fabrikam-blob",
        ] {
            #expect(r.stdout.contains(name))
        }
        #expect(r.stdout.contains("10 connectors, 2 webhooks (soc, slack)"))
        #expect(r.stdout.contains("4 connectors observed (no secret held), 6 with their own secret"))
        #expect(!r.stdout.contains(ExampleTree.secretValue))

        // The credentials directory also comes from the environment, as under systemd.
        let env = try Binaries.run(
            "connwatchd", ["--check-config", "--config", tree.config],
            environment: ["CREDENTIALS_DIRECTORY": tree.credentials])
        #expect(env.status == 0, "\(env.stderr)")

        let ctl = try Binaries.run(
            "connwatchctl", ["config", "check", "--config", tree.config, "--credentials-dir", tree.credentials])
        #expect(ctl.status == 0, "\(ctl.stderr)")
        #expect(ctl.stdout == r.stdout)
    }

    @Test func brokenConfigurationExits78ListingEveryError() throws {
        let tree = try ExampleTree()
        defer { tree.remove() }
        try tree.put(
            "connectors.d/60-broken.toml",
            """
            [[connector]]
            name = "contoso-onedrive"
            kind = "onedrive"
            tenant_id = "not a tenant"
            client_id = "1234"
            client_secret = "\(ExampleTree.secretValue)"
            """, mode: 0o644)
        try tree.put("secrets/contoso-mip", ExampleTree.secretValue, mode: 0o644)
        let r = try Binaries.run(
            "connwatchd", ["--check-config", "--config", tree.config, "--credentials-dir", tree.credentials])
        #expect(r.status == 78)
        #expect(r.stdout.isEmpty)
        let lines = r.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count == 6, "\(r.stderr)")
        #expect(
            lines.contains {
                $0.hasSuffix(
                    "50-mip.toml:7: connector \"contoso-mip\".client_secret_file: \(tree.root.path)/secrets/contoso-mip is readable by group or others (mode 0644); run: chmod 600 \(tree.root.path)/secrets/contoso-mip"
                )
            })
        #expect(
            lines.contains {
                $0.contains(
                    "60-broken.toml:2: connector \"contoso-onedrive\".name: duplicate connector name (first defined at "
                )
            })
        #expect(
            lines.contains {
                $0.contains(
                    "60-broken.toml:4: connector \"contoso-onedrive\".tenant_id: \"not a tenant\" is neither a GUID nor a tenant domain"
                )
            })
        #expect(
            lines.contains {
                $0.contains("60-broken.toml:5: connector \"contoso-onedrive\".client_id: \"1234\" is not a GUID")
            })
        #expect(
            lines.contains {
                $0.contains(
                    "60-broken.toml:6: connector \"contoso-onedrive\".client_secret: inline secrets are refused")
            })
        #expect(lines.last == "5 errors in the configuration; nothing was loaded")
        #expect(!r.stderr.contains(ExampleTree.secretValue))

        let ctl = try Binaries.run(
            "connwatchctl", ["config", "check", "--config", tree.config, "--credentials-dir", tree.credentials])
        #expect(ctl.status == 78)
        #expect(ctl.stderr == r.stderr)
    }

    @Test func missingConfigFileExits78() throws {
        let r = try Binaries.run("connwatchd", ["--check-config", "--config", "/nonexistent/connwatch.toml"])
        #expect(r.status == 78)
        #expect(r.stderr.hasPrefix("/nonexistent/connwatch.toml: cannot read the file: no such file\n"))
    }

    @Test func permissionsCommand() throws {
        let text = try Binaries.run("connwatchctl", ["permissions", "exchange"])
        #expect(text.status == 0)
        #expect(text.stdout.contains("Microsoft Graph  Mail.Send              application  Quarantine"))

        let json = try Binaries.run("connwatchctl", ["permissions", "azure-blob", "--json"])
        #expect(json.status == 0)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(obj["schema_version"] as? Int == 1)
        #expect(obj["kind"] as? String == "azure-blob")
        let roles = try #require(obj["roles"] as? [[String: Any]])
        #expect(
            roles.compactMap { $0["role_definition_id"] as? String } == [
                "ba92f5b4-2d11-453d-a403-e96b0029c9fe", "17d1049b-9a84-46fb-8f53-869881c3d3ab",
            ])

        let bad = try Binaries.run("connwatchctl", ["permissions", "blob"])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("azure-blob"))
    }
}
