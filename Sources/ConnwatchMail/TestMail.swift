import ConnwatchCore
import Foundation

/// The message `connwatchctl email test NAME` sends: proof that an `[[email]]` sink's
/// server, TLS, credentials and recipients work, in the same shape as an alert mail.
public enum TestMail {
    public static func message(sink: EmailConfig, id: String, now: Date) -> MailMessage {
        let name = UntrustedText.clean(sink.name)
        let text = """
            This is a test message from connwatch.

            The [[email]] sink "\(name)" (\(sink.server)) works: alerts that pass its filters \
            (min_severity \(sink.minSeverity.rawValue)) arrive like this one.

            -- 
            connwatch: sent by `connwatchctl email test \(name)`.
            """
        let html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>connwatch test message</title></head>
            <body style="margin:0;padding:24px;background:#f4f5f7;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1f2328;">
            <div style="max-width:600px;background:#ffffff;border:1px solid #d0d7de;border-radius:6px;padding:20px;">
            <p style="margin:0 0 12px 0;font-size:18px;font-weight:bold;">connwatch test message</p>
            <p style="margin:0;font-size:14px;">The [[email]] sink “\(htmlEscape(name))” works: alerts that pass its filters arrive like this one.</p>
            </div></body></html>
            """
        var m = MailMessage(
            from: sink.from, to: sink.to, subject: "[connwatch] test message from the [[email]] sink \(name)", date: now,
            messageID: AlertMail.messageID(notificationID: "test-" + id, domain: sink.from.domain), text: text, html: html)
        m.extraHeaders = [.init("X-Connwatch-Event", "test")]
        return m
    }

    static func htmlEscape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
