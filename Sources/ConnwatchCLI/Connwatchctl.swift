import ArgumentParser
import ConnwatchConfig
import ConnwatchCore
import Foundation

/// `connwatchctl`: the operator's command line.
public struct Connwatchctl: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "connwatchctl",
        abstract: "Ask connwatchd about Microsoft custom connectors, and manage it.",
        discussion: """
            Commands that talk to connwatchd use its control socket (--socket, $CONNWATCH_SOCKET, \
            [daemon] socket of --config (default \(ConfigLoader.defaultPath)), else \(DaemonSettings.defaultSocket)). \
            Exit codes: 0 success, 64 usage error (or an unknown \
            connector), 65 invalid key file, 69 connwatchd unreachable, 70 internal error, 77 permission \
            denied, 78 configuration error; nagios exits 0/1/2/3.
            """,
        subcommands: [
            StatusCommand.self, HistoryCommand.self, CheckCommand.self, AlertsCommand.self, SilenceCommand.self,
            UnsilenceCommand.self, DeliveriesCommand.self, ReloadCommand.self, NagiosCommand.self,
            ConfigCommand.self, ConsentURLCommand.self, PermissionsCommand.self, ReauthorizeCommand.self,
            KeyFileCommand.self, EmailCommand.self, ReportCommand.self,
        ]
    )

    public init() {}

    /// `connwatchctl --socket P status` → `connwatchctl status --socket P`: ArgumentParser
    /// reads a subcommand's options after its name, while operators type global options
    /// (`--socket`, `--config`, `--json`) first — before any command, local ones included.
    /// Each global is handed to the command that declares it; one that does not concern the
    /// command (`--socket` of `keyfile inspect`, which talks to no daemon) is dropped, not
    /// an "Unknown option". After the command's name they remain the command's own options.
    public static func hoistingGlobalOptions(_ arguments: [String]) -> [String] {
        var globals: [(option: GlobalOption, arguments: ArraySlice<String>)] = []
        var rest = arguments[...]
        while let first = rest.first, let option = GlobalOption(first) {
            let count = option.takesValue && !first.contains("=") ? 2 : 1
            guard rest.count >= count else { break }
            globals.append((option, rest.prefix(count)))
            rest = rest.dropFirst(count)
        }
        guard !globals.isEmpty else { return arguments }
        var out = Array(rest)
        let accepted = command(at: out).map(GlobalOption.declared(by:)) ?? Set(GlobalOption.allCases)
        let hoisted = globals.filter { accepted.contains($0.option) }.flatMap(\.arguments)
        out.insert(contentsOf: hoisted, at: out.firstIndex(of: "--") ?? out.endIndex)
        return out
    }

    /// The command the arguments run (through default subcommands: `deliveries` is
    /// `deliveries list`); nil when they name none.
    static func command(at arguments: [String]) -> ParsableCommand.Type? {
        var command: ParsableCommand.Type = Connwatchctl.self
        for word in arguments {
            guard
                let sub = command.configuration.subcommands.first(where: {
                    $0._commandName == word || $0.configuration.aliases.contains(word)
                })
            else { break }
            command = sub
        }
        guard command != Connwatchctl.self else { return nil }
        while let sub = command.configuration.defaultSubcommand { command = sub }
        return command
    }
}

/// An option every connwatchctl command accepts before its name (see
/// ``Connwatchctl/hoistingGlobalOptions(_:)``).
enum GlobalOption: String, CaseIterable, Sendable {
    case socket, config, json

    /// The option `argument` spells (`--socket`, `--socket=P`, `--json`…), if any.
    init?(_ argument: String) {
        guard argument.hasPrefix("--") else { return nil }
        let name = argument.dropFirst(2).prefix { $0 != "=" }
        guard let option = GlobalOption(rawValue: String(name)) else { return nil }
        // A flag takes no `=value`.
        if option == .json && name.count + 2 != argument.count { return nil }
        self = option
    }

    var takesValue: Bool { self != .json }

    /// The global options `command` declares as its own. The daemon commands take all three
    /// (``DaemonOptions``); the others are listed. A test parses every command with each
    /// option to keep this table true.
    static func declared(by command: ParsableCommand.Type) -> Set<GlobalOption> {
        switch command {
        case is NagiosCommand.Type, is ReportCommand.Type: [.socket, .config]
        case is ConfigCheckCommand.Type, is ConsentURLCommand.Type, is EmailTestCommand.Type: [.config, .json]
        case is PermissionsCommand.Type, is KeyFileInspect.Type: [.json]
        case is ReauthorizeCommand.Type, is KeyFileCreate.Type: []
        default: Set(allCases)
        }
    }
}

extension ConnectorKind: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

/// What `permissions` describes: a connector kind, or the monitoring app of an observer.
enum PermissionsSubject: Equatable, ExpressibleByArgument {
    case kind(ConnectorKind)
    /// `[[tenant]]`'s monitoring app (SPEC §3b).
    case observer

    init?(argument: String) {
        if argument == "observer" {
            self = .observer
        } else if let kind = ConnectorKind(rawValue: argument) {
            self = .kind(kind)
        } else {
            return nil
        }
    }

    static var allValueStrings: [String] { ConnectorKind.allValueStrings + ["observer"] }
}

struct PermissionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "permissions",
        abstract:
            "Print the API permissions, Zscaler actions and roles a connector kind needs, or what an observer's monitoring app needs."
    )

    @Argument(
        help:
            "Connector kind (\(ConnectorKind.allCases.map(\.rawValue).joined(separator: ", "))), or observer: the monitoring app of a [[tenant]]."
    )
    var subject: PermissionsSubject

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func run() throws {
        switch subject {
        case .kind(let kind):
            print(json ? PermissionsReport.json(kind) : PermissionsReport.text(kind), terminator: "")
        case .observer:
            print(json ? ObserverPermissionsReport.json() : ObserverPermissionsReport.text(), terminator: "")
        }
    }
}

/// Where to re-authorize a connector in the Zscaler Admin Portal (reference step 4), and
/// what Zscaler's validation error codes mean: the `zscaler` check's remediation in full.
struct ReauthorizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reauthorize",
        abstract: "Print where and how to re-authorize a connector in the Zscaler Admin Portal (step 4).")

    func run() throws {
        print(ZscalerHelp.text())
    }
}

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Configuration commands.", subcommands: [ConfigCheckCommand.self])
}

struct ConfigCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate the configuration and its secrets; exit 0, or 78 with every error listed.")

    @Option(name: .long, help: "Main configuration file.")
    var config: String = ConfigLoader.defaultPath

    @Option(name: .long, help: "Directory of credentials (default: $CREDENTIALS_DIRECTORY).")
    var credentialsDir: String?

    @Flag(name: .long, help: "Print JSON: {schema_version, valid, files, tenants, connectors, errors}.")
    var json = false

    func run() throws {
        let dir = ConfigLoader.credentialsDirectory(
            override: credentialsDir, environment: ProcessInfo.processInfo.environment)
        try Self.outcome(config: config, credentialsDirectory: dir, json: json).emit()
    }

    struct Report: Encodable {
        struct Connector: Encodable {
            let name: String
            let kind: String
            let tenant_id: String
            /// No secret held: checked by its tenant's observer (SPEC §3b).
            let observed: Bool
            let source: String
        }
        /// A `[[tenant]]` observer (never a secret, only which kind of credential).
        struct Tenant: Encodable {
            let tenant_id: String
            let client_id: String
            let credential: String
            let subscriptions: [String]
            let sign_in_logs: Bool
            let source: String
        }
        let schema_version = 1
        let valid: Bool
        let files: [String]
        let tenants: [Tenant]
        let connectors: [Connector]
        let errors: [ControlAPI.ConfigProblem]
    }

    static func outcome(config: String, credentialsDirectory: String?, json: Bool) -> Outcome {
        guard json else {
            let result = ConfigCheckReport.run(configPath: config, credentialsDirectory: credentialsDirectory)
            return result.isError
                ? Outcome(stderr: result.text, exitCode: result.exitCode) : Outcome(stdout: result.text)
        }
        let report: Report
        do {
            let loaded = try ConfigLoader(credentialsDirectory: credentialsDirectory).load(path: config)
            report = Report(
                valid: true, files: loaded.files,
                tenants: loaded.configuration.tenants.map {
                    .init(
                        tenant_id: $0.tenantId, client_id: $0.clientId,
                        credential: $0.credential.isCertificate ? "certificate" : "secret",
                        subscriptions: $0.subscriptions, sign_in_logs: $0.signInLogs, source: $0.source.description)
                },
                connectors: loaded.configuration.connectors.map {
                    .init(
                        name: $0.name, kind: $0.kind.rawValue, tenant_id: $0.tenantId, observed: $0.isObserved,
                        source: $0.source.description)
                }, errors: [])
        } catch {
            report = Report(
                valid: false, files: [], tenants: [], connectors: [],
                errors: error.errors.map { .init(file: $0.file, line: $0.line, key: $0.key, message: $0.message) })
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let text = String(decoding: (try? encoder.encode(report)) ?? Data(), as: UTF8.self) + "\n"
        return Outcome(stdout: text, exitCode: report.valid ? 0 : ConfigCheckReport.exitConfigError)
    }
}

struct ConsentURLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consent-url",
        abstract:
            "Print the admin-consent URL for a connector (reference step 4, corrected), or for an observer's monitoring app."
    )

    @Argument(help: "Connector name.")
    var name: String?

    @Option(
        name: .customLong("observer"),
        help: "Instead of a connector: the monitoring app of the [[tenant]] with this tenant_id.")
    var observerTenant: String?

    @Option(
        name: .long,
        help: "With --observer: a Redirect URI registered on the monitoring app (it must match exactly).")
    var redirectURI: String?

    @Flag(
        name: .long, help: "For an MIP account (state=administration/mip-labels); default: from the connector's kind.")
    var mip = false

    @Option(name: .long, help: "Main configuration file.")
    var config: String = ConfigLoader.defaultPath

    @Flag(name: .long, help: "Print JSON: {schema_version, connector, purpose, url}.")
    var json = false

    func validate() throws {
        switch (name, observerTenant) {
        case (nil, nil): throw ValidationError("give a connector NAME or --observer TENANT_ID")
        case (.some, .some): throw ValidationError("give a connector NAME or --observer TENANT_ID, not both")
        case (nil, .some):
            if mip { throw ValidationError("--mip is for connectors; the monitoring app has no Zscaler purpose") }
        case (.some, nil):
            if redirectURI != nil {
                throw ValidationError("--redirect-uri goes with --observer; a connector's comes from its redirect_uri")
            }
        }
    }

    func run() throws {
        if let observerTenant {
            try Self.observerOutcome(tenant: observerTenant, redirectURI: redirectURI, config: config, json: json)
                .emit()
        } else if let name {
            try Self.outcome(name: name, mip: mip, config: config, json: json).emit()
        }
    }

    /// `consent-url --observer TENANT_ID`: the monitoring app's client ID comes from the
    /// configuration's `[[tenant]]` for that tenant.
    static func observerOutcome(tenant: String, redirectURI: String?, config: String, json: Bool) -> Outcome {
        let loaded: LoadedConfiguration
        do {
            loaded = try ConfigLoader(credentialsDirectory: nil, resolveSecrets: false).load(path: config)
        } catch {
            return Outcome(stderr: error.description + "\n", exitCode: ConfigCheckReport.exitConfigError)
        }
        let cfg = loaded.configuration
        guard let observer = cfg.observer(forTenant: tenant) else {
            let known =
                cfg.tenants.isEmpty
                ? "it has no [[tenant]] at all" : "observers: \(cfg.tenants.map(\.tenantId).joined(separator: ", "))"
            return Outcome(
                stderr:
                    "connwatchctl: no [[tenant]] observer for tenant \"\(tenant)\" in \(config) (\(known)); add one with the monitoring app's client_id (connwatchctl permissions observer), or give the tenant_id as written there\n",
                exitCode: Exit.usage)
        }
        if let redirectURI, !Validators.isHTTPURL(redirectURI) {
            return Outcome(
                stderr: "connwatchctl: --redirect-uri \"\(redirectURI)\" is not an http(s) URL\n", exitCode: Exit.usage)
        }
        let url = ConsentURL.observer(
            loginEndpoint: cfg.cloud.name.defaultEndpoints.login, tenant: observer.tenantId,
            clientId: observer.clientId, redirectURI: redirectURI)
        let note =
            redirectURI == nil
            ? "connwatchctl: the URL carries no redirect_uri; pass --redirect-uri with one registered on the monitoring app (it must match exactly), or grant consent on the app's API permissions page (Grant admin consent)\n"
            : ""
        guard json else { return Outcome(stdout: url + "\n", stderr: note) }
        let object: [String: Any] = [
            "schema_version": 1, "observer": observer.tenantId, "client_id": observer.clientId, "url": url,
        ]
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data()
        return Outcome(stdout: String(decoding: data, as: UTF8.self) + "\n", stderr: note)
    }

    static func outcome(name: String, mip: Bool, config: String, json: Bool) -> Outcome {
        let loaded: LoadedConfiguration
        do {
            loaded = try ConfigLoader(credentialsDirectory: nil, resolveSecrets: false).load(path: config)
        } catch {
            return Outcome(stderr: error.description + "\n", exitCode: ConfigCheckReport.exitConfigError)
        }
        let cfg = loaded.configuration
        guard let c = cfg.connectors.first(where: { $0.name == name }) else {
            return Outcome(
                stderr:
                    "connwatchctl: no connector named \"\(name)\" in \(config) (known: \(cfg.connectors.map(\.name).joined(separator: ", ")))\n",
                exitCode: Exit.usage)
        }
        guard let redirect = c.redirectURI else {
            return Outcome(
                stderr:
                    "connwatchctl: connector \"\(name)\" has no redirect_uri; set it to the Redirect URI registered on the app (reference step 1a), e.g. \"https://admin.zscalertwo.net/\"\n",
                exitCode: ConfigCheckReport.exitConfigError)
        }
        let purpose: ConsentURL.Purpose = (mip || c.kind == .mip) ? .mip : .saasTenant
        let url = ConsentURL.build(
            loginEndpoint: cfg.cloud.name.defaultEndpoints.login, tenant: c.tenantId, clientId: c.clientId,
            redirectURI: redirect, purpose: purpose)
        guard json else { return Outcome(stdout: url + "\n") }
        let object: [String: Any] = ["schema_version": 1, "connector": name, "purpose": purpose.rawValue, "url": url]
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data()
        return Outcome(stdout: String(decoding: data, as: UTF8.self) + "\n")
    }
}
