import ConnwatchCore
import ConnwatchSimulator
import Foundation

/// The simulated Microsoft cloud in process for tests: `ConnwatchSimulator` on a free
/// loopback port, over HTTPS (by default) with a fresh CA whose certificate is written to
/// ``caFile`` for clients' `ca_file`.
///
/// ```swift
/// let sim = try await SimulatorFixture.start(scenario)
/// defer { Task { await sim.stop() } }
/// var settings = TransportSettings(); settings.caFile = sim.caFile
/// … sim.endpoints.login …
/// try await sim.setFaults([Fault(service: .graph, status: 503)])
/// ```
public final class SimulatorFixture: Sendable {
    /// The running simulator (for what the fixture does not forward).
    public let server: SimulatorServer
    /// A temporary file holding ``caCertificatePEM``; removed by ``stop()``.
    public let caFile: String

    /// `https://127.0.0.1:PORT` (or `http://…` without TLS), without a trailing slash.
    public var baseURL: String { server.baseURL }
    /// The PEM of the CA that signed the simulator's TLS certificate.
    public var caCertificatePEM: String { server.caCertificatePEM }

    /// The simulator's services as cloud endpoints: `/login`, `/graph`, `/arm`, `/office`
    /// and `/sharepoint` under ``baseURL``.
    public var endpoints: CloudEndpoints {
        CloudEndpoints(
            login: baseURL + "/login", graph: baseURL + "/graph", management: baseURL + "/arm",
            officeManagement: baseURL + "/office", sharePoint: baseURL + "/sharepoint")
    }

    private init(server: SimulatorServer, caFile: String) {
        self.server = server
        self.caFile = caFile
    }

    /// Starts the simulator with `scenario` and returns once it accepts connections.
    public static func start(_ scenario: Scenario, tls: Bool = true) async throws -> SimulatorFixture {
        let server = try await SimulatorServer.start(scenario: scenario, tls: tls)
        let caFile = FileManager.default.temporaryDirectory.appendingPathComponent("sim-ca-\(UUID().uuidString).pem")
            .path
        do {
            try server.writeCACertificate(to: caFile)
        } catch {
            await server.shutdown()
            throw error
        }
        return SimulatorFixture(server: server, caFile: caFile)
    }

    /// Runs `body` with a simulator started with `scenario`, stopping it afterwards
    /// whether `body` returns or throws.
    public static func with<T: Sendable>(
        _ scenario: Scenario, tls: Bool = true, _ body: (SimulatorFixture) async throws -> T
    ) async throws -> T {
        let sim = try await start(scenario, tls: tls)
        do {
            let result = try await body(sim)
            await sim.stop()
            return result
        } catch {
            await sim.stop()
            throw error
        }
    }

    /// Edits the scenario while the simulator runs.
    public func update(_ body: (inout Scenario) throws -> Void) async throws { try await server.update(body) }

    /// Replaces the whole scenario.
    public func replaceScenario(_ scenario: Scenario) async throws { try await server.replaceScenario(scenario) }

    /// Replaces the active faults; an empty list clears them.
    public func setFaults(_ faults: [Fault]) async throws { try await server.setFaults(faults) }

    /// Requests served per service since the start or the last reset.
    public func requestCounts() async -> RequestCounts { await server.requestCounts() }

    /// Zeroes the request counters.
    public func resetRequestCounts() async { await server.resetRequestCounts() }

    /// Stops the simulator and removes ``caFile``.
    public func stop() async {
        await server.shutdown()
        try? FileManager.default.removeItem(atPath: caFile)
    }
}
