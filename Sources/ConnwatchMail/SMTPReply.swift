/// One SMTP reply (RFC 5321 §4.2): a three-digit code and its text lines. A multi-line
/// reply is `250-first`, `250-second`, …, `250 last`, every line with the same code.
public struct SMTPReply: Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    /// The text after the code and its separator, one per line (possibly empty).
    public var lines: [String]

    public init(code: Int, lines: [String] = [""]) {
        self.code = code
        self.lines = lines
    }

    /// 2, 3, 4 or 5.
    public var replyClass: Int { code / 100 }
    public var isPositive: Bool { replyClass == 2 }
    public var isIntermediate: Bool { replyClass == 3 }
    public var isTransientNegative: Bool { replyClass == 4 }
    public var isPermanentNegative: Bool { replyClass == 5 }

    /// `code text` of the first line, cleaned of control characters and cut to 200
    /// characters: what connwatch records and shows of a server's reply (untrusted text).
    public var description: String {
        var text = ""
        for u in (lines.first ?? "").unicodeScalars where u.value >= 0x20 && u.value != 0x7F {
            text.unicodeScalars.append(u)
            if text.unicodeScalars.count >= 200 { break }
        }
        return text.isEmpty ? String(code) : "\(code) \(text)"
    }
}

/// Assembles replies from lines (CRLF already removed). Strict: anything but
/// `DDD-text` / `DDD text` / `DDD` with a code 200–599 and the same code on every line of
/// a reply is malformed — a reply that cannot be understood is a transient failure,
/// never a verdict.
public struct SMTPReplyParser: Sendable {
    /// RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets; servers send longer ones
    /// (EHLO lists), so allow 2048 and no more.
    public static let maxLineBytes = 2048
    /// Lines of one reply (an EHLO list is a few dozen at most).
    public static let maxLines = 100

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case malformed(String)

        public var description: String {
            switch self {
            case .malformed(let why): "malformed SMTP reply: \(why)"
            }
        }
    }

    private var pending: [String] = []
    private var pendingCode: Int?

    public init() {}

    /// True while a multi-line reply has begun and not ended.
    public var isInsideReply: Bool { pendingCode != nil }

    /// Feeds one line; returns the reply it completes, if any.
    public mutating func feed(_ line: [UInt8]) throws(Failure) -> SMTPReply? {
        guard line.count <= SMTPReplyParser.maxLineBytes else { throw .malformed("a line of over \(SMTPReplyParser.maxLineBytes) bytes") }
        guard line.count >= 3, line[0...2].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw .malformed("a line without a three-digit code")
        }
        let code = Int(line[0] - 48) * 100 + Int(line[1] - 48) * 10 + Int(line[2] - 48)
        guard (200...599).contains(code) else { throw .malformed("reply code \(code) outside 200–599") }
        if let pendingCode, pendingCode != code { throw .malformed("code \(code) inside a \(pendingCode) reply") }
        var last = true
        var text: ArraySlice<UInt8> = []
        if line.count > 3 {
            switch line[3] {
            case UInt8(ascii: "-"): last = false
            case UInt8(ascii: " "): break
            default: throw .malformed("no space or '-' after the code")
            }
            text = line[4...]
        }
        pending.append(String(decoding: text, as: UTF8.self))
        guard pending.count <= SMTPReplyParser.maxLines else { throw .malformed("over \(SMTPReplyParser.maxLines) lines") }
        if !last {
            pendingCode = code
            return nil
        }
        let reply = SMTPReply(code: code, lines: pending)
        pending = []
        pendingCode = nil
        return reply
    }
}

/// EHLO keywords (RFC 5321 §4.1.1.1): the first word of every line after the first,
/// upper-cased, with its parameters.
public struct SMTPCapabilities: Sendable, Equatable {
    public var keywords: [String: [String]] = [:]

    public init(ehlo reply: SMTPReply) {
        for line in reply.lines.dropFirst() {
            let words = line.split(separator: " ").map(String.init)
            guard let first = words.first else { continue }
            keywords[first.uppercased(), default: []] += words.dropFirst().map { $0.uppercased() }
        }
    }

    public var startTLS: Bool { keywords["STARTTLS"] != nil }
    /// SASL mechanisms of `AUTH` (and the pre-standard `AUTH=` form).
    public var authMechanisms: Set<String> {
        var all = Set(keywords["AUTH"] ?? [])
        for (key, values) in keywords where key.hasPrefix("AUTH=") {
            all.insert(String(key.dropFirst(5)))
            all.formUnion(values)
        }
        return all
    }
}
