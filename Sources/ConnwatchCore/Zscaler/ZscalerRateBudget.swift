import Foundation

/// The ZIA API's rate limits for the SaaS Security endpoints: 2 requests per second and
/// 1,000 per hour (microsoft-facts §3.1), plus `Retry-After` after a 429. Pure arithmetic
/// on a `now` parameter: the caller owns the clock.
///
/// `reserve(now:)` hands out send times: each one at least `minSpacing` after the previous
/// (1 s: half the allowed rate, so that network and scheduling jitter between our send
/// and Zscaler's count never puts 3 requests in one second; the hourly budget averages
/// one request per 3.6 s anyway) and never the 1,001st in any hour.
public struct ZscalerRateBudget: Sendable, Equatable {
    public static let perHour = 1000
    public static let perSecond = 2
    /// What the planner aims at per hour: headroom below the hard limit for retries after
    /// 429s and for other users of the same API client.
    public static let plannedPerHour = 900

    public var minSpacing: TimeInterval = 1.0
    /// Reserved send times within the last hour, ascending.
    public private(set) var sent: [Date] = []
    /// No request before this (a 429's `Retry-After`).
    public private(set) var blockedUntil: Date?

    public init() {}

    /// The earliest time ≥ `now` a request may be sent, without reserving it.
    public func earliest(now: Date) -> Date {
        var t = now
        if let b = blockedUntil, b > t { t = b }
        if let last = sent.last { t = max(t, last.addingTimeInterval(minSpacing)) }
        // The 1,000th most recent send leaves the hour window at +3600 s.
        let inHour = sent.filter { $0 > t.addingTimeInterval(-3600) }
        if inHour.count >= Self.perHour {
            t = max(t, inHour[inHour.count - Self.perHour].addingTimeInterval(3600))
        }
        return t
    }

    /// Reserves the earliest slot and returns it; the caller sleeps until then.
    public mutating func reserve(now: Date) -> Date {
        let t = earliest(now: now)
        sent.append(t)
        let horizon = now.addingTimeInterval(-3600)
        if let first = sent.firstIndex(where: { $0 > horizon }), first > 0 { sent.removeFirst(first) }
        return t
    }

    /// A 429 said to wait `seconds`.
    public mutating func block(for seconds: TimeInterval, now: Date) {
        let until = now.addingTimeInterval(max(1, seconds))
        if blockedUntil == nil || until > blockedUntil! { blockedUntil = until }
    }

    /// How often a cycle of `requestsPerCycle` ZIA calls can run within the planned hourly
    /// budget: the configured interval when it fits, else a longer one.
    public static func cycleInterval(requestsPerCycle: Int, configured: TimeInterval) -> TimeInterval {
        let needed = Double(max(1, requestsPerCycle)) * 3600 / Double(plannedPerHour)
        return max(configured, needed.rounded(.up))
    }
}
