import ConnwatchCore
import Foundation

/// Reads back a `standard` webhook payload (SPEC §5) into what ``AlertMail`` renders. The
/// outbox keeps that payload for every delivery; mail is rendered from it at send time like
/// the Slack and Teams formats. Fields the payload does not carry (the check's status and
/// the notification's cause) are not shown in mails, so they are filled with neutral values.
enum StandardPayload {
    static func decode(_ data: Data, notificationID: String) -> (AlertNotification, ConnectorIdentity)? {
        guard let root = try? JSONDecoder().decode(JSONValue.self, from: data), case .object(let top) = root,
            let type = top["type"]?.stringValue.flatMap(AlertEventType.init(rawValue:)),
            let timestamp = top["timestamp"]?.stringValue.flatMap(RFC3339.date),
            case .object(let d)? = top["data"], let alertId = d["alert_id"]?.stringValue,
            let state = d["state"]?.stringValue.flatMap(AlertPhase.init(rawValue:)),
            let severity = d["severity"]?.stringValue.flatMap(Severity.init(rawValue:)),
            case .object(let c)? = d["connector"], let name = c["name"]?.stringValue,
            let kind = c["kind"]?.stringValue.flatMap(ConnectorKind.init(rawValue:)),
            let tenant = c["tenant_id"]?.stringValue, let client = c["client_id"]?.stringValue,
            let check = d["check"]?.stringValue.flatMap(CheckKind.init(rawValue:)),
            let reason = d["reason"]?.stringValue.flatMap(Reason.init(rawValue:)),
            let summary = d["summary"]?.stringValue
        else { return nil }
        var labels: [String: String] = [:]
        if case .object(let l)? = c["labels"] {
            for (k, v) in l {
                guard let v = v.stringValue else { return nil }
                labels[k] = v
            }
        }
        var details: [String: JSONValue] = [:]
        if case .object(let o)? = d["details"] { details = o }
        var daysLeft: Int?
        if case .int(let i)? = d["days_left"] { daysLeft = Int(i) }
        let expiresAt = d["expires_at"]?.stringValue.flatMap(RFC3339.date)
        var missing: [String]?
        if case .array(let items)? = d["missing_permissions"] { missing = items.compactMap(\.stringValue) }
        let n = AlertNotification(
            id: notificationID, alertId: alertId, connector: name, check: check, eventType: type, state: state,
            severity: severity, status: state == .resolved ? .ok : .unknown, reason: reason, summary: summary,
            remediation: d["remediation"]?.stringValue ?? "", details: details, daysLeft: daysLeft,
            expiresAt: expiresAt, missingPermissions: missing,
            cause: state == .resolved ? .resolved : .changed, createdAt: timestamp)
        return (n, ConnectorIdentity(name: name, kind: kind, tenantId: tenant, clientId: client, labels: labels))
    }
}
