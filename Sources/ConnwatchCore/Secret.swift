/// A secret value (client secret, webhook signing key, webhook URL with a token,
/// private key). It never prints, reflects, or encodes its value: `description`,
/// `debugDescription` and `Mirror` all show `<redacted>`. Read it only with
/// ``withValue(_:)`` at the point of use (building a request, signing a body).
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let value: String

    public init(_ value: String) { self.value = value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    /// Runs `body` with the clear value. Keep the value inside the closure.
    public func withValue<R>(_ body: (String) throws -> R) rethrows -> R { try body(value) }

    /// The first three characters: what Graph exposes as `passwordCredential.hint`,
    /// safe to store and show.
    public var hint: String { String(value.prefix(3)) }

    public var isEmpty: Bool { value.isEmpty }

    /// The number of bytes of the clear value (for diagnostics such as "the secret is 36
    /// characters and GUID-shaped: the secret ID was pasted instead of its value").
    public var count: Int { value.count }

    /// True when the value looks like a GUID: the typical mistake of pasting the
    /// secret's ID instead of its value (AADSTS7000215).
    public var looksLikeGUID: Bool { Validators.isGUID(value) }
}
