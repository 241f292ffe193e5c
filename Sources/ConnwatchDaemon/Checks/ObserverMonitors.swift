import ConnwatchCore
import Foundation
import Synchronization

/// One ``ObserverMonitor`` per `[[tenant]]`, kept across reloads: an unchanged observer
/// keeps its monitor (and the pass in hand) with the tenant's new targets, a changed one
/// (credential, client, subscriptions, sign-in settings, thresholds) gets a new monitor
/// and client, a removed one is dropped.
public final class ObserverMonitors: Sendable {
    private struct Entry {
        var tenant: TenantConfig
        var thresholds: ExpiryThresholds
        var monitor: ObserverMonitor
    }

    private let factory: TenantObserverFactory
    private let clock: WallClock
    private let record: ObserverMonitor.Recorder
    /// Keyed by the lower-cased tenant ID.
    private let entries = Mutex<[String: Entry]>([:])

    public init(
        configuration: Configuration, context: ObserverContext, factory: @escaping TenantObserverFactory,
        clock: WallClock, record: @escaping ObserverMonitor.Recorder
    ) {
        self.factory = factory
        self.clock = clock
        self.record = record
        let built = Self.build(
            configuration, context: context, keeping: [:], factory: factory, clock: clock, record: record)
        entries.withLock { $0 = built.0 }
    }

    /// The monitor of a connector's tenant, if it has an observer.
    public func monitor(forTenant tenantId: String) -> ObserverMonitor? {
        entries.withLock { $0[tenantId.lowercased()]?.monitor }
    }

    /// Every monitor, by tenant ID.
    public var all: [String: ObserverMonitor] { entries.withLock { $0.mapValues(\.monitor) } }

    /// What every observer of the configuration reads: its tenant's connectors, observed or
    /// with their own secret (SPEC §3b "both sets").
    public static func targets(_ c: Configuration, tenantId: String) -> [ObservationTarget] {
        let key = tenantId.lowercased()
        var seen = Set<ObservationTarget>()
        return c.connectors.filter { $0.tenantId.lowercased() == key }.map { ObservationTarget($0) }
            .filter { seen.insert($0).inserted }
    }

    /// Applies a new configuration (``Daemon/reload(scheduler:)``).
    /// - Parameters:
    ///   - context: the clients and endpoints new observer clients are made with.
    ///   - newClients: the clients were replaced (`ca_file`, proxy or cloud changed): every
    ///     observer gets a new client and monitor.
    public func reload(_ c: Configuration, context: ObserverContext, newClients: Bool) async {
        let old = newClients ? [:] : entries.withLock { $0 }
        let (fresh, kept) = Self.build(
            c, context: context, keeping: old, factory: factory, clock: clock, record: record)
        entries.withLock { $0 = fresh }
        for (tenantId, monitor) in kept {
            await monitor.update(
                targets: Self.targets(c, tenantId: tenantId), checkInterval: c.daemon.checkInterval.timeInterval)
        }
    }

    private static func build(
        _ c: Configuration, context: ObserverContext, keeping old: [String: Entry],
        factory: TenantObserverFactory, clock: WallClock, record: @escaping ObserverMonitor.Recorder
    ) -> ([String: Entry], kept: [String: ObserverMonitor]) {
        let thresholds = ExpiryThresholds(c.alerts)
        var out: [String: Entry] = [:]
        var kept: [String: ObserverMonitor] = [:]
        for tenant in c.tenants {
            let key = tenant.tenantId.lowercased()
            guard out[key] == nil else { continue }
            if let before = old[key], same(before.tenant, tenant), before.thresholds == thresholds {
                out[key] = before
                kept[key] = before.monitor
                continue
            }
            out[key] = Entry(
                tenant: tenant, thresholds: thresholds,
                monitor: ObserverMonitor(
                    tenant: tenant, client: factory(tenant, context), targets: targets(c, tenantId: key),
                    checkInterval: c.daemon.checkInterval.timeInterval, thresholds: thresholds, clock: clock,
                    record: record))
        }
        return (out, kept)
    }

    /// Whether a reload leaves an observer as it was (`source` aside).
    static func same(_ a: TenantConfig, _ b: TenantConfig) -> Bool {
        let credential: Bool
        switch (a.credential, b.credential) {
        case (.certificate(let x), .certificate(let y)): credential = x == y
        case (.secret(let x), .secret(let y)): credential = x == y
        default: credential = false
        }
        return credential && a.tenantId.lowercased() == b.tenantId.lowercased() && a.clientId == b.clientId
            && a.subscriptions == b.subscriptions && a.signInLogs == b.signInLogs && a.signInWindow == b.signInWindow
            && a.signInStaleAfter == b.signInStaleAfter
    }
}
