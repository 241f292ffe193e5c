import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import ServiceLifecycle

/// The simulated Microsoft cloud: one HTTP(S) server on loopback speaking the identity
/// platform, Graph, ARM, the Office 365 Management API and SharePoint REST under path
/// prefixes, plus a control endpoint.
///
/// ```swift
/// let sim = try await SimulatorServer.start(scenario: scenario, tls: true)
/// // point clients at sim.baseURL + "/login", "/graph", "/arm", "/office", "/sharepoint"
/// // and trust sim.caCertificatePEM
/// try await sim.update { $0.tenants[0].apps[0].appRoles = [:] }
/// await sim.shutdown()
/// ```
///
/// The server runs in a task this object owns; `shutdown()` cancels it and waits for it.
public final class SimulatorServer: Sendable {
    /// The bound TCP port (useful when started with port 0).
    public let port: Int
    /// The address the server listens on.
    public let host: String
    /// Whether the server speaks HTTPS.
    public let usesTLS: Bool
    /// `https://127.0.0.1:PORT` (or `http://…` without TLS), without a trailing slash.
    public let baseURL: String
    /// The PEM of the CA that signed the server's certificate; clients trust it through a CA file.
    public let caCertificatePEM: String

    private let state: SimulatorState
    private let serviceGroup: ServiceGroup
    private let runTask: Task<Void, any Error>

    private init(
        port: Int, host: String, usesTLS: Bool, caCertificatePEM: String, state: SimulatorState,
        serviceGroup: ServiceGroup, runTask: Task<Void, any Error>
    ) {
        self.port = port
        self.host = host
        self.usesTLS = usesTLS
        let hostPart = host.contains(":") ? "[\(host)]" : host
        self.baseURL = (usesTLS ? "https://" : "http://") + hostPart + ":\(port)"
        self.caCertificatePEM = caCertificatePEM
        self.state = state
        self.serviceGroup = serviceGroup
        self.runTask = runTask
    }

    /// Starts the simulator and returns once it accepts connections.
    ///
    /// - Parameters:
    ///   - scenario: the initial cloud state (its `faults`, if any, are active from the start).
    ///   - tls: HTTPS with a freshly generated CA (default) or plain HTTP.
    ///   - host: the address to bind, `127.0.0.1` by default.
    ///   - port: the port to bind; 0 picks a free one (see `port`).
    ///   - logger: where the simulator logs (never secrets, tokens or assertions); by default
    ///     warnings and errors go to the swift-log default handler.
    ///   - tokenKeyBits: RSA key size of the token signer (2048 as Entra ID; at least 1024).
    public static func start(
        scenario: Scenario, tls: Bool = true, host: String = "127.0.0.1", port: Int = 0, logger: Logger? = nil,
        tokenKeyBits: Int = 2048
    ) async throws(SimulatorError) -> SimulatorServer {
        var log = logger ?? Logger(label: "connwatch-sim")
        if logger == nil { log.logLevel = .warning }
        let state = try SimulatorState(scenario: scenario, createdAt: Date())
        let pki = try SimulatorPKI.generate(host: host, tokenKeyBits: tokenKeyBits)
        let hostPart = host.contains(":") ? "[\(host)]" : host

        let (bound, boundContinuation) = AsyncStream<Int>.makeStream()
        let engine = SimulatorEngine(
            state: state, pki: pki, tls: tls, authority: "\(hostPart):\(port)", logger: log)
        let server: HTTPServerBuilder
        do {
            server = tls ? try .tls(.http1(), tlsConfiguration: pki.tlsConfiguration) : .http1()
        } catch {
            throw .serverStart("TLS setup: \(error)")
        }
        let app = Application(
            responder: SimulatorResponder(engine: engine),
            server: server,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                boundContinuation.yield(channel.localAddress?.port ?? port)
                boundContinuation.finish()
            },
            logger: log)
        // A parent group lets shutdown() stop the server gracefully (no cancellation errors
        // logged by Hummingbird, open connections closed properly).
        let serviceGroup = ServiceGroup(services: [app], logger: log)
        let runTask = Task<Void, any Error> {
            defer { boundContinuation.finish() }
            try await serviceGroup.run()
        }
        var iterator = bound.makeAsyncIterator()
        guard let boundPort = await iterator.next() else {
            let reason: String
            switch await runTask.result {
            case .failure(let error): reason = "\(error)"
            case .success: reason = "the server stopped before it was running"
            }
            throw .serverStart("cannot listen on \(host):\(port): \(reason)")
        }
        return SimulatorServer(
            port: boundPort, host: host, usesTLS: tls, caCertificatePEM: pki.caCertificatePEM, state: state,
            serviceGroup: serviceGroup, runTask: runTask)
    }

    /// Edits the scenario while the server runs (revoke consent, expire a secret, delete a
    /// role…). Requests already in flight finish on the old state; tokens issued before keep
    /// their claims, as Entra ID's do. Throws, and changes nothing, when the edit throws or
    /// the result is inconsistent.
    public func update(_ body: (inout Scenario) throws -> Void) async throws {
        try state.update(body)
    }

    /// Replaces the whole scenario (and its faults when it lists some).
    public func replaceScenario(_ scenario: Scenario) async throws(SimulatorError) {
        try state.replace(scenario)
    }

    /// The current scenario.
    public func scenario() async -> Scenario {
        state.index.scenario
    }

    /// Replaces the active faults; an empty list clears them.
    public func setFaults(_ faults: [Fault]) async throws(SimulatorError) {
        try state.setFaults(faults)
    }

    /// The active faults.
    public func faults() async -> [Fault] {
        state.faults
    }

    /// Requests served per service since the start or the last reset.
    public func requestCounts() async -> RequestCounts {
        state.counts()
    }

    /// Zeroes the request counters.
    public func resetRequestCounts() async {
        state.resetCounts()
    }

    /// Writes the CA certificate (PEM, public) to `path`, for clients' `ca_file`.
    public func writeCACertificate(to path: String) throws(SimulatorError) {
        do {
            try Data(caCertificatePEM.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .fileWrite(path: path, reason: error.localizedDescription)
        }
    }

    /// Stops the server: held and delayed requests (faults) are answered at once, requests
    /// in flight finish, connections close. Whatever is still running after 5 seconds (a
    /// client reading an oversized body very slowly) is cancelled.
    public func shutdown() async {
        state.beginStopping()
        await serviceGroup.triggerGracefulShutdown()
        let task = runTask
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = await task.result }
            group.addTask { try? await Task.sleep(for: .seconds(5)) }
            await group.next()
            group.cancelAll()
        }
        runTask.cancel()
        _ = await runTask.result
    }

    /// Waits until the server stops (after `shutdown()` from elsewhere, or a failure).
    public func waitUntilStopped() async {
        _ = await runTask.result
    }
}
