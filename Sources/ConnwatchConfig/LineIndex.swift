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
        var current = ""
        var arrayCounts: [String: Int] = [:]
        var lineNo = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            let line = LineIndex.stripComment(String(raw)).trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasPrefix("[["), let end = line.range(of: "]]") {
                let name = LineIndex.normalizeKey(
                    String(line[line.index(line.startIndex, offsetBy: 2)..<end.lowerBound]))
                let n = arrayCounts[name, default: 0]
                arrayCounts[name] = n + 1
                current = "\(name)#\(n)"
                lines[current] = lines[current] ?? lineNo
            } else if line.hasPrefix("["), let end = line.firstIndex(of: "]") {
                let name = LineIndex.normalizeKey(String(line[line.index(after: line.startIndex)..<end]))
                current = LineIndex.qualify(name, arrays: arrayCounts)
                lines[current] = lines[current] ?? lineNo
            } else if let eq = LineIndex.assignmentEquals(line) {
                let key = LineIndex.normalizeKey(String(line[..<eq]))
                let path = current.isEmpty ? key : "\(current).\(key)"
                lines[path] = lines[path] ?? lineNo
            }
        }
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

    private static func normalizeKey(_ s: String) -> String {
        s.split(separator: ".").map {
            $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
        }.joined(separator: ".")
    }

    /// The index of the `=` of a `key = value` line whose key is bare or quoted.
    private static func assignmentEquals(_ line: String) -> String.Index? {
        guard let eq = line.firstIndex(of: "=") else { return nil }
        let key = line[..<eq].trimmingCharacters(in: .whitespaces)
        guard !key.isEmpty else { return nil }
        let allowed = key.allSatisfy { $0.isLetter || $0.isNumber || "_-.\"' ".contains($0) }
        return allowed ? eq : nil
    }

    /// Drops a `#` comment that is not inside a string.
    private static func stripComment(_ line: String) -> String {
        var quote: Character? = nil
        var escaped = false
        for (i, c) in zip(line.indices, line) {
            if escaped { escaped = false; continue }
            if let q = quote {
                if c == "\\" && q == "\"" { escaped = true } else if c == q { quote = nil }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == "#" {
                return String(line[..<i])
            }
        }
        return line
    }
}
