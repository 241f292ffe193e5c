import ConnwatchCore
import Foundation

/// Serves the observed facts of a tenant's connectors from one tenant-wide pass of its
/// observer (SPEC §3b: the observer reads its tenant in bulk). The first connector of the
/// tenant checked in a cycle starts a pass over every target of the tenant (observed
/// connectors and those with their own secret); the others of the cycle reuse it, so the
/// cost is one pass per tenant per `check_interval` whatever the number of connectors.
/// Concurrent callers await the same pass. An explicit check (``requireFresh(after:)``)
/// makes the next caller wait for a pass started after the request.
///
/// After each pass the observer's own result (``ObserverCheck``) is handed to `record`,
/// once per pass, before any caller gets the facts.
public actor ObserverMonitor {
    public typealias Recorder =
        @Sendable (_ tenant: TenantConfig, _ pass: TenantObservation, _ result: CheckResult) async -> Void

    public let tenant: TenantConfig
    private let client: any TenantObserving
    private var targets: [ObservationTarget]
    /// `[daemon] check_interval`.
    private var interval: TimeInterval
    private let thresholds: ExpiryThresholds
    private let clock: WallClock
    private let record: Recorder

    private var last: (pass: TenantObservation, startedAt: Date)?
    private var inFlight: (task: Task<TenantObservation, Never>, startedAt: Date, number: Int)?
    /// A pass must have started at or after this to be served (an explicit check).
    private var freshAfter: Date?

    /// Passes made (for tests and `/metrics`).
    public private(set) var passes = 0
    /// Graph and ARM HTTP requests of all passes (`TenantObservation.httpRequests`).
    public private(set) var httpRequests = 0

    public init(
        tenant: TenantConfig, client: any TenantObserving, targets: [ObservationTarget], checkInterval: TimeInterval,
        thresholds: ExpiryThresholds, clock: WallClock, record: @escaping Recorder
    ) {
        self.tenant = tenant
        self.client = client
        self.targets = targets
        self.interval = checkInterval
        self.thresholds = thresholds
        self.clock = clock
        self.record = record
    }

    /// The targets of the next pass (a reload changed the tenant's connectors); the pass
    /// in hand is not reused when they changed.
    public func update(targets: [ObservationTarget], checkInterval: TimeInterval) {
        if Set(targets) != Set(self.targets) { last = nil }
        self.targets = targets
        self.interval = checkInterval
    }

    /// The next ``observation()`` waits for a pass started at or after `date`.
    public func requireFresh(after date: Date) {
        freshAfter = max(freshAfter ?? date, date)
    }

    /// How long a pass is served: a check interval; one whose observer could not even
    /// get a token at most 5 minutes (a blip at the start of an hourly cycle must not
    /// stick for the hour), still once per 5 minutes whatever the number of connectors.
    private func reuse(_ pass: TenantObservation) -> TimeInterval {
        if case .value = pass.observer.token { return interval }
        return min(interval, 300)
    }

    private func acceptable(startedAt: Date) -> Bool {
        freshAfter.map { startedAt >= $0 } ?? true
    }

    /// The tenant's facts: the current pass, the one in flight, or a new one.
    public func observation() async -> TenantObservation {
        let now = clock.now()
        if let last, acceptable(startedAt: last.startedAt), now >= last.startedAt,
            now.timeIntervalSince(last.startedAt) < reuse(last.pass)
        {
            return last.pass
        }
        if let inFlight, acceptable(startedAt: inFlight.startedAt) { return await inFlight.task.value }
        let (client, targets, tenant, thresholds, record) = (
            self.client, self.targets, self.tenant, self.thresholds, self.record
        )
        let task = Task { () -> TenantObservation in
            let pass = await client.observe(targets, now: now)
            let result = ObserverCheck.evaluate(pass.observer, thresholds: thresholds, now: pass.readAt)
            await record(tenant, pass, result)
            return pass
        }
        passes += 1
        let number = passes
        inFlight = (task, now, number)
        let pass = await task.value
        if inFlight?.number == number { inFlight = nil }
        httpRequests += pass.httpRequests
        if last.map({ $0.startedAt <= now }) ?? true { last = (pass, now) }
        return pass
    }

    /// An observed app's owners, read by this tenant's observer (on demand, outside the pass).
    public func owners(appId: String) async -> OwnersLookup {
        await client.owners(appId: appId)
    }
}
