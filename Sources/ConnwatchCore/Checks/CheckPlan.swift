/// Which checks apply to a connector kind (SPEC §3). MIP has no cheap documented read,
/// so its `probe` is its tokens (the credential check); azure-blob's permissions are
/// delegated, so its consent is judged by `roles` instead of `consent`.
public enum CheckPlan {
    /// - Parameter zscaler: `[zscaler]` is configured: every kind but MIP gets the
    ///   `zscaler` check last, so that it can explain Zscaler's verdict with the Entra side's.
    ///   MIP accounts have no ZIA API (microsoft-facts §3.4): see ``zscalerAbsence(for:)``.
    public static func checks(for kind: ConnectorKind, zscaler: Bool = false) -> [CheckKind] {
        // From a table built once: every connector of a kind shares one array (10,000
        // connectors held 10,000 copies of a dozen plans).
        (zscaler ? withZscaler : entraOnly)[kind] ?? entraChecks(for: kind)
    }

    private static let entraOnly: [ConnectorKind: [CheckKind]] = Dictionary(
        uniqueKeysWithValues: ConnectorKind.allCases.map { ($0, entraChecks(for: $0)) })
    private static let withZscaler: [ConnectorKind: [CheckKind]] = Dictionary(
        uniqueKeysWithValues: ConnectorKind.allCases.map { ($0, $0 == .mip ? entraChecks(for: $0) : entraChecks(for: $0) + [.zscaler]) })

    /// Why a connector has no `zscaler` check although `[zscaler]` is configured, or nil.
    public static func zscalerAbsence(for kind: ConnectorKind) -> String? {
        guard kind == .mip else { return nil }
        return
            "zscaler: not checked: Zscaler publishes no API for MIP accounts; see the account's status under Policies > Data Protection > Common Resources > MIP Labels in the Admin Portal (Validation Successful / Validation Failed; Reauthorize is on the Edit MIP Account window)"
    }

    private static func entraChecks(for kind: ConnectorKind) -> [CheckKind] {
        switch kind {
        case .exchange, .onedrive, .teams: [.credential, .secretExpiry, .consent, .probe]
        case .sharepoint: [.credential, .secretExpiry, .certificate, .consent, .probe]
        case .azureBlob: [.credential, .secretExpiry, .roles, .probe]
        case .mip: [.credential, .secretExpiry, .consent]
        }
    }
}

extension CheckPlan {
    /// How a connector is checked (SPEC §3b): with its own secret only, with its own secret
    /// and its tenant's observer (both sets), or observed (no secret held).
    public enum Mode: Sendable, Hashable, CaseIterable {
        case own
        case ownWithObserver
        case observed

        /// - Parameter hasObserver: a `[[tenant]]` observer is configured for its tenant.
        public init(_ connector: ConnectorConfig, hasObserver: Bool) {
            if connector.clientSecret == nil {
                self = .observed
            } else {
                self = hasObserver ? .ownWithObserver : .own
            }
        }
    }

    /// The checks of a connector checked that way, in the order they are shown: its own
    /// (§3) or the observed ones (§3b), the observer's `app` and `signin` after its own for
    /// both sets, `zscaler` last (it explains Zscaler's verdict with the Entra side's).
    /// `signin` may be left out of a cycle's results (no licence or permission: a note).
    public static func checks(for kind: ConnectorKind, mode: Mode, zscaler: Bool) -> [CheckKind] {
        planTable[PlanKey(kind: kind, mode: mode, zscaler: zscaler)] ?? buildPlan(kind, mode, zscaler)
    }

    private struct PlanKey: Hashable {
        var kind: ConnectorKind
        var mode: Mode
        var zscaler: Bool
    }

    private static let planTable: [PlanKey: [CheckKind]] = {
        var t: [PlanKey: [CheckKind]] = [:]
        for kind in ConnectorKind.allCases {
            for mode in Mode.allCases {
                for z in [false, true] { t[PlanKey(kind: kind, mode: mode, zscaler: z)] = buildPlan(kind, mode, z) }
            }
        }
        return t
    }()

    private static func buildPlan(_ kind: ConnectorKind, _ mode: Mode, _ zscaler: Bool) -> [CheckKind] {
        let tail: [CheckKind] = zscaler && zscalerAbsence(for: kind) == nil ? [.zscaler] : []
        switch mode {
        case .own: return checks(for: kind, zscaler: zscaler)
        case .ownWithObserver: return entraChecks(for: kind) + ObservedChecks.plan(for: kind, ownSecret: true) + tail
        case .observed: return ObservedChecks.plan(for: kind, ownSecret: false) + tail
        }
    }

    /// What an observed connector's status says about the checks it cannot have (SPEC §3b,
    /// issue 18 point 7): they need the connector's secret, and what stands in for them.
    public static func observedAbsence(for kind: ConnectorKind) -> String {
        let absent = entraChecks(for: kind).filter { $0 == .credential || $0 == .probe }.map(\.rawValue)
        return
            "observed (no connector secret held): \(absent.joined(separator: " and ")) not checked: they need the connector's secret; signin (the service's own sign-ins) and app (the app and its service principal, read by the tenant's observer) stand in for them"
    }
}
