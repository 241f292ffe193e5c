import ConnwatchCore
import Foundation

/// An RFC 5322 message with a MIME body (RFC 2045–2047): `multipart/alternative` with a
/// plain-text and an HTML part (or the text alone), both UTF-8 in quoted-printable, so
/// every line is 7-bit and at most 76 octets — far inside SMTP's 998 — and no `8BITMIME`
/// or `SMTPUTF8` is needed. Headers with non-ASCII text use RFC 2047 encoded-words.
/// Deterministic: the same message renders to the same bytes (golden tests).
public struct MailMessage: Sendable, Equatable {
    public var from: MailAddress
    public var to: [MailAddress]
    public var subject: String
    public var date: Date
    /// `id@domain`, without the angle brackets: stable per notification, so a retried
    /// message is recognisably the same one.
    public var messageID: String
    /// The message this one answers (the first message of the incident), without `<>`.
    public var inReplyTo: String?
    /// The thread, oldest first, without `<>`.
    public var references: [String] = []
    public var text: String
    public var html: String?
    /// More headers (`X-Connwatch-…`), ASCII names and values; control characters dropped.
    public var extraHeaders: [Header] = []

    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(
        from: MailAddress, to: [MailAddress], subject: String, date: Date, messageID: String, text: String,
        html: String? = nil
    ) {
        self.from = from
        self.to = to
        self.subject = subject
        self.date = date
        self.messageID = messageID
        self.text = text
        self.html = html
    }

    /// The message as sent (CRLF line endings).
    public func rendered() -> [UInt8] {
        var lines: [String] = []
        lines += MIME.header("From", MIME.mailbox(from))
        lines += MIME.header("To", to.map(MIME.mailbox).joined(separator: ", "))
        lines += MIME.header("Subject", MIME.unstructured(subject))
        lines.append("Date: " + MIME.rfc5322Date(date))
        lines.append("Message-ID: <\(messageID)>")
        if let inReplyTo { lines.append("In-Reply-To: <\(inReplyTo)>") }
        if !references.isEmpty { lines += MIME.header("References", references.map { "<\($0)>" }.joined(separator: " ")) }
        lines.append("MIME-Version: 1.0")
        // RFC 3834: machine-made; vacation responders stay quiet.
        lines.append("Auto-Submitted: auto-generated")
        for h in extraHeaders {
            lines += MIME.header(h.name, MIME.unstructured(h.value))
        }
        if let html {
            let boundary = MIME.boundary(for: messageID)
            lines.append("Content-Type: multipart/alternative;")
            lines.append(" boundary=\"\(boundary)\"")
            lines.append("")
            lines.append("This is a multi-part message in MIME format.")
            lines.append("")
            lines.append("--" + boundary)
            lines += MIME.part(type: "text/plain", text)
            lines.append("--" + boundary)
            lines += MIME.part(type: "text/html", html)
            lines.append("--" + boundary + "--")
        } else {
            lines += MIME.part(type: "text/plain", text)
        }
        return Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }
}

/// The encoders behind ``MailMessage``; pure and tested on their own.
public enum MIME {
    /// Preferred header line length (RFC 5322 §2.1.1); 998 is the hard limit.
    static let foldAt = 78

    /// `Name: value`, folded at spaces into lines of at most 78 characters where the
    /// words allow (a single longer word stays whole; none of ours reaches 998).
    static func header(_ name: String, _ value: String) -> [String] {
        var lines: [String] = []
        var current = name + ":"
        for word in value.split(separator: " ", omittingEmptySubsequences: true) {
            if current.count + 1 + word.count > foldAt, current != name + ":" {
                lines.append(current)
                current = " " + word
            } else {
                current += " " + word
            }
        }
        lines.append(current)
        return lines
    }

    /// A display address: `addr`, `Name <addr>`, `"Name, Inc." <addr>` or an encoded-word name.
    public static func mailbox(_ a: MailAddress) -> String {
        guard let name = a.displayName.map(UntrustedText.clean), !name.isEmpty else { return a.address }
        if needsEncoding(name) { return encodedWords(name).joined(separator: " ") + " <\(a.address)>" }
        if name.allSatisfy({ MailAddress.atext.contains($0) || $0 == " " }) { return "\(name) <\(a.address)>" }
        let quoted = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "\"\(quoted)\" <\(a.address)>"
    }

    /// Unstructured header text (Subject): control characters and line breaks gone; as
    /// it is when printable ASCII, else RFC 2047 encoded-words.
    public static func unstructured(_ s: String) -> String {
        let clean = UntrustedText.clean(s)
        return needsEncoding(clean) ? encodedWords(clean).joined(separator: " ") : clean
    }

    /// Non-ASCII, or something a decoder would take for an encoded-word.
    static func needsEncoding(_ s: String) -> Bool {
        !s.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F } || s.contains("=?")
    }

    /// `=?UTF-8?B?…?=` words of at most 75 characters each (RFC 2047 §2), never splitting
    /// a character's UTF-8 bytes across two words.
    public static func encodedWords(_ s: String) -> [String] {
        var words: [String] = []
        var chunk: [UInt8] = []
        // 36 bytes = 48 base64 characters: 60-character words, so that even `Subject: ` and the
        // first word stay within 78 (the limit for one word is 75).
        for scalar in s.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if chunk.count + bytes.count > 36 {
                words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty { words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=") }
        return words
    }

    /// `Mon, 07 Dec 2026 14:05:09 +0000` (RFC 5322 §3.3), in UTC.
    public static func rfc5322Date(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int?) -> String { let n = n ?? 0; return n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[(c.weekday ?? 1) - 1]), \(two(c.day)) \(months[(c.month ?? 1) - 1]) \(c.year ?? 1970) "
            + "\(two(c.hour)):\(two(c.minute)):\(two(c.second)) +0000"
    }

    /// A boundary that cannot occur in quoted-printable text (which writes `=` as `=3D`),
    /// derived from the Message-ID so the output is deterministic.
    static func boundary(for messageID: String) -> String {
        "=_connwatch_" + String(messageID.filter { $0.isASCII && ($0.isLetter || $0.isNumber) }.prefix(40))
    }

    static func part(type: String, _ body: String) -> [String] {
        [
            "Content-Type: \(type); charset=utf-8", "Content-Transfer-Encoding: quoted-printable", "",
            quotedPrintable(body),
        ]
    }

    /// Quoted-printable (RFC 2045 §6.7) of UTF-8 text: line breaks become CRLF; bytes
    /// outside printable ASCII, `=`, and a space or tab ending a line are `=XX`; soft
    /// breaks keep every line at most 76 characters. No trailing line break.
    public static func quotedPrintable(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [String] = []
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        for line in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
            let bytes = Array(line.utf8)
            var current: [UInt8] = []
            for (i, b) in bytes.enumerated() {
                let last = i == bytes.count - 1
                var piece: [UInt8]
                if (b >= 33 && b <= 126 && b != UInt8(ascii: "=")) || ((b == 32 || b == 9) && !last) {
                    piece = [b]
                } else {
                    piece = [UInt8(ascii: "="), hex[Int(b >> 4)], hex[Int(b & 15)]]
                }
                // Leave room for the soft break `=` unless this is the line's last piece.
                let limit = last ? 76 : 75
                if current.count + piece.count > limit {
                    out.append(String(decoding: current, as: UTF8.self) + "=")
                    current = []
                }
                // A leading "." stays as it is: SMTP dot-stuffing takes care of it.
                current += piece
            }
            out.append(String(decoding: current, as: UTF8.self))
        }
        return out.joined(separator: "\r\n")
    }
}
