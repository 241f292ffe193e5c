import ConnwatchAlerting
import ConnwatchCore
import ConnwatchTestSupport
import Foundation
import Testing
@testable import ConnwatchMail

/// The alert mails (SPEC §5): one golden `.eml` per event type and state, exactly as
/// submitted (headers, text and HTML parts); the HTML safe for mail clients; untrusted
/// text escaped; the embedded templates equal to the files in the repo.
@Suite("Alert mail templates") struct MailTemplateTests {
    static let sink: EmailConfig = {
        var e = EmailConfig(
            name: "secops", server: SMTPServer(url: "smtp://mail.example.com:587")!,
            from: MailAddress(parsing: "connwatch <connwatch@example.com>")!,
            to: [MailAddress(parsing: "secops@example.com")!, MailAddress(parsing: "Zoë Admin <zoe@example.com>")!],
            source: .init(file: "test"))
        e.password = Secret("never-in-a-mail")
        return e
    }()

    static func eml(_ n: AlertNotification, _ identity: ConnectorIdentity) -> String {
        String(decoding: AlertMail.message(n, identity: identity, sink: sink).rendered(), as: UTF8.self)
    }

    @Test(arguments: AlertEventType.allCases, AlertPhase.allCases)
    func golden(type: AlertEventType, state: AlertPhase) throws {
        let (n, identity) = WebhookFixture.notification(type, state)
        let raw = Self.eml(n, identity)
        try Golden.check(Data(raw.utf8), "\(type.rawValue)-\(state.rawValue).eml", in: "mail")
        #expect(!raw.contains("never-in-a-mail"))
        for line in raw.components(separatedBy: "\r\n") { #expect(line.utf8.count <= 998) }
        // Threading: a resolution answers the incident's first message.
        let first = "<\(n.alertId).connwatch@example.com>"
        if state == .resolved {
            #expect(raw.contains("\r\nIn-Reply-To: \(first)\r\n"))
            #expect(raw.contains("\r\nReferences: \(first)\r\n"))
        } else {
            #expect(raw.contains("\r\nMessage-ID: \(first)\r\n"))
            #expect(!raw.contains("In-Reply-To"))
        }
        let html = try htmlPart(raw)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        for forbidden in ["<script", "src=", "<link", "<img", "http://", "https://", "@import", "url("] {
            #expect(!html.lowercased().contains(forbidden), "\(forbidden) in the HTML of \(type)")
        }
    }

    /// The outbox keeps the `standard` payload; a mail rendered from it is the same mail.
    @Test(arguments: AlertEventType.allCases, AlertPhase.allCases)
    func fromTheOutboxPayload(type: AlertEventType, state: AlertPhase) throws {
        let (n, identity) = WebhookFixture.notification(type, state)
        let payload = NotificationRendering.standardPayload(n, identity: identity)
        let fromPayload = try #require(AlertMail.message(standardPayload: payload, notificationID: n.id, sink: Self.sink))
        #expect(fromPayload.rendered() == AlertMail.message(n, identity: identity, sink: Self.sink).rendered())
        #expect(AlertMail.message(standardPayload: Data("{\"type\": 1}".utf8), notificationID: n.id, sink: Self.sink) == nil)
    }

    @Test func untrustedTextIsEscapedInHTMLAndCleanedInText() throws {
        var (n, identity) = WebhookFixture.notification(.consentMissing, .firing)
        n.summary = "<script>alert(1)</script> & <img src=https://evil.example/x.png>\r\nBcc: x@evil.example"
        identity.labels = ["customer": "<b onmouseover=\"x\">Contoso</b>"]
        n.details = ["note": .string("\u{1B}[2J\u{202E}txt.exe")]
        let raw = Self.eml(n, identity)
        let html = try htmlPart(raw)
        #expect(!html.contains("<script>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;img src=https://evil.example/x.png&gt;"))
        #expect(html.contains("&lt;b onmouseover=&quot;x&quot;&gt;Contoso&lt;/b&gt;"))
        #expect(!html.contains("\u{1B}") && !html.contains("\u{202E}"))
        let text = try textPart(raw)
        #expect(text.contains("<script>alert(1)</script> & <img src=https://evil.example/x.png> Bcc: x@evil.example"))
        #expect(!text.contains("\nBcc:"))
        let (headers, _) = MailReader.split(raw)
        #expect(MailReader.header(headers, "Bcc") == nil)
    }

    @Test func embeddedTemplatesMatchTheFiles() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/ConnwatchMail/Templates")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".mustache") }
        #expect(Set(files.map { String($0.dropLast(".mustache".count)) }) == Set(EmbeddedTemplates.all.keys))
        for file in files {
            var text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            while text.hasSuffix("\n") { text.removeLast() }
            #expect(
                EmbeddedTemplates.all[String(file.dropLast(".mustache".count))] == text,
                "\(file) differs from EmbeddedTemplates.swift: run scripts/embed-mail-templates.py")
        }
    }

    func parts(_ raw: String) throws -> [String] {
        let (headers, body) = MailReader.split(raw)
        let contentType = try #require(MailReader.header(headers, "Content-Type"))
        let boundary = String(contentType.split(separator: "\"")[1])
        return body.components(separatedBy: "--" + boundary).dropFirst().dropLast().map { part in
            let p = MailReader.split(String(part.dropFirst()))
            return MailReader.decodeQP(String(p.body.dropLast()))
        }
    }

    func textPart(_ raw: String) throws -> String { try parts(raw)[0] }
    func htmlPart(_ raw: String) throws -> String { try parts(raw)[1] }
}
