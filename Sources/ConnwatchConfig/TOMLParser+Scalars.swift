import Foundation

/// Strings, numbers, dates and times: the scalar values of TOML 1.0.
extension TOMLParser {
    // MARK: Strings

    mutating func basicString() throws(TOMLSyntaxError) -> String {
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

    func unterminatedBasic() -> TOMLSyntaxError {
        fail("unterminated string (a basic string must end on the same line)")
    }

    func controlInString(_ c: UInt8, basic: Bool) -> TOMLSyntaxError {
        if c == cLF || c == cCR {
            return basic
                ? unterminatedBasic() : fail("unterminated literal string (it must end on the same line)")
        }
        return fail("control character \(codePoint(c)) is not allowed in a string (use an escape)")
    }

    mutating func literalString() throws(TOMLSyntaxError) -> String {
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
    mutating func multiLineString(basic: Bool) throws(TOMLSyntaxError) -> String {
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
    mutating func skipFirstNewline() throws(TOMLSyntaxError) {
        if at(pos) == cLF || at(pos) == cCR { try newline() }
    }

    /// At a run of quote bytes in a multi-line string: one or two are content; three to five end
    /// the string, the ones before the last three being content. Returns true at the end.
    mutating func closingQuotes(_ q: UInt8, into buffer: inout [UInt8]) throws(TOMLSyntaxError) -> Bool {
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

    mutating func escape(into buffer: inout [UInt8]) throws(TOMLSyntaxError) {
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

    mutating func numberOrDate() throws(TOMLSyntaxError) -> TOMLNode {
        let start = pos
        if isDigit(at(pos)) && isDigit(at(pos + 1)) {
            if at(pos + 2) == cColon { return try localTime() }
            if isDigit(at(pos + 2)) && isDigit(at(pos + 3)) && at(pos + 4) == cMinus { return try dateOrDateTime() }
        }
        while pos < end && isTokenByte(bytes[pos]) { pos += 1 }
        return try number(start, pos)
    }

    func number(_ start: Int, _ stop: Int) throws(TOMLSyntaxError) -> TOMLNode {
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

    enum DigitScan { case digits, overflow, invalid }

    /// Digits of `radix` with single underscores between digits; at least one digit.
    func scanDigits(_ i: inout Int, _ stop: Int, radix: UInt64, value: inout UInt64) -> DigitScan {
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

    mutating func dateOrDateTime() throws(TOMLSyntaxError) -> TOMLNode {
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

    mutating func localTime() throws(TOMLSyntaxError) -> TOMLNode {
        let start = pos
        guard partialTime(), !(pos < end && isTokenByte(bytes[pos])) else { throw badToken("time", start) }
        return .time
    }

    /// `HH:MM:SS` with an optional fraction `.digits`.
    mutating func partialTime() -> Bool {
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

    func badToken(_ kind: String, _ start: Int) -> TOMLSyntaxError {
        var stop = max(pos, start)
        while stop < end && (isTokenByte(bytes[stop]) || bytes[stop] == cColon) { stop += 1 }
        return fail("invalid \(kind) \(quoted(string(start, stop)))")
    }

    mutating func fixedDigits(_ count: Int) -> Int? {
        var value = 0
        for k in 0..<count {
            let c = at(pos + k)
            guard isDigit(c) else { return nil }
            value = value * 10 + Int(c - cDigit0)
        }
        pos += count
        return value
    }

    mutating func advance() -> Bool {
        pos += 1
        return true
    }

    func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
