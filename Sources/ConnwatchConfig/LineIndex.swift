import Foundation

/// Finds the line of a key in a TOML file, for error messages.
///
/// The TOML parser reports lines only for syntax errors, so this scans the text: table headers
/// (`[daemon]`, `[[connector]]`, with a counter per array of tables) and `key =` lines.
/// It is a locator, not a parser: when it cannot tell, the error simply has no line.
struct LineIndex {
    /// "daemon" → line of `[daemon]`; "connector#2" → line of the third `[[connector]]`;
    /// "connector#2.client_id" → line of that key.
    private var lines: [String: Int] = [:]

    init(text: String) {
        // On UTF-8 bytes: every character TOML gives meaning to here is ASCII, and the
        // `String`/`CharacterSet` version spent ~0.6 s on a 10,000-connector file.
        var current = ""
        var arrayCounts: [String: Int] = [:]
        var lineNo = 0
        let bytes = Array(text.utf8)
        var lineStart = 0
        while lineStart <= bytes.count {
            let lineEnd = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            lineNo += 1
            let line = Self.trim(Self.stripComment(bytes[lineStart..<lineEnd]))
            lineStart = lineEnd + 1
            if line.isEmpty { continue }
            if line.starts(with: Self.doubleOpen), let end = Self.firstRange(of: Self.doubleClose, in: line) {
                let name = Self.normalizeKey(line[(line.startIndex + 2)..<end])
                let n = arrayCounts[name, default: 0]
                arrayCounts[name] = n + 1
                current = "\(name)#\(n)"
                lines[current] = lines[current] ?? lineNo
            } else if line.first == UInt8(ascii: "["), let end = line.firstIndex(of: UInt8(ascii: "]")) {
                let name = Self.normalizeKey(line[(line.startIndex + 1)..<end])
                current = Self.qualify(name, arrays: arrayCounts)
                lines[current] = lines[current] ?? lineNo
            } else if let eq = Self.assignmentEquals(line) {
                let key = Self.normalizeKey(line[..<eq])
                let path = current.isEmpty ? key : "\(current).\(key)"
                lines[path] = lines[path] ?? lineNo
            }
        }
    }

    private typealias Bytes = ArraySlice<UInt8>
    private static let doubleOpen: [UInt8] = Array("[[".utf8)
    private static let doubleClose: [UInt8] = Array("]]".utf8)

    private static func firstRange(of needle: [UInt8], in hay: Bytes) -> Int? {
        guard hay.count >= needle.count else { return nil }
        var i = hay.startIndex
        while i + needle.count <= hay.endIndex {
            if hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    /// Spaces and tabs (TOML's whitespace) and a CR before the line's LF.
    private static func isSpace(_ b: UInt8) -> Bool {
        b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r")
    }

    private static func trim(_ s: Bytes) -> Bytes {
        var lo = s.startIndex
        var hi = s.endIndex
        while lo < hi, isSpace(s[lo]) { lo += 1 }
        while hi > lo, isSpace(s[hi - 1]) { hi -= 1 }
        return s[lo..<hi]
    }

    /// `[connector.labels]` after the third `[[connector]]` belongs to `connector#2.labels`.
    private static func qualify(_ name: String, arrays: [String: Int]) -> String {
        let parts = name.split(separator: ".").map(String.init)
        guard let first = parts.first, let n = arrays[first] else { return name }
        return (["\(first)#\(n - 1)"] + parts.dropFirst()).joined(separator: ".")
    }

    func line(_ path: String) -> Int? { lines[path] }

    /// The key's line, else its table's line.
    func line(table: String, key: String?) -> Int? {
        if let key, let l = lines["\(table).\(key)"] ?? lines[key] { return l }
        return lines[table]
    }

    /// `connector . "labels"` → `connector.labels`: dotted parts, each without
    /// surrounding whitespace and quotes.
    private static func normalizeKey(_ s: Bytes) -> String {
        var parts: [String] = []
        var partStart = s.startIndex
        var i = s.startIndex
        while i <= s.endIndex {
            if i == s.endIndex || s[i] == UInt8(ascii: ".") {
                if i > partStart {
                    var part = trim(s[partStart..<i])
                    while let f = part.first, f == UInt8(ascii: "\"") || f == UInt8(ascii: "'") {
                        part = part.dropFirst()
                    }
                    while let l = part.last, l == UInt8(ascii: "\"") || l == UInt8(ascii: "'") {
                        part = part.dropLast()
                    }
                    parts.append(String(decoding: part, as: UTF8.self))
                }
                partStart = i + 1
            }
            i += 1
        }
        return parts.joined(separator: ".")
    }

    /// The index of the `=` of a `key = value` line whose key is bare or quoted.
    private static func assignmentEquals(_ line: Bytes) -> Int? {
        guard let eq = line.firstIndex(of: UInt8(ascii: "=")) else { return nil }
        let key = trim(line[..<eq])
        guard !key.isEmpty else { return nil }
        let allowed = key.allSatisfy { b in
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: " "):
                true
            default: b >= 0x80  // a non-ASCII letter of a quoted key
            }
        }
        return allowed ? eq : nil
    }

    /// Drops a `#` comment that is not inside a string.
    private static func stripComment(_ line: Bytes) -> Bytes {
        var quote: UInt8? = nil
        var escaped = false
        for i in line.indices {
            let c = line[i]
            if escaped {
                escaped = false
                continue
            }
            if let q = quote {
                if c == UInt8(ascii: "\\") && q == UInt8(ascii: "\"") {
                    escaped = true
                } else if c == q {
                    quote = nil
                }
            } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                quote = c
            } else if c == UInt8(ascii: "#") {
                return line[..<i]
            }
        }
        return line
    }
}
