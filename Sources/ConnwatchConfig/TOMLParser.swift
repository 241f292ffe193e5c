/// A TOML 1.0 parser (https://toml.io/en/v1.0.0) working on the UTF-8 bytes of a document.
///
/// It builds plain Swift values (`TOMLNode`), so a parsed document is freed like any other
/// Swift value. Errors are `TOMLSyntaxError`s with the 1-based line where the problem is;
/// no input makes it crash (nesting is bounded, so recursion depth is bounded too).
struct TOMLParser {
    /// Deepest nesting of arrays and inline tables inside one value.
    static let maxValueDepth = 100
    /// Deepest nesting of tables (headers plus dotted keys), counted from the root.
    static let maxTableDepth = 100

    let bytes: [UInt8]
    let end: Int
    var pos = 0
    var line = 1
    var valueDepth = 0
    /// Where each table and key was first defined (``TOMLLines``), recorded as they are inserted.
    var lines = TOMLLines()

    init(_ text: String) {
        bytes = Array(text.utf8)
        end = bytes.count
        // A UTF-8 byte order mark is not content.
        if end >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { pos = 3 }
    }

    static func parse(_ text: String) throws(TOMLSyntaxError) -> [String: TOMLNode] {
        try parseDocument(text).root
    }

    /// The document and the line of every table and key in it.
    static func parseDocument(_ text: String) throws(TOMLSyntaxError) -> (root: [String: TOMLNode], lines: TOMLLines) {
        var parser = TOMLParser(text)
        let root = try parser.document()
        return (root, parser.lines)
    }

    // MARK: Document structure

    mutating func document() throws(TOMLSyntaxError) -> [String: TOMLNode] {
        let root = Table(kind: .header, depth: 0, path: "")
        var current = root
        while pos < end {
            switch bytes[pos] {
            case cSpace, cTab: pos += 1
            case cLF: pos += 1; line += 1
            case cCR: try newline()
            case cHash: try comment()
            case cLBracket:
                current = try header(root)
                try endOfLine(after: "the table header")
            default:
                try keyValue(into: current)
                try endOfLine(after: "the value")
            }
        }
        return root.dictionary()
    }

    /// `[a.b]` or `[[a.b]]`: returns the table that the following key/value pairs go into.
    mutating func header(_ root: Table) throws(TOMLSyntaxError) -> Table {
        let headerLine = line
        pos += 1
        let isArray = at(pos) == cLBracket
        if isArray { pos += 1 }
        skipSpaces()
        let key = try parseKey()
        skipSpaces()
        guard at(pos) == cRBracket else {
            throw fail("expected \"\(isArray ? "]]" : "]")\" to close the table header, found \(found())")
        }
        pos += 1
        if isArray {
            guard at(pos) == cRBracket else {
                throw fail("expected \"]]\" to close the array of tables header, found \(found())")
            }
            pos += 1
        }
        var name: String { display(key.parts) }
        var table = root
        for (index, part) in key.parents.enumerated() {
            switch table[part] {
            case nil:
                let child = try Table.child(of: table, key: part, kind: .implicit, line: headerLine)
                table.children[part] = .table(child)
                lines.record(child.path, headerLine)
                table = child
            case .table(let child): table = child
            case .tables(let array): table = array.items[array.items.count - 1]
            case .value(let value):
                throw valueInTheWay(value, display(key.parts[...index]), headerLine)
            }
        }
        let last = key.last
        if isArray {
            switch table[last] {
            case nil:
                let child = try Table.child(of: table, key: last, index: 0, kind: .header, line: headerLine)
                table.children[last] = .tables(TableArray(child))
                lines.record(child.path, headerLine)
                return child
            case .tables(let array):
                let child = try Table.child(
                    of: table, key: last, index: array.items.count, kind: .header, line: headerLine)
                array.items.append(child)
                lines.record(child.path, headerLine)
                return child
            case .table:
                throw fail("array of tables [[\(name)]] conflicts with table [\(name)]", line: headerLine)
            case .value(.array):
                throw fail(
                    "cannot append to the static array \(quoted(name)) with [[\(name)]]", line: headerLine)
            case .value(let value):
                throw valueInTheWay(value, name, headerLine)
            }
        }
        switch table[last] {
        case nil:
            let child = try Table.child(of: table, key: last, kind: .header, line: headerLine)
            table.children[last] = .table(child)
            lines.record(child.path, headerLine)
            return child
        case .table(let child):
            switch child.kind {
            case .implicit:
                child.kind = .header
                return child
            case .header:
                throw fail("table [\(name)] defined twice", line: headerLine)
            case .dotted:
                throw fail("table [\(name)] defined twice (first by dotted keys)", line: headerLine)
            }
        case .tables:
            throw fail("table [\(name)] conflicts with array of tables [[\(name)]]", line: headerLine)
        case .value(let value):
            throw valueInTheWay(value, name, headerLine)
        }
    }

    func valueInTheWay(_ value: TOMLNode, _ name: String, _ line: Int) -> TOMLSyntaxError {
        if case .table = value {
            return fail("cannot extend the inline table \(quoted(name))", line: line)
        }
        return fail("key \(quoted(name)) already holds \(value.typeName), not a table", line: line)
    }

    /// `key = value` (the key may be dotted), inserted into `table`.
    mutating func keyValue(into table: Table) throws(TOMLSyntaxError) {
        let keyLine = line
        let key = try parseKey()
        skipSpaces()
        guard at(pos) == cEquals else {
            if atEndOfLine() {
                throw fail("expected \"=\" after the key \(quoted(display(key.parts))) (a key needs a value)")
            }
            throw fail("expected \"=\" after the key \(quoted(display(key.parts))), found \(found())")
        }
        pos += 1
        skipSpaces()
        if atEndOfLine() || at(pos) == cHash {
            throw fail("missing value after \"=\" for the key \(quoted(display(key.parts)))")
        }
        let value: TOMLNode
        do {
            value = try parseValue()
        } catch {
            // A key that holds or names a secret: its text may be a pasted secret, so the
            // message says what is wrong without quoting any of it.
            guard SecretKeys.holdsSecret(key.last) else { throw error }
            throw fail(
                "the value of the key \(quoted(display(key.parts))) is not valid TOML (it is not shown: this key "
                    + "holds or names a secret); write it as a quoted string: \(key.last) = \"…\"",
                line: error.line)
        }
        try insert(value, at: key, into: table, line: keyLine)
    }

    mutating func insert(
        _ value: TOMLNode, at key: Key, into start: Table, line keyLine: Int
    ) throws(TOMLSyntaxError) {
        var table = start
        for (index, part) in key.parents.enumerated() {
            switch table[part] {
            case nil:
                let child = try Table.child(of: table, key: part, kind: .dotted, line: keyLine)
                table.children[part] = .table(child)
                lines.record(child.path, keyLine)
                table = child
            case .table(let child):
                if child.kind == .header {
                    throw fail(
                        "table \(quoted(display(key.parts[...index]))) is defined by its own header; "
                            + "dotted keys cannot add to it", line: keyLine)
                }
                child.kind = .dotted
                table = child
            case .tables:
                throw fail(
                    "\(quoted(display(key.parts[...index]))) is an array of tables; dotted keys cannot add to it",
                    line: keyLine)
            case .value(let value):
                throw valueInTheWay(value, display(key.parts[...index]), keyLine)
            }
        }
        guard table.add(key.last, value) else {
            throw fail("duplicate key \(quoted(display(key.parts)))", line: keyLine)
        }
        lines.record(table.path.map { TOMLLines.join($0, key.last) }, keyLine)
    }

    /// After a value or a header: spaces, an optional comment, then a newline or the end.
    mutating func endOfLine(after what: String) throws(TOMLSyntaxError) {
        skipSpaces()
        if at(pos) == cHash { try comment() }
        guard pos < end else { return }
        if bytes[pos] == cLF || bytes[pos] == cCR {
            try newline()
            return
        }
        throw fail("unexpected \(found()) after \(what) (expected a newline or a comment)")
    }

    // MARK: Keys

    mutating func parseKey() throws(TOMLSyntaxError) -> Key {
        var key = Key(first: try simpleKey())
        while true {
            skipSpaces()
            guard at(pos) == cDot else { return key }
            pos += 1
            skipSpaces()
            key.rest.append(try simpleKey())
        }
    }

    mutating func simpleKey() throws(TOMLSyntaxError) -> String {
        let c = at(pos)
        if c == cQuote || c == cApostrophe {
            if at(pos + 1) == c && at(pos + 2) == c {
                throw fail("a key cannot be a multi-line string")
            }
            return c == cQuote ? try basicString() : try literalString()
        }
        let start = pos
        while pos < end && isBareKeyByte(bytes[pos]) { pos += 1 }
        guard pos > start else {
            if atEndOfLine() { throw fail("expected a key, found \(found())") }
            throw fail("expected a key, found \(found()) (bare keys may use only A-Z a-z 0-9 _ -)")
        }
        return string(start, pos)
    }

    // MARK: Values

    mutating func parseValue() throws(TOMLSyntaxError) -> TOMLNode {
        let c = at(pos)
        switch c {
        case cQuote:
            if at(pos + 1) == cQuote && at(pos + 2) == cQuote { return .string(try multiLineString(basic: true)) }
            return .string(try basicString())
        case cApostrophe:
            if at(pos + 1) == cApostrophe && at(pos + 2) == cApostrophe {
                return .string(try multiLineString(basic: false))
            }
            return .string(try literalString())
        case cLBracket: return try nested { (p: inout TOMLParser) throws(TOMLSyntaxError) in try p.array() }
        case cLBrace: return try nested { (p: inout TOMLParser) throws(TOMLSyntaxError) in try p.inlineTable() }
        case cDigit0...cDigit9, cPlus, cMinus, cLowerI, cLowerN: return try numberOrDate()
        case cLowerT, cLowerF:
            let start = pos
            while pos < end && isTokenByte(bytes[pos]) { pos += 1 }
            let word = string(start, pos)
            if word == "true" { return .bool(true) }
            if word == "false" { return .bool(false) }
            throw fail("invalid value \(quoted(word)) (booleans are lowercase true and false)")
        default:
            if pos < end && isBareKeyByte(c) {
                let start = pos
                while pos < end && isTokenByte(bytes[pos]) { pos += 1 }
                throw fail("invalid value \(quoted(string(start, pos))) (strings need quotes)")
            }
            throw fail("expected a value, found \(found())")
        }
    }

    mutating func nested(
        _ body: (inout TOMLParser) throws(TOMLSyntaxError) -> TOMLNode
    ) throws(TOMLSyntaxError) -> TOMLNode {
        guard valueDepth < TOMLParser.maxValueDepth else {
            throw fail("arrays and inline tables nested more than \(TOMLParser.maxValueDepth) deep")
        }
        valueDepth += 1
        defer { valueDepth -= 1 }
        return try body(&self)
    }

    mutating func array() throws(TOMLSyntaxError) -> TOMLNode {
        let openLine = line
        pos += 1
        var items: [TOMLNode] = []
        while true {
            try skipBlank()
            guard pos < end else { throw fail("unterminated array (opened on line \(openLine))") }
            if bytes[pos] == cRBracket {
                pos += 1
                return .array(items)
            }
            items.append(try parseValue())
            try skipBlank()
            guard pos < end else { throw fail("unterminated array (opened on line \(openLine))") }
            switch bytes[pos] {
            case cComma: pos += 1
            case cRBracket:
                pos += 1
                return .array(items)
            default:
                throw fail("expected \",\" or \"]\" in the array (opened on line \(openLine)), found \(found())")
            }
        }
    }

    mutating func inlineTable() throws(TOMLSyntaxError) -> TOMLNode {
        pos += 1
        // Not part of the document's table tree: its keys get no lines of their own (the
        // inline table's key has one).
        let table = Table(kind: .dotted, depth: 0, path: nil)
        skipSpaces()
        if at(pos) == cRBrace {
            pos += 1
            return .table([:])
        }
        while true {
            skipSpaces()
            if atEndOfLine() {
                throw fail("unterminated inline table (an inline table must be on one line)")
            }
            let keyLine = line
            let key = try parseKey()
            skipSpaces()
            guard at(pos) == cEquals else {
                throw fail("expected \"=\" after the key \(quoted(display(key.parts))), found \(found())")
            }
            pos += 1
            skipSpaces()
            // Dotted keys nest tables too: count them against the nesting bound.
            guard valueDepth + key.count - 1 <= TOMLParser.maxValueDepth else {
                throw fail("arrays and inline tables nested more than \(TOMLParser.maxValueDepth) deep")
            }
            valueDepth += key.count - 1
            let value = try parseValue()
            valueDepth -= key.count - 1
            try insert(value, at: key, into: table, line: keyLine)
            skipSpaces()
            if atEndOfLine() {
                throw fail("unterminated inline table (an inline table must be on one line)")
            }
            switch bytes[pos] {
            case cComma:
                pos += 1
                skipSpaces()
                if at(pos) == cRBrace { throw fail("trailing comma in an inline table is not allowed") }
            case cRBrace:
                pos += 1
                return .table(table.dictionary())
            default: throw fail("expected \",\" or \"}\" in the inline table, found \(found())")
            }
        }
    }

    // MARK: Whitespace, newlines, comments

    mutating func skipSpaces() {
        while pos < end && (bytes[pos] == cSpace || bytes[pos] == cTab) { pos += 1 }
    }

    /// Inside arrays: spaces, newlines and comments.
    mutating func skipBlank() throws(TOMLSyntaxError) {
        while pos < end {
            switch bytes[pos] {
            case cSpace, cTab: pos += 1
            case cLF, cCR: try newline()
            case cHash: try comment()
            default: return
            }
        }
    }

    /// At LF or CR: consumes LF or CRLF; a lone CR is an error.
    mutating func newline() throws(TOMLSyntaxError) {
        if bytes[pos] == cCR {
            guard at(pos + 1) == cLF else { throw fail("carriage return without a line feed") }
            pos += 1
        }
        pos += 1
        line += 1
    }

    /// At `#`: up to, not including, the newline.
    mutating func comment() throws(TOMLSyntaxError) {
        pos += 1
        while pos < end {
            let c = bytes[pos]
            if c == cLF || (c == cCR && at(pos + 1) == cLF) { return }
            if isControl(c) { throw fail("control character \(codePoint(c)) is not allowed in a comment") }
            pos += 1
        }
    }

    func atEndOfLine() -> Bool {
        pos >= end || bytes[pos] == cLF || bytes[pos] == cCR
    }

    // MARK: Helpers

    func at(_ index: Int) -> UInt8 { index < end ? bytes[index] : 0 }

    func string(_ start: Int, _ stop: Int) -> String {
        bytes.withUnsafeBufferPointer {
            String(decoding: UnsafeBufferPointer(rebasing: $0[start..<stop]), as: UTF8.self)
        }
    }

    func fail(_ message: String, line: Int? = nil) -> TOMLSyntaxError {
        TOMLSyntaxError(message: message, line: line ?? self.line)
    }

    /// What is at `pos`, for "found X" in messages.
    func found() -> String {
        if pos >= end { return "the end of the file" }
        if bytes[pos] == cLF || bytes[pos] == cCR { return "the end of the line" }
        if isControl(bytes[pos]) { return "control character \(codePoint(bytes[pos]))" }
        return bytes[pos] == cQuote ? "'\"'" : "\"\(charAt(pos))\""
    }

    /// The whole UTF-8 character starting at `index`.
    func charAt(_ index: Int) -> String {
        guard index < end else { return "" }
        let lead = bytes[index]
        let length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
        return string(index, min(index + length, end))
    }

    func codePoint(_ c: UInt8) -> String {
        let hex = String(c, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: 4 - hex.count) + hex
    }

    /// A key path as TOML would spell it: bare parts as they are, others quoted.
    func display<C: Collection<String>>(_ key: C) -> String {
        key.map { part in
            !part.isEmpty && part.utf8.allSatisfy(isBareKeyByte) ? part : "\"" + escaped(part) + "\""
        }.joined(separator: ".")
    }

    /// `"name"` for a plain name; a name already containing quotes is shown as it is.
    func quoted(_ text: String) -> String {
        text.contains("\"") ? text : "\"" + text + "\""
    }

    func escaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u" + codePoint(UInt8(scalar.value)).dropFirst(2)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
