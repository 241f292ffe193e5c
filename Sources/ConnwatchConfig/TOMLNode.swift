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
}

struct TOMLSyntaxError: Error {
    var message: String
    var line: Int?
}
