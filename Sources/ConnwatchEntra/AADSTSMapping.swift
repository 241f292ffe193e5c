import ConnwatchCore

/// Maps token-endpoint errors to Core reasons: by the numbers in `error_codes` first,
/// the OAuth `error` as a fallback (Microsoft: codes and texts change; classify on both
/// and keep a generic fallback — microsoft-facts §2.1).
public enum AADSTSMapping {
    /// Codes Microsoft documents as transient token-service failures (§2.2).
    public static let transientCodes: Set<Int> = AADSTSCodes.transientCodes

    public static func reason(code: Int?, error: String) -> Reason {
        // The code table lives in Core (``AADSTSCodes``): the observed `signin` check maps
        // the sign-in log's `status.errorCode` with it.
        if let code, let reason = AADSTSCodes.reason(code: code) { return reason }
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
