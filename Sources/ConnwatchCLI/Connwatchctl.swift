import ArgumentParser
import ConnwatchConfig
import ConnwatchCore
import Foundation

/// `connwatchctl`: the operator's command line.
public struct Connwatchctl: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "connwatchctl",
        abstract: "Ask connwatchd about Microsoft custom connectors, and manage it.",
        subcommands: [PermissionsCommand.self, ConfigCommand.self, ConsentURLCommand.self, KeyFileCommand.self]
    )

    public init() {}
}

extension ConnectorKind: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

struct PermissionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "permissions",
        abstract: "Print the API permissions, Zscaler actions and roles a connector kind needs.")

    @Argument(help: "Connector kind: \(ConnectorKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var kind: ConnectorKind

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func run() throws {
        print(json ? PermissionsReport.json(kind) : PermissionsReport.text(kind), terminator: "")
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

    func run() throws {
        let dir = ConfigLoader.credentialsDirectory(
            override: credentialsDir, environment: ProcessInfo.processInfo.environment)
        let result = ConfigCheckReport.run(configPath: config, credentialsDirectory: dir)
        if result.isError {
            FileHandle.standardError.write(Data(result.text.utf8))
        } else {
            print(result.text, terminator: "")
        }
        if result.exitCode != 0 { throw ExitCode(result.exitCode) }
    }
}

struct ConsentURLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consent-url",
        abstract: "Print the admin-consent URL for a connector (reference step 4, corrected).")

    @Argument(help: "Connector name.")
    var name: String

    @Flag(
        name: .long, help: "For an MIP account (state=administration/mip-labels); default: from the connector's kind.")
    var mip = false

    @Option(name: .long, help: "Main configuration file.")
    var config: String = ConfigLoader.defaultPath

    func run() throws {
        let loaded: LoadedConfiguration
        do {
            loaded = try ConfigLoader(credentialsDirectory: nil, resolveSecrets: false).load(path: config)
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(ConfigCheckReport.exitConfigError)
        }
        let cfg = loaded.configuration
        guard let c = cfg.connectors.first(where: { $0.name == name }) else {
            FileHandle.standardError.write(
                Data(
                    "connwatchctl: no connector named \"\(name)\" in \(config) (known: \(cfg.connectors.map(\.name).joined(separator: ", ")))\n"
                        .utf8))
            throw ExitCode(64)
        }
        guard let redirect = c.redirectURI else {
            FileHandle.standardError.write(
                Data(
                    "connwatchctl: connector \"\(name)\" has no redirect_uri; set it to the Redirect URI registered on the app (reference step 1a), e.g. \"https://admin.zscalertwo.net/\"\n"
                        .utf8))
            throw ExitCode(ConfigCheckReport.exitConfigError)
        }
        let purpose: ConsentURL.Purpose = (mip || c.kind == .mip) ? .mip : .saasTenant
        print(
            ConsentURL.build(
                loginEndpoint: cfg.cloud.name.defaultEndpoints.login, tenant: c.tenantId, clientId: c.clientId,
                redirectURI: redirect, purpose: purpose))
    }
}
