import Foundation

/// The observed checks of one connector, together (SPEC §3b): which apply, and their
/// results from one cycle's facts with the `app` check blocking the rest.
public enum ObservedChecks {
    /// The checks an observer runs for a connector. An observed connector (no secret
    /// held) gets `app`, `secret_expiry`, `certificate` (SharePoint), `consent` (every
    /// kind: azure-blob's is its delegated grant), `roles` (azure-blob) and `signin`;
    /// one with its own secret keeps its own checks and gains only `app` and `signin`.
    /// `zscaler` is added by the caller as for §3.
    public static func plan(for kind: ConnectorKind, ownSecret: Bool) -> [CheckKind] {
        if ownSecret { return [.app, .signin] }
        var checks: [CheckKind] = [.app, .secretExpiry]
        if kind == .sharepoint { checks.append(.certificate) }
        checks.append(.consent)
        if kind == .azureBlob { checks.append(.roles) }
        checks.append(.signin)
        return checks
    }

    /// What the observed checks found, and notes for the connector (`signin` left out).
    public struct Evaluation: Sendable, Equatable {
        public var results: [CheckResult]
        public var notes: [String]

        public init(results: [CheckResult], notes: [String]) {
            self.results = results
            self.notes = notes
        }
    }

    /// - Parameters:
    ///   - ownCredential: connwatch's own `credential` result this cycle, for a connector
    ///     that has its own secret (both sets); nil for an observed connector.
    ///   - keyFile: the local SharePoint key file, parsed, when `key_file` is configured.
    ///   - subscriptionId: azure-blob's subscription.
    public static func evaluate(
        kind: ConnectorKind, facts: ObservedConnectorFacts, ownCredential: CheckResult? = nil,
        keyFile: Result<LocalCertificate, KeyFileProblemError>? = nil, subscriptionId: String? = nil,
        signIn: SignInSettings = SignInSettings(), thresholds: ExpiryThresholds, now: Date
    ) -> Evaluation {
        let app = AppCheck.evaluate(
            application: facts.application, servicePrincipal: facts.servicePrincipal, now: now)
        let blocker: CheckResult? = app.status == .critical ? app : nil
        var results: [CheckResult] = []
        var notes: [String] = []
        for check in plan(for: kind, ownSecret: ownCredential != nil) {
            if check == .app {
                results.append(app)
                continue
            }
            if let blocker {
                results.append(.blocked(check, by: blocker, now: now))
                continue
            }
            switch check {
            case .secretExpiry:
                results.append(
                    ObservedSecretExpiryCheck.evaluate(
                        application: facts.application, servicePrincipal: facts.servicePrincipal,
                        activity: facts.credentialActivity, signIns: facts.signIns, thresholds: thresholds, now: now))
            case .certificate:
                results.append(
                    ObservedCertificateCheck.evaluate(
                        application: facts.application, servicePrincipal: facts.servicePrincipal, keyFile: keyFile,
                        activity: facts.credentialActivity, signIns: facts.signIns, thresholds: thresholds, now: now))
            case .consent:
                results.append(
                    ObservedConsentCheck.evaluate(
                        kind: kind, appRoles: facts.appRoles, delegatedGrants: facts.delegatedGrants, now: now))
            case .roles:
                results.append(
                    ObservedRolesCheck.evaluate(
                        assignments: facts.roleAssignments, subscriptionId: subscriptionId ?? "", now: now))
            case .signin:
                let mode: SignInCheck.Mode = ownCredential.map { .alongsideOwnCredential($0) } ?? .observed
                switch SignInCheck.evaluate(log: facts.signIns, settings: signIn, mode: mode, now: now) {
                case .result(let r): results.append(r)
                case .leftOut(let note): notes.append(note)
                }
            case .app, .credential, .probe, .zscaler, .observer:
                break
            }
        }
        return Evaluation(results: results, notes: notes)
    }
}
