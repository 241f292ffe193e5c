import ConnwatchCore
import Foundation

extension ObserverClient {
    /// How long one owners read may take, `Retry-After` waits included.
    static let ownersBudget: TimeInterval = 60

    /// An observed connector app's owners, read with the observer's token (SPEC §5
    /// `owners = true`, observer-facts §6).
    ///
    /// A plain GET (paged), not part of the tenant pass's `$batch`: owners are read only when
    /// an alert mail to a sink with `owners = true` is about to go out, and the daemon caches
    /// them per connector (an hour), so at most one request per app per hour on top of the
    /// pass — adding them to every pass would cost a batch slot per app per `check_interval`
    /// for mail that mostly never comes. The token comes from the observer's cache; 429/5xx
    /// are retried like the pass's requests (``send(_:pass:)``). Never throws.
    public func owners(appId: String) async -> OwnersLookup {
        let graphToken: AccessToken
        switch await token(scope: PermissionCatalog.resource(.graph).defaultScope()) {
        case .success(let (t, _)): graphToken = t
        case .failure(let f): return .unavailable("owners not read: the observer has no token: \(f.observed.message)")
        }
        let now = clock()
        let pass = Pass(now: now, deadline: now.addingTimeInterval(Self.ownersBudget))
        let endpoint = "graph GET \(OwnersWire.name)"
        do {
            let owners = try await OwnersWire.read(
                firstURL: graphBase + OwnersWire.path(appId: appId), base: graphBase, endpoint: endpoint
            ) { (url) throws(EntraError) in
                let response = try await send(
                    TransportRequest(
                        url: url,
                        headers: [
                            ("Authorization", graphToken.value.withValue { "Bearer \($0)" }),
                            ("Accept", "application/json"),
                        ], endpoint: endpoint), pass: pass)
                guard (200..<300).contains(response.status) else {
                    throw .apiError(APIRequester.failure(response, endpoint: endpoint))
                }
                return response.body
            }
            return .read(owners)
        } catch {
            return .unavailable(OwnersWire.failure(error, reader: "observer"))
        }
    }
}
