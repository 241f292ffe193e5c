import ConnwatchCore
import Foundation

/// Base64url without padding (RFC 7515 §2).
enum Base64URL {
    // Byte loops, not `replacingOccurrences`: every token of a cycle is decoded, and
    // Foundation's string replacement was a tenth of the daemon's CPU (benchmarks/).
    static func encode(_ data: Data) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((data.count + 2) / 3 * 4)
        for b in data.base64EncodedData() {
            switch b {
            case UInt8(ascii: "+"): out.append(UInt8(ascii: "-"))
            case UInt8(ascii: "/"): out.append(UInt8(ascii: "_"))
            case UInt8(ascii: "="): continue
            default: out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ s: some StringProtocol) -> Data? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.utf8.count + 3)
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "-"): bytes.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"): bytes.append(UInt8(ascii: "/"))
            default: bytes.append(b)
            }
        }
        while bytes.count % 4 != 0 { bytes.append(UInt8(ascii: "=")) }
        return Data(base64Encoded: Data(bytes))
    }
}

/// The claims of an access token that connwatch reads — decoded, **not verified**, for
/// diagnostics only (Microsoft: do not validate tokens for APIs you do not own;
/// microsoft-facts §2.3).
public struct TokenClaims: Sendable, Equatable {
    /// Granted application permissions for the token's resource. Empty when absent:
    /// an app-only token without `roles` means no admin consent.
    public var roles: [String]
    public var hasRolesClaim: Bool
    public var tenantId: String?
    /// The service principal's object id.
    public var objectId: String?
    /// `appid` (v1.0 tokens) or `azp` (v2.0).
    public var appId: String?
    /// "1" secret, "2" certificate (`appidacr` / `azpacr`).
    public var authMethod: String?
    public var audience: String?
    public var expiresAt: Date?

    /// Decodes the payload of a compact JWS. Returns nil when it is not one.
    public static func decode(_ token: String) -> TokenClaims? {
        // Split on the UTF-8 bytes: `String.split` walks grapheme clusters, and this runs
        // for every token (a few percent of a cycle's CPU at 10,000 connectors).
        let utf8 = token.utf8
        guard let firstDot = utf8.firstIndex(of: UInt8(ascii: ".")),
            let secondDot = utf8[utf8.index(after: firstDot)...].firstIndex(of: UInt8(ascii: ".")),
            !utf8[utf8.index(after: secondDot)...].contains(UInt8(ascii: "."))
        else { return nil }
        guard let payload = Base64URL.decode(Substring(utf8[utf8.index(after: firstDot)..<secondDot])),
            let obj = CompactJSON.object(payload)
        else { return nil }
        var roles: [String] = []
        var hasRolesClaim = false
        if case .array(let items)? = obj["roles"] {
            hasRolesClaim = true
            roles.reserveCapacity(items.count)
            for case .string(let role) in items { roles.append(role) }
        }
        let exp: Date?
        switch obj["exp"] {
        case .int(let n)?: exp = Date(timeIntervalSince1970: TimeInterval(n))
        case .double(let d)?: exp = Date(timeIntervalSince1970: d)
        default: exp = nil
        }
        return TokenClaims(
            roles: roles, hasRolesClaim: hasRolesClaim, tenantId: obj["tid"]?.stringValue,
            objectId: obj["oid"]?.stringValue, appId: obj["appid"]?.stringValue ?? obj["azp"]?.stringValue,
            authMethod: obj["appidacr"]?.stringValue ?? obj["azpacr"]?.stringValue,
            audience: obj["aud"]?.stringValue, expiresAt: exp)
    }
}
