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
        var connectorTables: [TableReader] = []
        var tenantTables: [TableReader] = []
        var webhookTables: [TableReader] = []
        var emailTables: [TableReader] = []

        // Main file.
        if let (root, lines) = parseFile(path, sink: sink) {
            let top = TableReader(table: root, file: path, lines: lines, path: "", label: "", sink: sink)
            if let t = section(top, "daemon") { config.daemon = readDaemon(t) }
            if let t = section(top, "cloud") { config.cloud = readCloud(t) }
            if let t = section(top, "alerts") { config.alerts = readAlerts(t) }
            if let t = section(top, "zscaler") { config.zscaler = readZscaler(t) }
            webhookTables = arrayOfTables(top, "webhook")
            emailTables = arrayOfTables(top, "email")
            tenantTables += arrayOfTables(top, "tenant")
            connectorTables += arrayOfTables(top, "connector")
            for key in root.keys.sorted()
            where !["daemon", "cloud", "alerts", "zscaler", "webhook", "email", "tenant", "connector"].contains(key) {
                sink.add(
                    ConfigError(
                        file: path, line: lines.line(key), key: key,
                        message:
                            "unknown table or key; the main file holds [daemon], [cloud], [alerts], [zscaler], [[webhook]], [[email]], [[tenant]] and [[connector]]"
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
            tenantTables += arrayOfTables(top, "tenant")
            connectorTables += arrayOfTables(top, "connector")
            for key in root.keys.sorted() where key != "connector" && key != "tenant" {
                sink.add(
                    ConfigError(
                        file: file, line: lines.line(key), key: key,
                        message:
                            "only [[connector]] and [[tenant]] tables belong in connectors.d/ files; move this to \((path as NSString).lastPathComponent)"
                    ))
            }
        }

        // Observers first: whether a connector without a secret is valid depends on them,
        // wherever they are (main file or any drop-in).
        let observers = readTenants(tenantTables, into: &config)

        // Connectors, with names unique across all files (checked even for connectors
        // with other errors, so every problem shows up in one run).
        var seen: [String: SourceLocation] = [:]
        var zscalerTenants: [Int: String] = [:]
        // An MSP's connectors share tenants (one per kind and customer): equal tenant IDs
        // share one string (a GUID is not a small string: ~80 bytes each).
        var tenantIds = Set<String>()
        config.connectors.reserveCapacity(connectorTables.count)
        for reader in connectorTables {
            var connector = readConnector(reader, observers: observers)
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

        checkObserverClientIds(tenantTables, connectorTables: connectorTables)

        // Webhooks, whose connector filters must name real connectors.
        var webhookNames: Set<String> = []
        for reader in webhookTables {
            guard let hook = readWebhook(reader, connectorNames: Set(seen.keys)) else {
                continue
            }
            if !webhookNames.insert(hook.name).inserted {
                reader.error("name", "duplicate webhook name; webhook names must be unique")
                continue
            }
            config.webhooks.append(hook)
        }

        // E-mail sinks, filtered by connectors like webhooks; names unique among them.
        var emailNames: Set<String> = []
        for reader in emailTables {
            guard let email = readEmail(reader, connectorNames: Set(seen.keys)) else { continue }
            if !emailNames.insert(email.name).inserted {
                reader.error("name", "duplicate email name; [[email]] names must be unique")
                continue
            }
            config.emails.append(email)
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

    // MARK: Helpers

    static let connectorKeys = [
        "name", "kind", "tenant_id", "client_id", "client_secret_credential", "client_secret_file", "secret_expires",
        "key_file", "sharepoint_host", "subscription_id", "redirect_uri", "zscaler_tenant_id", "labels",
    ]
    static let tenantKeys = [
        "tenant_id", "client_id", "certificate_file", "client_secret_credential", "client_secret_file",
        "subscriptions", "sign_in_logs", "sign_in_window", "sign_in_stale_after",
    ]
    static let zscalerKeys = [
        "token_endpoint", "api_base", "client_id", "client_secret_credential", "client_secret_file",
        "max_validation_age",
    ]
    static let webhookKeys = [
        "name", "url", "url_credential", "url_file", "secret_credential", "secret_file", "format", "min_severity",
        "connectors", "labels", "timeout",
    ]

    func dir(_ t: TableReader) -> String { (t.file as NSString).deletingLastPathComponent }

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

    func isAccountName(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 32 && s.first != "-"
            && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }
}
