import Foundation

/// The reports limit as a sliding window (observer-facts, [THR]): at most 5 requests per
/// 10 s per app and tenant, inner requests of a `$batch` included, and nothing before a
/// `Retry-After` runs out. Pure (times in, times out), like ``ZscalerRateBudget``; the
/// observer's client sleeps until the time it returns.
struct ReportsWindow: Sendable, Equatable {
    var limit: Int = 5
    /// 10 s plus a margin: Graph counts when a request arrives, the client when it leaves.
    var window: TimeInterval = 10.5
    /// Send times still inside the window, oldest first.
    private(set) var sent: [Date] = []
    private(set) var blockedUntil: Date?

    init(limit: Int = 5, window: TimeInterval = 10.5) {
        self.limit = limit
        self.window = window
    }

    /// When `count` more requests (at most `limit`) may go, at the earliest.
    func earliest(count: Int, now: Date) -> Date {
        let n = min(max(count, 1), limit)
        let live = sent.filter { now.timeIntervalSince($0) < window }
        var t = now
        let overflow = live.count + n - limit
        if overflow > 0 { t = max(t, live[overflow - 1].addingTimeInterval(window)) }
        if let blockedUntil { t = max(t, blockedUntil) }
        return t
    }

    /// Takes `count` slots at the earliest time and returns it.
    mutating func reserve(count: Int, now: Date) -> Date {
        let at = earliest(count: count, now: now)
        sent.removeAll { at.timeIntervalSince($0) >= window }
        sent.append(contentsOf: repeatElement(at, count: min(max(count, 1), limit)))
        return at
    }

    /// A 429 from the reports: nothing more before `Retry-After` (1 s when absent).
    mutating func block(retryAfter: Int?, now: Date) {
        let until = now.addingTimeInterval(TimeInterval(max(retryAfter ?? 1, 1)))
        blockedUntil = max(blockedUntil ?? until, until)
    }
}
