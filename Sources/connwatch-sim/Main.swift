import ArgumentParser
import ConnwatchSimulator
import Dispatch
import Foundation
import Logging

/// `connwatch-sim`: the simulated Microsoft cloud as a process, for the demo and for
/// tests that run the real binaries.
@main
struct ConnwatchSimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connwatch-sim",
        abstract: "Simulated Microsoft cloud (identity platform, Graph, ARM, Office 365 Management, SharePoint).",
        discussion: """
            Services are mounted under path prefixes of one port: /login, /graph, /arm, /office,
            /sharepoint/{host}, and the control endpoint /_sim. Prints one line
            "connwatch-sim listening on <base URL>" on stdout when ready; stops on SIGTERM or SIGINT.
            """)

    @Option(help: "Scenario JSON file (tenants, apps, credentials, grants, faults).")
    var scenario: String

    @Option(help: "TCP port; 0 picks a free one (the ready line names it).")
    var port: Int = 0

    @Option(help: "Address to bind.")
    var host: String = "127.0.0.1"

    @Option(name: .customLong("ca-out"), help: "Write the generated CA certificate (PEM) to this path.")
    var caOut: String?

    @Flag(name: .customLong("plain-http"), help: "Serve plain HTTP instead of HTTPS.")
    var plainHTTP = false

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Option(
        name: .customLong("token-key-bits"),
        help: "RSA key size that signs access tokens: 2048 as Entra ID; 1024 halves the simulator's CPU (benchmarks).")
    var tokenKeyBits: Int = 2048

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0–65535") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        guard [1024, 2048, 3072, 4096].contains(tokenKeyBits) else {
            throw ValidationError("--token-key-bits must be 1024, 2048, 3072 or 4096")
        }
    }

    func run() async throws {
        // Stop signals are handled below; ignoring them first closes the window in which
        // an early signal would kill the process before the handlers exist.
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "connwatch-sim")

        let loaded: Scenario
        do {
            loaded = try Scenario.load(from: scenario)
        } catch {
            FileHandle.standardError.write(Data("connwatch-sim: \(error)\n".utf8))
            throw ExitCode(78)
        }
        let sim: SimulatorServer
        do {
            sim = try await SimulatorServer.start(
                scenario: loaded, tls: !plainHTTP, host: host, port: port, logger: logger, tokenKeyBits: tokenKeyBits)
        } catch {
            FileHandle.standardError.write(Data("connwatch-sim: \(error)\n".utf8))
            switch error {
            case .scenarioInvalid, .scenarioInconsistent, .scenarioUnreadable, .faultInvalid: throw ExitCode(78)
            default: throw ExitCode(69)
            }
        }
        if let caOut {
            do {
                try sim.writeCACertificate(to: caOut)
            } catch {
                FileHandle.standardError.write(Data("connwatch-sim: \(error)\n".utf8))
                await sim.shutdown()
                throw ExitCode(73)
            }
        }
        // FileHandle writes are unbuffered: the ready line reaches a pipe at once.
        FileHandle.standardOutput.write(Data("connwatch-sim listening on \(sim.baseURL)\n".utf8))

        let received = await StopSignal.wait(for: [SIGTERM, SIGINT])
        logger.info("stopping", metadata: ["signal": "\(received)"])
        await sim.shutdown()
    }
}

/// Waits for the first of some signals through Dispatch signal sources.
enum StopSignal {
    static func wait(for signals: [Int32]) async -> Int32 {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        let queue = DispatchQueue(label: "connwatch-sim.signals")
        let sources = signals.map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
        var iterator = stream.makeAsyncIterator()
        let received = await iterator.next() ?? SIGTERM
        for source in sources { source.cancel() }
        continuation.finish()
        return received
    }
}
