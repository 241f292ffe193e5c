import ConnwatchCore
import Foundation

/// `[[connector]]` tables.
extension ConfigLoader {
    /// - Parameter observers: the `[[tenant]]` observers of the whole configuration: a
    ///   connector without `client_secret_*` is observed and valid only with one for its tenant.
    func readConnector(_ t: TableReader, observers: ObserverIndex = .init()) -> ConnectorConfig? {
        var ok = true
        let name = t.string("name")
        if let name {
            if Validators.isName(name) {
                t.label = "connector \"\(name)\""
            } else {
                t.error(
                    "name",
                    "\"\(name)\" is not a valid name; use 1 to 63 lowercase letters, digits and '-', e.g. \"contoso-onedrive\""
                )
                ok = false
            }
        } else if !t.has("name") {
            t.error("name", "missing; every connector needs a unique name, e.g. name = \"contoso-onedrive\"")
            ok = false
        } else {
            ok = false
        }

        var kind: ConnectorKind?
        if let v = t.string("kind") {
            kind = ConnectorKind(rawValue: v)
            if kind == nil {
                let kinds = ConnectorKind.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
                t.error("kind", "unknown kind \"\(v)\"; use one of \(kinds)")
                ok = false
            }
        } else if !t.has("kind") {
            t.error(
                "kind", "missing; set kind to one of \(ConnectorKind.allCases.map(\.rawValue).joined(separator: ", "))")
            ok = false
        } else {
            ok = false
        }

        func guid(_ key: String, what: String, required: Bool) -> String? {
            if let v = t.string(key) {
                if Validators.isGUID(v) { return v.lowercased() }
                t.error(key, "\"\(v)\" is not a GUID (8-4-4-4-12 hex digits); copy \(what)")
                ok = false
            } else if t.has(key) {
                ok = false
            } else if required {
                t.error(key, "missing; copy \(what)")
                ok = false
            }
            return nil
        }

        var tenant: String?
        if let v = t.string("tenant_id") {
            if Validators.isGUID(v) {
                tenant = v.lowercased()
            } else if Validators.isHostName(v) {
                tenant = v.lowercased()
            } else {
                t.error(
                    "tenant_id",
                    "\"\(v)\" is neither a GUID nor a tenant domain (e.g. contoso.onmicrosoft.com); copy the Directory (tenant) ID from the app's Overview page (reference step 1a)"
                )
                ok = false
            }
        } else if t.has("tenant_id") {
            ok = false
        } else {
            t.error(
                "tenant_id", "missing; copy the Directory (tenant) ID from the app's Overview page (reference step 1a)")
            ok = false
        }
        let client = guid(
            "client_id", what: "the Application (client) ID from the app's Overview page (reference step 1a)",
            required: true)

        let resolver = SecretResolver(
            credentialsDirectory: credentialsDirectory, baseDirectory: dir(t), resolve: resolveSecrets)
        // No client_secret_* at all: the connector is observed (SPEC §3b) — its tenant's
        // [[tenant]] observer checks it and connwatch holds no secret of its own.
        var secret: Secret?
        var observed = false
        switch resolver.resolve(
            t, base: "client_secret", inline: "client_secret", required: false, what: "the client secret",
            fix:
                "set client_secret_credential = \"<id>\" (a systemd credential) or client_secret_file = \"/path\" (mode 0600) holding the secret value from reference step 1b"
        )
        {
        case .secret(let s): secret = s
        case .absent: observed = true
        case .failed: ok = false
        }
        let observer = tenant.flatMap { observers.observer(of: $0) }
        if observed, observer == nil {
            let which = tenant.map { "tenant \($0)" } ?? "its tenant"
            var message =
                "missing, so the connector is observed (SPEC §3b), but no [[tenant]] observes \(which); add a [[tenant]] observer for \(which) (SPEC §3b) or set client_secret_credential = \"<id>\" (a systemd credential) or client_secret_file = \"/path\" (mode 0600) holding the secret value from reference step 1b"
            if !observers.byTenant.isEmpty {
                message +=
                    "; [[tenant]] observers are configured for \(observers.tenantList) (write tenant_id as there: the same GUID or domain)"
            }
            t.error("client_secret_credential", message)
            ok = false
        }

        var expires: CalendarDate?
        if let node = t.table["secret_expires"] {
            _ = t.has("secret_expires")
            switch node {
            case .string(let s):
                expires = CalendarDate(parsing: s)
                if expires == nil {
                    t.error(
                        "secret_expires",
                        "\"\(s)\" is not a date; use YYYY-MM-DD, the Expires date shown under Certificates & secrets")
                    ok = false
                }
            case .date(let y, let m, let d):
                expires = CalendarDate(year: y, month: m, day: d)
                if expires == nil { t.error("secret_expires", "not a valid date"); ok = false }
            default:
                t.error("secret_expires", "expected a date (\"YYYY-MM-DD\"), got \(node.typeName)")
                ok = false
            }
        }

        var keyFile: String?
        if let v = t.string("key_file") {
            if kind != nil, kind != .sharepoint {
                t.error("key_file", "only sharepoint connectors use a key file; remove it")
                ok = false
            } else {
                let path = resolver.absolute(v)
                switch SecretResolver.readSecretFile(path) {
                case .success:
                    keyFile = path
                case .failure(.notFound):
                    t.error(
                        "key_file",
                        SecretResolver.explain(.notFound, rawPath: v, path: path, what: "the private key JSON")
                            + "; create it with connwatchctl keyfile create (reference step 5)")
                    ok = false
                case .failure(let failure):
                    t.error("key_file", failure.explain(path) + " (it holds a private key)")
                    ok = false
                }
            }
        } else if !t.has("key_file"), kind == .sharepoint, !observed {
            t.error(
                "key_file",
                "missing; a sharepoint connector needs the private key JSON file of reference step 5 (connwatchctl keyfile create)"
            )
            ok = false
        }

        var spHost: String?
        if let v = t.string("sharepoint_host") {
            if kind != nil, kind != .sharepoint {
                t.error("sharepoint_host", "only sharepoint connectors use sharepoint_host; remove it")
                ok = false
            } else if Validators.isHostName(v) {
                spHost = v.lowercased()
            } else {
                t.error("sharepoint_host", "\"\(v)\" is not a host name; use e.g. \"contoso.sharepoint.com\"")
                ok = false
            }
        }

        var subscription: String?
        if t.has("subscription_id"), kind != nil, kind != .azureBlob {
            _ = t.string("subscription_id")
            t.error("subscription_id", "only azure-blob connectors use subscription_id; remove it")
            ok = false
        } else {
            subscription = guid(
                "subscription_id", what: "the subscription ID where the storage roles are assigned (reference step 3)",
                required: kind == .azureBlob)
            // The observer reads the roles with Reader on the subscriptions its [[tenant]] lists.
            if observed, let subscription, let observer, let listed = observer.subscriptions,
                !listed.contains(subscription)
            {
                t.error(
                    "subscription_id",
                    "\(subscription) is not in the subscriptions of the [[tenant]] observer for this tenant (\(observer.source)); add it there (and give the monitoring app Reader on it), or set client_secret_credential/client_secret_file for this connector"
                )
                ok = false
            }
        }

        var redirect: String?
        if let v = t.string("redirect_uri") {
            if Validators.isHTTPURL(v) {
                redirect = v
            } else {
                t.error(
                    "redirect_uri",
                    "\"\(v)\" is not an http(s) URL; use the Redirect URI registered on the app (reference step 1a), e.g. \"https://admin.zscalertwo.net/\""
                )
                ok = false
            }
        }
        var zscalerTenant: Int?
        if let v = t.int("zscaler_tenant_id", range: 1...Int(Int32.max)) {
            if kind == .mip {
                t.error(
                    "zscaler_tenant_id",
                    "MIP accounts are not SaaS application tenants and Zscaler has no API for them; remove the key")
                ok = false
            } else {
                zscalerTenant = v
            }
        } else if t.has("zscaler_tenant_id") {
            ok = false
        }
        let labels = t.stringTable("labels") ?? [:]
        for key in labels.keys.sorted() where !ConfigLoader.isLabelKey(key) {
            t.error("labels", "label name \"\(key)\" is invalid; use letters, digits and '_'")
            ok = false
        }
        t.finish(allowed: ConfigLoader.connectorKeys)

        guard ok, let name, let kind, let tenant, let client, secret != nil || observed else { return nil }
        var c = ConnectorConfig(
            name: name, kind: kind, tenantId: tenant, clientId: client, clientSecret: secret,
            source: SourceLocation(file: t.file, line: t.line(nil)))
        c.secretExpires = expires
        c.keyFile = keyFile
        c.sharePointHost = spHost ?? (kind == .sharepoint ? ConfigLoader.derivedSharePointHost(tenant: tenant) : nil)
        c.subscriptionId = subscription
        c.redirectURI = redirect
        c.zscalerTenantId = zscalerTenant
        c.labels = labels
        return c
    }

    /// `[zscaler]`: OneAPI client credentials (microsoft-facts §3.2). The audience is
    /// fixed by Zscaler, so it is refused as a key rather than silently ignored.
}
