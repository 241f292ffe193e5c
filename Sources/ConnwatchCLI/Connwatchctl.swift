import ArgumentParser
import ConnwatchConfig
import ConnwatchCore
import Foundation

/// `connwatchctl`: the operator's command line.
public struct Connwatchctl: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "connwatchctl",
        abstract: "Ask connwatchd about Microsoft custom connectors, and manage it.",
        subcommands: [PermissionsCommand.self, ConfigCommand.self]
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
