import Foundation
import Testing

@testable import ConnwatchConfig
@testable import ConnwatchCore

/// `[[email]]` (SPEC §4): loaded strictly, every error with file:line, the password never
/// in any output.
@Suite struct EmailConfigTests {
    static let password = "smtp-Pa55word-never-shown"

    func sandbox(_ toml: String) throws -> FixtureSandbox {
        let sandbox = try FixtureSandbox(fixture: "invalid/02-unknown-key.toml")
        try sandbox.write("connwatch.toml", toml, mode: 0o644)
        try sandbox.write("credentials/smtp", EmailConfigTests.password + "\n", mode: 0o600)
        try sandbox.write("smtp-password", EmailConfigTests.password + "\n", mode: 0o600)
        return sandbox
    }

    static let connector = """
        [[connector]]
        name = "contoso-onedrive"
        kind = "onedrive"
        tenant_id = "contoso.onmicrosoft.com"
        client_id = "8c3e2a47-1b5d-4c8f-a9e6-2f4d7b1c0e9a"
        client_secret_credential = "c1"

        """

    @Test func fullTableLoads() throws {
        let s = try sandbox(
            EmailConfigTests.connector + """
                [[email]]
                name = "secops"
                smtp_url = "smtp://mail.example:587"
                username = "connwatch@example"
                password_credential = "smtp"
                from = "connwatch <connwatch@example.com>"
                to = ["secops@example.com", "\\"Ops, Inc.\\" <ops@example.com>", "SecOps@example.com"]
                owners = true
                min_severity = "critical"
                connectors = ["contoso-onedrive"]
                labels = { customer = "Contoso" }
                digest = "weekly"
                digest_at = "Fri 17:30"
                timeout = "45s"

                [[email]]
                name = "local"
                smtp_url = "smtp://localhost:25"
                from = "connwatch@host.example"
                to = "root@localhost"
                digest = "daily"

                [[email]]
                name = "implicit"
                smtp_url = "smtps://smtp.example.net"
                username = "u"
                password_file = "smtp-password"
                from = "c@example.net"
                to = ["a@example.net"]
                """)
        defer { s.remove() }
        let c = try s.load().configuration
        #expect(c.emails.map(\.name) == ["secops", "local", "implicit"])
        let e = c.emails[0]
        #expect(e.server == SMTPServer(security: .startTLS, host: "mail.example", port: 587))
        #expect(e.username == "connwatch@example")
        #expect(e.password?.withValue { $0 } == EmailConfigTests.password)
        #expect(e.from == MailAddress(displayName: "connwatch", address: "connwatch@example.com"))
        // The same address twice (case-insensitively) is one recipient.
        #expect(e.to.map(\.address) == ["secops@example.com", "ops@example.com"])
        #expect(e.to[1].displayName == "Ops, Inc.")
        #expect(e.owners)
        #expect(e.minSeverity == .critical)
        #expect(e.connectors == ["contoso-onedrive"])
        #expect(e.labels == ["customer": "Contoso"])
        #expect(e.digest == .weekly(weekday: 5, hour: 17, minute: 30))
        #expect(e.timeout == .seconds(45))
        #expect(c.emails[1].server.plaintextAllowed)
        #expect(c.emails[1].digest == .daily(hour: 8, minute: 0))
        #expect(c.emails[1].to.map(\.address) == ["root@localhost"])
        #expect(c.emails[1].password == nil && c.emails[1].minSeverity == .warning && !c.emails[1].owners)
        #expect(c.emails[2].server.port == 465 && c.emails[2].password?.withValue { $0 } == EmailConfigTests.password)
        for email in c.emails {
            #expect(!String(describing: email).contains(EmailConfigTests.password))
            #expect(!String(reflecting: email).contains(EmailConfigTests.password))
        }
    }

    static let base = "name = \"m\"\nsmtp_url = \"smtp://mail.example:587\"\nfrom = \"c@example.com\"\nto = [\"a@example.com\"]\n"

    @Test(arguments: [
        (
            "[[email]]\nname = \"m\"\nsmtp_url = \"http://mail.example\"\nfrom = \"c@example.com\"\nto = [\"a@example.com\"]\n",
            #"<dir>/connwatch.toml:3: email "m".smtp_url: "http://mail.example" is not an SMTP URL; use smtp://host:587 (STARTTLS) or smtps://host:465 (implicit TLS)"#
        ),
        (
            "[[email]]\nname = \"m\"\nsmtp_url = \"smtp://user:\(password)@mail.example\"\nfrom = \"c@example.com\"\nto = [\"a@example.com\"]\n",
            #"<dir>/connwatch.toml:3: email "m".smtp_url: user information in the URL is refused; set username = "…" and password_credential = "<id>" (or password_file)"#
        ),
        (
            "[[email]]\n" + base + "password = \"\(password)\"\n",
            #"<dir>/connwatch.toml:6: email "m".password: inline secrets are refused; store the SMTP password in a systemd credential and set password_credential = "<id>" (or password_file = "/path", mode 0600)"#
        ),
        (
            "[[email]]\n" + base + "username = \"u\"\n",
            #"<dir>/connwatch.toml:6: email "m".username: set, but no password; add password_credential = "<id>" (or password_file)"#
        ),
        (
            "[[email]]\n" + base + "password_credential = \"smtp\"\n",
            #"<dir>/connwatch.toml:6: email "m".password_credential: a password without a username; set username = "…" or remove the password"#
        ),
        (
            "[[email]]\nname = \"m\"\nsmtp_url = \"smtp://mail.example\"\nfrom = \"c@example.com\\r\\nBcc: x@evil.example\"\nto = [\"a@example.com\"]\n",
            #"<dir>/connwatch.toml:4: email "m".from: "c@example.com\u000D\u000ABcc: x@evil.example" is not an e-mail address; use "connwatch@example.com" or "connwatch <connwatch@example.com>""#
        ),
        (
            "[[email]]\nname = \"m\"\nsmtp_url = \"smtp://mail.example\"\nfrom = \"c@example.com\"\nto = [\"a@example.com\", \"not an address\"]\n",
            #"<dir>/connwatch.toml:5: email "m".to: "not an address" is not an e-mail address"#
        ),
        (
            "[[email]]\nname = \"m\"\nsmtp_url = \"smtp://mail.example\"\nfrom = \"c@example.com\"\nto = []\n",
            #"<dir>/connwatch.toml:5: email "m".to: empty; list at least one recipient, e.g. to = ["secops@example.com"]"#
        ),
        (
            "[[email]]\n" + base + "digest = \"weekly\"\ndigest_at = \"08:00\"\n",
            #"<dir>/connwatch.toml:7: email "m".digest_at: "08:00" is not a weekday and time; for a weekly digest use e.g. "Mon 08:00""#
        ),
        (
            "[[email]]\n" + base + "digest = \"daily\"\ndigest_at = \"25:00\"\n",
            #"<dir>/connwatch.toml:7: email "m".digest_at: "25:00" is not a time of day; for a daily digest use "HH:MM", e.g. "08:00""#
        ),
        (
            "[[email]]\n" + base + "digest = \"hourly\"\n",
            #"<dir>/connwatch.toml:6: email "m".digest: unknown digest "hourly"; use "off", "daily" or "weekly""#
        ),
        (
            "[[email]]\n" + base + "digest_at = \"Mon 08:00\"\n",
            #"<dir>/connwatch.toml:6: email "m".digest_at: set, but digest is off; set digest = "daily" or "weekly", or remove digest_at"#
        ),
        (
            "[[email]]\n" + base + "connectors = [\"nope\"]\n",
            #"<dir>/connwatch.toml:6: email "m".connectors: "nope" is not a configured connector"#
        ),
        (
            "[[email]]\n" + base + "min_severity = \"debug\"\n",
            #"<dir>/connwatch.toml:6: email "m".min_severity: unknown severity "debug"; use "info", "warning" or "critical""#
        ),
        (
            "[[email]]\n" + base + "smpt_url = \"smtp://x\"\n",
            #"<dir>/connwatch.toml:6: email "m".smpt_url: unknown key; did you mean "smtp_url"?"#
        ),
        (
            "[[email]]\n" + base + "[[email]]\n" + base,
            #"<dir>/connwatch.toml:7: email "m".name: duplicate email name; [[email]] names must be unique"#
        ),
        (
            "[[email]]\nname = \"m\"\n",
            #"<dir>/connwatch.toml:1: email "m".smtp_url: missing; set smtp_url = "smtp://mail.example:587" (STARTTLS) or "smtps://mail.example:465""#
        ),
        (
            "[[email]]\n" + base + "username = \"u\"\npassword_file = \"/nonexistent/\(password)\"\n",
            #"<dir>/connwatch.toml:7: email "m".password_file: the file it names does not exist (the path is not shown, in case a secret was pasted here); give the path of the file holding the SMTP password"#
        ),
    ])
    func invalid(toml: String, expected: String) throws {
        let s = try sandbox(toml)
        defer { s.remove() }
        let errors = s.errorLines() ?? []
        #expect(errors.first == expected, "\(errors)")
        for e in errors { #expect(!e.contains(EmailConfigTests.password), "the password in: \(e)") }
    }

    @Test func missingKeysAreAllReported() throws {
        let s = try sandbox("[[email]]\nname = \"m\"\n")
        defer { s.remove() }
        let errors = s.errorLines() ?? []
        #expect(errors.count == 3, "\(errors)")
        #expect(errors.contains { $0.contains(".from: missing") } && errors.contains { $0.contains(".to: missing") })
    }
}
