import ConnwatchCore
import ConnwatchTestSupport
import Foundation
import Testing

@testable import ConnwatchCLI

/// Commands that work without the daemon — consent-url, keyfile, config check — compared
/// whole with their expected output.
@Suite struct OfflineCommandTests {
    static let config = """
        [cloud]
        name = "global"

        [[connector]]
        name = "contoso-teams"
        kind = "teams"
        tenant_id = "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41"
        client_id = "d0000000-0000-4000-8000-000000000003"
        client_secret_credential = "contoso-teams"
        redirect_uri = "https://admin.zscalertwo.net/"

        [[connector]]
        name = "contoso-mip"
        kind = "mip"
        tenant_id = "contoso.onmicrosoft.com"
        client_id = "d0000000-0000-4000-8000-000000000006"
        client_secret_credential = "contoso-mip"
        redirect_uri = "https://admin.zscalertwo.net/?x=1&y=2"

        [[connector]]
        name = "contoso-exchange"
        kind = "exchange"
        tenant_id = "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41"
        client_id = "d0000000-0000-4000-8000-000000000001"
        client_secret_credential = "contoso-exchange"

        """

    @Test func consentURLs() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/connwatch.toml"
        try Self.config.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(
            ConsentURLCommand.outcome(name: "contoso-teams", mip: false, config: path, json: false)
                == Outcome(
                    stdout:
                        "https://login.microsoftonline.com/5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41/adminconsent?client_id=d0000000-0000-4000-8000-000000000003&state=administration/add-casb-tenants&redirect_uri=https%3A%2F%2Fadmin.zscalertwo.net%2F\n"
                ))
        #expect(
            ConsentURLCommand.outcome(name: "contoso-teams", mip: true, config: path, json: false).stdout
                == "https://login.microsoftonline.com/5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41/adminconsent?client_id=d0000000-0000-4000-8000-000000000003&state=administration/mip-labels&redirect_uri=https%3A%2F%2Fadmin.zscalertwo.net%2F\n"
        )
        #expect(
            ConsentURLCommand.outcome(name: "contoso-mip", mip: false, config: path, json: true).stdout
                == #"{"connector":"contoso-mip","purpose":"administration/mip-labels","schema_version":1,"url":"https://login.microsoftonline.com/contoso.onmicrosoft.com/adminconsent?client_id=d0000000-0000-4000-8000-000000000006&state=administration/mip-labels&redirect_uri=https%3A%2F%2Fadmin.zscalertwo.net%2F%3Fx%3D1%26y%3D2"}"#
                + "\n")
        let unknown = ConsentURLCommand.outcome(name: "nope", mip: false, config: path, json: false)
        #expect(unknown.exitCode == 64)
        #expect(unknown.stderr.contains("known: contoso-teams, contoso-mip, contoso-exchange"))
        let noRedirect = ConsentURLCommand.outcome(name: "contoso-exchange", mip: false, config: path, json: false)
        #expect(noRedirect.exitCode == 78 && noRedirect.stderr.contains("has no redirect_uri"))
        let noConfig = ConsentURLCommand.outcome(name: "x", mip: false, config: dir.path + "/none.toml", json: false)
        #expect(noConfig.exitCode == 78)
    }

    @Test func configCheckAsJSON() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/connwatch.toml"
        try (Self.config + "\n[bogus]\nx = 1\n").write(toFile: path, atomically: true, encoding: .utf8)
        let bad = ConfigCheckCommand.outcome(config: path, credentialsDirectory: dir.path, json: true)
        #expect(bad.exitCode == 78)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(bad.stdout.utf8)) as? [String: Any])
        #expect(report["valid"] as? Bool == false)
        let errors = try #require(report["errors"] as? [[String: Any]])
        #expect(errors.contains { ($0["message"] as? String)?.contains("unknown table or key") == true })
    }

    // MARK: keyfile

    static let now = Fixture.t("2026-11-29T12:00:00Z")

    func pems(_ dir: borrowing TemporaryDirectory) throws -> (cert: String, key: String) {
        try TestPKI.golden.writePEMFiles(in: dir.path)
    }

    @Test func keyfileCreateWritesReferenceStep5Right() throws {
        let dir = try TemporaryDirectory()
        let (cert, key) = try pems(dir)
        let escaped = { (s: String) in s.replacingOccurrences(of: "\n", with: "\\n") }
        let expected =
            #"{"private_key": ""# + escaped(TestPKI.golden.privateKeyFile) + #"", "public_cert": ""#
            + escaped(TestPKI.golden.certificateFile) + "\"}\n"
        let out = KeyFileCreate.outcome(cert: cert, key: key, output: nil, force: false)
        #expect(out == Outcome(stdout: expected))
        #expect(out.stdout.filter { $0 == "\n" }.count == 1)
        #expect(
            out.stdout.hasPrefix(#"{"private_key": "-----BEGIN "#) && out.stdout.contains(#"KEY-----\n"#)
        )

        let file = dir.path + "/sp.json"
        #expect(
            KeyFileCreate.outcome(cert: cert, key: key, output: file, force: false)
                == Outcome(
                    stdout:
                        "wrote \(file) (mode 0600); certificate thumbprint (SHA-1) \(TestPKI.golden.thumbprint), expires 2036-01-01T00:00:00Z\n"
                ))
        #expect(try String(contentsOfFile: file, encoding: .utf8) == expected)
        let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let again = KeyFileCreate.outcome(cert: cert, key: key, output: file, force: false)
        #expect(again == Outcome(stderr: "connwatchctl: \(file) exists; pass --force to replace it\n", exitCode: 64))
        let mismatch = KeyFileCreate.outcome(cert: cert, key: cert, output: nil, force: false)
        #expect(mismatch.exitCode == 65 && mismatch.stdout.isEmpty)
    }

    @Test func keyfileInspect() throws {
        let dir = try TemporaryDirectory()
        let (cert, key) = try pems(dir)
        let file = dir.path + "/sp.json"
        _ = KeyFileCreate.outcome(cert: cert, key: key, output: file, force: false)
        #expect(
            KeyFileInspect.outcome(file: file, json: false, now: Self.now)
                == Outcome(
                    stdout: """
                        FIELD       VALUE
                        file        \(file)
                        format      valid JSON, one line, straight quotes
                        subject     CN=connwatch golden test
                        key         matches the certificate
                        expires     2036-01-01T00:00:00Z (3319 days left)
                        thumbprint  \(TestPKI.golden.thumbprint)  (compare with Certificates & secrets in the portal)

                        """))
        #expect(
            KeyFileInspect.outcome(file: file, json: true, now: Self.now)
                == Outcome(
                    stdout: """
                        {
                          "days_left" : 3319,
                          "file" : "\(file)",
                          "key_matches_certificate" : true,
                          "not_after" : "2036-01-01T00:00:00Z",
                          "schema_version" : 1,
                          "subject" : "CN=connwatch golden test",
                          "thumbprint_sha1" : "\(TestPKI.golden.thumbprint)",
                          "valid" : true
                        }

                        """))
        let expired = KeyFileInspect.outcome(file: file, json: false, now: Fixture.t("2036-02-01T00:00:00Z"))
        #expect(expired.exitCode == 65 && expired.stdout.contains("2036-01-01T00:00:00Z (expired)"))
    }

    @Test func keyfileInspectNamesTypographicQuotes() throws {
        let dir = try TemporaryDirectory()
        let (cert, key) = try pems(dir)
        let good = KeyFileCreate.outcome(cert: cert, key: key, output: nil, force: false).stdout
        let file = dir.path + "/curly.json"
        try good.replacingOccurrences(of: #"{"private_key""#, with: "{\u{201C}private_key\u{201D}")
            .write(toFile: file, atomically: true, encoding: .utf8)
        // Read as the daemon reads it, as a secret file: readable by others is the first finding.
        #expect(
            KeyFileInspect.outcome(file: file, json: false, now: Self.now).stderr.contains(
                "is readable by group or others (mode 0644); run: chmod 600 \(file)"))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        #expect(
            KeyFileInspect.outcome(file: file, json: false, now: Self.now)
                == Outcome(
                    stderr:
                        "\(file): typographic quote \u{201C} at line 1, column 2: the file must use straight ASCII quotes (\") — the reference document's sample has curly ones; rewrite the file, e.g. with connwatchctl keyfile create\n",
                    exitCode: 65))
        let json = KeyFileInspect.outcome(file: file, json: true, now: Self.now)
        #expect(json.exitCode == 65 && json.stdout.contains("\"valid\" : false"))
    }
}
