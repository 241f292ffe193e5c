import ConnwatchCore
import ConnwatchEntra
import Foundation

/// Connector → the mail addresses of its app's owners, for `[[email]]` sinks with
/// `owners = true` (SPEC §5). Read on demand when such a mail is about to go out, never in
/// the check cycle, and cached: an hour after a read, five minutes after a failure (a
/// missing permission granted meanwhile shows up soon; an outage is not hammered once per
/// retry of every mail). Concurrent lookups of one connector share one read.
///
/// An observed connector's owners are read by its tenant's observer; a connector with its
/// own secret reads them with that secret's Graph token from the checker's token cache —
/// the secret the checker already holds, nothing more. Owners only add recipients: a
/// failure is words in the delivery, never a check result.
public actor OwnersDirectory {
    /// Reads one connector's owners (``read(_:clients:observer:)`` in the daemon).
    public typealias Reader = @Sendable (ConnectorConfig) async -> OwnersLookup

    public static let successTTL: TimeInterval = 3600
    public static let failureTTL: TimeInterval = 300

    private struct Key: Hashable {
        var name: String
        var tenantId: String
        var clientId: String
        var observed: Bool

        init(_ c: ConnectorConfig) {
            name = c.name
            tenantId = c.tenantId.lowercased()
            clientId = c.clientId.lowercased()
            observed = c.isObserved
        }
    }

    private let reader: Reader
    private let clock: WallClock
    private var cache: [Key: (lookup: OwnersLookup, at: Date)] = [:]
    private var inFlight: [Key: Task<OwnersLookup, Never>] = [:]
    /// Reads made (not served from the cache), for tests.
    public private(set) var reads = 0

    public init(clock: WallClock = .system, reader: @escaping Reader) {
        self.clock = clock
        self.reader = reader
    }

    /// The connector's owners, from the cache while fresh. A connector whose tenant, client
    /// ID or observed/own-secret mode changed is read again.
    public func owners(of connector: ConnectorConfig) async -> OwnersLookup {
        let key = Key(connector)
        let now = clock.now()
        if let hit = cache[key] {
            let ttl: TimeInterval
            if case .read = hit.lookup { ttl = Self.successTTL } else { ttl = Self.failureTTL }
            let age = now.timeIntervalSince(hit.at)
            if age >= 0, age < ttl { return hit.lookup }
        }
        if let running = inFlight[key] { return await running.value }
        let task = Task { [reader] in await reader(connector) }
        inFlight[key] = task
        reads += 1
        let lookup = await task.value
        inFlight[key] = nil
        cache[key] = (lookup, clock.now())
        // Connectors removed from the configuration leave stale entries; a handful of small
        // values, bounded by the connectors ever mailed about in a process's life.
        return lookup
    }

    /// Forgets everything (a reload that changed the clients or observers).
    public func clear() {
        cache = [:]
    }

    /// The daemon's reader: through the tenant's observer for an observed connector, else
    /// with the connector's own Graph token (the checker's token cache). A connector app
    /// rarely may read applications itself: when its own read fails and its tenant has an
    /// observer, the observer reads them (SPEC §5: "read by the observer, or by the
    /// connector's token when it may").
    /// - Parameters:
    ///   - clients: the checker's Microsoft clients (transport and token cache).
    ///   - observer: the connector's tenant's observer monitor, if there is one.
    public static func read(
        _ connector: ConnectorConfig, clients: MicrosoftClients, observer: ObserverMonitor?
    ) async -> OwnersLookup {
        guard connector.clientSecret != nil else {
            guard let observer else {
                return .unavailable("owners not read: no [[tenant]] observer for the connector's tenant")
            }
            return await observer.owners(appId: connector.clientId)
        }
        let own = await readOwn(connector, clients: clients)
        guard case .unavailable = own, let observer else { return own }
        return await observer.owners(appId: connector.clientId)
    }

    private static func readOwn(_ connector: ConnectorConfig, clients: MicrosoftClients) async -> OwnersLookup {
        guard let secret = connector.clientSecret else { return .unavailable("owners not read: no secret") }
        let token: AccessToken
        do {
            token = try await clients.tokens.token(
                tenant: connector.tenantId, clientId: connector.clientId, credential: .secret(secret),
                scope: PermissionCatalog.resource(.graph).defaultScope())
        } catch {
            return .unavailable("owners not read: no Graph token for the connector's app: \(error)")
        }
        do {
            return .read(try await clients.graph.owners(appId: connector.clientId, token: token))
        } catch {
            return .unavailable(OwnersWire.failure(error, reader: "connector's app"))
        }
    }
}
