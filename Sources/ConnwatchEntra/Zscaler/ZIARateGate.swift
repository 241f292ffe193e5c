import ConnwatchCore
import Foundation

/// Every ZIA request passes here first: it waits for its slot in the
/// ``ZscalerRateBudget`` (2 requests/s, 1,000/h, `Retry-After`) whatever the number of
/// connectors and concurrent checks. Clock and sleep are injected: tests run hours of
/// schedule on a manual clock.
public actor ZIARateGate {
    private var budget = ZscalerRateBudget()
    private let now: @Sendable () -> Date
    private let sleep: @Sendable (Duration) async throws -> Void
    /// A request that would wait longer than this fails as throttled instead (the check
    /// reports it and the next cycle tries again) rather than holding a check slot.
    public let maxWait: TimeInterval
    /// Every send time handed out, for tests and metrics (bounded to the last hour's).
    public var sendTimes: [Date] { budget.sent }
    public private(set) var totalSent = 0
    public private(set) var throttledResponses = 0
    /// Every send time since the start, when `recordLog` (tests of long runs).
    public private(set) var log: [Date] = []
    private let recordLog: Bool

    public init(
        maxWait: TimeInterval = 60, now: @escaping @Sendable () -> Date = Date.init,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
        recordLog: Bool = false
    ) {
        self.maxWait = maxWait
        self.now = now
        self.sleep = sleep
        self.recordLog = recordLog
    }

    /// Waits for the next slot; throws `throttled` when it is further away than `maxWait`.
    public func acquire(endpoint: String) async throws(EntraError) {
        let t = now()
        let earliest = budget.earliest(now: t)
        let wait = earliest.timeIntervalSince(t)
        if wait > maxWait {
            throw .throttled(endpoint: endpoint, retryAfter: Int(wait.rounded(.up)))
        }
        let slot = budget.reserve(now: t)
        totalSent += 1
        if recordLog { log.append(slot) }
        let delay = slot.timeIntervalSince(t)
        if delay > 0 {
            do { try await sleep(.milliseconds(Int64((delay * 1000).rounded(.up)))) } catch {
                throw .timeout(endpoint: endpoint)
            }
        }
    }

    /// A 429: nothing goes out before `Retry-After` (1 s when absent).
    public func throttled(retryAfter: Int?) {
        throttledResponses += 1
        budget.block(for: TimeInterval(retryAfter ?? 1), now: now())
    }

    /// Seconds until the next request may go.
    public func waitNow() -> TimeInterval {
        let t = now()
        return max(0, budget.earliest(now: t).timeIntervalSince(t))
    }
}
