import Foundation

/// The daemon's one door to the wall clock: every timestamp it records or compares —
/// check results, alert transitions, deliveries and their retries, silences, the status
/// report, `Retry-After` dates — is read here, so that tests set the time instead of
/// waiting for it. (Intervals and deadlines use `ContinuousClock`, which a wall-clock step
/// does not move.)
public struct WallClock: Sendable {
    private let read: @Sendable () -> Date

    public init(_ read: @escaping @Sendable () -> Date) { self.read = read }

    /// The system's clock.
    public static let system = WallClock { Date() }

    public func now() -> Date { read() }
}
