import ArgumentParser
import ConnwatchConfig
import ConnwatchCore
import Foundation

/// `connwatchd`: the daemon's command line.
public struct ConnwatchdCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "connwatchd",
        abstract: "Watch Microsoft custom connectors: secrets, certificates, consent, roles.")

    @Option(name: .long, help: "Main configuration file.")
    var config: String = ConfigLoader.defaultPath

    @Option(name: .long, help: "Directory of credentials (default: $CREDENTIALS_DIRECTORY).")
    var credentialsDir: String?

    @Flag(name: .customLong("check-config"), help: "Validate the configuration and exit 0, or 78 listing every error.")
    var checkConfig = false

    public init() {}

    public func run() async throws {
        let dir = ConfigLoader.credentialsDirectory(
            override: credentialsDir, environment: ProcessInfo.processInfo.environment)
        if checkConfig {
            let result = ConfigCheckReport.run(configPath: config, credentialsDirectory: dir)
            if result.isError {
                FileHandle.standardError.write(Data(result.text.utf8))
            } else {
                print(result.text, terminator: "")
            }
            throw ExitCode(result.exitCode)
        }
        let result = ConfigCheckReport.run(configPath: config, credentialsDirectory: dir)
        if result.isError {
            FileHandle.standardError.write(Data(result.text.utf8))
            throw ExitCode(result.exitCode)
        }
        FileHandle.standardError.write(
            Data(
                "connwatchd: the configuration is valid, but the check scheduler is not built yet (issue #4); exiting\n"
                    .utf8))
        throw ExitCode(69)
    }
}
