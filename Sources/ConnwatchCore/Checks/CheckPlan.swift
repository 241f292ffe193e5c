/// Which checks apply to a connector kind (SPEC §3). MIP has no cheap documented read,
/// so its `probe` is its tokens (the credential check); azure-blob's permissions are
/// delegated, so its consent is judged by `roles` instead of `consent`.
public enum CheckPlan {
    public static func checks(for kind: ConnectorKind) -> [CheckKind] {
        switch kind {
        case .exchange, .onedrive, .teams: [.credential, .secretExpiry, .consent, .probe]
        case .sharepoint: [.credential, .secretExpiry, .certificate, .consent, .probe]
        case .azureBlob: [.credential, .secretExpiry, .roles, .probe]
        case .mip: [.credential, .secretExpiry, .consent]
        }
    }
}
