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

    private let bytes: [UInt8]
    private let end: Int
    private var pos = 0
    private var line = 1
    private var valueDepth = 0
    /// Where each table and key was first defined (``TOMLLines``), recorded as they are inserted.
    private var lines = TOMLLines()

    private init(_ text: String) {
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

    private mutating func document() throws(TOMLSyntaxError) -> [String: TOMLNode] {
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
    private mutating func header(_ root: Table) throws(TOMLSyntaxError) -> Table {
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

    private func valueInTheWay(_ value: TOMLNode, _ name: String, _ line: Int) -> TOMLSyntaxError {
        if case .table = value {
            return fail("cannot extend the inline table \(quoted(name))", line: line)
        }
        return fail("key \(quoted(name)) already holds \(value.typeName), not a table", line: line)
    }

    /// `key = value` (the key may be dotted), inserted into `table`.
    private mutating func keyValue(into table: Table) throws(TOMLSyntaxError) {
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

    private mutating func insert(
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
    private mutating func endOfLine(after what: String) throws(TOMLSyntaxError) {
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

    private mutating func parseKey() throws(TOMLSyntaxError) -> Key {
        var key = Key(first: try simpleKey())
        while true {
            skipSpaces()
            guard at(pos) == cDot else { return key }
            pos += 1
            skipSpaces()
            key.rest.append(try simpleKey())
        }
    }

    private mutating func simpleKey() throws(TOMLSyntaxError) -> String {
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

    private mutating func parseValue() throws(TOMLSyntaxError) -> TOMLNode {
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

    private mutating func nested(
        _ body: (inout TOMLParser) throws(TOMLSyntaxError) -> TOMLNode
    ) throws(TOMLSyntaxError) -> TOMLNode {
        guard valueDepth < TOMLParser.maxValueDepth else {
            throw fail("arrays and inline tables nested more than \(TOMLParser.maxValueDepth) deep")
        }
        valueDepth += 1
        defer { valueDepth -= 1 }
        return try body(&self)
    }

    private mutating func array() throws(TOMLSyntaxError) -> TOMLNode {
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

    private mutating func inlineTable() throws(TOMLSyntaxError) -> TOMLNode {
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

    // MARK: Strings

    private mutating func basicString() throws(TOMLSyntaxError) -> String {
        pos += 1
        let start = pos
        while pos < end {
            let c = bytes[pos]
            if c == cQuote {
                pos += 1
                return string(start, pos - 1)
            }
            if c == cBackslash { break }
            if isControl(c) { throw controlInString(c, basic: true) }
            pos += 1
        }
        guard pos < end else { throw unterminatedBasic() }
        var buffer = Array(bytes[start..<pos])
        while pos < end {
            let c = bytes[pos]
            if c == cQuote {
                pos += 1
                return String(decoding: buffer, as: UTF8.self)
            }
            if c == cBackslash {
                try escape(into: &buffer)
            } else if isControl(c) {
                throw controlInString(c, basic: true)
            } else {
                buffer.append(c)
                pos += 1
            }
        }
        throw unterminatedBasic()
    }

    private func unterminatedBasic() -> TOMLSyntaxError {
        fail("unterminated string (a basic string must end on the same line)")
    }

    private func controlInString(_ c: UInt8, basic: Bool) -> TOMLSyntaxError {
        if c == cLF || c == cCR {
            return basic
                ? unterminatedBasic() : fail("unterminated literal string (it must end on the same line)")
        }
        return fail("control character \(codePoint(c)) is not allowed in a string (use an escape)")
    }

    private mutating func literalString() throws(TOMLSyntaxError) -> String {
        pos += 1
        let start = pos
        while pos < end {
            let c = bytes[pos]
            if c == cApostrophe {
                pos += 1
                return string(start, pos - 1)
            }
            if isControl(c) { throw controlInString(c, basic: false) }
            pos += 1
        }
        throw fail("unterminated literal string (it must end on the same line)")
    }

    /// `"""…"""` (basic: escapes and line-ending backslashes) or `'''…'''` (literal: the
    /// bytes as they are). Both normalise CRLF to LF and refuse control characters.
    private mutating func multiLineString(basic: Bool) throws(TOMLSyntaxError) -> String {
        let openLine = line
        let quote = basic ? cQuote : cApostrophe
        pos += 3
        try skipFirstNewline()
        var buffer: [UInt8] = []
        while pos < end {
            let c = bytes[pos]
            switch c {
            case quote:
                if try closingQuotes(quote, into: &buffer) { return String(decoding: buffer, as: UTF8.self) }
            case cBackslash where basic:
                var next = pos + 1
                while at(next) == cSpace || at(next) == cTab { next += 1 }
                if at(next) == cLF || (at(next) == cCR && at(next + 1) == cLF) {
                    // Line-ending backslash: drop it and all whitespace and newlines after it.
                    pos = next
                    while pos < end {
                        let w = bytes[pos]
                        if w == cSpace || w == cTab {
                            pos += 1
                        } else if w == cLF || w == cCR {
                            try newline()
                        } else {
                            break
                        }
                    }
                } else {
                    try escape(into: &buffer)
                }
            case cLF:
                buffer.append(cLF)
                pos += 1
                line += 1
            case cCR:
                try newline()
                buffer.append(cLF)
            default:
                if isControl(c) { throw controlInString(c, basic: basic) }
                buffer.append(c)
                pos += 1
            }
        }
        throw fail(
            "unterminated multi-line \(basic ? "" : "literal ")string (opened on line \(openLine))", line: openLine)
    }

    /// A newline right after the opening `"""` or `'''` is not part of the string.
    private mutating func skipFirstNewline() throws(TOMLSyntaxError) {
        if at(pos) == cLF || at(pos) == cCR { try newline() }
    }

    /// At a run of quote bytes in a multi-line string: one or two are content; three to five end
    /// the string, the ones before the last three being content. Returns true at the end.
    private mutating func closingQuotes(_ q: UInt8, into buffer: inout [UInt8]) throws(TOMLSyntaxError) -> Bool {
        var n = 0
        while at(pos + n) == q { n += 1 }
        if n > 5 { throw fail("too many quotes at the end of a multi-line string (at most five)") }
        pos += n
        if n < 3 {
            buffer.append(contentsOf: repeatElement(q, count: n))
            return false
        }
        buffer.append(contentsOf: repeatElement(q, count: n - 3))
        return true
    }

    private mutating func escape(into buffer: inout [UInt8]) throws(TOMLSyntaxError) {
        let c = at(pos + 1)
        switch c {
        case cLowerB: buffer.append(0x08)
        case cLowerT: buffer.append(cTab)
        case cLowerN: buffer.append(cLF)
        case cLowerF: buffer.append(0x0C)
        case cLowerR: buffer.append(cCR)
        case cQuote: buffer.append(cQuote)
        case cBackslash: buffer.append(cBackslash)
        case cLowerU, cUpperU:
            let count = c == cLowerU ? 4 : 8
            var value: UInt32 = 0
            for k in 0..<count {
                guard let digit = hexValue(at(pos + 2 + k)) else {
                    throw fail(
                        "invalid escape \"\\\(c == cLowerU ? "u" : "U")\(string(pos + 2, pos + 2 + k))\" "
                            + "(expected \(count) hex digits)")
                }
                value = value << 4 | UInt32(digit)
            }
            guard let scalar = Unicode.Scalar(value) else {
                throw fail("invalid escape \"\\\(string(pos + 1, pos + 2 + count))\" (not a Unicode scalar value)")
            }
            UTF8.encode(scalar) { buffer.append($0) }
            pos += 2 + count
            return
        default:
            if pos + 1 >= end || c == cLF || c == cCR { throw unterminatedBasic() }
            throw fail("invalid escape \"\\\(charAt(pos + 1))\" in a string")
        }
        pos += 2
    }

    // MARK: Numbers, dates and times

    private mutating func numberOrDate() throws(TOMLSyntaxError) -> TOMLNode {
        let start = pos
        if isDigit(at(pos)) && isDigit(at(pos + 1)) {
            if at(pos + 2) == cColon { return try localTime() }
            if isDigit(at(pos + 2)) && isDigit(at(pos + 3)) && at(pos + 4) == cMinus { return try dateOrDateTime() }
        }
        while pos < end && isTokenByte(bytes[pos]) { pos += 1 }
        return try number(start, pos)
    }

    private func number(_ start: Int, _ stop: Int) throws(TOMLSyntaxError) -> TOMLNode {
        var token: String { string(start, stop) }
        var i = start
        var negative = false
        let signed = bytes[i] == cPlus || bytes[i] == cMinus
        if signed {
            negative = bytes[i] == cMinus
            i += 1
        }
        if stop - i == 3 {
            if bytes[i] == cLowerI && bytes[i + 1] == cLowerN && bytes[i + 2] == cLowerF {
                return .double(negative ? -.infinity : .infinity)
            }
            if bytes[i] == cLowerN && bytes[i + 1] == cLowerA && bytes[i + 2] == cLowerN {
                return .double(negative ? -.nan : .nan)
            }
        }
        var invalid: String { "invalid number \(quoted(token))" }
        guard i < stop else { throw fail(invalid) }
        if !isDigit(bytes[i]) {
            if isBareKeyByte(bytes[i]) { throw fail("invalid value \(quoted(token)) (strings need quotes)") }
            throw fail(invalid)
        }
        if bytes[i] == cDigit0 && i + 1 < stop, let radix = radixOf(bytes[i + 1]) {
            if signed { throw fail("\(invalid) (a sign is not allowed with 0x, 0o or 0b)") }
            i += 2
            var magnitude: UInt64 = 0
            let scan = scanDigits(&i, stop, radix: radix, value: &magnitude)
            guard scan != .invalid, i == stop else { throw fail(invalid) }
            guard scan == .digits, magnitude <= UInt64(Int64.max) else {
                throw fail("\(invalid) (does not fit in 64 bits)")
            }
            return .int(Int(magnitude))
        }
        let intStart = i
        var magnitude: UInt64 = 0
        let intScan = scanDigits(&i, stop, radix: 10, value: &magnitude)
        guard intScan != .invalid else { throw fail(invalid) }
        if bytes[intStart] == cDigit0 && i - intStart > 1 {
            throw fail("\(invalid) (leading zeros are not allowed)")
        }
        var isFloat = false
        var ignored: UInt64 = 0
        if i < stop && bytes[i] == cDot {
            isFloat = true
            i += 1
            guard i < stop && isDigit(bytes[i]) else {
                throw fail("\(invalid) (a decimal point needs digits on both sides)")
            }
            guard scanDigits(&i, stop, radix: 10, value: &ignored) != .invalid else { throw fail(invalid) }
        }
        if i < stop && (bytes[i] == cLowerE || bytes[i] == cUpperE) {
            isFloat = true
            i += 1
            if i < stop && (bytes[i] == cPlus || bytes[i] == cMinus) { i += 1 }
            guard scanDigits(&i, stop, radix: 10, value: &ignored) != .invalid else { throw fail(invalid) }
        }
        guard i == stop else { throw fail(invalid) }
        if isFloat {
            var text = ""
            text.reserveCapacity(stop - start)
            for k in start..<stop where bytes[k] != cUnderscore && !(k == start && bytes[k] == cPlus) {
                text.unicodeScalars.append(Unicode.Scalar(bytes[k]))
            }
            guard let value = Double(text) else { throw fail(invalid) }
            return .double(value)
        }
        guard intScan == .digits else { throw fail("\(invalid) (does not fit in 64 bits)") }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { throw fail("\(invalid) (does not fit in 64 bits)") }
            return .int(magnitude == UInt64(Int64.max) + 1 ? Int(Int64.min) : -Int(magnitude))
        }
        guard magnitude <= UInt64(Int64.max) else { throw fail("\(invalid) (does not fit in 64 bits)") }
        return .int(Int(magnitude))
    }

    private enum DigitScan { case digits, overflow, invalid }

    /// Digits of `radix` with single underscores between digits; at least one digit.
    private func scanDigits(_ i: inout Int, _ stop: Int, radix: UInt64, value: inout UInt64) -> DigitScan {
        var result = DigitScan.digits
        var previousWasDigit = false
        while i < stop {
            let c = bytes[i]
            if c == cUnderscore {
                guard previousWasDigit, i + 1 < stop, digitValue(bytes[i + 1], radix: radix) != nil else {
                    return .invalid
                }
                previousWasDigit = false
                i += 1
                continue
            }
            guard let d = digitValue(c, radix: radix) else { break }
            let (times, o1) = value.multipliedReportingOverflow(by: radix)
            let (sum, o2) = times.addingReportingOverflow(UInt64(d))
            if o1 || o2 { result = .overflow }
            value = sum
            previousWasDigit = true
            i += 1
        }
        return previousWasDigit ? result : .invalid
    }

    private mutating func dateOrDateTime() throws(TOMLSyntaxError) -> TOMLNode {
        let start = pos
        guard let year = fixedDigits(4), at(pos) == cMinus, advance(),
            let month = fixedDigits(2), at(pos) == cMinus, advance(),
            let day = fixedDigits(2)
        else { throw badToken("date", start) }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year) else {
            throw fail("invalid date \(quoted(string(start, pos))) (no such month or day)")
        }
        let separator = at(pos)
        guard separator == cUpperT || separator == cLowerT || (separator == cSpace && isDigit(at(pos + 1))) else {
            if pos < end && isTokenByte(bytes[pos]) { throw badToken("date", start) }
            return .date(year: year, month: month, day: day)
        }
        pos += 1
        guard partialTime() else { throw badToken("date-time", start) }
        let z = at(pos)
        if z == cUpperZ || z == cLowerZ {
            pos += 1
        } else if z == cPlus || z == cMinus {
            pos += 1
            guard let hour = fixedDigits(2), at(pos) == cColon, advance(), let minute = fixedDigits(2),
                hour <= 23, minute <= 59
            else { throw badToken("date-time", start) }
        }
        if pos < end && isTokenByte(bytes[pos]) { throw badToken("date-time", start) }
        return .dateTime
    }

    private mutating func localTime() throws(TOMLSyntaxError) -> TOMLNode {
        let start = pos
        guard partialTime(), !(pos < end && isTokenByte(bytes[pos])) else { throw badToken("time", start) }
        return .time
    }

    /// `HH:MM:SS` with an optional fraction `.digits`.
    private mutating func partialTime() -> Bool {
        guard let hour = fixedDigits(2), at(pos) == cColon, advance(),
            let minute = fixedDigits(2), at(pos) == cColon, advance(),
            let second = fixedDigits(2),
            hour <= 23, minute <= 59, second <= 60
        else { return false }
        if at(pos) == cDot {
            pos += 1
            guard isDigit(at(pos)) else { return false }
            while isDigit(at(pos)) { pos += 1 }
        }
        return true
    }

    private func badToken(_ kind: String, _ start: Int) -> TOMLSyntaxError {
        var stop = max(pos, start)
        while stop < end && (isTokenByte(bytes[stop]) || bytes[stop] == cColon) { stop += 1 }
        return fail("invalid \(kind) \(quoted(string(start, stop)))")
    }

    private mutating func fixedDigits(_ count: Int) -> Int? {
        var value = 0
        for k in 0..<count {
            let c = at(pos + k)
            guard isDigit(c) else { return nil }
            value = value * 10 + Int(c - cDigit0)
        }
        pos += count
        return value
    }

    private mutating func advance() -> Bool {
        pos += 1
        return true
    }

    private func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // MARK: Whitespace, newlines, comments

    private mutating func skipSpaces() {
        while pos < end && (bytes[pos] == cSpace || bytes[pos] == cTab) { pos += 1 }
    }

    /// Inside arrays: spaces, newlines and comments.
    private mutating func skipBlank() throws(TOMLSyntaxError) {
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
    private mutating func newline() throws(TOMLSyntaxError) {
        if bytes[pos] == cCR {
            guard at(pos + 1) == cLF else { throw fail("carriage return without a line feed") }
            pos += 1
        }
        pos += 1
        line += 1
    }

    /// At `#`: up to, not including, the newline.
    private mutating func comment() throws(TOMLSyntaxError) {
        pos += 1
        while pos < end {
            let c = bytes[pos]
            if c == cLF || (c == cCR && at(pos + 1) == cLF) { return }
            if isControl(c) { throw fail("control character \(codePoint(c)) is not allowed in a comment") }
            pos += 1
        }
    }

    private func atEndOfLine() -> Bool {
        pos >= end || bytes[pos] == cLF || bytes[pos] == cCR
    }

    // MARK: Helpers

    private func at(_ index: Int) -> UInt8 { index < end ? bytes[index] : 0 }

    private func string(_ start: Int, _ stop: Int) -> String {
        bytes.withUnsafeBufferPointer {
            String(decoding: UnsafeBufferPointer(rebasing: $0[start..<stop]), as: UTF8.self)
        }
    }

    private func fail(_ message: String, line: Int? = nil) -> TOMLSyntaxError {
        TOMLSyntaxError(message: message, line: line ?? self.line)
    }

    /// What is at `pos`, for "found X" in messages.
    private func found() -> String {
        if pos >= end { return "the end of the file" }
        if bytes[pos] == cLF || bytes[pos] == cCR { return "the end of the line" }
        if isControl(bytes[pos]) { return "control character \(codePoint(bytes[pos]))" }
        return bytes[pos] == cQuote ? "'\"'" : "\"\(charAt(pos))\""
    }

    /// The whole UTF-8 character starting at `index`.
    private func charAt(_ index: Int) -> String {
        guard index < end else { return "" }
        let lead = bytes[index]
        let length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
        return string(index, min(index + length, end))
    }

    private func codePoint(_ c: UInt8) -> String {
        let hex = String(c, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: 4 - hex.count) + hex
    }

    /// A key path as TOML would spell it: bare parts as they are, others quoted.
    private func display<C: Collection<String>>(_ key: C) -> String {
        key.map { part in
            !part.isEmpty && part.utf8.allSatisfy(isBareKeyByte) ? part : "\"" + escaped(part) + "\""
        }.joined(separator: ".")
    }

    /// `"name"` for a plain name; a name already containing quotes is shown as it is.
    private func quoted(_ text: String) -> String {
        text.contains("\"") ? text : "\"" + text + "\""
    }

    private func escaped(_ text: String) -> String {
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

// MARK: - Tables under construction

/// A key as written, possibly dotted; `rest` stays empty (no allocation) for the usual plain key.
private struct Key {
    var first: String
    var rest: [String] = []

    var count: Int { rest.count + 1 }
    var last: String { rest.last ?? first }
    var parts: [String] { [first] + rest }
    /// Every part but the last: the tables the key goes through.
    var parents: ArraySlice<String> { rest.isEmpty ? [] : parts.dropLast() }
}

/// How a table came to exist, which decides whether a header or dotted keys may still define it.
private enum TableKind {
    /// Created as a parent by a header (`[a]` for `[a.b]`); a later `[a]` may still define it.
    case implicit
    /// Defined by its own header (or `[[...]]`, or the root): only its own section adds keys.
    case header
    /// Created or extended by dotted keys: no header may define it later.
    case dotted
}

private final class Table {
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

private enum Child {
    case table(Table)
    /// An array of tables (`[[name]]`); never empty.
    case tables(TableArray)
}

private final class TableArray {
    var items: [Table]
    init(_ first: Table) { items = [first] }
}

/// What a key of a table under construction holds.
private enum Entry {
    /// A finished value: scalars, static arrays and inline tables (none of which can be extended).
    case value(TOMLNode)
    case table(Table)
    case tables(TableArray)
}

// MARK: - Bytes

private let cTab: UInt8 = 0x09
private let cLF: UInt8 = 0x0A
private let cCR: UInt8 = 0x0D
private let cSpace: UInt8 = 0x20
private let cQuote: UInt8 = 0x22
private let cHash: UInt8 = 0x23
private let cApostrophe: UInt8 = 0x27
private let cPlus: UInt8 = 0x2B
private let cComma: UInt8 = 0x2C
private let cMinus: UInt8 = 0x2D
private let cDot: UInt8 = 0x2E
private let cDigit0: UInt8 = 0x30
private let cDigit9: UInt8 = 0x39
private let cColon: UInt8 = 0x3A
private let cEquals: UInt8 = 0x3D
private let cUpperE: UInt8 = 0x45
private let cUpperT: UInt8 = 0x54
private let cUpperU: UInt8 = 0x55
private let cUpperZ: UInt8 = 0x5A
private let cLBracket: UInt8 = 0x5B
private let cBackslash: UInt8 = 0x5C
private let cRBracket: UInt8 = 0x5D
private let cUnderscore: UInt8 = 0x5F
private let cLowerA: UInt8 = 0x61
private let cLowerB: UInt8 = 0x62
private let cLowerE: UInt8 = 0x65
private let cLowerF: UInt8 = 0x66
private let cLowerI: UInt8 = 0x69
private let cLowerN: UInt8 = 0x6E
private let cLowerR: UInt8 = 0x72
private let cLowerT: UInt8 = 0x74
private let cLowerU: UInt8 = 0x75
private let cLowerZ: UInt8 = 0x7A
private let cLBrace: UInt8 = 0x7B
private let cRBrace: UInt8 = 0x7D

private func isDigit(_ c: UInt8) -> Bool { c >= cDigit0 && c <= cDigit9 }

private func isBareKeyByte(_ c: UInt8) -> Bool {
    (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || isDigit(c) || c == cUnderscore || c == cMinus
}

/// Bytes that can continue a number, boolean or date token; used to take the whole bad token.
private func isTokenByte(_ c: UInt8) -> Bool {
    isBareKeyByte(c) || c == cPlus || c == cDot
}

/// Control characters TOML forbids in strings and comments: U+0000–U+001F except tab, and U+007F.
private func isControl(_ c: UInt8) -> Bool { (c < 0x20 && c != cTab) || c == 0x7F }

private func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x30...0x39: c - 0x30
    case 0x41...0x46: c - 0x41 + 10
    case 0x61...0x66: c - 0x61 + 10
    default: nil
    }
}

private func digitValue(_ c: UInt8, radix: UInt64) -> UInt8? {
    guard let d = hexValue(c), UInt64(d) < radix else { return nil }
    return d
}

private func radixOf(_ c: UInt8) -> UInt64? {
    switch c {
    case 0x78: 16  // x
    case 0x6F: 8  // o
    case 0x62: 2  // b
    default: nil
    }
}
