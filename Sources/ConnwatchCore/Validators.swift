import Foundation

/// Pure syntax checks for configuration values.
public enum Validators {
    /// 8-4-4-4-12 hexadecimal digits.
    public static func isGUID(_ s: String) -> Bool {
        // On UTF-8 bytes, ASCII hex only (`Character.isHexDigit` also accepts fullwidth
        // forms, which no GUID has); this runs for every tenant and client ID on each load.
        var n = 0
        for b in s.utf8 {
            if n == 8 || n == 13 || n == 18 || n == 23 {
                guard b == UInt8(ascii: "-") else { return false }
            } else {
                guard isHex(b) else { return false }
            }
            n += 1
            if n > 36 { return false }
        }
        return n == 36
    }

    private static func isHex(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
            UInt8(ascii: "A")...UInt8(ascii: "F"):
            true
        default: false
        }
    }

    /// A DNS host name: labels of letters, digits and hyphens, 1–63 characters, not
    /// starting or ending with a hyphen, at least two labels, 253 characters at most.
    public static func isHostName(_ s: String) -> Bool {
        guard !s.isEmpty, s.count <= 253 else { return false }
        let labels = s.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        return labels.allSatisfy { label in
            guard (1...63).contains(label.count), label.first != "-", label.last != "-" else { return false }
            return label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    /// A tenant is a directory GUID or a verified domain (e.g. `contoso.onmicrosoft.com`).
    public static func isTenant(_ s: String) -> Bool { isGUID(s) || isHostName(s) }

    /// Connector and webhook names: `[a-z0-9-]`, starting with a letter or digit, ≤ 63.
    public static func isName(_ s: String) -> Bool {
        let u = s.utf8
        guard (1...63).contains(u.count), u.first != UInt8(ascii: "-") else { return false }
        return u.allSatisfy {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                || $0 == UInt8(ascii: "-")
        }
    }

    /// A systemd credential ID: what `LoadCredential=ID:` accepts as a file name.
    public static func isCredentialID(_ s: String) -> Bool {
        let u = s.utf8
        guard (1...255).contains(u.count), s != ".", s != ".." else { return false }
        return u.allSatisfy { b in
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "@"):
                true
            default: false
            }
        }
    }

    /// An absolute http(s) URL with a host.
    public static func isHTTPURL(_ s: String, allowHTTP: Bool = true) -> Bool {
        guard let url = URL(string: s), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty
        else { return false }
        return scheme == "https" || (allowHTTP && scheme == "http")
    }

    /// What a value looks like when it was written into a key that names a secret
    /// (`*_credential`, `*_file`, `url*`) and is wrong there: errors describe its shape
    /// instead of quoting it, since the usual mistake is pasting the secret itself.
    public enum PastedShape: Sendable, Equatable {
        /// `whsec_…`: a Standard Webhooks signing key.
        case signingKey
        /// `scheme://…`: a URL, which for Slack and Teams carries a token.
        case url
        /// Random-looking text: a `~` (Entra client secrets carry one) or 16+ characters
        /// mixing upper case, lower case and digits with no `/`.
        case secret
        case other
    }

    public static func pastedShape(_ s: String) -> PastedShape {
        if s.hasPrefix("whsec_") { return .signingKey }
        if s.contains("://") { return .url }
        if s.contains("~") && !s.hasPrefix("~/") { return .secret }
        var upper = false, lower = false, digit = false, slash = false
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): upper = true
            case UInt8(ascii: "a")...UInt8(ascii: "z"): lower = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = true
            case UInt8(ascii: "/"): slash = true
            default: break
            }
        }
        return s.utf8.count >= 16 && upper && lower && digit && !slash ? .secret : .other
    }

    /// "looks like a secret value, not a credential ID" — for `what` = "a credential ID".
    public static func pastedShapeNote(_ s: String, expected what: String) -> String? {
        switch pastedShape(s) {
        case .signingKey: "looks like a webhook signing key (whsec_…), not \(what)"
        case .url: "looks like a URL, not \(what)"
        case .secret: "looks like a secret value, not \(what)"
        case .other: nil
        }
    }
}
