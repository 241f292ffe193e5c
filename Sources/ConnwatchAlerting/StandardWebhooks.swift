import ConnwatchCore
import Crypto
import Foundation

/// Standard Webhooks signing (ops-facts §2.1): `webhook-id` stable across retries,
/// `webhook-timestamp` per attempt, `webhook-signature: v1,<base64 HMAC-SHA256 of
/// "id.timestamp.body">`, one `v1,` entry per key during a rotation (space-separated).
public enum StandardWebhooks {
    public enum KeyError: Error, Equatable, CustomStringConvertible {
        case notAKey

        public var description: String { "not a Standard Webhooks key (whsec_ + base64 of 24–64 bytes)" }
    }

    /// The HMAC key of a `whsec_…` secret: the `whsec_` prefix stripped, the rest base64-decoded.
    public static func key(_ secret: Secret) throws(KeyError) -> SymmetricKey {
        let data: Data? = secret.withValue { v in
            guard v.hasPrefix("whsec_") else { return nil }
            return Data(base64Encoded: String(v.dropFirst(6)))
        }
        guard let data, (24...64).contains(data.count) else { throw .notAKey }
        return SymmetricKey(data: data)
    }

    /// `v1,<base64>` for one key.
    public static func signature(id: String, timestamp: Int, body: Data, key: SymmetricKey) -> String {
        var content = Data("\(id).\(timestamp).".utf8)
        content.append(body)
        let mac = HMAC<SHA256>.authenticationCode(for: content, using: key)
        return "v1," + Data(mac).base64EncodedString()
    }

    /// A configured signing key that cannot be used. Names its position, never its value.
    public struct SigningKeyError: Error, Equatable, CustomStringConvertible {
        /// 1-based position among the webhook's keys.
        public var position: Int
        public var count: Int
        public var reason: KeyError

        public var description: String {
            let which = count == 1 ? "the signing key" : "signing key \(position) of \(count)"
            return "\(which) cannot be used: \(reason); a webhook configured to be signed is never sent unsigned"
        }
    }

    /// The headers for one attempt signed with every configured secret (none configured:
    /// id and timestamp only). Throws when any of them is not a usable key: the attempt must
    /// then fail rather than go out unsigned, or with fewer signatures than configured.
    public static func headers(
        id: String, timestamp: Int, body: Data, secrets: [Secret]
    ) throws(SigningKeyError) -> [(String, String)] {
        var keys: [SymmetricKey] = []
        for (i, secret) in secrets.enumerated() {
            do {
                keys.append(try key(secret))
            } catch {
                throw SigningKeyError(position: i + 1, count: secrets.count, reason: error)
            }
        }
        return headers(id: id, timestamp: timestamp, body: body, keys: keys)
    }

    /// The three headers for one attempt; without keys, only id and timestamp.
    public static func headers(id: String, timestamp: Int, body: Data, keys: [SymmetricKey]) -> [(String, String)] {
        var h = [("webhook-id", id), ("webhook-timestamp", String(timestamp))]
        if !keys.isEmpty {
            h.append(
                (
                    "webhook-signature",
                    keys.map { signature(id: id, timestamp: timestamp, body: body, key: $0) }.joined(separator: " ")
                ))
        }
        return h
    }
}
