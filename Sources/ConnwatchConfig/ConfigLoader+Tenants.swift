import ConnwatchCore
import Foundation

/// `[[tenant]]` tables: a tenant's observer (SPEC §3b, §4), validated as strictly as a
/// connector. Read before the connectors, which need to know which tenants are observed.
extension ConfigLoader {
    /// What the connectors are checked against: one entry per `[[tenant]]` whose
    /// `tenant_id` is valid, even when the table has other errors — an observed connector
    /// is then not also reported for a missing observer when the observer has a typo.
    struct ObserverIndex {
        struct Entry {
            var source: SourceLocation
            /// nil when `subscriptions` itself is invalid (already reported): not judged.
            var subscriptions: Set<String>?
        }

        /// Keyed by the lower-cased tenant ID, as written (GUID or domain).
        var byTenant: [String: Entry] = [:]

        func observer(of tenant: String) -> Entry? { byTenant[tenant.lowercased()] }

        /// "5f1b…, contoso.onmicrosoft.com", for messages.
        var tenantList: String { byTenant.keys.sorted().joined(separator: ", ") }
    }

    /// The sign-in log keeps sign-ins 30 days with Entra ID P1/P2 (7 on Free), and no
    /// sign-in data is readable at all without P1/P2 (observer-facts §5 [RET]): a longer
    /// window would ask for what no tenant keeps.
    static let signInRetention = ConfigDuration.days(30)

    /// Reads every `[[tenant]]` table into `config.tenants`; reports two tables for one
    /// tenant at the second, naming the first.
    func readTenants(_ tables: [TableReader], into config: inout Configuration) -> ObserverIndex {
        var index = ObserverIndex()
        for reader in tables {
            let (tenantId, subscriptions, tenant) = readTenant(reader)
            guard let tenantId else { continue }
            let here = SourceLocation(file: reader.file, line: reader.line(nil))
            if let first = index.byTenant[tenantId] {
                reader.error(
                    "tenant_id",
                    "a second [[tenant]] for this tenant (the first is at \(first.source)); one observer per Entra tenant: keep one of the two tables"
                )
                continue
            }
            index.byTenant[tenantId] = .init(source: here, subscriptions: subscriptions.map(Set.init))
            if let tenant { config.tenants.append(tenant) }
        }
        return index
    }

    /// A `[[tenant]]` whose `client_id` is a connector's: the observer must be the
    /// read-only monitoring app, never a connector (whose secret it would then be).
    func checkObserverClientIds(_ tenantTables: [TableReader], connectorTables: [TableReader]) {
        var connectorClients: [String: (name: String, at: SourceLocation)] = [:]
        for reader in connectorTables {
            guard case .string(let id)? = reader.table["client_id"], Validators.isGUID(id) else { continue }
            let name: String
            if case .string(let n)? = reader.table["name"] { name = n } else { name = reader.label }
            let key = id.lowercased()
            if connectorClients[key] == nil {
                connectorClients[key] = (name, SourceLocation(file: reader.file, line: reader.line("client_id")))
            }
        }
        for reader in tenantTables {
            guard case .string(let id)? = reader.table["client_id"], Validators.isGUID(id),
                let connector = connectorClients[id.lowercased()]
            else { continue }
            reader.error(
                "client_id",
                "this is the client ID of connector \"\(connector.name)\" (\(connector.at)); the observer is the monitoring app, never a connector: register a separate read-only app for it (connwatchctl permissions observer)"
            )
        }
    }

    /// One `[[tenant]]`: its tenant ID when valid (for the observer index), its subscriptions
    /// when valid, and the observer when the whole table is.
    func readTenant(_ t: TableReader) -> (tenantId: String?, subscriptions: [String]?, tenant: TenantConfig?) {
        var ok = true

        var tenant: String?
        if let v = t.string("tenant_id") {
            if Validators.isTenant(v) {
                tenant = v.lowercased()
                t.label = "tenant \"\(v.lowercased())\""
            } else {
                t.error(
                    "tenant_id",
                    notA(v, "a GUID nor a tenant domain (e.g. contoso.onmicrosoft.com)", neither: true)
                        + "; copy the Directory (tenant) ID from the monitoring app's Overview page")
                ok = false
            }
        } else if t.has("tenant_id") {
            ok = false
        } else {
            t.error("tenant_id", "missing; copy the Directory (tenant) ID from the monitoring app's Overview page")
            ok = false
        }

        var client: String?
        if let v = t.string("client_id") {
            if Validators.isGUID(v) {
                client = v.lowercased()
            } else {
                t.error(
                    "client_id",
                    notA(v, "a GUID (8-4-4-4-12 hex digits)")
                        + "; copy the monitoring app's Application (client) ID from its Overview page")
                ok = false
            }
        } else if t.has("client_id") {
            ok = false
        } else {
            t.error(
                "client_id",
                "missing; copy the monitoring app's Application (client) ID from its Overview page (the monitoring app, never a connector)"
            )
            ok = false
        }

        let credential = readObserverCredential(t)
        if credential == nil { ok = false }

        var subscriptions: [String]?
        if let list = t.stringArray("subscriptions") {
            var seen = Set<String>()
            var valid = true
            for v in list {
                if !Validators.isGUID(v) {
                    t.error(
                        "subscriptions",
                        notA(v, "a subscription ID (a GUID)")
                            + "; list the IDs of the subscriptions where the monitoring app has Reader")
                    valid = false
                } else if !seen.insert(v.lowercased()).inserted {
                    t.error("subscriptions", "\(v.lowercased()) is listed twice; list each subscription once")
                    valid = false
                }
            }
            if valid { subscriptions = list.map { $0.lowercased() } } else { ok = false }
        } else if t.has("subscriptions") {
            ok = false
        } else {
            subscriptions = []
        }

        let signInLogs = t.bool("sign_in_logs")
        if signInLogs == nil, t.has("sign_in_logs") { ok = false }
        func signIn(_ key: String) -> ConfigDuration? {
            guard let d = t.duration(key) else {
                if t.has(key) { ok = false }
                return nil
            }
            if d > ConfigLoader.signInRetention {
                t.error(
                    key,
                    "\(d) is longer than the sign-in log keeps sign-ins (30 days with Entra ID P1/P2, 7 on Free); use at most 30d"
                )
                ok = false
                return nil
            }
            return d
        }
        let window = signIn("sign_in_window")
        let staleAfter = signIn("sign_in_stale_after")

        t.finish(allowed: ConfigLoader.tenantKeys)

        guard ok, let tenant, let client, let credential else { return (tenant, subscriptions, nil) }
        var c = TenantConfig(
            tenantId: tenant, clientId: client, credential: credential,
            source: SourceLocation(file: t.file, line: t.line(nil)))
        c.subscriptions = subscriptions ?? []
        if let signInLogs { c.signInLogs = signInLogs }
        if let window { c.signInWindow = window }
        if let staleAfter { c.signInStaleAfter = staleAfter }
        return (tenant, subscriptions, c)
    }

    /// Exactly one of `certificate_file` (preferred) and `client_secret_credential` /
    /// `client_secret_file`; nil when none is usable (reported).
    private func readObserverCredential(_ t: TableReader) -> TenantConfig.Credential? {
        let resolver = SecretResolver(
            credentialsDirectory: credentialsDirectory, baseDirectory: dir(t), resolve: resolveSecrets)
        let secretFix =
            "give the monitoring app one credential: certificate_file = \"/etc/connwatch/keys/monitor.pem\" (its private key and certificate in one PEM file, mode 0600; preferred) or client_secret_credential = \"<id>\" (or client_secret_file = \"/path\", mode 0600)"
        let hasCertificate = t.has("certificate_file")
        let secretKeys = ["client_secret_credential", "client_secret_file"].filter { t.has($0) }
        if hasCertificate, let secretKey = secretKeys.first {
            _ = t.string("certificate_file")
            secretKeys.forEach { _ = t.string($0) }
            _ = t.has("client_secret")
            t.error(
                secretKey,
                "set either certificate_file or \(secretKey), not both; keep certificate_file (a certificate is the preferred credential) and remove \(secretKey)"
            )
            return nil
        }
        guard hasCertificate else {
            switch resolver.resolve(
                t, base: "client_secret", inline: "client_secret", required: true,
                what: "the monitoring app's client secret", fix: secretFix)
            {
            case .secret(let s): return .secret(s)
            case .absent, .failed: return nil
            }
        }
        if t.has("client_secret") {
            // An inline secret beside the certificate: refused (never read, never quoted).
            _ = resolver.resolve(
                t, base: "client_secret", inline: "client_secret", required: false,
                what: "the monitoring app's client secret", fix: secretFix)
            _ = t.string("certificate_file")
            return nil
        }
        guard let raw = t.string("certificate_file") else { return nil }
        guard !raw.isEmpty else {
            t.error(
                "certificate_file",
                "empty path; give the PEM file with the monitoring app's private key and certificate")
            return nil
        }
        let path = resolver.absolute(raw)
        guard resolveSecrets else { return .certificate(path: path) }
        switch SecretResolver.readSecretFile(path) {
        case .success(let data):
            let problems = ConfigLoader.certificateFileProblems(data)
            for problem in problems { t.error("certificate_file", "\(path) \(problem)") }
            return problems.isEmpty ? .certificate(path: path) : nil
        case .failure(.notFound):
            t.error(
                "certificate_file",
                SecretResolver.explain(
                    .notFound, rawPath: raw, path: path,
                    what: "the monitoring app's private key and certificate (one PEM file)"))
            return nil
        case .failure(let failure):
            t.error("certificate_file", failure.explain(path) + " (it holds a private key)")
            return nil
        }
    }

    /// What is missing from a certificate file: a PEM private key (RSA: client assertions
    /// are RS256/PS256) and a PEM certificate, each reported on its own. Judged by the PEM
    /// markers only — nothing of the content is ever quoted; the key itself is parsed when
    /// a token is requested.
    static func certificateFileProblems(_ data: Data) -> [String] {
        let text = String(decoding: data, as: UTF8.self)
        func block(_ label: String) -> Bool {
            guard let begin = text.range(of: "-----BEGIN \(label)-----") else { return false }
            return text.range(of: "-----END \(label)-----", range: begin.upperBound..<text.endIndex) != nil
        }
        var problems: [String] = []
        if block("PRIVATE KEY") || block("RSA PRIVATE KEY") {
            // usable
        } else if block("ENCRYPTED PRIVATE KEY") {
            problems.append(
                "holds an encrypted private key, and the daemon cannot be asked for a passphrase; store it unencrypted (openssl pkey -in OLD -out NEW) in a file of mode 0600"
            )
        } else if block("EC PRIVATE KEY") {
            problems.append(
                "holds an EC private key; the monitoring app's certificate needs an RSA key (client assertions are signed RS256/PS256): create one with openssl req -x509 -newkey rsa:2048"
            )
        } else {
            problems.append(
                "has no PEM private key (a PKCS #8 or PKCS #1 RSA key block); the file must hold the monitoring app's private key and its certificate, e.g. cat key.pem cert.pem > monitor.pem"
            )
        }
        if !block("CERTIFICATE") {
            problems.append(
                "has no PEM certificate (-----BEGIN CERTIFICATE-----); append the certificate uploaded to the monitoring app (Certificates & secrets), e.g. cat cert.pem >> the file"
            )
        }
        return problems
    }

    /// `"<value>" is not <what>`, or the value's shape when it looks like a pasted secret
    /// or URL (never quoted: tenant and client IDs sit next to the secret in the portal).
    private func notA(_ value: String, _ what: String, neither: Bool = false) -> String {
        if let note = Validators.pastedShapeNote(value, expected: neither ? "a tenant ID" : what) {
            return "the value (not shown) \(note)"
        }
        return "\"\(value)\" is \(neither ? "neither" : "not") \(what)"
    }
}
