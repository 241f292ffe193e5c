import ConnwatchCore

/// Maps token-endpoint errors to Core reasons: by the numbers in `error_codes` first,
/// the OAuth `error` as a fallback (Microsoft: codes and texts change; classify on both
/// and keep a generic fallback — microsoft-facts §2.1).
public enum AADSTSMapping {
    /// Codes Microsoft documents as transient token-service failures (§2.2).
    public static let transientCodes: Set<Int> = [50000, 50033, 90006, 90033, 90090, 90024]

    public static func reason(code: Int?, error: String) -> Reason {
        if let code {
            switch code {
            case 7_000_215: return .secretInvalid
            case 7_000_222: return .secretExpired
            case 700_016, 700_011: return .appNotFound
            case 90002: return .tenantNotFound
            case 900_023: return .tenantInvalid
            case 7_000_112, 70001: return .appDisabled
            case 700_027, 50012, 700_030: return .certRejected
            case 700_024: return .clockSkew
            case 500_011, 50001: return .resourceMissing
            case 53003, 530_032: return .blockedByPolicy
            case 90055, 50196: return .throttled
            case let c where transientCodes.contains(c): return .unreachable
            default: break
            }
        }
        switch error {
        case "temporarily_unavailable": return .unreachable
        default: return .idpError
        }
    }

    /// AADSTS700027's "[Reason - The key was not found., …]" / "[Reason - The key used is
    /// expired. …]" variants (§2.2).
    public static func certificateProblem(code: Int?, description: String) -> TokenFailure.CertificateProblem? {
        guard code == 700_027 || code == 50012 else { return nil }
        if description.contains("The key was not found") || description.contains("is not registered on application") {
            return .keyNotFound
        }
        if description.contains("The key used is expired") { return .keyExpired }
        return .invalidSignature
    }
}
