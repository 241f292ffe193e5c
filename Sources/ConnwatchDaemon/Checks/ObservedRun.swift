import ConnwatchCore
import Foundation

/// One connector's checks when its tenant has an observer, or when it is observed (SPEC
/// §3b): the observed checks from the tenant's shared pass (``ObserverMonitor``), with
/// the connector's own checks for one that holds its secret ("both sets").
enum ObservedRun {
    struct Outcome: Sendable {
        var results: [CheckResult]
        /// What the checks left out and why (``ObservedChecks/Evaluation/notes``).
        var notes: [String]
    }

    /// - Parameters:
    ///   - own: the connector's own checks (``ConnectorChecker/run(_:now:)``), for one that
    ///     holds its secret; run while the observer's pass is read.
    ///   - zscaler: the `zscaler` check of an observed connector, given its other results
    ///     (nil: `[zscaler]` is not configured or the kind has none).
    static func run(
        _ connector: ConnectorConfig, monitor: ObserverMonitor, thresholds: ExpiryThresholds,
        now: @escaping @Sendable () -> Date,
        own: @escaping @Sendable () async -> [CheckResult],
        zscaler: (@Sendable ([CheckResult]) async -> CheckResult)?
    ) async -> Outcome {
        let tenant = monitor.tenant
        if connector.clientSecret == nil {
            let pass = await monitor.observation()
            let at = now()
            var evaluation = ObservedChecks.evaluate(
                kind: connector.kind, facts: pass.facts(for: connector.clientId, signInLogs: tenant.signInLogs),
                keyFile: ConnectorChecker.localCertificate(connector), subscriptionId: connector.subscriptionId,
                signIn: tenant.signInSettings, thresholds: thresholds, now: at)
            if let zscaler { evaluation.results.append(await zscaler(evaluation.results)) }
            return Outcome(results: evaluation.results, notes: evaluation.notes)
        }
        async let passing = monitor.observation()
        var results = await own()
        let pass = await passing
        let at = now()
        // Both sets: the observer's `signin` is judged against connwatch's own credential
        // result of this cycle (`signin_failing_elsewhere`).
        let credential =
            results.first { $0.check == .credential }
            ?? CheckResult(
                check: .credential, status: .unknown, reason: .unreachable,
                summary: "connwatch's own credential check did not run", checkedAt: at)
        let evaluation = ObservedChecks.evaluate(
            kind: connector.kind, facts: pass.facts(for: connector.clientId, signInLogs: tenant.signInLogs),
            ownCredential: credential, subscriptionId: connector.subscriptionId, signIn: tenant.signInSettings,
            thresholds: thresholds, now: at)
        // Before `zscaler`, which stays last.
        let at_ = results.firstIndex { $0.check == .zscaler } ?? results.endIndex
        results.insert(contentsOf: evaluation.results, at: at_)
        return Outcome(results: results, notes: evaluation.notes)
    }
}
