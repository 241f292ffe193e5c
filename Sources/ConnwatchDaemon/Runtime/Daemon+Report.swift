import ConnwatchCore
import ConnwatchReport
import ConnwatchStore
import Foundation

extension Daemon {
    /// Largest `days` the report accepts (`--days`, `GET /v1/report?days=`): ten years.
    public static let reportMaxDays = 3650

    /// The report (SPEC §5) as of now: what `GET /v1/report` renders and the digest's
    /// HTML and text parts are made of.
    ///
    /// - Parameters:
    ///   - days: how far the expiry timeline looks ahead (1…``reportMaxDays``; clamped).
    ///   - changesSince: list the status changes since then ("what changed since the
    ///     previous digest"); nil: no "changed since" section.
    ///   - filter: only these connectors (and observers, by their `observer:<tenant>`
    ///     name); nil: all. The digest of an `[[email]]` sink with a connector filter uses it.
    ///
    /// "Now" is each connector's results as `/v1/status` shows them; the 30-day strips and
    /// the changes come from the history database (committed first, so they agree), in
    /// local days of the daemon's time zone (`TZ`, else the system's).
    public func reportModel(
        days: Int, changesSince: Date?, connectors filter: Set<String>?
    ) async throws
        -> ReportModel
    {
        let days = min(max(days, 1), Self.reportMaxDays)
        let now = clock.now()
        await coordinator.flush(now: now)
        let configuration = self.configuration
        let timeZone = TimeZone.current
        let sources = await coordinator.reportSources(names: filter)
        let dayStarts = ReportModel.dayStarts(endingAt: now, count: ReportModel.stripLength, timeZone: timeZone)
        let windowStart = dayStarts.first ?? now
        let before = try await store.connectorStatuses(before: windowStart)
        // Changes go back to the digest's previous one, strips 30 days: one read covers both.
        let from = min(windowStart, changesSince ?? windowStart)
        let transitions = try await store.transitions(since: from, ownOnly: false)
        var points: [String: [ReportModel.StatusPoint]] = [:]
        for t in transitions where t.check == nil && t.at >= windowStart {
            points[t.connector, default: []].append(.init(at: t.at, status: t.to))
        }
        var inputs: [ReportModel.ConnectorSource] = sources.connectors.map {
            .init(
                identity: $0.identity, checks: $0.checks, statusBefore: before[$0.identity.name],
                transitions: points[$0.identity.name] ?? [])
        }
        for o in sources.observers {
            let identity = ObserverIdentity.identity(o.tenant)
            inputs.append(
                .init(
                    identity: identity, isObserver: true, checks: o.result.map { [$0] } ?? [],
                    statusBefore: before[identity.name], transitions: points[identity.name] ?? []))
        }
        let names = Set(inputs.map(\.identity.name))
        var changes: [ReportModel.Change] = []
        if let changesSince {
            // One row per change: a check's move from one status to another, and a
            // connector's first status (a new connector); not each check's first status,
            // nor the connector's own moves, which its checks' rows explain.
            for t in transitions
            where t.at >= changesSince && names.contains(t.connector) && (t.check == nil) == (t.from == nil) {
                changes.append(
                    .init(
                        connector: t.connector, check: t.check?.rawValue, from: t.from, to: t.to, reason: t.reason,
                        at: t.at))
            }
        }
        let tenants = configuration.tenants.filter { t in
            filter == nil || inputs.contains { $0.identity.tenantId.lowercased() == t.tenantId.lowercased() }
        }.map { ReportModel.TenantSource(tenantId: $0.tenantId, observed: true) }
        return ReportModel.build(
            generatedAt: now, horizonDays: days, timeZone: timeZone, thresholds: ExpiryThresholds(configuration.alerts),
            tenants: tenants, connectors: inputs, changesSince: changesSince, changes: changes)
    }
}
