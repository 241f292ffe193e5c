import Foundation

/// Pure syntax checks for configuration values.
public enum Validators {
    /// 8-4-4-4-12 hexadecimal digits.
    public static func isGUID(_ s: String) -> Bool {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.map(\.count) == [8, 4, 4, 4, 12] else { return false }
        return parts.allSatisfy { $0.allSatisfy(\.isHexDigit) }
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
        guard (1...63).contains(s.count), let first = s.first, first != "-" else { return false }
        return s.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
    }

    /// A systemd credential ID: what `LoadCredential=ID:` accepts as a file name.
    public static func isCredentialID(_ s: String) -> Bool {
        guard (1...255).contains(s.count), s != ".", s != ".." else { return false }
        return s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.@".contains($0)) }
    }

    /// An absolute http(s) URL with a host.
    public static func isHTTPURL(_ s: String, allowHTTP: Bool = true) -> Bool {
        guard let url = URL(string: s), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty
        else { return false }
        return scheme == "https" || (allowHTTP && scheme == "http")
    }
}
