import TOMLKit

/// A parsed TOML value, detached from TOMLKit's C++ storage so validation is plain Swift.
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

    init(_ value: any TOMLValueConvertible) {
        switch value.type {
        case .table:
            var out: [String: TOMLNode] = [:]
            if let t = value.table {
                for key in t.keys { if let v = t[key] { out[key] = TOMLNode(v) } }
            }
            self = .table(out)
        case .array:
            self = .array((value.array.map { Array($0) } ?? []).map { TOMLNode($0) })
        case .string: self = .string(value.string ?? "")
        case .int: self = .int(value.int ?? 0)
        case .double: self = .double(value.double ?? 0)
        case .bool: self = .bool(value.bool ?? false)
        case .date:
            let d = value.date
            self = .date(year: d?.year ?? 0, month: d?.month ?? 0, day: d?.day ?? 0)
        case .time: self = .time
        case .dateTime: self = .dateTime
        }
    }

    /// Parses a whole document; a syntax error carries the line TOMLKit reports.
    static func parse(_ text: String) throws(TOMLSyntaxError) -> [String: TOMLNode] {
        do {
            let table = try TOMLTable(string: text)
            guard case .table(let root) = TOMLNode(table) else { return [:] }
            return root
        } catch let error as TOMLParseError {
            throw TOMLSyntaxError(message: error.description, line: error.source.begin.line)
        } catch {
            throw TOMLSyntaxError(message: String(describing: error), line: nil)
        }
    }
}

struct TOMLSyntaxError: Error {
    var message: String
    var line: Int?
}
