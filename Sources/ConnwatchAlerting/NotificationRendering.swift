import ConnwatchCore
import Foundation

/// Pure renderings of an alert notification for the sinks.
public enum NotificationRendering {
    /// The journal entry of SPEC §5: MESSAGE, PRIORITY by severity, a fixed MESSAGE_ID per
    /// event type (one shared id for resolutions), and the `CONNWATCH_*` fields.
    public static func journalEntry(_ n: AlertNotification, identity: ConnectorIdentity) -> JournalEntry {
        let resolved = n.state == .resolved
        let priority: Int
        switch (resolved, n.severity) {
        case (true, _): priority = 5
        case (false, .critical): priority = 2
        case (false, .warning): priority = 4
        case (false, .info): priority = 6
        }
        var fields: [(String, String)] = [
            ("CONNWATCH_CONNECTOR", identity.name), ("CONNWATCH_KIND", identity.renderedKind),
            ("CONNWATCH_TENANT_ID", identity.tenantId), ("CONNWATCH_CLIENT_ID", identity.clientId),
            ("CONNWATCH_CHECK", n.check.rawValue), ("CONNWATCH_STATUS", n.status.rawValue),
            ("CONNWATCH_REASON", n.reason.rawValue), ("CONNWATCH_ALERT_ID", n.alertId),
            ("CONNWATCH_NOTIFICATION_ID", n.id), ("CONNWATCH_EVENT", n.eventType.rawValue),
            ("CONNWATCH_STATE", n.state.rawValue), ("CONNWATCH_SEVERITY", n.severity.rawValue),
            ("CONNWATCH_CAUSE", n.cause.code),
        ]
        if let d = n.daysLeft { fields.append(("CONNWATCH_DAYS_LEFT", String(d))) }
        if let e = n.expiresAt { fields.append(("CONNWATCH_EXPIRES_AT", RFC3339.string(e))) }
        if let m = n.missingPermissions, !m.isEmpty {
            fields.append(("CONNWATCH_MISSING_PERMISSIONS", m.joined(separator: ", ")))
        }
        if !n.remediation.isEmpty { fields.append(("CONNWATCH_REMEDIATION", n.remediation)) }
        let message =
            resolved
            ? "\(identity.name): resolved: \(n.check) is ok again (\(n.summary))"
            : "\(identity.name): \(n.summary)"
        return JournalEntry(
            message: message, priority: priority,
            messageID: resolved ? MessageIDs.resolved : MessageIDs.byEventType[n.eventType.rawValue], fields: fields)
    }

    /// The `standard` webhook body (SPEC §5): `{"type", "timestamp", "data": {…}}`, keys sorted.
    public static func standardPayload(_ n: AlertNotification, identity: ConnectorIdentity) -> Data {
        var data: [String: JSONValue] = [
            "alert_id": .string(n.alertId), "state": .string(n.state.rawValue),
            "severity": .string(n.severity.rawValue),
            "connector": .object([
                "name": .string(identity.name), "kind": .string(identity.renderedKind),
                "tenant_id": .string(identity.tenantId), "client_id": .string(identity.clientId),
                "labels": .object(identity.labels.mapValues { .string($0) }),
            ]),
            "check": .string(n.check.rawValue), "reason": .string(n.reason.rawValue), "summary": .string(n.summary),
            "details": .object(n.details), "remediation": .string(n.remediation),
        ]
        if let d = n.daysLeft { data["days_left"] = .int(Int64(d)) }
        if let e = n.expiresAt { data["expires_at"] = .string(RFC3339.string(e)) }
        if let m = n.missingPermissions { data["missing_permissions"] = .array(m.map { .string($0) }) }
        let body: JSONValue = .object([
            "type": .string(n.eventType.rawValue), "timestamp": .string(RFC3339.string(n.createdAt)),
            "data": .object(data),
        ])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(body)) ?? Data("{}".utf8)
    }

    /// Webhooks whose filters let this notification through (min_severity, connectors, labels).
    /// A resolution goes wherever its incident's firing went: same severity.
    public static func matchingWebhooks(
        _ n: AlertNotification, identity: ConnectorIdentity, webhooks: [WebhookConfig]
    ) -> [String] {
        webhooks.filter { hook in
            guard n.severity >= hook.minSeverity else { return false }
            if !hook.connectors.isEmpty && !hook.connectors.contains(identity.name) { return false }
            for (k, v) in hook.labels where identity.labels[k] != v { return false }
            return true
        }.map(\.name)
    }

    /// `[[email]]` sinks whose filters let this notification through — the same filters as
    /// webhooks — as outbox keys (``DeliverySink/key``, `email:NAME`).
    public static func matchingEmails(
        _ n: AlertNotification, identity: ConnectorIdentity, emails: [EmailConfig]
    ) -> [String] {
        emails.filter { sink in
            guard n.severity >= sink.minSeverity else { return false }
            if !sink.connectors.isEmpty && !sink.connectors.contains(identity.name) { return false }
            for (k, v) in sink.labels where identity.labels[k] != v { return false }
            return true
        }.map { DeliverySink.email($0.name).key }
    }
}
