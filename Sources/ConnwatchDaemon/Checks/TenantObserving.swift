import ConnwatchCore
import Foundation

/// What the daemon needs of a tenant's observer client (ConnwatchEntra's `ObserverClient`):
/// one pass over the tenant's connector apps. Never throws: every failure is in the facts
/// (its token refused → every connector blocked with `observer_failed`).
public protocol TenantObserving: Sendable {
    func observe(_ targets: [ObservationTarget], now: Date) async -> TenantObservation
}

/// What an observer's client is made with: the daemon's HTTPS transport (its `ca_file`
/// and proxy) and the cloud's endpoints. A reload that replaces the clients makes every
/// observer's client anew.
public struct ObserverContext: Sendable {
    public var clients: MicrosoftClients
    public var endpoints: CloudEndpoints

    public init(clients: MicrosoftClients, endpoints: CloudEndpoints) {
        self.clients = clients
        self.endpoints = endpoints
    }
}

/// Makes the client of one `[[tenant]]` observer (``Daemon/Options/observerFactory``).
public typealias TenantObserverFactory = @Sendable (TenantConfig, ObserverContext) -> any TenantObserving

/// Stands in for the observer's client until it is wired in (``Daemon/Options``): every
/// pass is refused as transient (`unknown`, never a verdict), and says why.
struct UnwiredTenantObserver: TenantObserving {
    func observe(_ targets: [ObservationTarget], now: Date) async -> TenantObservation {
        let failure = ObservedFailure(
            reason: .observerFailed, transient: true, message: "this build of connwatchd has no observer client")
        return TenantObservation(
            observer: ObserverFacts(
                token: .failed(failure), ownApplication: .blocked(failure), credential: .secret(hint: "")),
            connectors: [:], readAt: now, httpRequests: 0)
    }
}
