/// The parser's tables under construction, and the bytes TOML gives meaning to.
extension TOMLParser {
    // MARK: - Tables under construction

    /// A key as written, possibly dotted; `rest` stays empty (no allocation) for the usual plain key.
    struct Key {
        var first: String
        var rest: [String] = []

        var count: Int { rest.count + 1 }
        var last: String { rest.last ?? first }
        var parts: [String] { [first] + rest }
        /// Every part but the last: the tables the key goes through.
        var parents: ArraySlice<String> { rest.isEmpty ? [] : parts.dropLast() }
    }

    /// How a table came to exist, which decides whether a header or dotted keys may still define it.
    enum TableKind {
        /// Created as a parent by a header (`[a]` for `[a.b]`); a later `[a]` may still define it.
        case implicit
        /// Defined by its own header (or `[[...]]`, or the root): only its own section adds keys.
        case header
        /// Created or extended by dotted keys: no header may define it later.
        case dotted
    }

    final class Table {
        var kind: TableKind
        let depth: Int
        /// The table's path in ``TOMLLines``: `daemon`, `connector#2`, `connector#2.labels`;
        /// nil inside an inline table.
        let path: String?
        /// Finished values (scalars, static arrays, inline tables): returned as they are when the table
        /// has no sub-tables, which is the common case, so most tables need no conversion at the end.
        var values: [String: TOMLNode] = [:]
        var children: [String: Child] = [:]

        init(kind: TableKind, depth: Int, path: String?) {
            self.kind = kind
            self.depth = depth
            self.path = path
        }

        /// The table under `key` (the `index`th of an array of tables).
        static func child(
            of parent: Table, key: String, index: Int? = nil, kind: TableKind, line: Int
        ) throws(TOMLSyntaxError) -> Table {
            guard parent.depth < TOMLParser.maxTableDepth else {
                throw TOMLSyntaxError(message: "tables nested more than \(TOMLParser.maxTableDepth) deep", line: line)
            }
            let path = parent.path.map { p in
                let base = TOMLLines.join(p, key)
                return index.map { "\(base)#\($0)" } ?? base
            }
            return Table(kind: kind, depth: parent.depth + 1, path: path)
        }

        subscript(key: String) -> Entry? {
            if !children.isEmpty, let child = children[key] {
                switch child {
                case .table(let table): return .table(table)
                case .tables(let array): return .tables(array)
                }
            }
            return values[key].map { .value($0) }
        }

        /// Adds a value; false if the key is taken.
        func add(_ key: String, _ value: TOMLNode) -> Bool {
            if !children.isEmpty && children[key] != nil { return false }
            return values.updateValue(value, forKey: key) == nil
        }

        func dictionary() -> [String: TOMLNode] {
            if children.isEmpty { return values }
            var out = values
            out.reserveCapacity(values.count + children.count)
            for (key, child) in children {
                switch child {
                case .table(let table): out[key] = .table(table.dictionary())
                case .tables(let array): out[key] = .array(array.items.map { .table($0.dictionary()) })
                }
            }
            return out
        }
    }

    enum Child {
        case table(Table)
        /// An array of tables (`[[name]]`); never empty.
        case tables(TableArray)
    }

    final class TableArray {
        var items: [Table]
        init(_ first: Table) { items = [first] }
    }

    /// What a key of a table under construction holds.
    enum Entry {
        /// A finished value: scalars, static arrays and inline tables (none of which can be extended).
        case value(TOMLNode)
        case table(Table)
        case tables(TableArray)
    }

}

// MARK: - Bytes

let cTab: UInt8 = 0x09
let cLF: UInt8 = 0x0A
let cCR: UInt8 = 0x0D
let cSpace: UInt8 = 0x20
let cQuote: UInt8 = 0x22
let cHash: UInt8 = 0x23
let cApostrophe: UInt8 = 0x27
let cPlus: UInt8 = 0x2B
let cComma: UInt8 = 0x2C
let cMinus: UInt8 = 0x2D
let cDot: UInt8 = 0x2E
let cDigit0: UInt8 = 0x30
let cDigit9: UInt8 = 0x39
let cColon: UInt8 = 0x3A
let cEquals: UInt8 = 0x3D
let cUpperE: UInt8 = 0x45
let cUpperT: UInt8 = 0x54
let cUpperU: UInt8 = 0x55
let cUpperZ: UInt8 = 0x5A
let cLBracket: UInt8 = 0x5B
let cBackslash: UInt8 = 0x5C
let cRBracket: UInt8 = 0x5D
let cUnderscore: UInt8 = 0x5F
let cLowerA: UInt8 = 0x61
let cLowerB: UInt8 = 0x62
let cLowerE: UInt8 = 0x65
let cLowerF: UInt8 = 0x66
let cLowerI: UInt8 = 0x69
let cLowerN: UInt8 = 0x6E
let cLowerR: UInt8 = 0x72
let cLowerT: UInt8 = 0x74
let cLowerU: UInt8 = 0x75
let cLowerZ: UInt8 = 0x7A
let cLBrace: UInt8 = 0x7B
let cRBrace: UInt8 = 0x7D

func isDigit(_ c: UInt8) -> Bool { c >= cDigit0 && c <= cDigit9 }

func isBareKeyByte(_ c: UInt8) -> Bool {
    (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || isDigit(c) || c == cUnderscore || c == cMinus
}

/// Bytes that can continue a number, boolean or date token; used to take the whole bad token.
func isTokenByte(_ c: UInt8) -> Bool {
    isBareKeyByte(c) || c == cPlus || c == cDot
}

/// Control characters TOML forbids in strings and comments: U+0000–U+001F except tab, and U+007F.
func isControl(_ c: UInt8) -> Bool { (c < 0x20 && c != cTab) || c == 0x7F }

func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x30...0x39: c - 0x30
    case 0x41...0x46: c - 0x41 + 10
    case 0x61...0x66: c - 0x61 + 10
    default: nil
    }
}

func digitValue(_ c: UInt8, radix: UInt64) -> UInt8? {
    guard let d = hexValue(c), UInt64(d) < radix else { return nil }
    return d
}

func radixOf(_ c: UInt8) -> UInt64? {
    switch c {
    case 0x78: 16  // x
    case 0x6F: 8  // o
    case 0x62: 2  // b
    default: nil
    }
}
