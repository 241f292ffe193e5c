import Foundation

/// `[[email]]` (SPEC §4, §5): an SMTP submission sink for alert mails and digests.
public struct EmailConfig: Sendable {
    public var name: String
    public var server: SMTPServer
    /// AUTH PLAIN/LOGIN user; nil: no AUTH. Only ever used over TLS.
    public var username: String?
    /// From `password_credential` / `password_file`; never inline, never printed.
    public var password: Secret?
    public var from: MailAddress
    public var to: [MailAddress]
    /// Also mail the owners of the connector's app (Graph `applications/{id}/owners`).
    public var owners: Bool = false
    public var minSeverity: Severity = .warning
    /// Only these connectors (empty: all).
    public var connectors: [String] = []
    /// Only connectors carrying all of these labels (empty: all).
    public var labels: [String: String] = [:]
    public var digest: DigestSchedule = .off
    /// For the whole SMTP dialogue of one message (connect, each command, the data).
    public var timeout: ConfigDuration = .seconds(30)
    public var source: SourceLocation

    public init(
        name: String, server: SMTPServer, from: MailAddress, to: [MailAddress], source: SourceLocation
    ) {
        self.name = name
        self.server = server
        self.from = from
        self.to = to
        self.source = source
    }
}

/// Where mail is submitted: `smtp://host[:port]` (STARTTLS, port 587 by default) or
/// `smtps://host[:port]` (implicit TLS, 465). Plain `smtp://` without TLS is allowed only
/// to a local MTA on loopback (``plaintextAllowed``).
public struct SMTPServer: Sendable, Hashable, CustomStringConvertible {
    public enum Security: String, Sendable, Hashable {
        /// `smtp://`: STARTTLS, required unless the host is a loopback local MTA.
        case startTLS = "smtp"
        /// `smtps://`: TLS from the first byte (RFC 8314).
        case implicitTLS = "smtps"
    }

    public var security: Security
    /// A DNS name or an IP literal (IPv6 without brackets).
    public var host: String
    public var port: Int

    public init(security: Security, host: String, port: Int) {
        self.security = security
        self.host = host
        self.port = port
    }

    /// True for `localhost`, `127.0.0.0/8` and `::1`: a local MTA, the only place an
    /// `smtp://` URL may go without STARTTLS (SPEC §4).
    public var isLoopback: Bool {
        let h = host.lowercased()
        if h == "localhost" || h == "::1" || h == "0:0:0:0:0:0:0:1" { return true }
        let parts = h.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// `smtp://` to a loopback host: a local MTA which may not offer STARTTLS. Everything
    /// else needs TLS, and AUTH always does.
    public var plaintextAllowed: Bool { security == .startTLS && isLoopback }

    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "\(security.rawValue)://\(h):\(port)"
    }

    /// Parses `smtp://host[:port]` / `smtps://host[:port]` (a trailing `/` allowed). No user
    /// info (the password has its own keys), no path, query or fragment. Nil when invalid.
    public init?(url: String) {
        let lower = url.lowercased()
        var rest: Substring
        if lower.hasPrefix("smtp://") {
            security = .startTLS
            rest = Substring(url).dropFirst(7)
        } else if lower.hasPrefix("smtps://") {
            security = .implicitTLS
            rest = Substring(url).dropFirst(8)
        } else {
            return nil
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty, !rest.contains(where: { "/?#@ \t\r\n".contains($0) || !$0.isASCII }) else { return nil }
        var hostPart: Substring
        var portPart: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            hostPart = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portPart = after.dropFirst()
            }
            guard hostPart.contains(":") else { return nil }
        } else {
            let pieces = rest.split(separator: ":", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { return nil }
            hostPart = pieces[0]
            if pieces.count == 2 { portPart = pieces[1] }
            let labels = hostPart.split(separator: ".", omittingEmptySubsequences: false)
            guard !hostPart.isEmpty, hostPart.count <= 253,
                labels.allSatisfy({ label in
                    !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                        && label.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" }
                })
            else { return nil }
        }
        if let portPart {
            guard !portPart.isEmpty, portPart.count <= 5, portPart.allSatisfy(\.isNumber), let p = Int(portPart),
                (1...65535).contains(p)
            else { return nil }
            port = p
        } else {
            port = security == .implicitTLS ? 465 : 587
        }
        host = String(hostPart)
    }
}

/// `digest` / `digest_at`: no digest, every day at a local time, or weekly on a weekday.
public enum DigestSchedule: Sendable, Hashable, CustomStringConvertible {
    case off
    case daily(hour: Int, minute: Int)
    /// `weekday` 1 = Monday … 7 = Sunday (ISO 8601).
    case weekly(weekday: Int, hour: Int, minute: Int)

    public static let weekdayNames = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

    public var description: String {
        switch self {
        case .off: "off"
        case .daily(let h, let m): "daily at " + DigestSchedule.clock(h, m)
        case .weekly(let d, let h, let m): "weekly on \(DigestSchedule.weekdayNames[d - 1]) at " + DigestSchedule.clock(h, m)
        }
    }

    static func clock(_ h: Int, _ m: Int) -> String {
        (h < 10 ? "0" : "") + String(h) + ":" + (m < 10 ? "0" : "") + String(m)
    }

    /// `HH:MM` (24-hour), nil otherwise.
    public static func parseClock(_ s: some StringProtocol) -> (hour: Int, minute: Int)? {
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            let h = Int(parts[0]), let m = Int(parts[1]), (0...23).contains(h), (0...59).contains(m)
        else { return nil }
        return (h, m)
    }

    /// `Mon 08:00` (weekday names in English, any case), nil otherwise.
    public static func parseWeekly(_ s: String) -> (weekday: Int, hour: Int, minute: Int)? {
        let parts = s.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2,
            let day = weekdayNames.firstIndex(where: { $0.lowercased() == parts[0].lowercased() }),
            let clock = parseClock(parts[1])
        else { return nil }
        return (day + 1, clock.hour, clock.minute)
    }
}

/// An RFC 5322 mailbox: an addr-spec (`local@domain`) with an optional display name, as
/// written in `from` / `to`. Validated strictly enough that it can go into a header and an
/// SMTP command unchanged: no CR, LF or other control characters, no `<>` inside, an ASCII
/// dot-atom or quoted local part, an ASCII domain (A-labels) or address literal.
public struct MailAddress: Sendable, Hashable, CustomStringConvertible {
    /// The display name, unquoted; nil when none was given.
    public var displayName: String?
    /// `local@domain`, for `MAIL FROM:<…>` / `RCPT TO:<…>`.
    public var address: String

    public init?(displayName: String? = nil, address: String) {
        guard MailAddress.isAddrSpec(address) else { return nil }
        if let displayName {
            guard !displayName.isEmpty, !displayName.unicodeScalars.contains(where: MailAddress.isControl) else {
                return nil
            }
        }
        self.displayName = displayName
        self.address = address
    }

    /// `addr`, `Name <addr>` or `"Name, Inc." <addr>`. Nil when invalid.
    public init?(parsing raw: String) {
        let s = raw.trimmingCharacters(in: .whitespaces)
        guard !s.isEmpty, !s.unicodeScalars.contains(where: MailAddress.isControl) else { return nil }
        if s.hasSuffix(">") {
            guard let open = s.lastIndex(of: "<") else { return nil }
            let addr = String(s[s.index(after: open)..<s.index(before: s.endIndex)])
            var name = s[..<open].trimmingCharacters(in: .whitespaces)
            if name.hasPrefix("\"") {
                guard name.count >= 2, name.hasSuffix("\""), let unquoted = MailAddress.unquote(name) else { return nil }
                name = unquoted
            } else if name.contains(where: { "<>\"@,;:\\[]()".contains($0) }) {
                return nil
            }
            self.init(displayName: name.isEmpty ? nil : name, address: addr)
        } else {
            guard !s.contains("<"), !s.contains(">") else { return nil }
            self.init(address: s)
        }
    }

    public var description: String {
        guard let displayName else { return address }
        return "\(displayName) <\(address)>"
    }

    public var domain: String { String(address[address.index(after: address.lastIndex(of: "@")!)...]) }

    static func isControl(_ u: Unicode.Scalar) -> Bool { u.value < 0x20 || u.value == 0x7F || (0x80..<0xA0).contains(u.value) }

    /// `"…"` with `\"` and `\\` escapes → its content; nil for a stray quote or backslash.
    public static func unquote(_ s: String) -> String? {
        var out = ""
        var escaped = false
        for c in s.dropFirst().dropLast() {
            if escaped {
                out.append(c)
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else if c == "\"" {
                return nil
            } else {
                out.append(c)
            }
        }
        return escaped ? nil : out
    }

    public static let atext = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~")

    /// RFC 5321 Mailbox: Local-part "@" Domain, ASCII only; the local part a dot-atom or
    /// a quoted string (at most 64 octets), the domain a host name with a dot-free
    /// single label allowed (`localhost`) or an address literal `[…]`; 254 octets at most.
    public static func isAddrSpec(_ s: String) -> Bool {
        guard s.utf8.count <= 254, s.allSatisfy(\.isASCII), let at = s.lastIndex(of: "@") else { return false }
        let local = s[..<at]
        let domain = s[s.index(after: at)...]
        guard !local.isEmpty, local.utf8.count <= 64, !domain.isEmpty else { return false }
        if local.hasPrefix("\"") {
            guard local.count >= 2, local.hasSuffix("\""),
                local.dropFirst().dropLast().unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }),
                unquote(String(local)) != nil
            else { return false }
        } else {
            let atoms = local.split(separator: ".", omittingEmptySubsequences: false)
            guard atoms.allSatisfy({ !$0.isEmpty && $0.allSatisfy { atext.contains($0) } }) else { return false }
        }
        if domain.hasPrefix("[") {
            guard domain.hasSuffix("]") else { return false }
            let literal = domain.dropFirst().dropLast()
            return !literal.isEmpty && literal.allSatisfy { $0.isLetter || $0.isNumber || ".:".contains($0) }
        }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        return domain.utf8.count <= 253
            && labels.allSatisfy { label in
                !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                    && label.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" }
            }
    }
}
