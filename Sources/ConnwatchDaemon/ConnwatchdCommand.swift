import ArgumentParser
import ConnwatchAlerting
import ConnwatchConfig
import ConnwatchCore
import Foundation
import Logging

/// `connwatchd`: the daemon's command line.
public struct ConnwatchdCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "connwatchd",
        abstract: "Watch Microsoft custom connectors: secrets, certificates, consent, roles.",
        version: Daemon.version)

    @Option(name: .long, help: "Main configuration file.")
    var config: String = ConfigLoader.defaultPath

    @Option(name: .long, help: "Directory of credentials (default: $CREDENTIALS_DIRECTORY).")
    var credentialsDir: String?

    @Flag(name: .customLong("check-config"), help: "Validate the configuration and exit 0, or 78 listing every error.")
    var checkConfig = false

    @Flag(name: .long, help: "Run one full check cycle, print the status and exit 0/1/2/3 by the worst status.")
    var once = false

    @Flag(name: .long, help: "With --once: print JSON.")
    var json = false

    public init() {}

    public func validate() throws {
        if json && !once { throw ValidationError("--json goes with --once") }
    }

    public func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let dir = ConfigLoader.credentialsDirectory(override: credentialsDir, environment: environment)
        if checkConfig {
            let result = ConfigCheckReport.run(configPath: config, credentialsDirectory: dir)
            if result.isError {
                FileHandle.standardError.write(Data(result.text.utf8))
            } else {
                print(result.text, terminator: "")
            }
            throw ExitCode(result.exitCode)
        }
        // Journal when journald listens, stderr otherwise. --once talks to a terminal or
        // cron: its logs go to stderr, its alerts to the journal all the same.
        let journal = JournalWriter()
        // Under systemd (INVOCATION_ID / JOURNAL_STREAM) logs go to the journal; run by
        // hand or with --once they go to stderr. Alerts go to the journal either way.
        let underSystemd = environment["INVOCATION_ID"] != nil || environment["JOURNAL_STREAM"] != nil
        let logWriter = (once || !underSystemd) ? JournalWriter(forceStderr: true) : journal
        var logger = Logger(label: "connwatchd") { JournalLogHandler(label: $0, writer: logWriter) }
        logger.logLevel = environment["CONNWATCH_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info

        let daemon: Daemon
        do {
            daemon = try await Daemon.start(
                options: {
                    var o = Daemon.Options(configPath: config, credentialsDirectory: dir, environment: environment)
                    o.claimControlSocket = !once
                    return o
                }(),
                journal: journal,
                logger: logger)
        } catch {
            FileHandle.standardError.write(Data("connwatchd: \(error.description)\n".utf8))
            throw ExitCode(error.exitCode)
        }
        if once {
            await daemon.runOnce()
            // Shut down (history closed, stop recorded) before printing: a reader that
            // closes the pipe early must not cut that short.
            if json {
                let report = await daemon.statusReport()
                await daemon.shutdown()
                print(String(decoding: try StatusReport.encoder.encode(report), as: UTF8.self))
                throw ExitCode(report.worstStatusWithObservers.monitoringPluginsExitCode)
            }
            let now = daemon.clock.now()
            let observers = await daemon.statusReport().observerTable(now: now)
            let status = await daemon.statusTable(now: now)
            await daemon.shutdown()
            if let observers {
                observers.render { print($0) }
                print("")
            }
            status.table.render { print($0) }
            throw ExitCode(status.worst.monitoringPluginsExitCode)
        }
        logger.info("connwatchd \(Daemon.version) starting with \(daemon.configuration.connectors.count) connectors")
        try await daemon.runForever()
        logger.info("connwatchd stopped")
    }
}
