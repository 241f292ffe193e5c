import ConnwatchCore
import Foundation
import ConnwatchTestSupport
import Testing
@testable import ConnwatchMail

@Suite("MIME") struct MailMessageTests {
    let from = MailAddress(parsing: "connwatch <connwatch@example.com>")!
    let date = RFC3339.date("2026-12-07T14:05:09Z")!

    func message(subject: String, text: String, html: String?) -> MailMessage {
        var m = MailMessage(
            from: from, to: [MailAddress(parsing: "Zoë Ops <ops@example.com>")!, MailAddress(parsing: "b@example.com")!],
            subject: subject, date: date, messageID: "019a.connwatch@example.com", text: text, html: html)
        m.inReplyTo = "018f.connwatch@example.com"
        m.references = ["018f.connwatch@example.com"]
        return m
    }

    @Test func multipartAlternativeParsesBack() throws {
        let text = "Grüße — the secret expires.\n=Equals at start\n.dot\ntrailing space \n" + String(repeating: "long ", count: 40)
        let html = "<p style=\"color:#cf222e\">Grüße &amp; more</p>"
        let raw = String(decoding: message(subject: "Ablauf: Schlüssel läuft ab — in 9 Tagen", text: text, html: html).rendered(), as: UTF8.self)
        for line in raw.components(separatedBy: "\r\n") {
            #expect(line.utf8.count <= 78, "line too long: \(line)")
            #expect(line.utf8.count <= 998)
            #expect(line.allSatisfy { $0.isASCII })
        }
        #expect(!raw.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        let (headers, body) = MailReader.split(raw)
        #expect(MailReader.decodeWords(MailReader.header(headers, "Subject")!) == "Ablauf: Schlüssel läuft ab — in 9 Tagen")
        #expect(MailReader.header(headers, "Message-ID") == "<019a.connwatch@example.com>")
        #expect(MailReader.header(headers, "In-Reply-To") == "<018f.connwatch@example.com>")
        #expect(MailReader.header(headers, "References") == "<018f.connwatch@example.com>")
        #expect(MailReader.header(headers, "Date") == "Mon, 07 Dec 2026 14:05:09 +0000")
        #expect(MailReader.header(headers, "MIME-Version") == "1.0")
        let to = MailReader.header(headers, "To")!
        #expect(to.hasSuffix("<ops@example.com>, b@example.com"))
        #expect(MailReader.decodeWords(String(to.prefix { $0 != "<" }).trimmingCharacters(in: .whitespaces)) == "Zoë Ops")
        let contentType = MailReader.header(headers, "Content-Type")!
        #expect(contentType.hasPrefix("multipart/alternative; boundary=\""))
        let boundary = String(contentType.split(separator: "\"")[1])
        let parts = body.components(separatedBy: "--" + boundary)
        #expect(parts.count == 4)
        #expect(parts[3].hasPrefix("--"))
        let textPart = MailReader.split(String(parts[1].dropFirst()))
        #expect(MailReader.header(textPart.headers, "Content-Type") == "text/plain; charset=utf-8")
        #expect(MailReader.header(textPart.headers, "Content-Transfer-Encoding") == "quoted-printable")
        #expect(MailReader.decodeQP(String(textPart.body.dropLast())) == text)
        let htmlPart = MailReader.split(String(parts[2].dropFirst()))
        #expect(MailReader.header(htmlPart.headers, "Content-Type") == "text/html; charset=utf-8")
        #expect(MailReader.decodeQP(String(htmlPart.body.dropLast())) == html)
    }

    @Test func headerInjectionIsImpossible() throws {
        let raw = String(
            decoding: message(subject: "hi\r\nBcc: victim@example.com\nX: y", text: "t", html: nil).rendered(), as: UTF8.self)
        let (headers, _) = MailReader.split(raw)
        #expect(MailReader.header(headers, "Bcc") == nil)
        #expect(MailReader.header(headers, "X") == nil)
        #expect(MailReader.header(headers, "Content-Type") == "text/plain; charset=utf-8")
        // `=?` in ASCII text is encoded, so no decoder reads a word we did not write.
        #expect(MIME.unstructured("a =?UTF-8?B?QQ==?= b").hasPrefix("=?UTF-8?B?"))
    }

    @Test func encodedWordsStayShortAndWhole() {
        let s = String(repeating: "é😀", count: 40)
        let words = MIME.encodedWords(s)
        #expect(words.allSatisfy { $0.count <= 75 })
        #expect(MailReader.decodeWords(words.joined(separator: " ")) == s)
    }

    @Test func quotedPrintableLines() {
        let qp = MIME.quotedPrintable(String(repeating: "ä", count: 100) + "\nend \t")
        for line in qp.components(separatedBy: "\r\n") { #expect(line.count <= 76) }
        #expect(qp.hasSuffix("end =09"))
        #expect(MailReader.decodeQP(qp) == String(repeating: "ä", count: 100) + "\nend \t")
    }

    @Test func displayNamesAreQuotedWhenNeeded() {
        #expect(MIME.mailbox(MailAddress(parsing: "\"Ops, Inc.\" <ops@example.com>")!) == "\"Ops, Inc.\" <ops@example.com>")
        #expect(MIME.mailbox(MailAddress(parsing: "connwatch <c@example.com>")!) == "connwatch <c@example.com>")
        #expect(MIME.mailbox(MailAddress(parsing: "c@example.com")!) == "c@example.com")
    }
}

@Suite("Mail addresses and SMTP URLs") struct MailAddressTests {
    @Test(arguments: [
        "a@example.com", "connwatch <connwatch@example.com>", "\"Ops, Inc.\" <ops@example.com>", "first.last+tag@sub.example.org",
        "x@localhost", "\"quoted local\"@example.com",
    ])
    func valid(_ s: String) { #expect(MailAddress(parsing: s) != nil) }

    @Test(arguments: [
        "", "a", "a@", "@example.com", "a@@example.com", "a b@example.com", "a@example.com\r\nBcc: x@y", "Name <a@example.com",
        "a@exa mple.com", "a..b@example.com", "Nämé@example.com", "a@-example.com", "Na<me <a@example.com>", "a@example.com>",
        "Name\n <a@example.com>",
    ])
    func invalid(_ s: String) { #expect(MailAddress(parsing: s) == nil) }

    @Test func smtpURLs() {
        #expect(SMTPServer(url: "smtp://mail.example:587") == SMTPServer(security: .startTLS, host: "mail.example", port: 587))
        #expect(SMTPServer(url: "smtps://mail.example") == SMTPServer(security: .implicitTLS, host: "mail.example", port: 465))
        #expect(SMTPServer(url: "smtp://[::1]:25")?.host == "::1")
        #expect(SMTPServer(url: "smtp://localhost:25")?.plaintextAllowed == true)
        #expect(SMTPServer(url: "smtp://127.0.0.1:25")?.plaintextAllowed == true)
        #expect(SMTPServer(url: "smtp://[::1]:25")?.plaintextAllowed == true)
        #expect(SMTPServer(url: "smtps://localhost")?.plaintextAllowed == false)
        #expect(SMTPServer(url: "smtp://mail.example:25")?.plaintextAllowed == false)
        #expect(SMTPServer(url: "smtp://127.evil.example")?.plaintextAllowed == false)
        for bad in ["http://x", "smtp://", "smtp://user:pw@host", "smtp://host:0", "smtp://host:99999", "smtp://host/path", "smtp://ho st"] {
            #expect(SMTPServer(url: bad) == nil, "\(bad)")
        }
    }
}
