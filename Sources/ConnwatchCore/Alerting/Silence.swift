import Foundation

/// An operator's silence (`connwatchctl silence NAME --for 24h --reason "…"`): while it
/// is active, notifications of the connector go to history but not to the sinks. It
/// stops applying by itself at `expiresAt`.
public struct Silence: Sendable, Equatable, Codable, Identifiable {
    /// Silences every connector.
    public static let allConnectors = "*"

    public var id: Int64
    /// A connector name, or ``allConnectors``.
    public var connector: String
    public var reason: String
    public var author: String
    public var createdAt: Date
    public var expiresAt: Date
    /// Set when an operator lifted it before it expired.
    public var removedAt: Date?

    public init(
        id: Int64, connector: String, reason: String, author: String, createdAt: Date, expiresAt: Date,
        removedAt: Date? = nil
    ) {
        self.id = id
        self.connector = connector
        self.reason = reason
        self.author = author
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.removedAt = removedAt
    }

    /// In force at `now`: started, not expired, not removed.
    public func isActive(at now: Date) -> Bool {
        removedAt == nil && createdAt <= now && now < expiresAt
    }

    /// In force at `now` for `connector`.
    public func covers(connector name: String, at now: Date) -> Bool {
        isActive(at: now) && (connector == Silence.allConnectors || connector == name)
    }

    enum CodingKeys: String, CodingKey {
        case id, connector, reason, author
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case removedAt = "removed_at"
    }
}

extension Sequence where Element == Silence {
    /// Whether any of these silences covers `connector` at `now`: the daemon loads the
    /// active silences once per cycle and asks this for each connector.
    public func covers(connector: String, at now: Date) -> Bool {
        contains { $0.covers(connector: connector, at: now) }
    }
}
