import ConnwatchConfig
import ConnwatchCore
import ConnwatchStore
import Foundation
import Logging
import NIOCore

/// What the control socket asks of the running daemon: fast in-memory views, store reads,
/// and the mutations. Each call is bounded: reads never wait on a check, and many
/// concurrent status readers cost the coordinator one report per quarter second.
final class ControlBackend: Sendable {
    let daemon: Daemon
    let scheduler: CheckScheduler<ContinuousClock>
    private let statusCache = StatusCache()
    private let statusJSON = StatusJSONCache()
    private let reloads = ReloadGate()

    init(daemon: Daemon, scheduler: CheckScheduler<ContinuousClock>) {
        self.daemon = daemon
        self.scheduler = scheduler
    }

    var logger: Logger { daemon.logger }
    var store: HistoryStore { daemon.store }

    /// Configured connector names, in configuration order.
    var connectorNames: [String] { daemon.configuration.connectors.map(\.name) }

    func isConfigured(_ name: String) -> Bool { daemon.configuration.connectors.contains { $0.name == name } }

    /// An observer's reserved name (`observer:<tenant_id>`) whose `[[tenant]]` is configured:
    /// its history is kept like a connector's.
    func isConfiguredObserver(_ name: String) -> Bool {
        guard let tenant = ObserverIdentity.tenantId(of: name) else { return false }
        return daemon.configuration.observer(forTenant: tenant) != nil
    }

    // MARK: Reads

    /// Every connector's status; shared by concurrent readers for up to 250 ms.
    func status() async -> StatusReport {
        var report = await statusCache.report { [daemon] in await daemon.coordinator.status(version: Daemon.version) }
        report.emails = await emailStatus()
        return report
    }

    /// Each `[[email]]` sink's digest schedule, next due and last sent; nil without sinks.
    func emailStatus() async -> [StatusReport.EmailStatus]? {
        let emails = daemon.configuration.emails
        guard !emails.isEmpty else { return nil }
        let now = daemon.clock.now()
        let next = daemon.digestWorker.nextDue(now: now)
        let last = (try? await store.lastDigestSent()) ?? [:]
        return emails.map {
            StatusReport.EmailStatus(
                name: $0.name, digest: $0.digest.description, nextDigestAt: next[$0.name]?.dueAt,
                lastDigestAt: last[$0.name])
        }
    }

    /// The `/v1/status` body: the report encoded from per-connector fragments that are only
    /// re-encoded when that connector's status changed (10,000 connectors make 16 MB of JSON).
    func statusBody() async throws -> ByteBuffer {
        let emails = await emailStatus()
        return try await statusJSON.body(emails: emails) { [daemon] known in
            await daemon.coordinator.statusUpdate(version: Daemon.version, known: known)
        }
    }

    func status(of name: String) async -> StatusReport.ConnectorStatus? {
        await daemon.coordinator.status(version: Daemon.version, names: [name]).connectors.first
    }

    /// Commits what the coordinator holds (the heartbeat would within a second), so that
    /// replies read from the store agree with the status.
    func synced() async -> HistoryStore {
        await daemon.coordinator.flush(now: daemon.clock.now())
        return daemon.store
    }

    func metrics(now: Date) async throws -> String {
        let store = await synced()
        let report = await status()
        let failures = await daemon.coordinator.consecutiveFailures()
        let commitFailures = await daemon.coordinator.commitFailures
        var traffic: [String: MetricsExposition.ObserverTraffic] = [:]
        for (tenant, monitor) in daemon.observers.all {
            traffic[tenant] = .init(passes: await monitor.passes, httpRequests: await monitor.httpRequests)
        }
        return MetricsExposition(
            report: report, checks: daemon.checkMetrics.snapshot(), consecutiveFailures: failures,
            counts: try await store.counts(at: now), commitFailures: commitFailures, now: now,
            webhookAttempts: daemon.deliveryWorker.metrics.snapshot(), observerTraffic: traffic,
            digests: daemon.digestWorker.metrics.snapshot(),
            digestSinks: daemon.configuration.emails.filter { $0.digest != .off }.map(\.name)
        ).render()
    }

    // MARK: Mutations

    /// Checks the connectors now (all when empty), waits, and returns their fresh status.
    func check(_ names: [String]) async -> StatusReport {
        // An explicit check reads its tenant afresh: one new pass per observer.
        await daemon.requireFreshObservations(for: names)
        let (ran, _) = await scheduler.checkNow(names)
        await daemon.coordinator.flush(now: daemon.clock.now())
        await statusCache.invalidate()
        return await daemon.coordinator.status(version: Daemon.version, names: Set(ran))
    }

    /// Reloads the configuration (one reload at a time); nil on success.
    func reload() async -> ConfigErrors? {
        let result = await reloads.run { [daemon, scheduler] in await daemon.reload(scheduler: scheduler) }
        await statusCache.invalidate()
        return result
    }

    /// Makes a new or lifted silence count from the next evaluation on.
    func silencesChanged() async {
        await daemon.coordinator.refreshSilences(now: daemon.clock.now())
    }
}

/// One status report shared by concurrent readers, fetched at most once per `maxAge`.
actor StatusCache {
    private let maxAge: Duration
    private var cached: (at: ContinuousClock.Instant, report: StatusReport)?
    private var inFlight: Task<StatusReport, Never>?

    init(maxAge: Duration = .milliseconds(250)) { self.maxAge = maxAge }

    func report(_ fetch: @escaping @Sendable () async -> StatusReport) async -> StatusReport {
        if let c = cached, ContinuousClock.now - c.at < maxAge { return c.report }
        if let task = inFlight { return await task.value }
        let task = Task { await fetch() }
        inFlight = task
        let report = await task.value
        cached = (ContinuousClock.now, report)
        inFlight = nil
        return report
    }

    func invalidate() { cached = nil }
}

/// Encodes status reports byte for byte as `StatusReport.encoder` would (sorted keys: the
/// connectors, the daemon, the e-mail sinks and the observers when configured, the schema version) plus a final newline, keeping each connector's
/// JSON until its status stamp changes: between two requests only the connectors checked
/// meanwhile are encoded again, and the reply is assembled in one buffer.
actor StatusJSONCache {
    /// Each connector's JSON, and the stamp it was encoded at (what the coordinator is told).
    private var fragments: [String: [UInt8]] = [:]
    private var known: [String: StatusStamp] = [:]
    private var lastSize = 0

    func body(
        emails: [StatusReport.EmailStatus]? = nil, _ update: @Sendable ([String: StatusStamp]) async -> StatusUpdate
    ) async throws -> ByteBuffer {
        let update = await update(known)
        let encoder = StatusReport.encoder
        var out = ByteBufferAllocator().buffer(capacity: lastSize + 1024)
        out.writeString(#"{"connectors":["#)
        for (i, entry) in update.entries.enumerated() {
            if i > 0 { out.writeInteger(UInt8(ascii: ",")) }
            if let status = entry.status {
                let json = Array(try encoder.encode(status))
                fragments[entry.name] = json
                known[entry.name] = entry.stamp
                out.writeBytes(json)
            } else if let cached = fragments[entry.name] {
                out.writeBytes(cached)
            }
        }
        if fragments.count != update.entries.count {
            // Connectors removed by a reload: forget their fragments.
            let present = Set(update.entries.map(\.name))
            fragments = fragments.filter { present.contains($0.key) }
            known = known.filter { present.contains($0.key) }
        }
        out.writeString(#"],"daemon":"#)
        out.writeBytes(try encoder.encode(update.daemon))
        if let emails {
            out.writeString(#","emails":"#)
            out.writeBytes(try encoder.encode(emails))
        }
        if let observers = update.observers {
            out.writeString(#","observers":"#)
            out.writeBytes(try encoder.encode(observers))
        }
        out.writeString(#","schema_version":\#(StatusReport.currentSchemaVersion)}"#)
        out.writeInteger(UInt8(ascii: "\n"))
        lastSize = out.readableBytes
        return out
    }
}

/// Runs one reload at a time, in arrival order: two operators reloading at once get two
/// whole reloads in turn. Each reload waits for the one before it (a chain of tasks), never
/// in a loop on the actor.
actor ReloadGate {
    private var last: Task<ConfigErrors?, Never>?

    func run(_ body: @escaping @Sendable () async -> ConfigErrors?) async -> ConfigErrors? {
        let previous = last
        let task = Task {
            _ = await previous?.value
            return await body()
        }
        last = task
        return await task.value
    }
}
