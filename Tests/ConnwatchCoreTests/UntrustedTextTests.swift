import Testing

@testable import ConnwatchCore

/// The escapers of text from Microsoft, Zscaler and the configuration (SPEC §9), each on the
/// attacks a display name or an error text can carry.
@Suite struct UntrustedTextTests {
    /// An OSC 8 hyperlink (a terminal shows "click" and opens the URL), a CSI that clears the
    /// screen, a BEL, and a right-to-left override that shows "exe.pdf" as "fdp.exe".
    static let osc8 = "\u{1B}]8;;https://evil.example\u{1B}\\click\u{1B}]8;;\u{1B}\\"

    @Test(arguments: [
        (
            "plain text stays", "contoso-exchange: the client secret expires in 9 days",
            "contoso-exchange: the client secret expires in 9 days"
        ),
        ("ESC of an OSC 8 link", UntrustedTextTests.osc8, "]8;;https://evil.example\\click]8;;\\"),
        ("CSI clear screen, BEL", "a\u{1B}[2J\u{07}b", "a[2Jb"),
        ("C1 CSI (U+009B)", "a\u{9B}31mb", "a31mb"),
        ("DEL and NUL", "a\u{7F}b\u{0}c", "abc"),
        ("bidi override", "invoice\u{202E}fdp.exe", "invoicefdp.exe"),
        (
            "bidi embeddings and isolates", "\u{202A}a\u{202B}b\u{202C}c\u{202D}d\u{2066}e\u{2067}f\u{2068}g\u{2069}",
            "abcdefg"
        ),
        (
            "line breaks and tabs become one space", "one\ntwo\r\nthree\rfour\tfive\u{2028}six\u{85}seven",
            "one two three four five six seven"
        ),
        ("a run of breaks is one space", "a\n\n\r\nb", "a b"),
        ("non-ASCII text stays", "Zürich — 東京 ✓", "Zürich — 東京 ✓"),
    ])
    func terminal(_ name: String, _ input: String, _ expected: String) {
        #expect(UntrustedText.terminal(input) == expected, "\(name)")
        #expect(UntrustedText.clean(input) == expected, "\(name)")
    }

    @Test(arguments: [
        ("channel ping", "<!channel> rotate now", "&lt;!channel&gt; rotate now"),
        ("here ping", "<!here>", "&lt;!here&gt;"),
        ("user mention", "<@U123ABC>", "&lt;@U123ABC&gt;"),
        ("link with friendly text", "<https://evil.example|Sign in>", "&lt;https://evil.example|Sign in&gt;"),
        ("an existing entity is shown, not decoded", "&lt;b&gt; & co", "&amp;lt;b&amp;gt; &amp; co"),
        ("emphasis stays (Slack has no escape for it)", "*bold* _it_", "*bold* _it_"),
        ("controls go first", "a\u{1B}]8;;x\u{1B}\\<b>\nc", "a]8;;x\\&lt;b&gt; c"),
    ])
    func slackMrkdwn(_ name: String, _ input: String, _ expected: String) {
        #expect(UntrustedText.slackMrkdwn(input) == expected, "\(name)")
        #expect(UntrustedText.slackMrkdwnUnits(input).joined() == expected, "\(name)")
    }

    @Test(arguments: [
        (
            "plain text stays", "the client secret expires on 9 Dec 2026 (in 9 days)",
            "the client secret expires on 9 Dec 2026 (in 9 days)"
        ),
        ("markdown link", "[click](https://evil.example)", "\\[click\\](https://evil.example)"),
        ("bold and italic", "**bold** *it* _it_", "\\*\\*bold\\*\\* \\*it\\* \\_it\\_"),
        (
            "intraword underscore stays", "secret_expiry in_use zscaler_tenant_id",
            "secret_expiry in_use zscaler_tenant_id"
        ),
        ("underscore at a word edge", "_x a_ b _", "\\_x a\\_ b \\_"),
        ("at mention", "<at>Everyone</at>", "\\<at\\>Everyone\\</at\\>"),
        ("date function", "{{DATE(2017-02-14T06:08:39Z, SHORT)}}", "\\{\\{DATE(2017-02-14T06:08:39Z, SHORT)\\}\\}"),
        ("a backslash cannot undo an escape", "\\[x](y)", "\\\\\\[x\\](y)"),
        ("code", "`x`", "\\`x\\`"),
        ("list at the start", "- item", "\\- item"),
        ("numbered list at the start", "12. item", "12\\. item"),
        ("numbered list with a parenthesis", "3) item", "3\\) item"),
        ("heading at the start", "# big", "\\# big"),
        ("a dash inside stays", "a - b", "a - b"),
        ("a number inside stays", "in 9 days. 3 left", "in 9 days. 3 left"),
        ("a line break cannot start a list", "ok\n- evil", "ok - evil"),
        ("controls go first", "\u{202E}[a](b)\u{1B}[0m", "\\[a\\](b)\\[0m"),
    ])
    func teams(_ name: String, _ input: String, _ expected: String) {
        #expect(UntrustedText.teams(input) == expected, "\(name)")
        #expect(UntrustedText.teamsUnits(input).joined() == expected, "\(name)")
    }

    @Test(arguments: [
        ("plain text stays", "Contoso Ltd", "Contoso Ltd"),
        ("script", "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("attribute breakout, both quotes", #"x" onmouseover="a' b"#, "x&quot; onmouseover=&quot;a&#39; b"),
        ("ampersand", "A&B &amp;", "A&amp;B &amp;amp;"),
        ("controls and bidi", "a\u{1B}b\u{202E}c\nd", "abc d"),
    ])
    func html(_ name: String, _ input: String, _ expected: String) {
        #expect(UntrustedText.html(input) == expected, "\(name)")
    }

    /// Each unit is one character's rendering: a cut between units never splits an escape.
    @Test func unitsAreOneCharacterEach() {
        let input = "a<&>[_]*"
        #expect(UntrustedText.slackMrkdwnUnits(input) == ["a", "&lt;", "&amp;", "&gt;", "[", "_", "]", "*"])
        #expect(UntrustedText.teamsUnits(input) == ["a", "\\<", "&", "\\>", "\\[", "\\_", "\\]", "\\*"])
    }

    /// A table keeps its columns when a cell carries escapes or bidi overrides: they are gone,
    /// and the width is that of what is shown.
    @Test func textTableCleansEveryCellAndStaysAligned() {
        var t = TextTable(headers: ["NAME", "SUMMARY"])
        t.append(["evil\u{1B}[2J\u{202E}", "x\u{1B}]8;;https://evil.example\u{7}y"])
        t.append(["ok", "two\nlines\u{1B}[31m"])
        #expect(
            t.render() == """
                NAME     SUMMARY
                evil[2J  x]8;;https://evil.exampley
                ok       two
                         lines[31m

                """)
        #expect(!t.render().unicodeScalars.contains { UntrustedText.isControl($0) && $0 != "\n" })
    }
}
