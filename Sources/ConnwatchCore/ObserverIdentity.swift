import Foundation

/// Where an observer's own result lives (SPEC §3b "the observer is watched too"): under a
/// reserved name, `observer:<tenant_id>`, with the same history, alert state and
/// notifications as a connector's. The colon is outside a connector name's alphabet
/// (`[a-z0-9-]`), so the name can never collide with a configured connector.
public enum ObserverIdentity {
    public static let prefix = "observer:"
    /// The kind the observer's row carries in the store, whose connector kinds are frozen
    /// (Schema v1). Never shown: journal entries and webhooks say `observer`
    /// (``ConnectorIdentity/renderedKind``), and status lists observers apart.
    public static let storedKind = ConnectorKind.exchange

    /// The reserved name of the observer of a tenant.
    public static func name(tenantId: String) -> String { prefix + tenantId.lowercased() }

    /// True for an observer's reserved name.
    public static func isObserver(_ name: String) -> Bool { name.hasPrefix(prefix) }

    /// The tenant of an observer's reserved name, or nil for a connector's name.
    public static func tenantId(of name: String) -> String? {
        isObserver(name) ? String(name.dropFirst(prefix.count)) : nil
    }

    /// The identity an observer's alerts are recorded and rendered with: its tenant and the
    /// monitoring app's client ID, no labels.
    public static func identity(_ tenant: TenantConfig) -> ConnectorIdentity {
        ConnectorIdentity(
            name: name(tenantId: tenant.tenantId), kind: storedKind, tenantId: tenant.tenantId,
            clientId: tenant.clientId)
    }
}

extension ConnectorIdentity {
    /// The kind journal entries and webhooks name: `observer` for an observer's own alerts
    /// (``ObserverIdentity``), else the connector's kind.
    public var renderedKind: String { ObserverIdentity.isObserver(name) ? "observer" : kind.rawValue }
}

extension StatusReport {
    /// Worst status of connectors and observers together (ok when there are none): what
    /// `nagios` and the daemon's own summary judge by.
    public var worstStatusWithObservers: CheckStatus {
        CheckStatus.worst(connectors.map(\.status) + (observers ?? []).map(\.status))
    }
}
