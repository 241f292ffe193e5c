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
