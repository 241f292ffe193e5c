import ArgumentParser
import ConnwatchCore
import ConnwatchTestSupport
import Foundation
import Testing

@testable import ConnwatchCLI

/// `connwatchctl permissions observer` and `consent-url --observer` (SPEC §3b), offline.
@Suite struct ObserverCommandTests {
    static let config = """
        [[tenant]]
        tenant_id = "5F1B6C0E-8A3D-4F4E-9C2A-1D7E3B9A6C41"
        client_id = "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"
        certificate_file = "/nonexistent/monitor.pem"

        [[connector]]
        name = "contoso-teams"
        kind = "teams"
        tenant_id = "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41"
        client_id = "d0000000-0000-4000-8000-000000000003"

        """

    /// The certificate file is not read: consent-url needs no secret (and may run as a
    /// user who cannot read it).
    @Test func consentURLForTheMonitoringApp() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/connwatch.toml"
        try Self.config.write(toFile: path, atomically: true, encoding: .utf8)
        let base =
            "https://login.microsoftonline.com/5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41/adminconsent?client_id=0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"
        let plain = ConsentURLCommand.observerOutcome(
            tenant: "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41", redirectURI: nil, config: path, json: false)
        #expect(plain.stdout == base + "\n" && plain.exitCode == 0)
        #expect(plain.stderr.contains("carries no redirect_uri; pass --redirect-uri"))
        // The tenant as typed in another case; a redirect URI, encoded.
        #expect(
            ConsentURLCommand.observerOutcome(
                tenant: "5F1B6C0E-8A3D-4F4E-9C2A-1D7E3B9A6C41", redirectURI: "https://localhost/cb?x=1", config: path,
                json: false)
                == Outcome(stdout: base + "&redirect_uri=https%3A%2F%2Flocalhost%2Fcb%3Fx%3D1\n"))
        #expect(
            ConsentURLCommand.observerOutcome(
                tenant: "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41", redirectURI: "https://localhost", config: path,
                json: true
            ).stdout
                == #"{"client_id":"0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6","observer":"5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41","schema_version":1,"url":""#
                + base + #"&redirect_uri=https%3A%2F%2Flocalhost"}"# + "\n")

        let unknown = ConsentURLCommand.observerOutcome(
            tenant: "contoso.onmicrosoft.com", redirectURI: nil, config: path, json: false)
        #expect(unknown.exitCode == 64 && unknown.stdout.isEmpty)
        #expect(
            unknown.stderr
                == "connwatchctl: no [[tenant]] observer for tenant \"contoso.onmicrosoft.com\" in \(path) (observers: 5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41); add one with the monitoring app's client_id (connwatchctl permissions observer), or give the tenant_id as written there\n"
        )
        let badRedirect = ConsentURLCommand.observerOutcome(
            tenant: "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41", redirectURI: "localhost", config: path, json: false)
        #expect(badRedirect.exitCode == 64)

        // No [[tenant]] at all.
        let none = dir.path + "/none.toml"
        try "".write(toFile: none, atomically: true, encoding: .utf8)
        let empty = ConsentURLCommand.observerOutcome(tenant: "x.example", redirectURI: nil, config: none, json: false)
        #expect(empty.exitCode == 64 && empty.stderr.contains("(it has no [[tenant]] at all)"))
        // A broken configuration is a configuration error.
        try "[[tenant]]\ntenant_id = 1\n".write(toFile: none, atomically: true, encoding: .utf8)
        #expect(
            ConsentURLCommand.observerOutcome(tenant: "x.example", redirectURI: nil, config: none, json: false).exitCode
                == 78)
    }

    @Test func consentURLTakesANameOrAnObserver() throws {
        let observer = try #require(
            try Connwatchctl.parseAsRoot(["consent-url", "--observer", "T", "--redirect-uri", "https://x.example/"])
                as? ConsentURLCommand)
        #expect(observer.observerTenant == "T" && observer.name == nil && observer.redirectURI == "https://x.example/")
        #expect((try Connwatchctl.parseAsRoot(["consent-url", "x"]) as? ConsentURLCommand)?.name == "x")
        for bad in [
            ["consent-url"], ["consent-url", "x", "--observer", "T"], ["consent-url", "--observer", "T", "--mip"],
            ["consent-url", "x", "--redirect-uri", "https://x.example/"],
        ] {
            do {
                _ = try Connwatchctl.parseAsRoot(bad)
                Issue.record("parsed \(bad)")
            } catch {
                #expect(Connwatchctl.exitCode(for: error).rawValue == Exit.usage, "\(bad)")
            }
        }
    }

    @Test func permissionsObserverParses() throws {
        let p = try #require(
            try Connwatchctl.parseAsRoot(["permissions", "observer", "--json"]) as? PermissionsCommand)
        #expect(p.subject == .observer && p.json)
        #expect((try Connwatchctl.parseAsRoot(["permissions", "mip"]) as? PermissionsCommand)?.subject == .kind(.mip))
        #expect(throws: (any Error).self) { try Connwatchctl.parseAsRoot(["permissions", "observers"]) }
    }

    /// The text names every permission, why, and what its absence costs — the costs the
    /// observer check itself reports (one source).
    @Test func permissionsObserverText() {
        let text = ObserverPermissionsReport.text()
        #expect(text == Self.golden)
        for p in [ObserverPermission.applicationReadAll, .directoryReadAll, .auditLogReadAll] {
            #expect(text.contains("  \(p.graphRole!)  "))
            #expect(text.contains("without it, connwatch loses \(p.costs)\n"))
        }
        #expect(text.contains(ObserverPermission.reader(subscriptionId: "x").costs))
    }

    @Test func permissionsObserverJSON() throws {
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(ObserverPermissionsReport.json().utf8)) as? [String: Any])
        #expect(object["schema_version"] as? Int == 1 && object["kind"] as? String == "observer")
        let permissions = try #require(object["permissions"] as? [[String: Any]])
        #expect(
            permissions.map { $0["permission"] as? String } == [
                "Application.Read.All", "Directory.Read.All", "AuditLog.Read.All",
            ])
        #expect(permissions.map { $0["required"] as? Bool } == [true, true, false])
        #expect(permissions[0]["licence"] is NSNull)
        #expect(permissions[2]["licence"] as? String == "Microsoft Entra ID P1 or P2")
        #expect(permissions[1]["costs"] as? String == ObserverPermission.directoryReadAll.costs)
        #expect(
            permissions.allSatisfy { $0["type"] as? String == "Application" && !(($0["why"] as? String) ?? "").isEmpty }
        )
        let roles = try #require(object["roles"] as? [[String: Any]])
        #expect(roles.count == 1 && roles[0]["name"] as? String == "Reader")
        #expect(roles[0]["role_definition_id"] as? String == "acdd72a7-3385-48ef-bd42-f606fba81ae7")
        #expect(object["preferred_credential"] as? String == "certificate")
    }

    /// `config check --json` lists the observers (credential kind, never the credential)
    /// and says which connectors are observed.
    @Test func configCheckJSONListsObservers() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/connwatch.toml"
        let config = Self.config.replacingOccurrences(
            of: #"certificate_file = "/nonexistent/monitor.pem""#, with: #"client_secret_credential = "monitor""#)
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        try dir.write("credentials/monitor", "Mq3~observer-secret-value\n")
        let out = ConfigCheckCommand.outcome(config: path, credentialsDirectory: dir.path + "/credentials", json: true)
        #expect(out.exitCode == 0 && !out.stdout.contains("Mq3~"))
        let report = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
        let tenants = try #require(report["tenants"] as? [[String: Any]])
        #expect(tenants.count == 1)
        #expect(tenants[0]["tenant_id"] as? String == "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41")
        #expect(tenants[0]["client_id"] as? String == "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6")
        #expect(tenants[0]["credential"] as? String == "secret")
        #expect(tenants[0]["sign_in_logs"] as? Bool == true)
        let connectors = try #require(report["connectors"] as? [[String: Any]])
        #expect(connectors.map { $0["observed"] as? Bool } == [true])
    }

    static let golden = """
        The monitoring app of a [[tenant]] observer (SPEC §3b): one read-only app per Entra tenant, never a connector. It reads every connector app of the tenant, so no connector secret is held.

        Microsoft Graph application permissions (API permissions > Add a permission > Microsoft Graph > Application permissions), then grant admin consent (connwatchctl consent-url --observer TENANT_ID):

          Application.Read.All  required
            why: reads each connector's app and service principal: its secrets and certificates with their expiry, accountEnabled, its app-role assignments and the resource apps' appRoles; and the monitoring app's own credentials; for [[email]] sinks with owners = true, each connector app's owners (read only when such a mail goes out)
            without it, connwatch loses the connectors' app, secret_expiry, certificate and consent checks (apps, service principals, grants) and the observer's own expiry
          Directory.Read.All  required
            why: reads delegated grants (oauth2PermissionGrants, which Application.Read.All does not cover); the sign-in log needs it beside AuditLog.Read.All; the owners' mail addresses (owners = true; without a user read permission Graph lists owners by object ID only)
            without it, connwatch loses azure-blob consent (delegated grants) and the signin check (the sign-in log needs it with AuditLog.Read.All)
          AuditLog.Read.All  optional (needs a Microsoft Entra ID P1 or P2 licence)
            why: reads the sign-in log (the signin check: failing and stale sign-ins) and credential sign-in activity (which secret is in use)
            without it, connwatch loses the signin check and the secret in use (sign-in log and credential activity)

        Azure role assignment (Access control (IAM) on each subscription listed in the tenant's subscriptions):

          Reader (acdd72a7-3385-48ef-bd42-f606fba81ae7)  for observed azure-blob connectors
            why: lists the role assignments of azure-blob connectors' service principals (the roles check); Graph permissions do not reach Azure RBAC
            without it, connwatch loses the azure-blob roles check for connectors in this subscription

        Credential: certificate_file (one PEM with the private key and the certificate, mode 0600; upload the certificate under Certificates & secrets) is preferred to client_secret_credential.
        No write permission is needed: connwatch changes nothing in the tenant.

        """
}
