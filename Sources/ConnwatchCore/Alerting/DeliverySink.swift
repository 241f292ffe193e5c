import Foundation

/// Which sink an outbox row goes to. Webhooks and `[[email]]` sinks share one outbox (one
/// delivery machinery, two transports); the row's sink column holds ``key``: a webhook's
/// name as it always did, an e-mail sink's name behind the reserved `email:` prefix.
/// Sink names are lowercase letters, digits and `-` (``Validators/isName(_:)``), so the
/// prefix cannot collide with a webhook name, and databases written before e-mail existed
/// need no migration: every row in them is a webhook row.
public struct DeliverySink: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case webhook
        case email
    }

    public var kind: Kind
    public var name: String

    public init(kind: Kind, name: String) {
        self.kind = kind
        self.name = name
    }

    public static func webhook(_ name: String) -> DeliverySink { DeliverySink(kind: .webhook, name: name) }
    public static func email(_ name: String) -> DeliverySink { DeliverySink(kind: .email, name: name) }

    static let emailPrefix = "email:"

    /// The stored form.
    public var key: String { kind == .email ? DeliverySink.emailPrefix + name : name }

    /// From the stored form.
    public init(key: String) {
        if key.hasPrefix(DeliverySink.emailPrefix) {
            self.init(kind: .email, name: String(key.dropFirst(DeliverySink.emailPrefix.count)))
        } else {
            self.init(kind: .webhook, name: key)
        }
    }

    /// `email smtp-ops` / `webhook soc`, for logs and the journal.
    public var description: String { "\(kind.rawValue) \(name)" }
}
