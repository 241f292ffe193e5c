import ConnwatchCore
import ConnwatchEntra
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

/// ConnwatchEntra's client is the observer the daemon uses: one per `[[tenant]]`, kept
/// across cycles (its token cache, resource roles and reports gate live in it).
extension ObserverClient: TenantObserving {}
