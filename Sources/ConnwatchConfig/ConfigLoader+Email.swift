import ConnwatchCore
import Foundation

/// `[[email]]` tables (SPEC §4, §5): validated like webhooks, plus the SMTP rules — TLS
/// unless the URL is a loopback `smtp://` to a local MTA, AUTH only over TLS, and the
/// password only from a systemd credential or a private file, never quoted in an error.
/// The transport rules themselves (STARTTLS required, AUTH never in plaintext — even to a
/// loopback MTA when a username is set) are enforced by the client, `ConnwatchMail`.
extension ConfigLoader {
    static let emailKeys = [
        "name", "smtp_url", "username", "password_credential", "password_file", "from", "to", "owners",
        "min_severity", "connectors", "labels", "digest", "digest_at", "timeout",
    ]

    func readEmail(_ t: TableReader, connectorNames: Set<String>) -> EmailConfig? {
        var ok = true
        let name = readSinkName(t, what: "e-mail sink", label: "email", example: "secops")
        if name == nil { ok = false }

        var server: SMTPServer?
        if let url = t.string("smtp_url") {
            if let s = SMTPServer(url: url) {
                server = s
            } else if url.contains("@") {
                // Never echo it: user info in a URL may be a password.
                t.error(
                    "smtp_url",
                    "user information in the URL is refused; set username = \"…\" and password_credential = \"<id>\" (or password_file)"
                )
                ok = false
            } else {
                t.error(
                    "smtp_url",
                    "\"\(url)\" is not an SMTP URL; use smtp://host:587 (STARTTLS) or smtps://host:465 (implicit TLS)")
                ok = false
            }
        } else if !t.has("smtp_url") {
            t.error("smtp_url", "missing; set smtp_url = \"smtp://mail.example:587\" (STARTTLS) or \"smtps://mail.example:465\"")
            ok = false
        } else {
            ok = false
        }

        let username = t.string("username")
        if let username, username.isEmpty || username.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            t.error("username", "must be non-empty and hold no control characters")
            ok = false
        }
        let resolver = SecretResolver(
            credentialsDirectory: credentialsDirectory, baseDirectory: dir(t), resolve: resolveSecrets)
        var password: Secret?
        switch resolver.resolve(
            t, base: "password", inline: "password", required: false, what: "the SMTP password",
            fix: "set password_credential = \"<id>\" (or password_file = \"/path\", mode 0600)")
        {
        case .secret(let s):
            password = s
            if resolveSecrets, s.withValue({ v in v.unicodeScalars.contains { $0.value == 0 || $0 == "\r" || $0 == "\n" } })
            {
                t.error(
                    t.has("password_credential") ? "password_credential" : "password_file",
                    "the stored password holds a NUL, CR or LF (a trailing newline is removed; others are refused)")
                ok = false
            }
        case .absent: break
        case .failed: ok = false
        }
        let passwordKey = t.has("password_credential") ? "password_credential" : "password_file"
        if username != nil, password == nil, !t.has("password_credential"), !t.has("password_file") {
            t.error("username", "set, but no password; add password_credential = \"<id>\" (or password_file)")
            ok = false
        }
        if username == nil, t.has("password_credential") || t.has("password_file") {
            t.error(passwordKey, "a password without a username; set username = \"…\" or remove the password")
            ok = false
        }
        var from: MailAddress?
        if let v = t.string("from") {
            if let a = MailAddress(parsing: v) {
                from = a
            } else {
                t.error("from", "\(ConfigLoader.quotedAddress(v)) is not an e-mail address; use \"connwatch@example.com\" or \"connwatch <connwatch@example.com>\"")
                ok = false
            }
        } else if !t.has("from") {
            t.error("from", "missing; set from = \"connwatch <connwatch@example.com>\"")
            ok = false
        } else {
            ok = false
        }
        var to: [MailAddress] = []
        if let list = t.stringOrStringArray("to") {
            var seen = Set<String>()
            for v in list {
                if let a = MailAddress(parsing: v) {
                    if seen.insert(a.address.lowercased()).inserted { to.append(a) }
                } else {
                    t.error("to", "\(ConfigLoader.quotedAddress(v)) is not an e-mail address")
                    ok = false
                }
            }
            if list.isEmpty {
                t.error("to", "empty; list at least one recipient, e.g. to = [\"secops@example.com\"]")
                ok = false
            }
        } else if !t.has("to") {
            t.error("to", "missing; set to = [\"secops@example.com\"]")
            ok = false
        } else {
            ok = false
        }
        let owners = t.bool("owners") ?? false

        let filters = readSinkFilters(t, connectorNames: connectorNames)
        if filters == nil { ok = false }

        var digest = DigestSchedule.off
        let digestKind = t.string("digest") ?? "off"
        let digestAt = t.string("digest_at")
        switch digestKind {
        case "off":
            if t.has("digest_at") {
                t.error("digest_at", "set, but digest is off; set digest = \"daily\" or \"weekly\", or remove digest_at")
                ok = false
            }
        case "daily":
            let at = digestAt ?? "08:00"
            if let c = DigestSchedule.parseClock(at) {
                digest = .daily(hour: c.hour, minute: c.minute)
            } else {
                t.error("digest_at", "\"\(at)\" is not a time of day; for a daily digest use \"HH:MM\", e.g. \"08:00\"")
                ok = false
            }
        case "weekly":
            let at = digestAt ?? "Mon 08:00"
            if let w = DigestSchedule.parseWeekly(at) {
                digest = .weekly(weekday: w.weekday, hour: w.hour, minute: w.minute)
            } else {
                t.error("digest_at", "\"\(at)\" is not a weekday and time; for a weekly digest use e.g. \"Mon 08:00\"")
                ok = false
            }
        default:
            t.error("digest", "unknown digest \"\(digestKind)\"; use \"off\", \"daily\" or \"weekly\"")
            ok = false
        }

        let timeout = readSinkTimeout(t)
        if timeout == nil { ok = false }

        // `password` is refused above (inline secret), not unknown.
        t.finish(allowed: ConfigLoader.emailKeys + ["password"])
        guard ok, let name, let server, let from, let filters, let timeout else { return nil }
        var email = EmailConfig(
            name: name, server: server, from: from, to: to, source: SourceLocation(file: t.file, line: t.line(nil)))
        email.username = username
        email.password = password
        email.owners = owners
        email.minSeverity = filters.minSeverity
        email.connectors = filters.connectors
        email.labels = filters.labels
        email.digest = digest
        if let timeout { email.timeout = timeout }
        return email
    }

    /// An invalid address as shown in an error: quoted, with control characters escaped
    /// (a CR/LF must not break the message into lines).
    static func quotedAddress(_ v: String) -> String {
        var out = "\""
        for u in v.unicodeScalars {
            if u.value < 0x20 || u.value == 0x7F {
                out += String(format: "\\u%04X", u.value)
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
