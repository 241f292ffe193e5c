/// The AADSTS code → reason table (SPEC §3 `credential`), shared by the token client
/// (ConnwatchEntra's ``AADSTSMapping``, which adds the OAuth `error` fallback) and the
/// observed `signin` check, which reads the same numbers from the sign-in log's
/// `status.errorCode`: one table, so a code means the same thing in both places.
public enum AADSTSCodes {
    /// Codes Microsoft documents as transient token-service failures (microsoft-facts §2.2).
    public static let transientCodes: Set<Int> = [50000, 50033, 90006, 90033, 90090, 90024]

    /// The reason of a known code, or nil for a code the table does not know (the
    /// caller decides: `idp_error`, or the OAuth `error` text first).
    public static func reason(code: Int) -> Reason? {
        switch code {
        case 7_000_215: .secretInvalid
        case 7_000_222: .secretExpired
        case 700_016, 700_011: .appNotFound
        case 90002: .tenantNotFound
        case 900_023: .tenantInvalid
        case 7_000_112, 70001: .appDisabled
        case 700_027, 50012, 700_030: .certRejected
        case 700_024: .clockSkew
        case 500_011, 50001: .resourceMissing
        case 53003, 530_032: .blockedByPolicy
        case 90055, 50196: .throttled
        case let c where transientCodes.contains(c): .unreachable
        default: nil
        }
    }
}
