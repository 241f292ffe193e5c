import ConnwatchCore
import Foundation

/// The result of a successful load: the configuration and the files it came from.
public struct LoadedConfiguration: Sendable {
    public var configuration: Configuration
    public var files: [String]
}

/// Loads `connwatch.toml` plus `connectors.d/*.toml` (in name order), validates every
/// key, resolves every secret, and reports all problems at once (SPEC §4).
public struct ConfigLoader: Sendable {
    public static let defaultPath = "/etc/connwatch/connwatch.toml"

    /// `$CREDENTIALS_DIRECTORY`, or the `--credentials-dir` override.
    public var credentialsDirectory: String?
    /// False: validate everything but read no secret (for commands that need none).
    public var resolveSecrets: Bool

    public init(credentialsDirectory: String?, resolveSecrets: Bool = true) {
        self.credentialsDirectory = credentialsDirectory
        self.resolveSecrets = resolveSecrets
    }

    /// The credentials directory from an override, else the environment.
    public static func credentialsDirectory(override: String?, environment: [String: String]) -> String? {
        if let override, !override.isEmpty { return override }
        if let env = environment["CREDENTIALS_DIRECTORY"], !env.isEmpty { return env }
        return nil
    }

    /// `[daemon] socket` of the main file at `path`, when the file is readable, parses and
    /// sets a valid one; nil otherwise (the caller falls back to the default). For
    /// connwatchctl, which needs only this key and may not be allowed to read secrets.
    public static func configuredSocket(path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8),
            let root = try? TOMLNode.parse(text), case .table(let daemon)? = root["daemon"],
            case .string(let socket)? = daemon["socket"], socket.hasPrefix("/"), socket.utf8.count <= 107
        else { return nil }
        return socket
    }

    public func load(path: String) throws(ConfigErrors) -> LoadedConfiguration {
        let sink = ErrorSink()
        var config = Configuration()
        var files: [String] = [path]
        var connectorTables: [(TableReader, Int)] = []
        var webhookTables: [TableReader] = []

        // Main file.
        if let (root, lines) = parseFile(path, sink: sink) {
            let top = TableReader(table: root, file: path, lines: lines, path: "", label: "", sink: sink)
            if let t = section(top, "daemon") { config.daemon = readDaemon(t) }
            if let t = section(top, "cloud") { config.cloud = readCloud(t) }
            if let t = section(top, "alerts") { config.alerts = readAlerts(t) }
            if let t = section(top, "zscaler") { config.zscaler = readZscaler(t) }
            webhookTables = arrayOfTables(top, "webhook")
            connectorTables += arrayOfTables(top, "connector").enumerated().map { ($1, $0) }
            for key in root.keys.sorted()
            where !["daemon", "cloud", "alerts", "zscaler", "webhook", "connector"].contains(key) {
                sink.add(
                    ConfigError(
                        file: path, line: lines.line(key), key: key,
                        message:
                            "unknown table or key; the main file holds [daemon], [cloud], [alerts], [zscaler], [[webhook]] and [[connector]]"
                    ))
            }
        }

        // Drop-ins.
        let dropInDir = ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(
            "connectors.d")
        for file in dropIns(dropInDir, sink: sink) {
            files.append(file)
            guard let (root, lines) = parseFile(file, sink: sink) else { continue }
            let top = TableReader(table: root, file: file, lines: lines, path: "", label: "", sink: sink)
            connectorTables += arrayOfTables(top, "connector").enumerated().map { ($1, $0) }
            for key in root.keys.sorted() where key != "connector" {
                sink.add(
                    ConfigError(
                        file: file, line: lines.line(key), key: key,
                        message:
                            "only [[connector]] tables belong in connectors.d/ files; move this to \((path as NSString).lastPathComponent)"
                    ))
            }
        }

        // Connectors, with names unique across all files (checked even for connectors
        // with other errors, so every problem shows up in one run).
        var seen: [String: SourceLocation] = [:]
        var zscalerTenants: [Int: String] = [:]
        // An MSP's connectors share tenants (one per kind and customer): equal tenant IDs
        // share one string (a GUID is not a small string: ~80 bytes each).
        var tenantIds = Set<String>()
        config.connectors.reserveCapacity(connectorTables.count)
        for (reader, _) in connectorTables {
            var connector = readConnector(reader)
            if let tenant = connector?.tenantId {
                connector?.tenantId = tenantIds.insert(tenant).memberAfterInsert
            }
            if let id = connector?.zscalerTenantId, let name = connector?.name {
                if config.zscaler == nil {
                    reader.error(
                        "zscaler_tenant_id",
                        "set, but there is no [zscaler] table; add [zscaler] (token_endpoint, api_base, client_id, client_secret_credential) to the main file, or remove the key"
                    )
                } else if let other = zscalerTenants[id], other != name {
                    reader.error(
                        "zscaler_tenant_id",
                        "\(id) is already the Zscaler tenant of connector \"\(other)\"; each SaaS tenant is authorized with one connector")
                } else {
                    zscalerTenants[id] = name
                }
            }
            guard case .string(let name) = reader.table["name"], Validators.isName(name) else { continue }
            if let first = seen[name] {
                sink.add(
                    ConfigError(
                        file: reader.file, line: reader.line("name"), key: reader.keyName("name"),
                        message: "duplicate connector name (first defined at \(first)); connector names must be unique")
                )
                continue
            }
            seen[name] = SourceLocation(file: reader.file, line: reader.line(nil))
            if let connector { config.connectors.append(connector) }
        }

        // Webhooks, whose connector filters must name real connectors.
        var webhookNames: Set<String> = []
        for reader in webhookTables {
            guard let hook = readWebhook(reader, connectorNames: Set(seen.keys), connectorsValid: true) else {
                continue
            }
            if !webhookNames.insert(hook.name).inserted {
                reader.error("name", "duplicate webhook name; webhook names must be unique")
                continue
            }
            config.webhooks.append(hook)
        }

        if !sink.errors.isEmpty {
            // Report in reading order: file by file, top to bottom (a stable sort keeps
            // the order of errors on one line, and those without a line, as found).
            let order = Dictionary(files.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            let sorted = sink.errors.enumerated().sorted { a, b in
                let fa = order[a.element.file] ?? Int.max, fb = order[b.element.file] ?? Int.max
                if fa != fb { return fa < fb }
                let la = a.element.line ?? 0, lb = b.element.line ?? 0
                return la != lb ? la < lb : a.offset < b.offset
            }
            throw ConfigErrors(sorted.map(\.element))
        }
        return LoadedConfiguration(configuration: config, files: files)
    }

    // MARK: Files

    private func parseFile(_ path: String, sink: ErrorSink) -> ([String: TOMLNode], TOMLLines)? {
        guard let data = FileManager.default.contents(atPath: path) else {
            let why = FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"
            sink.add(ConfigError(file: path, line: nil, key: "", message: "cannot read the file: \(why)"))
            return nil
        }
        guard let text = String(data: data, encoding: .utf8) else {
            sink.add(ConfigError(file: path, line: nil, key: "", message: "not UTF-8 text"))
            return nil
        }
        do {
            return try TOMLNode.parseDocument(text)
        } catch {
            sink.add(ConfigError(file: path, line: error.line, key: "", message: "TOML syntax error: \(error.message)"))
            return nil
        }
    }

    private func dropIns(_ dir: String, sink: ErrorSink) -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else { return [] }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else {
            sink.add(ConfigError(file: dir, line: nil, key: "", message: "cannot list the directory"))
            return []
        }
        return names.filter { $0.hasSuffix(".toml") && !$0.hasPrefix(".") }.sorted()
            .map { (dir as NSString).appendingPathComponent($0) }
    }

    private func section(_ top: TableReader, _ name: String) -> TableReader? {
        guard let node = top.table[name] else { return nil }
        guard case .table(let t) = node else {
            top.error(name, "expected a table [\(name)], got \(node.typeName)")
            return nil
        }
        return TableReader(table: t, file: top.file, lines: top.lines, path: name, label: name, sink: top.sink)
    }

    private func arrayOfTables(_ top: TableReader, _ name: String) -> [TableReader] {
        guard let node = top.table[name] else { return [] }
        switch node {
        case .array(let items):
            var out: [TableReader] = []
            for (i, item) in items.enumerated() {
                guard case .table(let t) = item else {
                    top.error(name, "expected [[\(name)]] tables, found \(item.typeName)")
                    continue
                }
                out.append(
                    TableReader(
                        table: t, file: top.file, lines: top.lines, path: "\(name)#\(i)",
                        label: "\(name) #\(i + 1)", sink: top.sink))
            }
            return out
        default:
            top.error(
                name, "expected [[\(name)]] (an array of tables), got [\(name)] (\(node.typeName)); write [[\(name)]]")
            return []
        }
    }

    // MARK: Sections

    /// Why a `proxy` value cannot be used, or nil. The value itself is never quoted: a proxy
    /// URL may carry a password.
    static func proxyProblem(_ v: String) -> String? {
        guard let url = URL(string: v), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty,
            ["http", "https"].contains(scheme)
        else { return "not an http:// URL (e.g. \"http://proxy.example:3128\")" }
        if url.user != nil || url.password != nil {
            return "credentials in the proxy URL are refused (the configuration is readable by the connwatch group): remove them and store user:password in a credential, proxy_credential = \"<id>\""
        }
        if scheme == "https" {
            return "an https:// proxy (TLS to the proxy itself) is not supported; use the proxy's http:// address: every tunnel through it to Microsoft, Zscaler and webhooks is TLS end to end"
        }
        return nil
    }


    private func readDaemon(_ t: TableReader) -> DaemonSettings {
        var d = DaemonSettings()
        if let v = t.duration("check_interval", minimum: .seconds(10)) { d.checkInterval = v }
        if let v = t.int("concurrency", range: 1...1024) { d.concurrency = v }
        if let v = t.string("database") {
            if v.hasPrefix("/") { d.database = v } else { t.error("database", "\"\(v)\" must be an absolute path") }
        }
        if let v = t.string("socket") {
            if !v.hasPrefix("/") {
                t.error("socket", "\"\(v)\" must be an absolute path")
            } else if v.utf8.count > 107 {
                t.error("socket", "path is \(v.utf8.count) bytes; a Unix socket path has at most 107")
            } else {
                d.socket = v
            }
        }
        if let v = t.string("socket_group") {
            if isAccountName(v) { d.socketGroup = v } else { t.error("socket_group", "\"\(v)\" is not a group name") }
        }
        if let v = t.duration("history_retention", minimum: .days(1)) { d.historyRetention = v }
        if let v = t.string("ca_file") {
            let path = SecretResolver(credentialsDirectory: nil, baseDirectory: dir(t)).absolute(v)
            if let data = FileManager.default.contents(atPath: path) {
                if String(decoding: data, as: UTF8.self).contains("-----BEGIN CERTIFICATE-----") {
                    d.caFile = path
                } else {
                    t.error("ca_file", "\(path) holds no PEM certificate (-----BEGIN CERTIFICATE-----); give a PEM file of extra trust anchors")
                }
            } else {
                t.error("ca_file", "\(path): no such file or not readable; give a PEM file of extra trust anchors")
            }
        }
        if let v = t.string("proxy") {
            if let problem = ConfigLoader.proxyProblem(v) {
                t.error("proxy", problem)
            } else {
                d.proxy = v
            }
        }
        let resolver = SecretResolver(
            credentialsDirectory: credentialsDirectory, baseDirectory: dir(t), resolve: resolveSecrets)
        if case .secret(let s) = resolver.resolve(
            t, base: "proxy", inline: nil, required: false, what: "the proxy's user:password", fix: "")
        {
            if !resolveSecrets || s.withValue({ $0.contains(":") && !$0.hasPrefix(":") }) {
                d.proxyCredentials = s
            } else {
                t.error(
                    t.has("proxy_credential") ? "proxy_credential" : "proxy_file",
                    "the stored value must be user:password (it is not shown)")
            }
            if !t.has("proxy") {
                t.error(
                    t.has("proxy_credential") ? "proxy_credential" : "proxy_file",
                    "set proxy = \"http://host:port\" too; the credentials are for that proxy (the environment's HTTPS_PROXY is not given them)"
                )
            }
        }
        if let v = t.stringArray("operators") {
            for op in v {
                let name = op.hasPrefix("@") ? String(op.dropFirst()) : op
                if !isAccountName(name) {
                    t.error("operators", "\"\(op)\" is neither a user name nor an @group")
                }
            }
            d.operators = v
        }
        if let v = t.int("failure_threshold", range: 1...100) { d.failureThreshold = v }
        t.finish()
        return d
    }

    private func readCloud(_ t: TableReader) -> CloudSettings {
        var name = CloudName.global
        if let v = t.string("name") {
            if let c = CloudName(rawValue: v) {
                name = c
            } else {
                t.error("name", "unknown cloud \"\(v)\"; use \"global\", \"usgov\" or \"china\"")
            }
        }
        var endpoints = name.defaultEndpoints
        func endpoint(_ key: String, _ set: (inout CloudEndpoints, String) -> Void) {
            guard let v = t.string(key) else { return }
            if Validators.isHTTPURL(v, allowHTTP: false) {
                set(&endpoints, v.hasSuffix("/") ? String(v.dropLast()) : v)
            } else {
                t.error(key, "\"\(v)\" is not an https:// URL")
            }
        }
        endpoint("login_endpoint") { $0.login = $1 }
        endpoint("graph_endpoint") { $0.graph = $1 }
        endpoint("management_endpoint") { $0.management = $1 }
        endpoint("office_management_endpoint") { $0.officeManagement = $1 }
        endpoint("sharepoint_endpoint") { $0.sharePoint = $1 }
        t.finish()
        return CloudSettings(name: name, endpoints: endpoints)
    }

    private func readAlerts(_ t: TableReader) -> AlertSettings {
        var a = AlertSettings()
        let warning = t.int("warning_days", range: 0...3650)
        let critical = t.int("critical_days", range: 0...3650)
        if let warning { a.warningDays = warning }
        if let critical { a.criticalDays = critical }
        if warning != nil || critical != nil, a.criticalDays >= a.warningDays {
            t.error(
                critical != nil ? "critical_days" : "warning_days",
                "thresholds out of order: critical_days (\(a.criticalDays)) must be less than warning_days (\(a.warningDays))"
            )
        }
        if let ladder = t.intArray("ladder_days") {
            if ladder.isEmpty {
                t.error("ladder_days", "must list at least one day count, e.g. [60, 30, 14, 7, 3, 1, 0]")
            } else if ladder.contains(where: { $0 < 0 || $0 > 3650 }) {
                t.error("ladder_days", "day counts must be between 0 and 3650")
            } else if zip(ladder, ladder.dropFirst()).contains(where: { $0 <= $1 }) {
                t.error(
                    "ladder_days",
                    "thresholds out of order: list distinct day counts from largest to smallest, e.g. [60, 30, 14, 7, 3, 1, 0]"
                )
            } else {
                a.ladderDays = ladder
            }
        }
        if let v = t.duration("repeat_critical", minimum: .minutes(1)) { a.repeatCritical = v }
        if let v = t.bool("send_resolved") { a.sendResolved = v }
        t.finish()
        return a
    }

    private func readWebhook(_ t: TableReader, connectorNames: Set<String>, connectorsValid: Bool) -> WebhookConfig? {
        var ok = true
        let name = t.string("name")
        if let name {
            if Validators.isName(name) {
                t.label = "webhook \"\(name)\""
            } else {
                t.error("name", "\"\(name)\" is not a valid name; use lowercase letters, digits and '-'")
                ok = false
            }
        } else if !t.has("name") {
            t.error("name", "missing; give the webhook a name, e.g. name = \"soc\"")
            ok = false
        } else {
            ok = false
        }
        let resolver = SecretResolver(
            credentialsDirectory: credentialsDirectory, baseDirectory: dir(t), resolve: resolveSecrets)
        var url: Secret?
        if let inline = t.string("url") {
            if t.has("url_credential") || t.has("url_file") {
                t.error("url", "set one of url, url_credential or url_file, not several")
                _ = t.string("url_credential")
                _ = t.string("url_file")
                ok = false
            } else if Validators.isHTTPURL(inline) {
                url = Secret(inline)
            } else {
                t.error("url", "not an http:// or https:// URL")
                ok = false
            }
        } else if t.has("url") {
            ok = false
        } else {
            switch resolver.resolve(
                t, base: "url", inline: nil, required: true, what: "the webhook URL",
                fix: "set url = \"https://…\", or url_credential = \"<id>\" when the URL holds a token (Slack, Teams)")
            {
            case .secret(let s):
                if !resolveSecrets || s.withValue({ Validators.isHTTPURL($0) }) {
                    url = s
                } else {
                    t.error(
                        t.has("url_credential") ? "url_credential" : "url_file",
                        "the stored URL is not an http:// or https:// URL")
                    ok = false
                }
            case .absent, .failed: ok = false
            }
        }

        var signing: [Secret] = []
        if t.has("secret") {
            t.error(
                "secret",
                "inline secrets are refused; store the whsec_ key in a systemd credential and set secret_credential = \"<id>\" (or secret_file = \"/path\", mode 0600)"
            )
            ok = false
        }
        let credIDs = t.stringOrStringArray("secret_credential") ?? []
        let files = t.stringOrStringArray("secret_file") ?? []
        for id in credIDs {
            if case .secret(let s) = resolver.fromCredential(
                t, key: "secret_credential", id: id, what: "the signing key")
            {
                signing.append(s)
            } else {
                ok = false
            }
        }
        for f in files {
            if case .secret(let s) = resolver.fromFile(t, key: "secret_file", path: f, what: "the signing key") {
                signing.append(s)
            } else {
                ok = false
            }
        }
        for (i, s) in signing.enumerated() where resolveSecrets && !ConfigLoader.isStandardWebhooksKey(s) {
            let key = i < credIDs.count ? "secret_credential" : "secret_file"
            t.error(
                key,
                "the signing key is not a Standard Webhooks key; expected \"whsec_\" followed by base64 of 24 to 64 random bytes"
            )
            ok = false
        }

        var format = WebhookFormat.standard
        if let v = t.string("format") {
            if let f = WebhookFormat(rawValue: v) {
                format = f
            } else {
                t.error("format", "unknown format \"\(v)\"; use \"standard\", \"slack\" or \"teams\"")
                ok = false
            }
        }
        // A Slack or Teams incoming-webhook URL is itself the credential (its path carries
        // the token): it may not sit in the configuration, which the connwatch group reads.
        if format != .standard, t.has("url") {
            t.error(
                "url",
                "an inline url is refused for \(format.rawValue) webhooks: their URL carries a token; store it in a systemd credential and set url_credential = \"<id>\" (or url_file = \"/path\", mode 0600)"
            )
            ok = false
        }
        var minSeverity = Severity.warning
        if let v = t.string("min_severity") {
            if let s = Severity(rawValue: v) {
                minSeverity = s
            } else {
                t.error("min_severity", "unknown severity \"\(v)\"; use \"info\", \"warning\" or \"critical\"")
                ok = false
            }
        }
        let connectors = t.stringArray("connectors") ?? []
        if connectorsValid {
            for c in connectors where !connectorNames.contains(c) {
                t.error("connectors", "\"\(c)\" is not a configured connector")
                ok = false
            }
        }
        let labels = t.stringTable("labels") ?? [:]
        let timeout = t.duration("timeout", minimum: .seconds(1))
        if let timeout, timeout > .minutes(5) {
            t.error("timeout", "\(timeout) is too long; use at most 5m")
            ok = false
        }
        t.finish(allowed: ConfigLoader.webhookKeys)
        guard ok, let name, let url else { return nil }
        var hook = WebhookConfig(
            name: name, url: url, signingSecrets: signing, source: SourceLocation(file: t.file, line: t.line(nil)))
        hook.format = format
        hook.minSeverity = minSeverity
        hook.connectors = connectors
        hook.labels = labels
        if let timeout { hook.timeout = timeout }
        return hook
    }

    private func readConnector(_ t: TableReader) -> ConnectorConfig? {
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
        var secret: Secret?
        switch resolver.resolve(
            t, base: "client_secret", inline: "client_secret", required: true, what: "the client secret",
            fix:
                "set client_secret_credential = \"<id>\" (a systemd credential) or client_secret_file = \"/path\" (mode 0600) holding the secret value from reference step 1b"
        )
        {
        case .secret(let s): secret = s
        case .absent, .failed: ok = false
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
        } else if !t.has("key_file"), kind == .sharepoint {
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

        guard ok, let name, let kind, let tenant, let client, let secret else { return nil }
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
    private func readZscaler(_ t: TableReader) -> ZscalerSettings? {
        var ok = true
        func url(_ key: String, example: String) -> String? {
            if let v = t.string(key) {
                if Validators.isHTTPURL(v, allowHTTP: false) { return v.hasSuffix("/") ? String(v.dropLast()) : v }
                t.error(key, "\"\(v)\" is not an https:// URL (e.g. \"\(example)\")")
                ok = false
            } else if t.has(key) {
                ok = false
            } else {
                t.error(key, "missing; e.g. \(key) = \"\(example)\"")
                ok = false
            }
            return nil
        }
        let token = url("token_endpoint", example: "https://example.zslogin.net/oauth2/v1/token")
        let api = url("api_base", example: "https://api.zsapi.net/zia/api/v1")
        var clientId: String?
        if let v = t.string("client_id") {
            if ConfigLoader.isOneAPIClientID(v) {
                clientId = v
            } else {
                t.error(
                    "client_id",
                    "\"\(v)\" is not an API client ID (letters, digits, '-', '_' and '.', up to 128); copy it from ZIdentity > API Clients")
                ok = false
            }
        } else if t.has("client_id") {
            ok = false
        } else {
            t.error("client_id", "missing; the ID of the OneAPI client (ZIdentity > Integration > API Clients)")
            ok = false
        }
        if t.has("audience") {
            t.error("audience", "the OneAPI audience is fixed (\(ZscalerSettings.audience)); remove the key")
            ok = false
        }
        let resolver = SecretResolver(
            credentialsDirectory: credentialsDirectory, baseDirectory: dir(t), resolve: resolveSecrets)
        var secret: Secret?
        switch resolver.resolve(
            t, base: "client_secret", inline: "client_secret", required: true, what: "the OneAPI client secret",
            fix:
                "set client_secret_credential = \"<id>\" (a systemd credential) or client_secret_file = \"/path\" (mode 0600) holding the API client's secret"
        ) {
        case .secret(let s): secret = s
        case .absent, .failed: ok = false
        }
        let age = t.duration("max_validation_age", minimum: .hours(1))
        if t.has("max_validation_age"), age == nil { ok = false }
        t.finish(allowed: ConfigLoader.zscalerKeys)
        guard ok, let token, let api, let clientId, let secret else { return nil }
        var z = ZscalerSettings(
            tokenEndpoint: token, apiBase: api, clientId: clientId, clientSecret: secret,
            source: SourceLocation(file: t.file, line: t.line(nil)))
        if let age { z.maxValidationAge = age }
        return z
    }

    static func isOneAPIClientID(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 128 && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }

    // MARK: Helpers

    static let connectorKeys = [
        "name", "kind", "tenant_id", "client_id", "client_secret_credential", "client_secret_file", "secret_expires",
        "key_file", "sharepoint_host", "subscription_id", "redirect_uri", "zscaler_tenant_id", "labels",
    ]
    static let zscalerKeys = [
        "token_endpoint", "api_base", "client_id", "client_secret_credential", "client_secret_file",
        "max_validation_age",
    ]
    static let webhookKeys = [
        "name", "url", "url_credential", "url_file", "secret_credential", "secret_file", "format", "min_severity",
        "connectors", "labels", "timeout",
    ]

    private func dir(_ t: TableReader) -> String { (t.file as NSString).deletingLastPathComponent }

    /// `contoso.onmicrosoft.com` → `contoso.sharepoint.com`; nil for GUID tenants.
    static func derivedSharePointHost(tenant: String) -> String? {
        let suffix = ".onmicrosoft.com"
        guard tenant.hasSuffix(suffix) else { return nil }
        let prefix = tenant.dropLast(suffix.count)
        guard !prefix.isEmpty, !prefix.contains(".") else { return nil }
        return "\(prefix).sharepoint.com"
    }

    static func isLabelKey(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 63 && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }

    /// `whsec_` + base64 of 24–64 bytes (ops-facts §2.1).
    static func isStandardWebhooksKey(_ s: Secret) -> Bool {
        s.withValue { v in
            guard v.hasPrefix("whsec_"), let data = Data(base64Encoded: String(v.dropFirst(6))) else { return false }
            return (24...64).contains(data.count)
        }
    }

    private func isAccountName(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 32 && s.first != "-"
            && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }
}
