/// Escapers for text connwatch did not write: display names, tenant names and error texts
/// from Microsoft and Zscaler (AADSTS descriptions), summaries that embed them, and connector
/// names and labels from the configuration (SPEC §9: "Text from them is escaped for every
/// output format"). An app registration's display name is chosen by whoever can edit the
/// app; it must not ping a Slack channel, hide a link behind friendly words in Teams, run
/// markup in an HTML report, or move the cursor, retitle the window or reverse the line in
/// an operator's terminal.
///
/// Every escaper first ``clean(_:)``s: control characters and bidirectional overrides go,
/// line breaks and tabs become one space. The text stays readable; nothing it holds can act.
/// The JSON `standard` webhook needs none of this: JSON encoding already makes any string
/// data, and its consumers get exactly what Microsoft said.
public enum UntrustedText {
    // MARK: - Cleaning

    /// `s` as one line of plain text: C0 controls (ESC, BEL, CR, …), DEL, C1 controls
    /// (U+0080–U+009F, CSI among them) and the Unicode bidi embeddings, overrides and
    /// isolates (U+202A–U+202E, U+2066–U+2069: "Trojan Source") removed; line breaks (LF,
    /// CR, VT, FF, NEL, U+2028, U+2029) and tabs become one space, so an injected line can
    /// never pass for one of ours.
    public static func clean(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: { isControl($0) || isBreak($0) }) else { return s }
        var out = String.UnicodeScalarView()
        var afterBreak = false
        for u in s.unicodeScalars {
            if isBreak(u) {
                // A run of breaks ("\r\n", a blank line) is one space.
                if !afterBreak { out.append(" ") }
                afterBreak = true
            } else if !isControl(u) {
                out.append(u)
                afterBreak = false
            }
        }
        return String(out)
    }

    /// Line breaks and tabs: become a space.
    static func isBreak(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x85, 0x2028, 0x2029: true
        default: false
        }
    }

    /// Removed outright: C0 but the breaks, DEL, C1 but NEL, bidi embeddings/overrides/isolates.
    static func isControl(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x85: false
        case 0x00...0x1F, 0x7F...0x9F: true
        case 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    // MARK: - Terminal

    /// For a terminal (tables, human output): ``clean(_:)``. Stripping the ESC of an escape
    /// sequence leaves its harmless remainder visible (`]8;;https://…`), which shows what was
    /// attempted; the width of what remains is the width it takes, so tables stay aligned.
    public static func terminal(_ s: String) -> String { clean(s) }

    // MARK: - Slack

    /// For Slack mrkdwn: ``clean(_:)``, then Slack's three escapes (`&` `<` `>`), without
    /// which `<!channel>` pings everyone and `<https://evil.example|Sign in>` is a link that
    /// says "Sign in". Slack has no escape for `*bold*`, `_italic_` or `~strike~`: those can
    /// only restyle the text they are in. (Send the text objects with `verbatim: true` as
    /// well, so Slack does not turn bare URLs and channel names into links either.)
    public static func slackMrkdwn(_ s: String) -> String { slackMrkdwnUnits(s).joined() }

    /// ``slackMrkdwn(_:)`` one character at a time: a cut between two units never splits an escape.
    public static func slackMrkdwnUnits(_ s: String) -> [String] {
        clean(s).map { c in
            switch c {
            case "&": "&amp;"
            case "<": "&lt;"
            case ">": "&gt;"
            default: String(c)
            }
        }
    }

    // MARK: - Teams

    /// For the Markdown of an Adaptive Card (TextBlock text, Fact title and value, as Teams
    /// renders them: bold, italic, lists, `[text](url)` links, `{{DATE(…)}}` functions):
    /// ``clean(_:)``, then a backslash before `\` `*` `[` `]` `<` `>` `{` `}` and `` ` ``,
    /// before a `_` that is not inside a word (`secret_expiry` stays as it is: CommonMark
    /// never reads an intraword `_` as emphasis), and before what would start a list or a
    /// heading at the start of the text (`-`, `+`, `#`, the `.` or `)` after leading digits).
    /// `[click](https://evil.example)` becomes `\[click\](https://evil.example)`: shown as
    /// typed, with the URL in view, by renderers that know escapes, and no link (`]` and `(`
    /// are no longer adjacent) by one that does not. `<at>` mentions need entities connwatch
    /// never sends; they are escaped all the same.
    public static func teams(_ s: String) -> String { teamsUnits(s).joined() }

    /// ``teams(_:)`` one character at a time: a cut between two units never splits an escape.
    public static func teamsUnits(_ s: String) -> [String] {
        let chars = Array(clean(s))
        func isWordChar(_ i: Int) -> Bool { i >= 0 && i < chars.count && (chars[i].isLetter || chars[i].isNumber) }
        // A list or heading marker at the very start: "- x", "+ x", "# x", "12. x", "3) x".
        var leadingMarker: Int?
        if let first = chars.first, "-+#".contains(first) {
            leadingMarker = 0
        } else {
            var i = 0
            while i < chars.count, chars[i].isASCII, chars[i].isNumber { i += 1 }
            if i > 0, i < chars.count, chars[i] == "." || chars[i] == ")" { leadingMarker = i }
        }
        var units: [String] = []
        units.reserveCapacity(chars.count)
        for (i, c) in chars.enumerated() {
            let escape: Bool
            switch c {
            case "\\", "*", "[", "]", "<", ">", "{", "}", "`": escape = true
            case "_": escape = !(isWordChar(i - 1) && isWordChar(i + 1))
            default: escape = i == leadingMarker
            }
            units.append(escape ? "\\" + String(c) : String(c))
        }
        return units
    }

    // MARK: - HTML

    /// For HTML text and attribute values (e-mail, the report): ``clean(_:)``, then `&` `<`
    /// `>` `"` `'` as character references, so the text is text in an element and cannot end
    /// an attribute, whichever quote it is in.
    public static func html(_ s: String) -> String {
        var out = ""
        for c in clean(s) {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
