import Foundation
import Testing

@testable import ConnwatchConfig
@testable import ConnwatchCore

/// Invalid configuration files, each matched to its exact error text (blackbox_exporter
/// style). `<dir>` stands for the sandbox directory the fixture is copied into.
@Suite struct ConfigFixtureTests {
    static let cases: [(fixture: String, errors: [String])] = [
        (
            "invalid/01-syntax-error.toml",
            [
                #"<dir>/connwatch.toml:2: TOML syntax error: unterminated string (a basic string must end on the same line)"#
            ]
        ),
        (
            "invalid/02-unknown-key.toml",
            [
                #"<dir>/connwatch.toml:2: daemon.chek_interval: unknown key; did you mean "check_interval"?"#
            ]
        ),
        (
            "invalid/03-unknown-table.toml",
            [
                #"<dir>/connwatch.toml:1: deamon: unknown table or key; the main file holds [daemon], [cloud], [alerts], [zscaler], [[webhook]], [[email]], [[tenant]] and [[connector]]"#
            ]
        ),
        (
            "invalid/04-wrong-type.toml",
            [
                #"<dir>/connwatch.toml:2: daemon.concurrency: expected an integer, got a string"#
            ]
        ),
        (
            "invalid/05-duplicate-names.toml",
            [
                #"<dir>/connwatch.toml:9: connector "contoso-onedrive".name: duplicate connector name (first defined at <dir>/connwatch.toml:1); connector names must be unique"#
            ]
        ),
        (
            "invalid/06-bad-client-guid.toml",
            [
                #"<dir>/connwatch.toml:5: connector "contoso-onedrive".client_id: "8c3e2a47-1b5d-4c8f-a9e6-2f4d7b1c0e9" is not a GUID (8-4-4-4-12 hex digits); copy the Application (client) ID from the app's Overview page (reference step 1a)"#
            ]
        ),
        (
            "invalid/07-bad-tenant.toml",
            [
                #"<dir>/connwatch.toml:4: connector "contoso-onedrive".tenant_id: "contoso" is neither a GUID nor a tenant domain (e.g. contoso.onmicrosoft.com); copy the Directory (tenant) ID from the app's Overview page (reference step 1a)"#
            ]
        ),
        (
            "invalid/08-unknown-kind.toml",
            [
                #"<dir>/connwatch.toml:3: connector "contoso-onedrive".kind: unknown kind "sharepoint-online"; use one of "exchange", "onedrive", "sharepoint", "teams", "azure-blob", "mip""#
            ]
        ),
        (
            "invalid/09-missing-credential.toml",
            [
                #"<dir>/connwatch.toml:6: connector "contoso-onedrive".client_secret_credential: no credential with this ID in <dir>/credentials; add LoadCredential=<id>:/path/to/secret to the unit (or put the file there)"#,
            ]
        ),
        (
            "invalid/10-loose-secret-file.toml",
            [
                #"<dir>/connwatch.toml:6: connector "contoso-onedrive".client_secret_file: <dir>/loose-secret is readable by group or others (mode 0644); run: chmod 600 <dir>/loose-secret"#
            ]
        ),
        (
            "invalid/11-sharepoint-without-key-file.toml",
            [
                #"<dir>/connwatch.toml:1: connector "contoso-onedrive".key_file: missing; a sharepoint connector needs the private key JSON file of reference step 5 (connwatchctl keyfile create)"#
            ]
        ),
        (
            "invalid/12-blob-without-subscription.toml",
            [
                #"<dir>/connwatch.toml:1: connector "contoso-onedrive".subscription_id: missing; copy the subscription ID where the storage roles are assigned (reference step 3)"#
            ]
        ),
        (
            "invalid/13-bad-duration.toml",
            [
                #"<dir>/connwatch.toml:2: daemon.check_interval: "1 hour" is not a duration; use a whole number and one unit: "90s", "15m", "1h", "7d""#
            ]
        ),
        (
            "invalid/14-thresholds-out-of-order.toml",
            [
                #"<dir>/connwatch.toml:3: alerts.critical_days: thresholds out of order: critical_days (30) must be less than warning_days (7)"#
            ]
        ),
        (
            "invalid/15-ladder-out-of-order.toml",
            [
                #"<dir>/connwatch.toml:2: alerts.ladder_days: thresholds out of order: list distinct day counts from largest to smallest, e.g. [60, 30, 14, 7, 3, 1, 0]"#
            ]
        ),
        (
            "invalid/16-webhook-without-url.toml",
            [
                #"<dir>/connwatch.toml:1: webhook "soc".url_credential: missing; set url = "https://…", or url_credential = "<id>" when the URL holds a token (Slack, Teams)"#
            ]
        ),
        (
            "invalid/17-inline-secret.toml",
            [
                #"<dir>/connwatch.toml:6: connector "contoso-onedrive".client_secret: inline secrets are refused; store the client secret in a systemd credential and set client_secret_credential = "<id>" (or client_secret_file = "/path", mode 0600)"#
            ]
        ),
        (
            "invalid/18-missing-name.toml",
            [
                #"<dir>/connwatch.toml:1: connector #1.name: missing; every connector needs a unique name, e.g. name = "contoso-onedrive""#
            ]
        ),
        (
            "invalid/19-bad-name.toml",
            [
                #"<dir>/connwatch.toml:2: connector #1.name: "Contoso_OneDrive" is not a valid name; use 1 to 63 lowercase letters, digits and '-', e.g. "contoso-onedrive""#
            ]
        ),
        (
            "invalid/20-concurrency-out-of-range.toml",
            [
                #"<dir>/connwatch.toml:2: daemon.concurrency: 0 is out of range; use 1 to 1024"#
            ]
        ),
        (
            "invalid/21-unknown-cloud.toml",
            [
                #"<dir>/connwatch.toml:2: cloud.name: unknown cloud "germany"; use "global", "usgov" or "china""#
            ]
        ),
        (
            "invalid/22-webhook-bad-format.toml",
            [
                #"<dir>/connwatch.toml:4: webhook "soc".format: unknown format "discord"; use "standard", "slack" or "teams""#
            ]
        ),
        (
            "invalid/23-webhook-key-not-whsec.toml",
            [
                #"<dir>/connwatch.toml:4: webhook "soc".secret_credential: the signing key is not a Standard Webhooks key; expected "whsec_" followed by base64 of 24 to 64 random bytes"#
            ]
        ),
        (
            "invalid/24-key-file-on-onedrive.toml",
            [
                #"<dir>/connwatch.toml:7: connector "contoso-onedrive".key_file: only sharepoint connectors use a key file; remove it"#
            ]
        ),
        (
            "invalid/25-connector-not-array.toml",
            [
                #"<dir>/connwatch.toml:1: connector: expected [[connector]] (an array of tables), got [connector] (a table); write [[connector]]"#
            ]
        ),
        (
            "invalid/26-credential-and-file.toml",
            [
                #"<dir>/connwatch.toml:7: connector "contoso-onedrive".client_secret_file: set either client_secret_credential or client_secret_file, not both"#
            ]
        ),
        (
            "invalid/27-bad-secret-expires.toml",
            [
                #"<dir>/connwatch.toml:7: connector "contoso-onedrive".secret_expires: "2027-02-30" is not a date; use YYYY-MM-DD, the Expires date shown under Certificates & secrets"#
            ]
        ),
        (
            "invalid/28-drop-in-with-daemon",
            [
                #"<dir>/connectors.d/10-teams.toml:1: daemon: only [[connector]] and [[tenant]] tables belong in connectors.d/ files; move this to connwatch.toml"#
            ]
        ),
        (
            "invalid/29-many-errors.toml",
            [
                #"<dir>/connwatch.toml:2: daemon.concurrency: 5000 is out of range; use 1 to 1024"#,
                #"<dir>/connwatch.toml:3: daemon.check_interval: "soon" is not a duration; use a whole number and one unit: "90s", "15m", "1h", "7d""#,
                #"<dir>/connwatch.toml:7: connector "contoso-onedrive".kind: unknown kind "blob"; use one of "exchange", "onedrive", "sharepoint", "teams", "azure-blob", "mip""#,
                #"<dir>/connwatch.toml:9: connector "contoso-onedrive".client_id: "nope" is not a GUID (8-4-4-4-12 hex digits); copy the Application (client) ID from the app's Overview page (reference step 1a)"#,
            ]
        ),
        (
            "invalid/30-empty-secret-file.toml",
            [
                #"<dir>/connwatch.toml:6: connector "contoso-onedrive".client_secret_file: <dir>/empty-secret is empty; it must hold the client secret"#
            ]
        ),
        (
            "invalid/31-webhook-unknown-connector.toml",
            [
                #"<dir>/connwatch.toml:11: webhook "soc".connectors: "contoso-teams" is not a configured connector"#
            ]
        ),
        (
            "invalid/32-no-credentials-directory.toml",
            [
                #"<dir>/connwatch.toml:6: connector "contoso-onedrive".client_secret_credential: the credential cannot be read: $CREDENTIALS_DIRECTORY is not set; run under systemd with LoadCredential=<id>:/path/to/secret (or LoadCredentialEncrypted=), or pass --credentials-dir DIR"#,
            ]
        ),
        (
            "invalid/33-missing-required-keys.toml",
            [
                #"<dir>/connwatch.toml:1: connector "contoso-onedrive".kind: missing; set kind to one of exchange, onedrive, sharepoint, teams, azure-blob, mip"#,
                #"<dir>/connwatch.toml:1: connector "contoso-onedrive".tenant_id: missing; copy the Directory (tenant) ID from the app's Overview page (reference step 1a)"#,
                #"<dir>/connwatch.toml:1: connector "contoso-onedrive".client_id: missing; copy the Application (client) ID from the app's Overview page (reference step 1a)"#,
                #"<dir>/connwatch.toml:1: connector "contoso-onedrive".client_secret_credential: missing, so the connector is observed (SPEC §3b), but no [[tenant]] observes its tenant; add a [[tenant]] observer for its tenant (SPEC §3b) or set client_secret_credential = "<id>" (a systemd credential) or client_secret_file = "/path" (mode 0600) holding the secret value from reference step 1b"#,
            ]
        ),
        (
            "invalid/34-loose-key-file.toml",
            [
                #"<dir>/connwatch.toml:7: connector "contoso-onedrive".key_file: <dir>/loose-keyfile.json is readable by group or others (mode 0644); run: chmod 600 <dir>/loose-keyfile.json (it holds a private key)"#,
            ]
        ),
        (
            "invalid/35-bad-endpoint.toml",
            [
                #"<dir>/connwatch.toml:2: cloud.graph_endpoint: "http://graph.example" is not an https:// URL"#
            ]
        ),
        (
            "invalid/36-unknown-connector-key.toml",
            [
                #"<dir>/connwatch.toml:7: connector "contoso-onedrive".secret_expire: unknown key; did you mean "secret_expires"?"#
            ]
        ),
        (
            "invalid/37-webhook-inline-secret.toml",
            [
                #"<dir>/connwatch.toml:4: webhook "soc".secret: inline secrets are refused; store the whsec_ key in a systemd credential and set secret_credential = "<id>" (or secret_file = "/path", mode 0600)"#
            ]
        ),
        (
            "invalid/38-duplicate-across-files",
            [
                #"<dir>/connectors.d/10-again.toml:2: connector "contoso-onedrive".name: duplicate connector name (first defined at <dir>/connwatch.toml:1); connector names must be unique"#
            ]
        ),
        (
            "invalid/39-zscaler-table.toml",
            [
                #"<dir>/connwatch.toml:1: zscaler.api_base: missing; e.g. api_base = "https://api.zsapi.net/zia/api/v1""#,
                #"<dir>/connwatch.toml:2: zscaler.token_endpoint: "http://example.zslogin.net/oauth2/v1/token" is not an https:// URL (e.g. "https://example.zslogin.net/oauth2/v1/token")"#,
                #"<dir>/connwatch.toml:3: zscaler.client_id: "has space" is not an API client ID (letters, digits, '-', '_' and '.', up to 128); copy it from ZIdentity > API Clients"#,
                #"<dir>/connwatch.toml:4: zscaler.client_secret: inline secrets are refused; store the OneAPI client secret in a systemd credential and set client_secret_credential = "<id>" (or client_secret_file = "/path", mode 0600)"#,
                #"<dir>/connwatch.toml:5: zscaler.audience: the OneAPI audience is fixed (https://api.zscaler.com); remove the key"#,
                #"<dir>/connwatch.toml:6: zscaler.max_validation_age: 10m is too short; use at least 1h"#,
            ]
        ),
        (
            "invalid/40-zscaler-tenant-id.toml",
            [
                #"<dir>/connwatch.toml:21: connector "contoso-teams".zscaler_tenant_id: 1234 is already the Zscaler tenant of connector "contoso-onedrive"; each SaaS tenant is authorized with one connector"#,
                #"<dir>/connwatch.toml:29: connector "contoso-mip".zscaler_tenant_id: MIP accounts are not SaaS application tenants and Zscaler has no API for them; remove the key"#,
                #"<dir>/connwatch.toml:37: connector "contoso-exchange".zscaler_tenant_id: expected an integer, got a string"#,
                #"<dir>/connwatch.toml:45: connector "contoso-blob".zscaler_tenant_id: 0 is out of range; use 1 to 2147483647"#,
            ]
        ),
        (
            "invalid/41-zscaler-tenant-id-without-table.toml",
            [
                #"<dir>/connwatch.toml:7: connector "contoso-onedrive".zscaler_tenant_id: set, but there is no [zscaler] table; add [zscaler] (token_endpoint, api_base, client_id, client_secret_credential) to the main file, or remove the key"#
            ]
        ),
        (
            "invalid/42-pasted-secrets.toml",
            [
                #"<dir>/connwatch.toml:8: connector "contoso-onedrive".client_secret_credential: the value (not shown) looks like a secret value, not a credential ID; store the client secret in a file, load it with LoadCredential=<id>:/path/to/file in the unit (or put it in --credentials-dir) and set client_secret_credential = "<id>""#,
                #"<dir>/connwatch.toml:15: connector "contoso-teams".client_secret_file: the value (not shown) looks like a secret value, not a path; store the client secret in a file (chmod 600) and give its path here"#,
                #"<dir>/connwatch.toml:22: connector "contoso-mip".client_secret_credential: the value (not shown) looks like a secret value, not a credential ID; no credential with this ID in <dir>/credentials; add LoadCredential=<id>:/path/to/secret to the unit (or put the file there)"#,
                #"<dir>/connwatch.toml:26: webhook "soc".url_credential: the value (not shown) looks like a URL, not a credential ID; store the webhook URL in a file, load it with LoadCredential=<id>:/path/to/file in the unit (or put it in --credentials-dir) and set url_credential = "<id>""#,
                #"<dir>/connwatch.toml:27: webhook "soc".secret_credential: the value (not shown) looks like a webhook signing key (whsec_…), not a credential ID; no credential with this ID in <dir>/credentials; add LoadCredential=<id>:/path/to/secret to the unit (or put the file there)"#,
                #"<dir>/connwatch.toml:31: webhook "chat".url: an inline url is refused for slack webhooks: their URL carries a token; store it in a systemd credential and set url_credential = "<id>" (or url_file = "/path", mode 0600)"#,
                #"<dir>/connwatch.toml:33: webhook "chat".secret_file: the value (not shown) looks like a webhook signing key (whsec_…), not a path; store the signing key in a file (chmod 600) and give its path here"#,
            ]
        ),
        (
            "invalid/43-unquoted-secret.toml",
            [
                #"<dir>/connwatch.toml:6: TOML syntax error: the value of the key "client_secret_credential" is not valid TOML (it is not shown: this key holds or names a secret); write it as a quoted string: client_secret_credential = "…""#,
            ]
        ),
        (
            "invalid/44-secret-file-symlink.toml",
            [
                #"<dir>/connwatch.toml:6: connector "contoso-onedrive".client_secret_file: <dir>/link-secret is a symlink; secret files are opened without following links: name the file itself"#,
                #"<dir>/connwatch.toml:14: connector "contoso-sharepoint".key_file: <dir>/link-keyfile.json is a symlink; secret files are opened without following links: name the file itself (it holds a private key)"#,
            ]
        ),
        (
            "invalid/45-https-proxy.toml",
            [
                #"<dir>/connwatch.toml:2: daemon.proxy: an https:// proxy (TLS to the proxy itself) is not supported; use the proxy's http:// address: every tunnel through it to Microsoft, Zscaler and webhooks is TLS end to end"#,
                #"<dir>/connwatch.toml:3: daemon.proxy_credential: the stored value must be user:password (it is not shown)"#,
            ]
        ),
        (
            "invalid/46-proxy-with-password.toml",
            [
                #"<dir>/connwatch.toml:2: daemon.proxy: credentials in the proxy URL are refused (the configuration is readable by the connwatch group): remove them and store user:password in a credential, proxy_credential = "<id>""#,
            ]
        ),
        (
            "invalid/47-proxy-credential-without-proxy.toml",
            [
                #"<dir>/connwatch.toml:2: daemon.proxy_credential: set proxy = "http://host:port" too; the credentials are for that proxy (the environment's HTTPS_PROXY is not given them)"#,
            ]
        ),
        (
            "invalid/48-bad-no-proxy.toml",
            [
                #"<dir>/connwatch.toml:3: daemon.no_proxy: "bad host" is not a host, .domain, IP address or "*" (each with an optional :port)"#
            ]
        ),
    ] + observerCases

    @Test(arguments: cases.map(\.fixture))
    func invalidFixtureReportsExactly(fixture: String) throws {
        let expected = try #require(Self.cases.first { $0.fixture == fixture }).errors
        let sandbox = try FixtureSandbox(fixture: fixture)
        defer { sandbox.remove() }
        let actual = sandbox.errorLines(withCredentials: !fixture.contains("no-credentials-directory"))
        #expect(actual == expected)
        // No error ever carries a secret value.
        for line in actual ?? [] {
            #expect(!line.contains(FixtureSandbox.clientSecretValue))
            #expect(!line.contains("inline-secret-value"))
            #expect(!line.contains("whsec_MfKQ"))
            #expect(!line.contains("tok3n"))
            #expect(!line.contains("pasted"))
            #expect(!line.contains("unquoted"))
            #expect(!line.contains("hunter2"))
            #expect(!line.contains("Q7xK2mN9"))
            #expect(!line.contains("Mq3~"))
            // Nothing of an observer's certificate file, its key least of all.
            #expect(!line.contains(String(FixtureSandbox.monitorPEM.privateKeyFile.dropFirst(40).prefix(24))))
            #expect(!line.contains(String(FixtureSandbox.monitorPEM.certificateFile.dropFirst(40).prefix(24))))
        }
    }

    @Test func everyInvalidFixtureIsInTheTable() throws {
        let onDisk = try FileManager.default.contentsOfDirectory(
            atPath: FixtureSandbox.fixtures.appendingPathComponent("invalid").path
        ).map { "invalid/" + $0 }
        #expect(Set(onDisk) == Set(Self.cases.map(\.fixture)))
        #expect(onDisk.count >= 20)
    }
}
