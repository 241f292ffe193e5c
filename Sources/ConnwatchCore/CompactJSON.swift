import Foundation

/// Compact, deterministic JSON, written and read by hand on bytes.
///
/// Writing: keys are sorted so that equal values give equal text (the store compares stored
/// and new details as strings to decide whether a row changed). Reading: strict RFC 8259
/// (no trailing commas, leading zeros, bare control characters or invalid UTF-8; nesting
/// bounded) into ``JSONValue``. Used for the store's JSON columns, the daemon's packed check
/// details, and the replies of the token endpoint and the Microsoft APIs' error bodies —
/// where `JSONSerialization`'s bridged dictionaries were a few percent of a cycle's CPU.
public enum CompactJSON {
    public static func string(_ value: JSONValue) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        write(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    public static func string(_ object: [String: JSONValue]) -> String {
        if object.isEmpty { return "{}" }
        return string(.object(object))
    }

    public static func string(_ object: [String: String]) -> String {
        string(object.mapValues { JSONValue.string($0) })
    }

    public static func string(_ array: [String]) -> String {
        string(.array(array.map { .string($0) }))
    }

    /// The compact text as UTF-8 bytes.
    public static func bytes(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        write(value, to: &out)
        return out
    }

    // Bytes, not `String` appends: this runs for every result of every cycle.
    private static func write(_ value: JSONValue, to out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d):
            // JSON has no NaN or infinity.
            out.append(contentsOf: (d.isFinite ? "\(d)" : "null").utf8)
        case .string(let s): writeString(s, to: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(v, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            for (i, (k, v)) in o.sorted(by: { $0.key < $1.key }).enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                writeString(k, to: &out)
                out.append(UInt8(ascii: ":"))
                write(v, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// A JSON string literal: quotes, backslash and control characters escaped, other
    /// UTF-8 as is (also the simulator's writer).
    public static func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            // Multi-byte UTF-8 sequences pass through unchanged: JSON text is UTF-8.
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    // MARK: - Parsing

    public struct ParseError: Error, CustomStringConvertible {
        public var offset: Int
        public var description: String { "malformed JSON at byte \(offset)" }
    }

    /// Deepest nesting accepted: a hostile reply cannot exhaust the stack.
    public static let maxDepth = 128

    public static func parse(_ text: String) throws(ParseError) -> JSONValue {
        if text == "{}" { return .object([:]) }
        var text = text
        let result = text.withUTF8 { buffer in
            Result { () throws(ParseError) in try parse(UnsafeRawBufferPointer(buffer)) }
        }
        return try result.get()
    }

    public static func parse(_ data: Data) throws(ParseError) -> JSONValue {
        try data.withUnsafeBytes { raw in Result { () throws(ParseError) in try parse(raw) } }.get()
    }

    public static func parse(_ bytes: [UInt8]) throws(ParseError) -> JSONValue {
        try bytes.withUnsafeBytes { raw in Result { () throws(ParseError) in try parse(raw) } }.get()
    }

    /// One JSON text: a value with optional whitespace around it, nothing else.
    public static func parse(_ raw: UnsafeRawBufferPointer) throws(ParseError) -> JSONValue {
        var parser = Parser(bytes: raw.bindMemory(to: UInt8.self))
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.index == parser.bytes.count else { throw ParseError(offset: parser.index) }
        return value
    }

    /// The object of a JSON text; nil when the text is not valid JSON or not an object.
    public static func object(_ data: Data) -> [String: JSONValue]? {
        guard case .object(let o)? = try? parse(data) else { return nil }
        return o
    }

    public static func parseObject(_ text: String) throws(ParseError) -> [String: JSONValue] {
        if text == "{}" { return [:] }
        guard case .object(let o) = try parse(text) else { throw ParseError(offset: 0) }
        return o
    }

    public static func parseStringObject(_ text: String) throws(ParseError) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in try parseObject(text) {
            guard let s = v.stringValue else { throw ParseError(offset: 0) }
            out[k] = s
        }
        return out
    }

    public static func parseStringArray(_ text: String) throws(ParseError) -> [String] {
        guard case .array(let a) = try parse(text) else { throw ParseError(offset: 0) }
        var out: [String] = []
        out.reserveCapacity(a.count)
        for v in a {
            guard let s = v.stringValue else { throw ParseError(offset: 0) }
            out.append(s)
        }
        return out
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func skipSpace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x0A, 0x0D, 0x09: index += 1
                default: return
                }
            }
        }

        func fail() -> ParseError { ParseError(offset: index) }

        mutating func expect(_ literal: StaticString) throws(ParseError) {
            let count = literal.utf8CodeUnitCount
            guard index + count <= bytes.count else { throw fail() }
            for i in 0..<count where bytes[index + i] != literal.utf8Start[i] { throw fail() }
            index += count
        }

        mutating func value(depth: Int) throws(ParseError) -> JSONValue {
            skipSpace()
            guard index < bytes.count else { throw fail() }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                guard depth < CompactJSON.maxDepth else { throw fail() }
                index += 1
                var object: [String: JSONValue] = [:]
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(object)
                }
                while true {
                    skipSpace()
                    let key = try string()
                    skipSpace()
                    try expect(":")
                    object[key] = try value(depth: depth + 1)
                    skipSpace()
                    guard index < bytes.count else { throw fail() }
                    if bytes[index] == UInt8(ascii: ",") {
                        index += 1
                    } else if bytes[index] == UInt8(ascii: "}") {
                        index += 1
                        return .object(object)
                    } else {
                        throw fail()
                    }
                }
            case UInt8(ascii: "["):
                guard depth < CompactJSON.maxDepth else { throw fail() }
                index += 1
                var array: [JSONValue] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(array)
                }
                while true {
                    array.append(try value(depth: depth + 1))
                    skipSpace()
                    guard index < bytes.count else { throw fail() }
                    if bytes[index] == UInt8(ascii: ",") {
                        index += 1
                    } else if bytes[index] == UInt8(ascii: "]") {
                        index += 1
                        return .array(array)
                    } else {
                        throw fail()
                    }
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"):
                try expect("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try expect("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try expect("null")
                return .null
            default:
                return try number()
            }
        }

        private func isDigit(_ i: Int) -> Bool {
            i < bytes.count && bytes[i] >= UInt8(ascii: "0") && bytes[i] <= UInt8(ascii: "9")
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`; an integer that fits is
        /// `.int`, anything else `.double`.
        mutating func number() throws(ParseError) -> JSONValue {
            let start = index
            var isInteger = true
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard isDigit(index) else { throw fail() }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
                if isDigit(index) { throw fail() }
            } else {
                while isDigit(index) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                isInteger = false
                index += 1
                guard isDigit(index) else { throw fail() }
                while isDigit(index) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                isInteger = false
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                    index += 1
                }
                guard isDigit(index) else { throw fail() }
                while isDigit(index) { index += 1 }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            if isInteger, let i = Int64(text) { return .int(i) }
            guard let d = Double(text), d.isFinite else { throw ParseError(offset: start) }
            return .double(d)
        }

        /// Text between quotes, unescaped; invalid UTF-8 and bare control characters fail.
        mutating func string() throws(ParseError) -> String {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail() }
            index += 1
            let start = index
            // Fast path: no escapes.
            while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\"),
                bytes[index] >= 0x20
            {
                index += 1
            }
            guard index < bytes.count else { throw fail() }
            if bytes[index] == UInt8(ascii: "\"") {
                guard let s = String(validating: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                else { throw ParseError(offset: start) }
                index += 1
                return s
            }
            var utf8 = Array(bytes[start..<index])
            while index < bytes.count {
                let b = bytes[index]
                if b == UInt8(ascii: "\"") {
                    index += 1
                    guard let s = String(validating: utf8, as: UTF8.self) else { throw ParseError(offset: start) }
                    return s
                }
                guard b >= 0x20 else { throw fail() }
                guard b == UInt8(ascii: "\\") else {
                    utf8.append(b)
                    index += 1
                    continue
                }
                index += 1
                guard index < bytes.count else { throw fail() }
                let e = bytes[index]
                index += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(e)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code) {
                        // A surrogate pair encodes one scalar beyond the BMP.
                        try expect("\\u")
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw fail() }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw fail() }
                    utf8.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: throw fail()
                }
            }
            throw fail()
        }

        mutating func hex4() throws(ParseError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw fail() }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let b = bytes[index]
                let digit: UInt8
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
                default: throw fail()
                }
                v = v << 4 | UInt32(digit)
                index += 1
            }
            return v
        }
    }
}
