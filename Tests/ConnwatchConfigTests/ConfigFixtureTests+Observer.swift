/// `[[tenant]]` observers and observed connectors (SPEC §3b): fixtures 49–58. The
/// certificate files they name are made by ``FixtureSandbox`` with the run's test key.
extension ConfigFixtureTests {
    static let observerCases: [(fixture: String, errors: [String])] = [
        (
            "invalid/49-tenant-bad-values.toml",
            [
                #"<dir>/connwatch.toml:3: tenant #1.tenant_id: "contoso" is neither a GUID nor a tenant domain (e.g. contoso.onmicrosoft.com); copy the Directory (tenant) ID from the monitoring app's Overview page"#,
                #"<dir>/connwatch.toml:4: tenant #1.client_id: "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d" is not a GUID (8-4-4-4-12 hex digits); copy the monitoring app's Application (client) ID from its Overview page"#,
                #"<dir>/connwatch.toml:6: tenant #1.subscriptions: "sub-one" is not a subscription ID (a GUID); list the IDs of the subscriptions where the monitoring app has Reader"#,
                #"<dir>/connwatch.toml:6: tenant #1.subscriptions: 3c7a9e2b-5d1f-4a68-9b04-e6f2c8d1a5b7 is listed twice; list each subscription once"#,
                #"<dir>/connwatch.toml:7: tenant #1.sign_in_logs: expected true or false, got a string"#,
                #"<dir>/connwatch.toml:8: tenant #1.sign_in_window: 45d is longer than the sign-in log keeps sign-ins (30 days with Entra ID P1/P2, 7 on Free); use at most 30d"#,
                #"<dir>/connwatch.toml:9: tenant #1.sign_in_stale_after: "1 week" is not a duration; use a whole number and one unit: "90s", "15m", "1h", "7d""#,
                #"<dir>/connwatch.toml:10: tenant #1.sign_in_log: unknown key; did you mean "sign_in_logs"?"#,
            ]
        ),
        (
            "invalid/50-tenant-without-credential.toml",
            [
                #"<dir>/connwatch.toml:2: tenant "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41".client_secret_credential: missing; give the monitoring app one credential: certificate_file = "/etc/connwatch/keys/monitor.pem" (its private key and certificate in one PEM file, mode 0600; preferred) or client_secret_credential = "<id>" (or client_secret_file = "/path", mode 0600)"#
            ]
        ),
        (
            "invalid/51-tenant-two-credentials.toml",
            [
                #"<dir>/connwatch.toml:6: tenant "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41".client_secret_credential: set either certificate_file or client_secret_credential, not both; keep certificate_file (a certificate is the preferred credential) and remove client_secret_credential"#
            ]
        ),
        (
            "invalid/52-tenant-certificate-files.toml",
            [
                #"<dir>/connwatch.toml:6: tenant "00000000-0000-4000-8000-0000000000a1".certificate_file: <dir>/link-monitor.pem is a symlink; secret files are opened without following links: name the file itself (it holds a private key)"#,
                #"<dir>/connwatch.toml:11: tenant "00000000-0000-4000-8000-0000000000a2".certificate_file: <dir>/monitor-loose.pem is readable by group or others (mode 0644); run: chmod 600 <dir>/monitor-loose.pem (it holds a private key)"#,
                #"<dir>/connwatch.toml:16: tenant "00000000-0000-4000-8000-0000000000a3".certificate_file: <dir>/monitor-cert-only.pem has no PEM private key (a PKCS #8 or PKCS #1 RSA key block); the file must hold the monitoring app's private key and its certificate, e.g. cat key.pem cert.pem > monitor.pem"#,
                #"<dir>/connwatch.toml:21: tenant "00000000-0000-4000-8000-0000000000a4".certificate_file: <dir>/monitor-key-only.pem has no PEM certificate (-----BEGIN CERTIFICATE-----); append the certificate uploaded to the monitoring app (Certificates & secrets), e.g. cat cert.pem >> the file"#,
                #"<dir>/connwatch.toml:26: tenant "00000000-0000-4000-8000-0000000000a5".certificate_file: <dir>/keyfile.json has no PEM private key (a PKCS #8 or PKCS #1 RSA key block); the file must hold the monitoring app's private key and its certificate, e.g. cat key.pem cert.pem > monitor.pem"#,
                #"<dir>/connwatch.toml:26: tenant "00000000-0000-4000-8000-0000000000a5".certificate_file: <dir>/keyfile.json has no PEM certificate (-----BEGIN CERTIFICATE-----); append the certificate uploaded to the monitoring app (Certificates & secrets), e.g. cat cert.pem >> the file"#,
                #"<dir>/connwatch.toml:31: tenant "00000000-0000-4000-8000-0000000000a6".certificate_file: <dir>/monitor-encrypted.pem holds an encrypted private key, and the daemon cannot be asked for a passphrase; store it unencrypted (openssl pkey -in OLD -out NEW) in a file of mode 0600"#,
            ]
        ),
        (
            "invalid/53-two-tenants-one-directory",
            [
                #"<dir>/connectors.d/10-customer.toml:3: tenant "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41".tenant_id: a second [[tenant]] for this tenant (the first is at <dir>/connwatch.toml:1); one observer per Entra tenant: keep one of the two tables"#
            ]
        ),
        (
            "invalid/54-observed-without-tenant.toml",
            [
                #"<dir>/connwatch.toml:8: connector "contoso-onedrive".client_secret_credential: missing, so the connector is observed (SPEC §3b), but no [[tenant]] observes tenant 5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41; add a [[tenant]] observer for tenant 5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41 (SPEC §3b) or set client_secret_credential = "<id>" (a systemd credential) or client_secret_file = "/path" (mode 0600) holding the secret value from reference step 1b; [[tenant]] observers are configured for contoso.onmicrosoft.com (write tenant_id as there: the same GUID or domain)"#
            ]
        ),
        (
            "invalid/55-observed-blob-subscription-not-listed.toml",
            [
                #"<dir>/connwatch.toml:14: connector "contoso-blob".subscription_id: 7d2c4e6a-1b3f-4c5d-9e8f-0a1b2c3d4e5f is not in the subscriptions of the [[tenant]] observer for this tenant (<dir>/connwatch.toml:3); add it there (and give the monitoring app Reader on it), or set client_secret_credential/client_secret_file for this connector"#,
                #"<dir>/connwatch.toml:24: connector "contoso-blob-nosub".subscription_id: missing; copy the subscription ID where the storage roles are assigned (reference step 3)"#,
            ]
        ),
        (
            "invalid/56-tenant-client-id-is-connector.toml",
            [
                #"<dir>/connwatch.toml:11: tenant "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41".client_id: this is the client ID of connector "contoso-onedrive" (<dir>/connwatch.toml:6); the observer is the monitoring app, never a connector: register a separate read-only app for it (connwatchctl permissions observer)"#
            ]
        ),
        (
            "invalid/57-tenant-pasted-secrets.toml",
            [
                #"<dir>/connwatch.toml:5: tenant "00000000-0000-4000-8000-0000000000b1".client_id: the value (not shown) looks like a secret value, not a GUID (8-4-4-4-12 hex digits); copy the monitoring app's Application (client) ID from its Overview page"#,
                #"<dir>/connwatch.toml:6: tenant "00000000-0000-4000-8000-0000000000b1".client_secret_credential: the value (not shown) looks like a secret value, not a credential ID; store the monitoring app's client secret in a file, load it with LoadCredential=<id>:/path/to/file in the unit (or put it in --credentials-dir) and set client_secret_credential = "<id>""#,
                #"<dir>/connwatch.toml:11: tenant "00000000-0000-4000-8000-0000000000b2".client_secret_file: the value (not shown) looks like a secret value, not a path; store the monitoring app's client secret in a file (chmod 600) and give its path here"#,
                #"<dir>/connwatch.toml:16: tenant "00000000-0000-4000-8000-0000000000b3".certificate_file: the value (not shown) looks like a secret value, not a path; store the monitoring app's private key and certificate (one PEM file) in a file (chmod 600) and give its path here"#,
                #"<dir>/connwatch.toml:21: tenant "00000000-0000-4000-8000-0000000000b4".client_secret: inline secrets are refused; store the monitoring app's client secret in a systemd credential and set client_secret_credential = "<id>" (or client_secret_file = "/path", mode 0600)"#,
                #"<dir>/connwatch.toml:24: tenant #5.tenant_id: the value (not shown) looks like a secret value, not a tenant ID; copy the Directory (tenant) ID from the monitoring app's Overview page"#,
                #"<dir>/connwatch.toml:27: tenant #5.subscriptions: the value (not shown) looks like a secret value, not a subscription ID (a GUID); list the IDs of the subscriptions where the monitoring app has Reader"#,
            ]
        ),
        (
            "invalid/58-tenant-not-array.toml",
            [
                #"<dir>/connwatch.toml:1: tenant: expected [[tenant]] (an array of tables), got [tenant] (a table); write [[tenant]]"#
            ]
        ),
    ]
}
