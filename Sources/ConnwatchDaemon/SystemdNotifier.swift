import CSystemd
import Foundation

/// sd_notify(3) through libsystemd. A no-op when `NOTIFY_SOCKET` is unset.
public struct SystemdNotifier: Sendable {
    public init() {}

    /// Sends one datagram: several `KEY=value` lines travel together (RELOADING=1 with
    /// MONOTONIC_USEC must, or systemd ≥ 253 rejects the reload).
    @discardableResult
    public func notify(_ fields: [String]) -> Bool {
        sd_notify(0, fields.joined(separator: "\n")) > 0
    }

    /// `WATCHDOG_USEC` for this process, or nil when no watchdog is armed.
    public func watchdogInterval() -> Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(usec))
    }

    /// CLOCK_MONOTONIC in microseconds, for `MONOTONIC_USEC=`.
    public static func monotonicMicroseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
    }
}
