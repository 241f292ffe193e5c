/// A parsed TOML value, plain Swift values so validation needs no parser state.
indirect enum TOMLNode: Sendable, Equatable {
    case table([String: TOMLNode])
    case array([TOMLNode])
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case date(year: Int, month: Int, day: Int)
    case time
    case dateTime

    /// The TOML type name used in "expected X, got Y" messages.
    var typeName: String {
        switch self {
        case .table: "a table"
        case .array: "an array"
        case .string: "a string"
        case .int: "an integer"
        case .double: "a float"
        case .bool: "a boolean"
        case .date: "a date"
        case .time: "a time"
        case .dateTime: "a date-time"
        }
    }

    /// Parses a whole document with the own TOML 1.0 parser (TOMLParser.swift); a syntax error carries
    /// the 1-based line where it is.
    static func parse(_ text: String) throws(TOMLSyntaxError) -> [String: TOMLNode] {
        try TOMLParser.parse(text)
    }

    /// The document and where each of its tables and keys is.
    static func parseDocument(_ text: String) throws(TOMLSyntaxError) -> (root: [String: TOMLNode], lines: TOMLLines) {
        try TOMLParser.parseDocument(text)
    }
}

/// The line where each table and key of a document was first defined, recorded by the parser
/// as it builds the document, for error messages: `daemon` → the line of `[daemon]`,
/// `connector#2` → the line of the third `[[connector]]`, `connector#2.client_id` → the line of
/// that key, `connector#0.labels` → the line of `[connector.labels]` or of `labels = {…}`.
struct TOMLLines: Sendable {
    private var lines: [String: Int] = [:]

    static func join(_ table: String, _ key: String) -> String { table.isEmpty ? key : "\(table).\(key)" }

    mutating func record(_ path: String?, _ line: Int) {
        guard let path, lines[path] == nil else { return }
        lines[path] = line
    }

    func line(_ path: String) -> Int? { lines[path] }

    /// The key's line, else its table's line.
    func line(table: String, key: String?) -> Int? {
        if let key, let l = lines[TOMLLines.join(table, key)] { return l }
        return lines[table]
    }
}

struct TOMLSyntaxError: Error {
    var message: String
    var line: Int?
}
