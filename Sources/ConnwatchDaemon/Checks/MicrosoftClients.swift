import ConnwatchCore
import ConnwatchEntra
import Foundation
import NIOCore

/// The Microsoft clients one daemon shares across all connectors: one HTTP transport
/// (connection reuse), one token cache.
public struct MicrosoftClients: Sendable {
    public let transport: HTTPTransport
    public let tokens: TokenClient
    public let graph: GraphClient
    public let arm: ARMClient
    public let office: OfficeManagementClient
    public let sharePoint: SharePointClient

    public init(
        cloud: CloudSettings, daemon: DaemonSettings, environment: [String: String], proxyCredentials: Secret? = nil
    ) throws(EntraError) {
        var settings = TransportSettings()
        settings.caFile = daemon.caFile
        settings.proxy = TransportSettings.proxy(configured: daemon.proxy, environment: environment)
        settings.proxyCredentials = proxyCredentials
        settings.noProxy = TransportSettings.noProxy(configured: daemon.noProxy, environment: environment)
        settings.connectionsPerHost = max(8, daemon.concurrency)
        if let timeout = Self.requestTimeout(environment) { settings.requestTimeout = timeout }
        let transport = try HTTPTransport(settings: settings)
        self.init(transport: transport, endpoints: cloud.endpoints)
    }

    public init(transport: HTTPTransport, endpoints: CloudEndpoints) {
        self.transport = transport
        tokens = TokenClient(transport: transport, loginEndpoint: endpoints.login)
        graph = GraphClient(transport: transport, graphEndpoint: endpoints.graph)
        arm = ARMClient(transport: transport, managementEndpoint: endpoints.management)
        office = OfficeManagementClient(transport: transport, officeManagementEndpoint: endpoints.officeManagement)
        sharePoint = SharePointClient(transport: transport, endpoints: endpoints)
    }

    public func shutdown() async { await transport.shutdown() }

    /// `CONNWATCH_REQUEST_TIMEOUT` (whole seconds, 1–30): a shorter deadline per request to
    /// Microsoft and Zscaler than the 30 s default, for the fault suite's "hang past the
    /// timeout" rows (Tests/e2e/test_faults.py). Never longer than the default: a
    /// connector's checks must stay well inside the daemon's per-connector time limit.
    static func requestTimeout(_ environment: [String: String]) -> TimeAmount? {
        guard let raw = environment["CONNWATCH_REQUEST_TIMEOUT"], let seconds = Int64(raw), (1...30).contains(seconds)
        else { return nil }
        return .seconds(seconds)
    }
}

extension EntraError {
    /// The Core view of a failure: its reason, whether it is transient, a one-line
    /// message, safe details, and whether it means "not permitted".
    var observed: ObservedFailure {
        switch self {
        case .tokenRejected(let f):
            return ObservedFailure(reason: f.reason, transient: f.isTransient, message: f.message, details: f.details)
        case .apiError(let f):
            let reason: Reason =
                f.status == 429
                ? .throttled
                : f.status >= 500
                    ? .unreachable : !f.documented ? .badResponse : f.isForbidden ? .probeForbidden : .probeFailed
            return ObservedFailure(
                reason: reason, transient: isTransient,
                message: "HTTP \(f.status) \(f.code)\(f.message.isEmpty ? "" : ": \(f.message)")",
                details: f.details, forbidden: f.isForbidden)
        default:
            return ObservedFailure(reason: reason, transient: isTransient, message: description)
        }
    }
}
