import ConnwatchCore
import Foundation
import Mustache

/// One alert notification as an e-mail (SPEC §5): subject, threading headers and the
/// text + HTML bodies from the mustache templates in `Templates/` (embedded, see
/// `scripts/embed-mail-templates.py`). Pure: the same notification gives the same bytes.
///
/// Threading: a notification's Message-ID is `<notification id>.connwatch@<from's domain>`.
/// An incident's id is the id of its first notification (``AlertNotification/alertId``),
/// so every later notification of it — reminders, ladder steps, changes, the resolution —
/// carries `In-Reply-To`/`References` of that first message without looking it up.
public enum AlertMail {
    /// The templates, parsed once. They are part of the program and covered by the golden
    /// tests: a template that does not parse fails every test run, so `try!` cannot trip
    /// in a build that passed them.
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in EmbeddedTemplates.all {
            // swiftlint:disable:next force_try
            try! library.register(text, named: name)
        }
        return library
    }()

    /// `<id>.connwatch@<domain>` without the angle brackets.
    public static func messageID(notificationID: String, domain: String) -> String {
        "\(notificationID).connwatch@\(domain)"
    }

    /// The message for `notification` to `recipients` (the sink's `to`, plus owners when
    /// the caller adds them), from the sink's `from`.
    public static func message(
        _ n: AlertNotification, identity: ConnectorIdentity, sink: EmailConfig, recipients: [MailAddress]? = nil
    ) -> MailMessage {
        let domain = sink.from.domain
        let subject = subject(n, identity: identity)
        let context = context(n, identity: identity, sink: sink.name, subject: subject)
        let text = library.render(context, withTemplate: "alert.txt") ?? ""
        let html = library.render(context, withTemplate: "alert.html") ?? ""
        var message = MailMessage(
            from: sink.from, to: recipients ?? sink.to, subject: subject, date: n.createdAt,
            messageID: messageID(notificationID: n.id, domain: domain), text: text, html: html)
        if n.id != n.alertId {
            let first = messageID(notificationID: n.alertId, domain: domain)
            message.inReplyTo = first
            message.references = [first]
        }
        message.extraHeaders = [
            .init("X-Connwatch-Event", n.eventType.rawValue), .init("X-Connwatch-State", n.state.rawValue),
            .init("X-Connwatch-Severity", n.severity.rawValue), .init("X-Connwatch-Connector", identity.name),
            .init("X-Connwatch-Alert-ID", n.alertId),
        ]
        return message
    }

    /// The same message from an outbox row: the `standard` webhook payload the daemon stores
    /// with every delivery (``NotificationRendering/standardPayload``) and the row's
    /// notification id. Everything the mail shows is in that payload, so this gives the very
    /// bytes ``message(_:identity:sink:recipients:)`` gives for the notification (tested).
    /// Nil when the payload cannot be read (an attempt that then fails, not a guess).
    public static func message(
        standardPayload: Data, notificationID: String, sink: EmailConfig, recipients: [MailAddress]? = nil
    ) -> MailMessage? {
        guard let (n, identity) = StandardPayload.decode(standardPayload, notificationID: notificationID) else {
            return nil
        }
        return message(n, identity: identity, sink: sink, recipients: recipients)
    }

    /// `[connwatch] CRITICAL contoso-onedrive: the client secret expired …`, or for a
    /// resolution `[connwatch] RESOLVED contoso-onedrive: credential is ok again`.
    public static func subject(_ n: AlertNotification, identity: ConnectorIdentity) -> String {
        let name = UntrustedText.clean(identity.name)
        if n.state == .resolved { return "[connwatch] RESOLVED \(name): \(n.check.rawValue) is ok again" }
        var summary = UntrustedText.clean(n.summary)
        if summary.count > 120 { summary = String(summary.prefix(119)) + "…" }
        return "[connwatch] \(label(n.severity)) \(name): \(summary)"
    }

    static func label(_ s: Severity) -> String {
        switch s {
        case .critical: "CRITICAL"
        case .warning: "WARNING"
        case .info: "INFO"
        }
    }

    /// Header band colour by severity (green when resolved).
    static func color(_ n: AlertNotification) -> String {
        if n.state == .resolved { return "#1a7f37" }
        switch n.severity {
        case .critical: return "#cf222e"
        case .warning: return "#9a6700"
        case .info: return "#0969da"
        }
    }

    /// What the templates see. Every string is ``UntrustedText/clean(_:)``ed (no control
    /// characters, no line breaks that could fake a line of ours); the HTML template
    /// escapes them again (mustache's `{{…}}`), the text template prints them as they are.
    static func context(_ n: AlertNotification, identity: ConnectorIdentity, sink: String, subject: String) -> [String: Any]
    {
        func c(_ s: String) -> String { UntrustedText.clean(s) }
        var ctx: [String: Any] = [
            "subject": c(subject), "sink": c(sink), "connector": c(identity.name), "kind": identity.kind.rawValue,
            "tenant_id": c(identity.tenantId), "client_id": c(identity.clientId), "check": n.check.rawValue,
            "reason": n.reason.rawValue, "summary": c(n.summary),
            "severity_label": label(n.severity), "event_type": n.eventType.rawValue, "state": n.state.rawValue,
            "alert_id": n.alertId, "created_at": RFC3339.string(n.createdAt),
            "color": color(n), "resolved": n.state == .resolved,
            "labels": identity.labels.sorted { $0.key < $1.key }.map { ["key": c($0.key), "value": c($0.value)] },
            "details": n.details.sorted { $0.key < $1.key }.map { ["key": c($0.key), "value": c(detailText($0.value))] },
        ]
        if !n.remediation.isEmpty, n.state != .resolved {
            ctx["has_remediation"] = true
            ctx["remediation"] = c(n.remediation)
        }
        if let expires = n.expiresAt {
            ctx["has_expiry"] = true
            ctx["expires_at"] = humanDate(expires)
            ctx["days_left_text"] = daysText(n.daysLeft ?? 0)
        }
        if let missing = n.missingPermissions, !missing.isEmpty {
            ctx["has_missing_permissions"] = true
            ctx["missing_permissions"] = missing.map(c)
        }
        return ctx
    }

    static func daysText(_ d: Int) -> String {
        switch d {
        case 0: "today"
        case 1: "in 1 day"
        case -1: "1 day ago"
        case let d where d < 0: "\(-d) days ago"
        default: "in \(d) days"
        }
    }

    /// `9 Dec 2026 08:00 UTC`.
    static func humanDate(_ d: Date) -> String {
        let t = CivilTime(d)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(t.dayMonthYear) \(two(t.hour)):\(two(t.minute)) UTC"
    }

    static func detailText(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): s
        case .array(let items) where items.allSatisfy({ $0.stringValue != nil }):
            items.compactMap(\.stringValue).joined(separator: ", ")
        default: CompactJSON.string(v)
        }
    }
}
