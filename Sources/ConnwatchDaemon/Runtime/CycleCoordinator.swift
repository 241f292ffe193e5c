import ConnwatchAlerting
import ConnwatchCore
import ConnwatchStore
import Foundation
import Logging

/// Turns fresh check results into what the daemon shows, remembers and says: applies the
/// transient-failure rule, runs the alert state machine, and writes results, alert states,
/// notifications and webhook deliveries in one transaction per batch — then journals the
/// notifications (after the commit: a crash before it re-evaluates on restart instead of
/// repeating an entry).
public actor CycleCoordinator {
    public struct Settings: Sendable {
        public var alerts: AlertSettings
        public var failureThreshold: Int
        public var webhooks: [WebhookConfig]
        /// `[[email]]` sinks: alert mails go through the same outbox as webhooks.
        public var emails: [EmailConfig]
        /// `[zscaler]` is configured: connectors (but MIP) have a `zscaler` check.
        public var zscaler: Bool

        public init(_ c: Configuration) {
            alerts = c.alerts
            failureThreshold = c.daemon.failureThreshold
            webhooks = c.webhooks
            emails = c.emails
            zscaler = c.zscaler != nil
        }
    }

    private let store: HistoryStore
    private let journal: any JournalSink
    private let logger: Logger
    private let batchSize: Int
    private var settings: Settings
    /// The configured connectors in configuration order (the configuration's own array,
    /// not a copy), and per name its position and stamps: one small table instead of one
    /// per fact (identity, plan, revision, checked-this-cycle), 0.5 MB instead of ~2.5 MB
    /// at 10,000 connectors (BENCHMARKS.md).
    private var connectors: [ConnectorConfig] = []
    private var slots: [String: Slot] = [:]
    /// The tenants with an observer (lower-cased IDs): a connector's plan depends on it.
    private var observedTenants: Set<String> = []
    /// The `[[tenant]]` observers in configuration order: each has its own result, history
    /// and alerts under its reserved name (``ObserverIdentity``), apart from the connectors.
    private var observers: [TenantConfig] = []
    /// What each connector's last check said beyond its results (`signin` left out, …).
    private var checkNotes: [String: [String]] = [:]
    /// What status shows per check, and the consecutive transient failures behind it.
    private var shown = ShownResults()
    private var alertStates = AlertStateTable()
    /// Equal summaries, remediations and details of shown results share one copy.
    private var interner = ResultInterner()
    /// The silences in force at the last refresh; each is asked at evaluation time, so one
    /// that expired since stops applying at once.
    private var silences: [Silence] = []

    private var pendingConnectors: [ConnectorCycle] = []
    private var pendingStates: [AlertKey: AlertState] = [:]
    private(set) var pendingForget: [AlertKey] = []
    private var pendingNotifications: [PendingNotification] = []

    /// A notification to commit, with the identity it was rendered and routed with: the
    /// journal entry written after the commit names the same connector (kind, tenant,
    /// client), also when the connector has left the configuration meanwhile.
    private struct PendingNotification {
        var outgoing: OutgoingNotification
        var identity: ConnectorIdentity
        /// Already journaled while the database refused it (``HistoryHealth``).
        var journaled = false
    }

    /// Status stamps: a connector's shown status changes only when its stamp does (a recorded
    /// check bumps its revision; a reload or reconcile bumps the epoch), so the control socket
    /// re-encodes a connector's JSON only then — without comparing whole results.
    private var revisionCounter: UInt64 = 0
    private var epoch: UInt64 = 0

    public let startedAt: Date
    public private(set) var lastCycleAt: Date?
    /// A cycle ends when every configured connector has been recorded since the last end:
    /// those whose slot carries the current cycle number.
    private var cycle: UInt32 = 1
    private var checkedThisCycle = 0
    public private(set) var commitFailures = 0
    /// Whether commits work; status shows it as `daemon.history`.
    private var health: HistoryHealth

    private struct Slot {
        var position: Int32
        /// The `cycle` it was last recorded in (0: not since start or the last cycle's end).
        var checkedCycle: UInt32 = 0
        /// Bumped whenever it is recorded (a status stamp).
        var revision: UInt64 = 0
    }

    public init(
        store: HistoryStore, journal: any JournalSink, configuration: Configuration, snapshot: StoreSnapshot,
        startedAt: Date, logger: Logger, batchSize: Int = 256
    ) {
        self.store = store
        self.journal = journal
        self.logger = logger
        self.batchSize = batchSize
        self.startedAt = startedAt
        self.settings = Settings(configuration)
        self.health = HistoryHealth(database: store.path)
        let list = configuration.connectors
        let (slots, checked) = Self.index(list, keeping: [:], cycle: 1)
        (self.connectors, self.slots, self.checkedThisCycle) = (list, slots, checked)
        let (observers, observedTenants) = Self.observerTables(configuration)
        (self.observers, self.observedTenants) = (observers, observedTenants)
        let zscaler = configuration.zscaler != nil
        shown = ShownResults(connectors: list.count)
        for (key, latest) in snapshot.latest {
            let capacity =
                slots[key.connector].map {
                    Self.plan(list[Int($0.position)], observedTenants: observedTenants, zscaler: zscaler).count
                } ?? 1
            shown.set(
                connector: key.connector,
                .init(result: interner.intern(latest.result), failures: latest.consecutiveFailures),
                capacity: capacity,
                packedDetails: interner.intern(ShownResults.pack(latest.result.details)))
        }
        alertStates = AlertStateTable(snapshot.alertStates)
    }

    /// Takes a configuration's connectors; a connector still configured keeps its stamps
    /// (and whether it was checked this cycle). A repeated name counts once, at its first
    /// position (the loader refuses duplicates; this only keeps the table consistent).
    private static func index(
        _ list: [ConnectorConfig], keeping old: [String: Slot], cycle: UInt32
    ) -> (slots: [String: Slot], checked: Int) {
        var slots: [String: Slot] = [:]
        slots.reserveCapacity(list.count)
        var checked = 0
        for (i, c) in list.enumerated() where slots[c.name] == nil {
            var slot = old[c.name] ?? Slot(position: 0)
            slot.position = Int32(i)
            if slot.checkedCycle == cycle { checked += 1 }
            slots[c.name] = slot
        }
        return (slots, checked)
    }

    private static func observerTables(_ c: Configuration) -> ([TenantConfig], Set<String>) {
        var seen = Set<String>()
        let list = c.tenants.filter { seen.insert($0.tenantId.lowercased()).inserted }
        return (list, seen)
    }

    /// A connector's checks: per kind, and whether it is observed, checked with its own
    /// secret, or both (a plan shared by every connector of the same kind and mode).
    private func plan(_ c: ConnectorConfig) -> [CheckKind] {
        Self.plan(c, observedTenants: observedTenants, zscaler: settings.zscaler)
    }

    private static func plan(_ c: ConnectorConfig, observedTenants: Set<String>, zscaler: Bool) -> [CheckKind] {
        CheckPlan.checks(
            for: c.kind, mode: CheckPlan.Mode(c, hasObserver: observedTenants.contains(c.tenantId.lowercased())),
            zscaler: zscaler)
    }

    /// The configured connector of that name (nil: not configured).
    private func configured(_ name: String) -> ConnectorConfig? {
        slots[name].map { connectors[Int($0.position)] }
    }

    /// The configured observer of that reserved name (nil: not configured).
    private func configuredObserver(_ name: String) -> TenantConfig? {
        guard let tenant = ObserverIdentity.tenantId(of: name) else { return nil }
        return observers.first { $0.tenantId.lowercased() == tenant }
    }

    private func identity(_ name: String) -> ConnectorIdentity? {
        configured(name).map(ConnectorIdentity.init) ?? configuredObserver(name).map(ObserverIdentity.identity)
    }

    /// The identities of the connectors whose incidents reconciliation ends: the configured
    /// ones from the configuration, the others (removed by a reload, or while the daemon was
    /// down) as the store last recorded them — their incidents were announced with those
    /// labels, and a label-filtered webhook that got the alert must get its resolution.
    private func lastIdentities(of names: Set<String>) async -> [String: ConnectorIdentity] {
        var out: [String: ConnectorIdentity] = [:]
        var removed = Set<String>()
        for name in names {
            if let id = identity(name) { out[name] = id } else { removed.insert(name) }
        }
        guard !removed.isEmpty else { return out }
        do {
            out.merge(try await store.connectorIdentities(named: removed)) { configured, _ in configured }
        } catch {
            logger.error("cannot read the identities of removed connectors: \(error)")
        }
        return out
    }

    /// The configured connectors in configuration order, each once.
    private var ordered: some Sequence<ConnectorConfig> {
        connectors.enumerated().lazy.filter { i, c in self.slots[c.name]?.position == Int32(i) }.map(\.element)
    }

    /// Every (connector, check) the configuration checks.
    private var presentKeys: Set<AlertKey> {
        var keys = Set<AlertKey>()
        keys.reserveCapacity(connectors.count * 6)
        for c in ordered {
            for check in plan(c) { keys.insert(AlertKey(connector: c.name, check: check)) }
        }
        for t in observers { keys.insert(AlertKey(connector: ObserverIdentity.name(tenantId: t.tenantId), check: .observer)) }
        return keys
    }

    // MARK: Start and reload

    /// On start and after a reload: records the configured connectors, and resolves the
    /// incidents of connectors or checks that are gone.
    public func reconcile(now: Date) async {
        epoch &+= 1
        await refreshSilences(now: now)
        let configured =
            ordered.map { c in
                ConfiguredConnector(identity: ConnectorIdentity(c), checks: plan(c))
            }
            + observers.map { ConfiguredConnector(identity: ObserverIdentity.identity($0), checks: [.observer]) }
        do {
            _ = try await store.syncConfiguredConnectors(configured, at: now)
        } catch {
            logger.error("cannot record the configured connectors: \(error)")
        }
        let silencesNow = silences
        // Computed once: it is a set of every (connector, check), 60,000 at 10,000 connectors.
        let present = presentKeys
        let r = AlertStateMachine.reconcile(
            states: alertStates.absent(from: present), present: present, now: now, settings: settings.alerts,
            isSilenced: { silencesNow.covers(connector: $0, at: now) }, nextID: { NotificationID.uuidV7(at: now) })
        for key in r.forget {
            alertStates[key] = nil
            // Forgetting supersedes a state still waiting for its commit (the store applies
            // states first, then forgets).
            pendingStates[key] = nil
            pendingForget.append(key)
        }
        let identities = await lastIdentities(of: Set(r.actions.map(\.notification.connector)))
        for action in r.actions {
            enqueue(action.notification, identity: identities[action.notification.connector])
        }
        shown.keepOnly(present)
        await flush(now: now)
    }

    public func reload(_ configuration: Configuration, now: Date) async {
        settings = Settings(configuration)
        connectors = configuration.connectors
        (slots, checkedThisCycle) = Self.index(connectors, keeping: slots, cycle: cycle)
        (observers, observedTenants) = Self.observerTables(configuration)
        checkNotes = checkNotes.filter { slots[$0.key] != nil }
        await reconcile(now: now)
    }

    // MARK: Results

    /// Records one connector's fresh results (its whole plan) and what its checks noted
    /// (a check left out and why).
    public func record(connector name: String, results: [CheckResult], notes: [String] = [], now: Date) async {
        guard var slot = slots[name] else { return }  // removed by a reload meanwhile
        let connector = connectors[Int(slot.position)]
        let identity = ConnectorIdentity(connector)
        checkNotes[name] = notes.isEmpty ? nil : notes
        // `signin` left out this time (no licence or permission) shows no older result:
        // it is not checked, and the note says why.
        if !results.contains(where: { $0.check == .signin }) && plan(connector).contains(.signin) {
            shown.remove(connector: name, check: .signin)
        }
        let outcomes = apply(results, name: name, identity: identity, now: now)
        pendingConnectors.append(ConnectorCycle(identity: identity, outcomes: outcomes))
        revisionCounter &+= 1
        slot.revision = revisionCounter
        if slot.checkedCycle != cycle {
            slot.checkedCycle = cycle
            checkedThisCycle += 1
        }
        slots[name] = slot
        if checkedThisCycle >= slots.count && !slots.isEmpty {
            lastCycleAt = now
            cycle &+= 1
            if cycle == 0 { cycle = 1 }  // 0 means "not checked"
            checkedThisCycle = 0
            interner.removeAll()
        }
        if pendingConnectors.count >= batchSize && health.mayTry(at: now) { await flush(now: now) }
    }

    /// Records an observer's own result (``ObserverCheck``) under its reserved name, with
    /// history, alert state and notifications like a connector's check; it is no part of
    /// the connectors' cycle.
    public func recordObserver(tenantId: String, result: CheckResult, now: Date) async {
        let name = ObserverIdentity.name(tenantId: tenantId)
        guard let tenant = configuredObserver(name) else { return }  // removed by a reload meanwhile
        let identity = ObserverIdentity.identity(tenant)
        let outcomes = apply([result], name: name, identity: identity, now: now)
        pendingConnectors.append(ConnectorCycle(identity: identity, outcomes: outcomes))
        if pendingConnectors.count >= batchSize && health.mayTry(at: now) { await flush(now: now) }
    }

    /// The transient rule and the alert state machine over fresh results; returns what the
    /// store records.
    private func apply(
        _ results: [CheckResult], name: String, identity: ConnectorIdentity, now: Date
    ) -> [CheckOutcome] {
        var outcomes: [CheckOutcome] = []
        let isSilenced = silences.covers(connector: name, at: now)
        for fresh in results {
            let key = AlertKey(connector: name, check: fresh.check)
            let previous = shown[name, fresh.check]
            let (result, count) = TransientPolicy.apply(
                fresh: interner.intern(fresh), previous: previous?.result, failures: previous?.failures ?? 0,
                threshold: settings.failureThreshold)
            shown.set(
                connector: name, .init(result: result, failures: count), capacity: results.count,
                packedDetails: interner.intern(ShownResults.pack(result.details)))
            outcomes.append(CheckOutcome(result: result, consecutiveFailures: count))
            // A kept previous result is not news: only evaluate what is actually shown anew.
            let (state, actions) = AlertStateMachine.evaluate(
                previous: alertStates[key], connector: name, result: result,
                context: AlertContext(now: now, settings: settings.alerts, silenced: isSilenced),
                nextID: { NotificationID.uuidV7(at: now) })
            if state != alertStates[key] ?? .idle {
                alertStates[key] = state.isIdle ? nil : state
                pendingStates[key] = state
                // Back in the configuration before a forget was committed: the new state wins.
                if !pendingForget.isEmpty { pendingForget.removeAll { $0 == key } }
            }
            for a in actions { enqueue(a.notification, identity: identity) }
        }
        return outcomes
    }

    /// - Parameter identity: nil only when neither the configuration nor the store knows the
    ///   connector (its store read failed): then it is rendered with its name alone.
    private func enqueue(_ n: AlertNotification, identity: ConnectorIdentity?) {
        let id =
            identity ?? self.identity(n.connector)
            ?? ConnectorIdentity(name: n.connector, kind: .exchange, tenantId: "", clientId: "")
        let hooks =
            n.suppressed
            ? []
            : NotificationRendering.matchingWebhooks(n, identity: id, webhooks: settings.webhooks)
                + NotificationRendering.matchingEmails(n, identity: id, emails: settings.emails)
        let outgoing = OutgoingNotification(
            notification: n, body: NotificationRendering.standardPayload(n, identity: id), webhooks: hooks)
        pendingNotifications.append(PendingNotification(outgoing: outgoing, identity: id))
    }

    /// Commits what is pending in one transaction, then journals its notifications.
    public func flush(now: Date) async {
        guard
            !pendingConnectors.isEmpty || !pendingStates.isEmpty || !pendingForget.isEmpty
                || !pendingNotifications.isEmpty
        else { return }
        let batch = CycleBatch(
            at: now, connectors: pendingConnectors, alertStates: pendingStates, forgetAlertStates: pendingForget,
            notifications: pendingNotifications.map(\.outgoing))
        var notifications = pendingNotifications
        pendingConnectors = []
        pendingStates = [:]
        pendingForget = []
        pendingNotifications = []
        do {
            _ = try await store.commit(batch)
        } catch {
            // Keep running: the in-memory view stays right and the next commit carries
            // the latest results; the alert states, the forgotten ones and the notifications
            // are re-sent below (a forget lost here would leave a resolved incident firing
            // in the store, and a restart would resolve it a second time).
            commitFailures += 1
            if let entry = health.failed(error, at: now, waiting: batch.connectors.count) {
                logger.error("cannot write to the history database: \(error)")
                journal.send(entry, file: #fileID, line: #line, function: #function)
            }
            // The results too, or a transition recorded only in this batch would be lost.
            pendingConnectors = HistoryHealth.carried(
                batch.connectors + pendingConnectors, limit: max(batchSize, 2 * slots.count))
            // The journal does not wait for the database: an alert is journaled now, once.
            for i in notifications.indices where !notifications[i].journaled {
                notifications[i].journaled = true
                sendToJournal(notifications[i])
            }
            // What was recorded while the commit ran is newer: a state set meanwhile wins
            // over this batch's state and over its forget of the same key.
            let newer = pendingStates
            for (k, v) in batch.alertStates { pendingStates[k] = pendingStates[k] ?? v }
            pendingForget = batch.forgetAlertStates.filter { newer[$0] == nil } + pendingForget
            pendingNotifications = notifications + pendingNotifications
            return
        }
        if let entry = health.succeeded(at: now, written: batch.connectors.count) {
            logger.notice("the history database is written again")
            journal.send(entry, file: #fileID, line: #line, function: #function)
        }
        for pending in notifications where !pending.journaled { sendToJournal(pending) }
        await refreshSilences(now: now)
    }

    private func sendToJournal(_ pending: PendingNotification) {
        guard !pending.outgoing.notification.suppressed else { return }
        journal.send(
            NotificationRendering.journalEntry(pending.outgoing.notification, identity: pending.identity),
            file: #fileID, line: #line, function: #function)
    }

    /// Re-reads the silences in force; the control socket calls it after adding or lifting one.
    func refreshSilences(now: Date) async {
        guard let list = try? await store.silences(activeAt: now) else { return }
        silences = list
    }

    // MARK: Views

    /// The status of every configured connector (or the named ones), in configuration order.
    public func status(version: String, names: Set<String>? = nil) -> StatusReport {
        var statuses: [StatusReport.ConnectorStatus] = []
        statuses.reserveCapacity(names?.count ?? slots.count)
        for c in ordered where names?.contains(c.name) ?? true {
            let identity = ConnectorIdentity(c)
            let checks = shown.results(connector: c.name, plan: plan(c))
            statuses.append(
                StatusReport.ConnectorStatus(identity: identity, checks: checks, notes: notes(c, checks)))
        }
        return StatusReport(
            daemon: .init(
                version: version, startedAt: startedAt, lastCycleAt: lastCycleAt, history: health.status),
            connectors: statuses, observers: observerStatuses)
    }

    /// What the report (SPEC §5) shows as "now": every configured connector (in
    /// configuration order, or those named in `names`) with the results `status` shows, and
    /// each `[[tenant]]` observer with its own result (nil before its first pass). The same
    /// results as `/v1/status`, so the report's credentials are the status's expiries.
    public func reportSources(names: Set<String>? = nil) -> (
        connectors: [(identity: ConnectorIdentity, checks: [CheckResult])],
        observers: [(tenant: TenantConfig, result: CheckResult?)]
    ) {
        var connectors: [(identity: ConnectorIdentity, checks: [CheckResult])] = []
        for c in ordered where names?.contains(c.name) ?? true {
            connectors.append((ConnectorIdentity(c), shown.results(connector: c.name, plan: plan(c))))
        }
        let own = observers.filter { names?.contains(ObserverIdentity.name(tenantId: $0.tenantId)) ?? true }
        return (connectors, own.map { ($0, shown[ObserverIdentity.name(tenantId: $0.tenantId), .observer]?.result) })
    }

    /// Each observer's own result (SPEC §3b `observers`); nil when none is configured, so
    /// the reply of a daemon without observers is unchanged.
    public var observerStatuses: [StatusReport.ObserverStatus]? {
        guard !observers.isEmpty else { return nil }
        return observers.map {
            StatusReport.ObserverStatus(
                tenantId: $0.tenantId, clientId: $0.clientId,
                result: shown[ObserverIdentity.name(tenantId: $0.tenantId), .observer]?.result)
        }
    }

    /// The status table (`connwatchd --once`) and the worst connector status, built one
    /// connector at a time without the whole report or the checks' details: at 10,000
    /// connectors the report was the peak of a `--once` run.
    public func statusTable(now: Date) -> (table: TextTable, worst: CheckStatus) {
        var table = TextTable(headers: StatusReport.tableHeaders)
        table.rows.reserveCapacity(slots.count)
        var worst = CheckStatus.ok
        for c in ordered {
            let checks = shown.results(connector: c.name, plan: plan(c), details: false)
            let status = StatusReport.ConnectorStatus(identity: ConnectorIdentity(c), checks: checks)
            worst = max(worst, status.status)
            table.append(StatusReport.tableRow(status, now: now))
        }
        // An observer whose token is refused blinds its tenant: it counts in the exit code.
        for o in observerStatuses ?? [] { worst = max(worst, o.status) }
        return (table, worst)
    }

    /// What `/v1/status` needs to assemble its reply from cached per-connector JSON: every
    /// configured connector's stamp in configuration order, with its status only where the
    /// caller's stamp for it differs (`known`: what the caller has encoded).
    public func statusUpdate(version: String, known: [String: StatusStamp]) -> StatusUpdate {
        var entries: [StatusUpdate.Entry] = []
        entries.reserveCapacity(slots.count)
        for c in ordered {
            let stamp = StatusStamp(epoch: epoch, revision: slots[c.name]?.revision ?? 0)
            var status: StatusReport.ConnectorStatus?
            if known[c.name] != stamp {
                let identity = ConnectorIdentity(c)
                let checks = shown.results(connector: c.name, plan: plan(c))
                status = StatusReport.ConnectorStatus(identity: identity, checks: checks, notes: notes(c, checks))
            }
            entries.append(StatusUpdate.Entry(name: c.name, stamp: stamp, status: status))
        }
        return StatusUpdate(
            daemon: .init(
                version: version, startedAt: startedAt, lastCycleAt: lastCycleAt, history: health.status),
            entries: entries, observers: observerStatuses)
    }

    public func consecutiveFailures() -> [AlertKey: Int] { shown.failures }

    /// Which checks an observed connector cannot have and what stands in for them, what
    /// its last check left out (`signin`), why a connector lacks the zscaler check, and
    /// when the ZIA rate budget stretches how often Zscaler's verdict is refreshed.
    private func notes(_ c: ConnectorConfig, _ checks: [CheckResult]) -> [String] {
        var notes: [String] = []
        if c.clientSecret == nil { notes.append(CheckPlan.observedAbsence(for: c.kind)) }
        notes += checkNotes[c.name] ?? []
        guard settings.zscaler else { return notes }
        if let why = CheckPlan.zscalerAbsence(for: c.kind) { notes.append(why) }
        if let z = checks.first(where: { $0.check == .zscaler }), let note = z.details["rate_budget_note"]?.stringValue {
            notes.append("zscaler: " + note)
        }
        return notes
    }
}

/// A connector's status version: equal stamps, equal status.
public struct StatusStamp: Sendable, Equatable {
    var epoch: UInt64
    var revision: UInt64
}

/// See ``CycleCoordinator/statusUpdate(version:known:)``.
public struct StatusUpdate: Sendable {
    public struct Entry: Sendable {
        public var name: String
        public var stamp: StatusStamp
        /// Nil when the caller's stamp is current.
        public var status: StatusReport.ConnectorStatus?
    }

    public var daemon: StatusReport.DaemonInfo
    public var entries: [Entry]
    /// ``CycleCoordinator/observerStatuses``.
    public var observers: [StatusReport.ObserverStatus]?
}
