/// One blip never pages anyone (SPEC §3): a transient failure (network, 5xx, 429,
/// timeouts) turns a check `unknown` only after N consecutive ones; until then the
/// previous result stays visible, with its own `checked_at` telling its age.
public enum TransientPolicy {
    /// Whether a result is a transient failure rather than a verdict.
    public static func isTransient(_ r: CheckResult) -> Bool {
        guard r.status == .unknown else { return false }
        // Zscaler's own temporary validation failures (error codes 1, 2, 4, 5xx, 201–299)
        // are the only `unknown` zscaler_validation_failed: they retry like a network blip.
        return r.reason.isTransient || (r.check == .zscaler && r.reason == .zscalerValidationFailed)
    }

    /// - Parameters:
    ///   - fresh: what the check just found.
    ///   - previous: the result shown until now (nil on the first run).
    ///   - failures: consecutive transient failures before this run.
    ///   - threshold: N (`failure_threshold`, default 3).
    /// - Returns: the result to show and the new consecutive-failure count.
    public static func apply(
        fresh: CheckResult, previous: CheckResult?, failures: Int, threshold: Int
    )
        -> (shown: CheckResult, failures: Int)
    {
        guard isTransient(fresh) else { return (fresh, 0) }
        let count = failures + 1
        if count < threshold, let previous, !isTransient(previous), previous.reason != .pending {
            return (previous, count)
        }
        return (fresh, count)
    }
}
