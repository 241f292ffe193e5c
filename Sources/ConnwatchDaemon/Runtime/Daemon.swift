import ConnwatchAlerting
import ConnwatchConfig
import ConnwatchCore
import ConnwatchEntra
import ConnwatchMail
import ConnwatchStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// connwatchd's composition root: configuration, history, Microsoft clients, scheduler,
/// coordinator, systemd notifications, signals.
public final class Daemon: Sendable {
    public static let version = "0.1.0"

    public struct Options: Sendable {
        public var configPath: String
        public var credentialsDirectory: String?
        public var environment: [String: String]
        /// Claim the control socket before the database is touched, so a second daemon on the
        /// same configuration stops before it changes anything (connwatchd does; `--once` does not).
        public var claimControlSocket = false
        /// The wall clock (``WallClock``): the system's, or a test's.
        public var clock: WallClock = .system
        /// Makes each `[[tenant]]` observer's client (SPEC §3b); tests give a double.
        public var observerFactory: TenantObserverFactory = Daemon.observerClientFactory
        /// Submits alert mails; nil: SMTP with the configured `ca_file` (tests put a double here).
        public var mailTransport: (any MailTransport)?
        /// The zone digests are scheduled in (`digest_at` is local time): the process's, read
        /// at each look so a changed `TZ` is not needed — tests give a fixed one.
        public var timeZone: @Sendable () -> TimeZone = { TimeZone.current }

        public init(configPath: String, credentialsDirectory: String?, environment: [String: String]) {
            self.configPath = configPath
            self.credentialsDirectory = credentialsDirectory
            self.environment = environment
        }
    }

    public enum StartError: Error, CustomStringConvertible {
        case configuration(ConfigErrors)
        case database(String)
        case network(String)
        /// Another daemon serves the control socket, or it cannot be claimed.
        case socket(String)

        public var description: String {
            switch self {
            case .configuration(let e): e.description
            case .database(let d): d
            case .network(let d): d
            case .socket(let d): d
            }
        }

        /// sysexits: 78 configuration, 73 cannot create the database, 75 the control socket is
        /// taken (try again later), 70 otherwise.
        public var exitCode: Int32 {
            switch self {
            case .configuration: 78
            case .database: 73
            case .socket: 75
            case .network: 70
            }
        }
    }

    /// The observer's client (ConnwatchEntra): the daemon's HTTPS transport (`ca_file`,
    /// proxy) and the cloud's endpoints.
    public static let observerClientFactory: TenantObserverFactory = { tenant, context in
        ObserverClient(tenant: tenant, endpoints: context.endpoints, transport: context.clients.transport)
    }

    let options: Options
    let logger: Logger
    let journal: JournalWriter
    let notifier = SystemdNotifier()
    let store: HistoryStore
    let coordinator: CycleCoordinator
    /// Check durations and result counts for `GET /metrics`.
    let checkMetrics = CheckMetrics()
    let state: Mutex<(configuration: Configuration, checker: ConnectorChecker)>
    /// One monitor per `[[tenant]]` observer: the tenant's shared pass, the observer's own result.
    let observers: ObserverMonitors
    /// `[daemon] ca_file`'s bytes when the clients were made (``reload(scheduler:)``).
    let caContents: Mutex<Data?>
    /// The webhooks and their HTTP client, swapped on reload; read by the delivery worker.
    let webhookSink: WebhookSink
    /// The `[[email]]` sinks and their SMTP transport, swapped on reload; read by the
    /// delivery worker (alert mails go through the same outbox as webhooks).
    let emailSink: EmailSink
    /// The control socket, when claimed at start (``Options/claimControlSocket``).
    let socketClaim: ControlSocketClaim?
    /// Sends the webhook outbox (its own service; `--once` drains it before exiting).
    let deliveryWorker: DeliveryWorker
    /// App owners for `[[email]]` sinks with `owners = true`, read on demand and cached.
    let ownersDirectory: OwnersDirectory
    /// Sends each `[[email]]` sink's digest on its schedule (its own service; not in `--once`).
    let digestWorker: DigestWorker
    /// Where the digest worker gets its content: ``digestContent(sink:changesSince:now:)``,
    /// set once the daemon exists (the worker is made before `self` may be used).
    private let digestSlot = DigestContentSlot()
    /// Bounds each connector's checks (``checkTimeLimit``) with one timer for all.
    let timeLimiter = TimeLimiter()
    /// Checks in flight per HTTPS clients: a reload's old clients close when they are unused.
    let checkerLeases = CheckerLeases()
    /// How long one connector's checks may take before they are cancelled and reported
    /// `unreachable`: a stuck peer cannot hold a concurrency slot forever.
    static let checkTimeLimit = Duration.seconds(180)

    private init(
        options: Options, logger: Logger, journal: JournalWriter, store: HistoryStore, coordinator: CycleCoordinator,
        configuration: Configuration, checker: ConnectorChecker, sender: WebhookSender, socketClaim: ControlSocketClaim?
    ) {
        self.socketClaim = socketClaim
        self.options = options
        self.logger = logger
        self.journal = journal
        self.store = store
        self.coordinator = coordinator
        self.state = Mutex((configuration, checker))
        self.observers = ObserverMonitors(
            configuration: configuration,
            context: ObserverContext(clients: checker.clients, endpoints: configuration.cloud.endpoints),
            factory: options.observerFactory, clock: options.clock,
            record: { [coordinator, clock = options.clock] tenant, _, result in
                await coordinator.recordObserver(tenantId: tenant.tenantId, result: result, now: clock.now())
            })
        self.caContents = Mutex(Daemon.caFileContents(configuration))
        let sink = WebhookSink(webhooks: configuration.webhooks, sender: sender)
        self.webhookSink = sink
        let mail = EmailSink(
            emails: configuration.emails, transport: options.mailTransport ?? SMTPMailTransport(caFile: configuration.daemon.caFile))
        self.emailSink = mail
        let link = DaemonLink()
        self.ownersDirectory = OwnersDirectory(clock: options.clock, reader: Daemon.ownersReader(link))
        self.deliveryWorker = DeliveryWorker(
            store: store, journal: journal, logger: logger,
            policy: WebhookRetryPolicy(environment: options.environment), version: Daemon.version, clock: options.clock,
            sink: { [sink] in sink.state.withLock { $0 } }, mail: { [mail] in mail.state.withLock { $0 } },
            owners: { [link] name in await link.daemon?.owners(ofConnector: name) ?? .unavailable("owners not read: the daemon is stopping") })
        let slot = digestSlot
        self.digestWorker = DigestWorker(
            store: store, journal: journal, logger: logger,
            policy: WebhookRetryPolicy(environment: options.environment), clock: options.clock,
            timeZone: options.timeZone, mail: { [mail] in mail.state.withLock { $0 } },
            content: { sink, since, now in try await slot.provide(sink, since, now) })
        slot.set { [weak self] sink, since, now in
            guard let self else { throw CancellationError() }
            return try await self.digestContent(sink: sink, changesSince: since, now: now)
        }
        link.set(self)
    }

    var configuration: Configuration { state.withLock { $0.configuration } }
    /// The one wall clock of this daemon.
    var clock: WallClock { options.clock }
    var checker: ConnectorChecker { state.withLock { $0.checker } }

    /// Loads the configuration, opens the database, reconciles alert state.
    public static func start(
        options: Options, journal: JournalWriter, logger: Logger
    ) async throws(StartError) -> Daemon {
        let configuration: Configuration
        do {
            configuration = try ConfigLoader(credentialsDirectory: options.credentialsDirectory).load(
                path: options.configPath
            ).configuration
        } catch {
            throw .configuration(error)
        }
        var claim: ControlSocketClaim?
        if options.claimControlSocket {
            do {
                claim = try ControlSocketClaim.claim(
                    path: ControlSocketClaim.path(settings: configuration.daemon, environment: options.environment))
            } catch {
                throw .socket(error.description)
            }
        }
        let path = configuration.daemon.databasePath(stateDirectory: options.environment["STATE_DIRECTORY"])
        let store: HistoryStore
        let snapshot: StoreSnapshot
        do {
            store = try HistoryStore.open(path: path)
            snapshot = try await store.loadState()
        } catch {
            throw .database("\(error)")
        }
        let checker: ConnectorChecker
        let sender: WebhookSender
        do {
            checker = try makeChecker(configuration, environment: options.environment)
            sender = try makeWebhookSender(configuration, environment: options.environment)
        } catch {
            throw .network("\(error)")
        }
        let now = options.clock.now()
        let coordinator = CycleCoordinator(
            store: store, journal: journal, configuration: configuration, snapshot: snapshot, startedAt: now,
            logger: logger)
        try? await store.recordDaemonEvent(
            .start, message: "connwatchd \(version), \(configuration.connectors.count) connectors", at: now)
        await coordinator.reconcile(now: now)
        return Daemon(
            options: options, logger: logger, journal: journal, store: store, coordinator: coordinator,
            configuration: configuration, checker: checker, sender: sender, socketClaim: claim)
    }

    static func makeWebhookSender(_ c: Configuration, environment: [String: String]) throws(EntraError) -> WebhookSender {
        try WebhookSender(
            caFile: c.daemon.caFile, proxy: TransportSettings.proxy(configured: c.daemon.proxy, environment: environment),
            proxyCredentials: c.daemon.proxyCredentials,
            noProxy: TransportSettings.noProxy(configured: c.daemon.noProxy, environment: environment))
    }

    static func makeChecker(_ c: Configuration, environment: [String: String]) throws(EntraError) -> ConnectorChecker {
        let clients = try MicrosoftClients(
            cloud: c.cloud, daemon: c.daemon, environment: environment, proxyCredentials: c.daemon.proxyCredentials)
        return ConnectorChecker(
            clients: clients, endpoints: c.cloud.endpoints, thresholds: ExpiryThresholds(c.alerts),
            zscaler: c.zscaler.map {
                ZscalerMonitor(
                    client: ZIAClient(transport: clients.transport, settings: $0), settings: $0,
                    checkInterval: c.daemon.checkInterval.timeInterval)
            })
    }

    /// Checks one connector, bounded in time so a stuck peer cannot hold a slot forever,
    /// and hands the results to the coordinator.
    func check(_ connector: ConnectorConfig) async {
        let checker = checkerLeases.enter { self.checker }
        let started = ContinuousClock.now
        let limit = Daemon.checkTimeLimit
        let clock = self.clock
        let monitor = observers.monitor(forTenant: connector.tenantId)
        let outcome = await timeLimiter.run(limit: limit) {
            await Daemon.runChecks(connector, checker: checker, monitor: monitor, clock: clock)
        }
        if let retired = checkerLeases.leave(checker) { await retired.shutdown() }
        let now = clock.now()
        let final =
            outcome?.results
            ?? CheckPlan.checks(
                for: connector.kind, mode: CheckPlan.Mode(connector, hasObserver: monitor != nil),
                zscaler: checker.zscaler != nil
            ).map {
                CheckResult(
                    check: $0, status: .unknown, reason: .unreachable,
                    summary: "the connector's checks did not finish within \(limit.components.seconds)s", checkedAt: now
                )
            }
        checkMetrics.record(
            connector: connector.name, kind: connector.kind, duration: ContinuousClock.now - started, results: final)
        await coordinator.record(connector: connector.name, results: final, notes: outcome?.notes ?? [], now: now)
    }

    /// A connector's checks: its own (``ConnectorChecker``), the observed ones from its
    /// tenant's shared pass (``ObservedRun``), or both (SPEC §3b).
    static func runChecks(
        _ connector: ConnectorConfig, checker: ConnectorChecker, monitor: ObserverMonitor?, clock: WallClock
    ) async -> ObservedRun.Outcome {
        guard let monitor else {
            // An observed connector without an observer is refused by the loader.
            guard connector.clientSecret != nil else {
                return ObservedRun.Outcome(results: [], notes: ["observed, but its tenant has no [[tenant]] observer"])
            }
            return ObservedRun.Outcome(results: await checker.run(connector, now: clock.now()), notes: [])
        }
        let zscaler = checker.zscaler.flatMap { z -> (@Sendable ([CheckResult]) async -> CheckResult)? in
            guard CheckPlan.zscalerAbsence(for: connector.kind) == nil else { return nil }
            return { entra in await z.check(connector, entra: entra) }
        }
        return await ObservedRun.run(
            connector, monitor: monitor, thresholds: checker.thresholds, now: { clock.now() },
            own: { await checker.run(connector, now: clock.now()) }, zscaler: zscaler)
    }

    /// Passes of the observers whose tenant has no configured connector: no connector's
    /// check starts them, and the observer itself is still watched (its token, its own
    /// credential's expiry, its permissions). A pass in hand is reused as usual.
    func observeTenantsWithoutConnectors() async {
        let withConnectors = Set(configuration.connectors.map { $0.tenantId.lowercased() })
        for (tenant, monitor) in observers.all where !withConnectors.contains(tenant) {
            _ = await monitor.observation()
        }
    }

    /// Makes the next check of each named connector (all when empty) wait for a fresh pass
    /// of its tenant's observer (`connwatchctl check`): one pass serves all of them.
    func requireFreshObservations(for names: [String]) async {
        let c = configuration
        let wanted = names.isEmpty ? nil : Set(names)
        let now = clock.now()
        var tenants = Set<String>()
        for connector in c.connectors where wanted?.contains(connector.name) ?? true {
            tenants.insert(connector.tenantId.lowercased())
        }
        for tenant in tenants { await observers.monitor(forTenant: tenant)?.requireFresh(after: now) }
    }

    // MARK: --once

    /// One full cycle over every connector (history and alerts as usual), then what is due
    /// of the webhooks; the status is then read with ``statusReport()`` or
    /// ``statusTable(now:)``.
    public func runOnce() async {
        let connectors = configuration.connectors
        let limit = max(1, configuration.daemon.concurrency)
        // Every observer's pass starts now, side by side: a pass is paced by Graph's reports
        // limit of its tenant (5 requests per 10 s), and the connectors waiting for it would
        // otherwise fill the concurrency slots and read the tenants one after another.
        let monitors = Array(observers.all.values)
        let passes = Task {
            await withTaskGroup(of: Void.self) { group in
                for monitor in monitors { group.addTask { _ = await monitor.observation() } }
            }
        }
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for c in connectors {
                if running >= limit {
                    await group.next()
                    running -= 1
                }
                group.addTask { await self.check(c) }
                running += 1
            }
        }
        await passes.value
        await observeTenantsWithoutConnectors()
        await coordinator.flush(now: clock.now())
        // Cron users get their webhooks too: what is due now goes out (bounded); retries
        // stay in the outbox for the next run or the daemon.
        await deliveryWorker.drainDue(deadline: .now + .seconds(60))
    }

    public func statusReport() async -> StatusReport {
        await coordinator.status(version: Daemon.version)
    }

    public func statusTable(now: Date) async -> (table: TextTable, worst: CheckStatus) {
        await coordinator.statusTable(now: now)
    }

    public func shutdown() async {
        await coordinator.flush(now: clock.now())
        try? await store.recordDaemonEvent(.stop, message: "", at: clock.now())
        await checker.clients.shutdown()
        await webhookSink.state.withLock { $0.sender }.shutdown()
        try? store.close()
    }

    // MARK: Reload

    /// A refused reload, said everywhere an operator looks: the log, the journal (with its
    /// catalog entry) and the database's daemon events. Configuration errors never quote a
    /// secret-bearing value (ConnwatchConfig's rule), so their text is safe to keep.
    private func refuseReload(_ error: ConfigErrors, at now: Date) async {
        logger.error("reload refused: \(error.errors.count) configuration error(s); keeping the running configuration")
        journal.send(
            JournalEntry(
                message:
                    "reload refused, the previous configuration stays: \(error.errors.map(\.description).joined(separator: "; "))",
                priority: 3, messageID: MessageIDs.reloadFailed,
                fields: [("CONNWATCH_CONFIG", options.configPath)]))
        try? await store.recordDaemonEvent(.reloadFailed, message: error.description, at: now)
    }

    /// A reload that would remove every connector is refused: an empty or half-written file
    /// (an editor's truncate-then-write, a deploy tool caught mid-copy, a `connectors.d` that
    /// did not mount) parses as "no connectors", and applying it would resolve every alert —
    /// an all-clear nobody gave. Removing them all on purpose is a restart (or a stop).
    static func refusesEmptying(old: Configuration, fresh: Configuration, path: String) -> ConfigErrors? {
        guard fresh.connectors.isEmpty, !old.connectors.isEmpty else { return nil }
        return ConfigErrors([
            ConfigError(
                file: path, line: nil, key: "connector",
                message:
                    "the new configuration has no [[connector]] (the running one has \(old.connectors.count)): applying it would resolve every alert; if that is meant, restart connwatchd instead of reloading"
            )
        ])
    }

    /// The bytes of `[daemon] ca_file`, to notice a reload after the file was edited in place.
    static func caFileContents(_ c: Configuration) -> Data? {
        c.daemon.caFile.flatMap { FileManager.default.contents(atPath: $0) }
    }

    /// Re-reads the configuration; a bad one keeps the old running and says why.
    /// Returns nil on success, else the errors.
    @discardableResult
    public func reload(scheduler: CheckScheduler<ContinuousClock>?) async -> ConfigErrors? {
        notifier.notify(["RELOADING=1", "MONOTONIC_USEC=\(SystemdNotifier.monotonicMicroseconds())"])
        defer { notifier.notify(["READY=1"]) }
        let now = clock.now()
        let fresh: Configuration
        do {
            fresh = try ConfigLoader(credentialsDirectory: options.credentialsDirectory).load(path: options.configPath)
                .configuration
        } catch {
            await refuseReload(error, at: now)
            return error
        }
        let old = configuration
        if let refused = Daemon.refusesEmptying(old: old, fresh: fresh, path: options.configPath) {
            await refuseReload(refused, at: now)
            return refused
        }
        // The new clients are made before anything is swapped: a reload whose ca_file or
        // proxy cannot be used is refused with the reason, never half applied or ignored
        // (keeping the old clients silently would leave the operator believing the new
        // trust anchors or proxy are in use).
        let caContents = Daemon.caFileContents(fresh)
        let trustChanged =
            old.daemon.caFile != fresh.daemon.caFile || caContents != self.caContents.withLock { $0 }
            || old.daemon.proxy != fresh.daemon.proxy || old.daemon.proxyCredentials != fresh.daemon.proxyCredentials
            || old.daemon.noProxy != fresh.daemon.noProxy
        var newChecker: ConnectorChecker?
        var newSender: WebhookSender?
        do {
            if trustChanged || old.cloud != fresh.cloud || old.alerts != fresh.alerts
                || old.daemon.concurrency != fresh.daemon.concurrency || old.zscaler != fresh.zscaler
                || (fresh.zscaler != nil && old.daemon.checkInterval != fresh.daemon.checkInterval)
            {
                newChecker = try Daemon.makeChecker(fresh, environment: options.environment)
            }
            if trustChanged { newSender = try Daemon.makeWebhookSender(fresh, environment: options.environment) }
        } catch {
            await newChecker?.clients.shutdown()
            let key =
                old.daemon.caFile != fresh.daemon.caFile || caContents != self.caContents.withLock({ $0 })
                ? "daemon.ca_file" : "daemon.proxy"
            let errors = ConfigErrors([
                ConfigError(
                    file: options.configPath, line: nil, key: key,
                    message: "the HTTPS clients cannot be set up with the new settings: \(error)")
            ])
            await refuseReload(errors, at: now)
            return errors
        }
        self.caContents.withLock { $0 = caContents }
        if let checker = newChecker {
            let previous = self.checker
            state.withLock { $0.checker = checker }
            // Checks in flight finish on the old clients; they close when the last one ends.
            if let unused = checkerLeases.retire(previous.clients) { await unused.shutdown() }
        }
        if let sender = newSender {
            let previous = webhookSink.state.withLock { sink in
                defer { sink.sender = sender }
                return sink.sender
            }
            // Attempts in flight on the old client fail with it and are retried on the new one.
            Task { await previous.shutdown() }
        }
        webhookSink.state.withLock { $0.webhooks = fresh.webhooks }
        emailSink.state.withLock { state in
            state.emails = fresh.emails
            // The transport reads ca_file for every message; a new path takes effect now.
            if options.mailTransport == nil { state.transport = SMTPMailTransport(caFile: fresh.daemon.caFile) }
        }
        // Owners are read again after a reload (a permission granted, an observer added).
        await ownersDirectory.clear()
        // A webhook that answered 410 Gone gets deliveries again once its URL changes.
        for hook in fresh.webhooks {
            if let before = old.webhooks.first(where: { $0.name == hook.name }), before.url != hook.url {
                try? await store.clearGoneWebhook(hook.name)
            }
        }
        await deliveryWorker.wake()
        await digestWorker.wake()
        state.withLock { $0.configuration = fresh }
        await coordinator.reload(fresh, now: now)
        await observers.reload(
            fresh, context: ObserverContext(clients: self.checker.clients, endpoints: fresh.cloud.endpoints),
            newClients: newChecker != nil)
        await scheduler?.update(
            connectors: fresh.connectors, interval: fresh.daemon.checkInterval.swiftDuration,
            concurrency: fresh.daemon.concurrency)
        try? await store.recordDaemonEvent(.reload, message: "\(fresh.connectors.count) connectors", at: now)
        logger.info("configuration reloaded: \(fresh.connectors.count) connectors")
        return nil
    }
}

/// The digest worker's content provider, filled in once the daemon exists.
final class DigestContentSlot: Sendable {
    private let provider = Mutex<DigestContentProvider?>(nil)

    func set(_ p: @escaping DigestContentProvider) { provider.withLock { $0 = p } }

    func provide(_ sink: EmailConfig, _ since: Date?, _ now: Date) async throws -> DigestContent {
        guard let p = provider.withLock({ $0 }) else { throw CancellationError() }
        return try await p(sink, since, now)
    }
}
