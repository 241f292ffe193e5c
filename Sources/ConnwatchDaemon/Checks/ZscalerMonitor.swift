import ConnwatchCore
import ConnwatchEntra
import Foundation

/// Reads Zscaler's verdict for every connector within the ZIA rate limits, whatever the
/// number of connectors: one `/casbTenant/lite` list per cycle shared by all of them,
/// a `/casbTenant/validate/status/{id}` call only for tenants that are not Active (made
/// when that connector's check runs, so the scheduler's phase spread spreads them over
/// the cycle), every request through the client's ``ZIARateGate``. When the requests of
/// a cycle would exceed the planned hourly budget, the data is refreshed less often and
/// the check says so.
public actor ZscalerMonitor {
    public let client: ZIAClient
    public let settings: ZscalerSettings
    /// `[daemon] check_interval`.
    public let configuredInterval: TimeInterval
    private let now: @Sendable () -> Date

    private var list: (result: Result<[ZscalerTenant], EntraError>, at: Date)?
    private var listTask: Task<Result<[ZscalerTenant], EntraError>, Never>?
    private var validations: [Int: (result: Result<ZscalerValidation, EntraError>, at: Date)] = [:]
    /// The client ID Zscaler authorized, per tenant: read once (SPEC §3), kept.
    private var authorizedClientIds: [Int: String] = [:]
    public private(set) var effectiveInterval: TimeInterval
    public private(set) var requestsPerCycle = 1

    public init(client: ZIAClient, settings: ZscalerSettings, checkInterval: TimeInterval, now: @escaping @Sendable () -> Date = Date.init) {
        self.client = client
        self.settings = settings
        self.configuredInterval = checkInterval
        self.effectiveInterval = checkInterval
        self.now = now
    }

    /// Cached data is reused for a little less than an interval, so that each scheduled
    /// cycle refreshes it once; for exactly the stretched interval when the budget
    /// stretches it (a shorter reuse would overspend the budget).
    private var freshness: TimeInterval {
        effectiveInterval > configuredInterval ? effectiveInterval : configuredInterval * 0.9
    }

    /// A failure is retried sooner than a success is refreshed (within 5 minutes, so a
    /// blip at the start of an hourly cycle does not stick for the hour), still at most
    /// once per 5 minutes whatever the number of connectors asking.
    private func reuse<T>(_ result: Result<T, EntraError>) -> TimeInterval {
        if case .failure = result { return min(freshness, 300) }
        return freshness
    }

    public var budget: ZscalerCheck.Budget {
        ZscalerCheck.Budget(
            configuredInterval: configuredInterval, effectiveInterval: effectiveInterval,
            requestsPerCycle: requestsPerCycle)
    }

    /// The `zscaler` check of one connector; `entra` are its other checks' results of this run.
    public func check(_ connector: ConnectorConfig, entra: [CheckResult]) async -> CheckResult {
        let (match, validation) = await observe(connector)
        return ZscalerCheck.evaluate(
            match: match, validation: validation, entra: entra, maxValidationAge: settings.maxValidationAge,
            budget: budget, now: now())
    }

    func observe(_ connector: ConnectorConfig) async -> (Observed<ZscalerMatch>, Observed<ZscalerValidation>?) {
        let tenants: [ZscalerTenant]
        switch await currentList() {
        case .success(let t): tenants = t
        case .failure(let e): return (.failed(Self.observed(e)), nil)
        }
        // Several tenants share the Entra tenant: tell them apart by the client ID each
        // was authorized with (one validation read per candidate, once).
        if connector.zscalerTenantId == nil {
            let candidates = ZscalerMatching.candidates(tenantId: connector.tenantId, in: tenants)
            if candidates.count > 1 {
                for c in candidates where authorizedClientIds[c.tenantId] == nil {
                    _ = await validation(c.tenantId)
                }
            }
        }
        let match = ZscalerMatching.match(
            connector: connector, tenants: tenants, authorizedClientIds: authorizedClientIds)
        guard case .matched(let tenant, _) = match else { return (.value(match), nil) }
        guard Self.needsDetail(tenant) else { return (.value(match), nil) }
        switch await validation(tenant.tenantId) {
        case .success(let v): return (.value(match), .value(v))
        case .failure(let e): return (.value(match), .failed(Self.observed(e)))
        }
    }

    /// Active and deleted tenants are fully described by the list.
    static func needsDetail(_ t: ZscalerTenant) -> Bool {
        switch t.state {
        case .active, .deleted: false
        default: true
        }
    }

    private func currentList() async -> Result<[ZscalerTenant], EntraError> {
        if let list, now().timeIntervalSince(list.at) < reuse(list.result) { return list.result }
        if let listTask { return await listTask.value }
        let client = self.client
        let task = Task { () -> Result<[ZscalerTenant], EntraError> in
            do throws(EntraError) { return .success(try await client.tenants()) } catch { return .failure(error) }
        }
        listTask = task
        let result = await task.value
        listTask = nil
        list = (result, now())
        if case .success(let tenants) = result { plan(tenants) }
        return result
    }

    private func validation(_ id: Int) async -> Result<ZscalerValidation, EntraError> {
        if let cached = validations[id], now().timeIntervalSince(cached.at) < reuse(cached.result) {
            return cached.result
        }
        let result: Result<ZscalerValidation, EntraError>
        do { result = .success(try await client.validationStatus(tenantId: id)) } catch { result = .failure(error) }
        validations[id] = (result, now())
        if case .success(let v) = result, let clientId = v.authorizedClientId { authorizedClientIds[id] = clientId }
        return result
    }

    /// Requests per cycle: the list pages plus one detail call per tenant that needs one
    /// (an upper bound: not every listed tenant is a configured connector's).
    private func plan(_ tenants: [ZscalerTenant]) {
        let pages = max(1, (tenants.count + 999) / 1000)
        requestsPerCycle = pages + tenants.filter(Self.needsDetail).count
        effectiveInterval = ZscalerRateBudget.cycleInterval(
            requestsPerCycle: requestsPerCycle, configured: configuredInterval)
    }

    /// The Core view of a ZIA failure. Our own API client refused (OneAPI token, ZIA
    /// 401/403) is not the connector's fault: `zscaler_api_denied`, `unknown`.
    static func observed(_ e: EntraError) -> ObservedFailure {
        switch e {
        case .apiError(let f) where f.documented && (f.status == 401 || f.status == 403 || f.endpoint.hasPrefix("zscaler POST")):
            return ObservedFailure(
                reason: .zscalerAPIDenied, transient: false,
                message: "HTTP \(f.status) \(f.code)\(f.message.isEmpty ? "" : ": \(f.message)")", details: f.details)
        case .apiError(let f):
            return ObservedFailure(
                reason: f.status == 429 ? .throttled : .badResponse, transient: f.status == 429 || !f.documented,
                message: "HTTP \(f.status) \(f.code)\(f.message.isEmpty ? "" : ": \(f.message)")", details: f.details)
        case .throttled(_, let retryAfter):
            var d: [String: JSONValue] = [:]
            if let retryAfter { d["retry_after_seconds"] = .int(Int64(retryAfter)) }
            return ObservedFailure(reason: .throttled, transient: true, message: e.description, details: d)
        default:
            return ObservedFailure(reason: e.reason, transient: e.isTransient, message: e.description)
        }
    }
}
