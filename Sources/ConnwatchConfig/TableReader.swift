import ConnwatchCore
import Foundation

/// Reads one TOML table with strict typing: each accessor marks its key as known and
/// reports a type error; ``finish()`` reports every key nobody asked for.
final class TableReader {
    let table: [String: TOMLNode]
    let file: String
    let lines: TOMLLines
    /// The table's path in ``TOMLLines`` terms: `daemon`, `connector#2`.
    let path: String
    /// How keys are named in messages: `daemon`, `connector "contoso"`.
    var label: String
    let sink: ErrorSink
    private var known: [String] = []

    init(table: [String: TOMLNode], file: String, lines: TOMLLines, path: String, label: String, sink: ErrorSink) {
        self.table = table
        self.file = file
        self.lines = lines
        self.path = path
        self.label = label
        self.sink = sink
    }

    func line(_ key: String?) -> Int? { lines.line(table: path, key: key) }

    func keyName(_ key: String?) -> String {
        guard let key else { return label }
        return label.isEmpty ? key : "\(label).\(key)"
    }

    func error(_ key: String?, _ message: String) {
        sink.add(ConfigError(file: file, line: line(key), key: keyName(key), message: message))
    }

    func has(_ key: String) -> Bool {
        known.append(key)
        return table[key] != nil
    }

    private func value(_ key: String) -> TOMLNode? {
        known.append(key)
        return table[key]
    }

    private func typeError(_ key: String, expected: String, got: TOMLNode) {
        error(key, "expected \(expected), got \(got.typeName)")
    }

    func string(_ key: String) -> String? {
        guard let v = value(key) else { return nil }
        guard case .string(let s) = v else {
            typeError(key, expected: "a string", got: v)
            return nil
        }
        return s
    }

    func int(_ key: String, range: ClosedRange<Int>? = nil) -> Int? {
        guard let v = value(key) else { return nil }
        guard case .int(let i) = v else {
            typeError(key, expected: "an integer", got: v)
            return nil
        }
        if let range, !range.contains(i) {
            error(key, "\(i) is out of range; use \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return i
    }

    func bool(_ key: String) -> Bool? {
        guard let v = value(key) else { return nil }
        guard case .bool(let b) = v else {
            typeError(key, expected: "true or false", got: v)
            return nil
        }
        return b
    }

    func duration(_ key: String, minimum: ConfigDuration? = nil) -> ConfigDuration? {
        guard let s = string(key) else { return nil }
        guard let d = ConfigDuration(parsing: s) else {
            error(key, "\"\(s)\" is not a duration; use a whole number and one unit: \"90s\", \"15m\", \"1h\", \"7d\"")
            return nil
        }
        if let minimum, d < minimum {
            error(key, "\(s) is too short; use at least \(minimum)")
            return nil
        }
        return d
    }

    func stringArray(_ key: String) -> [String]? {
        guard let v = value(key) else { return nil }
        guard case .array(let items) = v else {
            typeError(key, expected: "an array of strings", got: v)
            return nil
        }
        var out: [String] = []
        for item in items {
            guard case .string(let s) = item else {
                error(key, "expected an array of strings, found \(item.typeName) in it")
                return nil
            }
            out.append(s)
        }
        return out
    }

    /// A string, or an array of strings (webhook signing keys during a rotation).
    func stringOrStringArray(_ key: String) -> [String]? {
        guard let v = table[key] else {
            known.append(key)
            return nil
        }
        if case .string(let s) = v {
            known.append(key)
            return [s]
        }
        if case .array = v { return stringArray(key) }
        known.append(key)
        typeError(key, expected: "a string or an array of strings", got: v)
        return nil
    }

    func intArray(_ key: String) -> [Int]? {
        guard let v = value(key) else { return nil }
        guard case .array(let items) = v else {
            typeError(key, expected: "an array of integers", got: v)
            return nil
        }
        var out: [Int] = []
        for item in items {
            guard case .int(let i) = item else {
                error(key, "expected an array of integers, found \(item.typeName) in it")
                return nil
            }
            out.append(i)
        }
        return out
    }

    func stringTable(_ key: String) -> [String: String]? {
        guard let v = value(key) else { return nil }
        guard case .table(let t) = v else {
            typeError(key, expected: "a table of strings (labels = { customer = \"Contoso\" })", got: v)
            return nil
        }
        var out: [String: String] = [:]
        for (k, item) in t.sorted(by: { $0.key < $1.key }) {
            guard case .string(let s) = item else {
                error(key, "label \"\(k)\" must be a string, got \(item.typeName)")
                continue
            }
            out[k] = s
        }
        return out
    }

    /// Reports keys that no accessor asked for, with a spelling suggestion.
    /// - Parameter allowed: every key this table may hold, so that suggestions work for
    ///   keys read only conditionally.
    func finish(allowed: [String] = []) {
        let all = Set(known + allowed)
        let offered = all.subtracting(TableReader.refusedKeys)
        for key in table.keys.sorted() where !all.contains(key) {
            if let hint = TableReader.suggestion(for: key, among: offered) {
                error(key, "unknown key; did you mean \"\(hint)\"?")
            } else {
                error(key, "unknown key; known keys here: \(offered.sorted().joined(separator: ", "))")
            }
        }
    }

    /// Keys recognised only to refuse them (inline secrets): never suggested.
    static let refusedKeys: Set<String> = ["client_secret", "secret", "password"]

    static func suggestion(for key: String, among candidates: Set<String>) -> String? {
        let scored = candidates.map { ($0, editDistance(key, $0)) }.filter { $0.1 <= 2 }
        return scored.min { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }?.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        for i in 1...a.count {
            var cur = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return prev[b.count]
    }
}
