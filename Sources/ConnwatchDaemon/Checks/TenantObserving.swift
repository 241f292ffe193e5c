import ConnwatchCore
import ConnwatchEntra
import Foundation

/// What the daemon needs of a tenant's observer client (ConnwatchEntra's `ObserverClient`):
/// one pass over the tenant's connector apps. Never throws: every failure is in the facts
/// (its token refused → every connector blocked with `observer_failed`).
public protocol TenantObserving: Sendable {
    func observe(_ targets: [ObservationTarget], now: Date) async -> TenantObservation
    /// An observed app's owners, for `[[email]]` sinks with `owners = true` (SPEC §5).
    func owners(appId: String) async -> OwnersLookup
}

extension TenantObserving {
    /// Observers that cannot read owners (test doubles) say so; the mail still goes to `to`.
    public func owners(appId: String) async -> OwnersLookup {
        .unavailable("owners not read: this observer does not read owners")
    }
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
