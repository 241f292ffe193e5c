import ConnwatchTestSupport
import Foundation
import Testing

/// `[[tenant]]` observers through the real binaries: `connwatchd --check-config`,
/// `connwatchctl config check`, `consent-url --observer`, `permissions observer`.
@Suite struct ObserverConfigEndToEndTests {
    static let tenant = "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41"

    /// An observed-only configuration: no connector secret anywhere on disk.
    func tree() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory("e2e-observer")
        let pem = try TestPKI.rsaCertificate(commonName: "connwatch monitoring app (e2e)")
        try dir.write("keys/monitor.pem", pem.privateKeyFile + pem.certificateFile)
        try dir.write(
            "connwatch.toml",
            """
            [[connector]]
            name = "contoso-onedrive"
            kind = "onedrive"
            tenant_id = "\(Self.tenant)"
            client_id = "8c3e2a47-1b5d-4c8f-a9e6-2f4d7b1c0e93"
            """, mode: 0o644)
        try dir.write(
            "connectors.d/10-observer.toml",
            """
            [[tenant]]
            tenant_id = "\(Self.tenant)"
            client_id = "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"
            certificate_file = "../keys/monitor.pem"
            """, mode: 0o644)
        return dir
    }

    @Test func observedOnlyConfigurationChecksOK() throws {
        let dir = try tree()
        let config = dir.path + "/connwatch.toml"
        let r = try Binaries.run("connwatchd", ["--check-config", "--config", config])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            r.stdout.contains(
                "1 observer ([[tenant]]); 1 connector observed (no secret held), 0 with their own secret\n"))
        #expect(
            r.stdout.contains(
                "observer \(Self.tenant): monitoring app 0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6 with a certificate"))
        #expect(!r.stdout.contains("PRIVATE KEY"))
        let ctl = try Binaries.run("connwatchctl", ["config", "check", "--config", config])
        #expect(ctl.status == 0 && ctl.stdout == r.stdout)

        let url = try Binaries.run("connwatchctl", ["--config", config, "consent-url", "--observer", Self.tenant])
        #expect(url.status == 0)
        #expect(
            url.stdout
                == "https://login.microsoftonline.com/\(Self.tenant)/adminconsent?client_id=0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6\n"
        )
        let permissions = try Binaries.run("connwatchctl", ["permissions", "observer"])
        #expect(permissions.status == 0 && permissions.stdout.contains("AuditLog.Read.All  optional"))
    }

    /// The certificate file loses its mode and the observer goes: the observed connector
    /// is then refused too, and the daemon exits 78 listing both, quoting no key.
    @Test func looseCertificateAndMissingObserverExit78() throws {
        let dir = try tree()
        let config = dir.path + "/connwatch.toml"
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: dir.path + "/keys/monitor.pem")
        let loose = try Binaries.run("connwatchd", ["--check-config", "--config", config])
        #expect(loose.status == 78)
        #expect(
            loose.stderr.contains(
                "certificate_file: \(dir.path)/keys/monitor.pem is readable by group or others (mode 0644)"))
        #expect(!loose.stderr.contains("BEGIN"))

        try FileManager.default.removeItem(atPath: dir.path + "/connectors.d/10-observer.toml")
        let orphan = try Binaries.run("connwatchd", ["--check-config", "--config", config])
        #expect(orphan.status == 78)
        #expect(
            orphan.stderr.contains(
                "connector \"contoso-onedrive\".client_secret_credential: missing, so the connector is observed (SPEC §3b), but no [[tenant]] observes tenant \(Self.tenant); add a [[tenant]] observer for tenant \(Self.tenant) (SPEC §3b) or set client_secret_credential"
            ))
        let url = try Binaries.run("connwatchctl", ["consent-url", "--observer", Self.tenant, "--config", config])
        #expect(url.status == 78)
    }
}
