import Foundation

/// UTC calendar arithmetic for timestamps, without Foundation's formatters.
///
/// `ISO8601DateFormatter` and `DateFormatter` build an ICU formatter on every creation
/// (about 0.2 ms each, measured); connwatch formats and parses tens of thousands of
/// timestamps per cycle and per `status --json` (benchmarks/BENCHMARKS.md), so the fixed
/// formats it uses are done here with integer arithmetic (Howard Hinnant's civil-date
/// algorithms), which is also thread-safe.
public struct CivilTime: Sendable, Equatable {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int

    /// The UTC calendar fields of `date`, whole seconds (rounded down).
    public init(_ date: Date) {
        let t = Int64(date.timeIntervalSince1970.rounded(.down))
        var days = t / 86400
        var secs = t % 86400
        if secs < 0 {
            secs += 86400
            days -= 1
        }
        (year, month, day) = CivilTime.civil(fromDays: days)
        hour = Int(secs / 3600)
        minute = Int(secs % 3600 / 60)
        second = Int(secs % 60)
    }

    /// Year, month (1–12), day (1–31) of a day count since 1970-01-01.
    static func civil(fromDays z0: Int64) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(yoe + era * 400 + (m <= 2 ? 1 : 0)), Int(m), Int(d))
    }

    /// Days since 1970-01-01 of a civil date.
    static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64((month + 9) % 12)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static let monthAbbreviations = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `2026-11-29T06:32:07Z`
    public var rfc3339: String {
        var s = ""
        s.reserveCapacity(20)
        CivilTime.pad(&s, year, 4)
        s.append("-")
        CivilTime.pad(&s, month, 2)
        s.append("-")
        CivilTime.pad(&s, day, 2)
        s.append("T")
        CivilTime.pad(&s, hour, 2)
        s.append(":")
        CivilTime.pad(&s, minute, 2)
        s.append(":")
        CivilTime.pad(&s, second, 2)
        s.append("Z")
        return s
    }

    /// `9 Dec 2026` (the English day format of summaries).
    public var dayMonthYear: String {
        "\(day) \(CivilTime.monthAbbreviations[month - 1]) \(year)"
    }

    private static func pad(_ s: inout String, _ n: Int, _ width: Int) {
        if n < 0 {
            s.append("-")
            pad(&s, -n, width)
            return
        }
        let digits = String(n)
        if digits.count < width { s.append(String(repeating: "0", count: width - digits.count)) }
        s.append(digits)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS`, optional fraction (any number of digits), then `Z`,
    /// `z` or `±HH:MM`. With `keepFraction` false the fraction is dropped (whole seconds).
    /// Nil for anything else, including out-of-range fields.
    public static func parseTimestamp(_ text: String, keepFraction: Bool = true) -> Date? {
        var utf8 = Array(text.utf8)
        if utf8.count < 20 { return nil }
        func number(_ from: Int, _ count: Int) -> Int? {
            var n = 0
            for i in from..<(from + count) {
                let c = utf8[i]
                guard c >= 48 && c <= 57 else { return nil }
                n = n * 10 + Int(c - 48)
            }
            return n
        }
        guard let year = number(0, 4), utf8[4] == UInt8(ascii: "-"), let month = number(5, 2),
            utf8[7] == UInt8(ascii: "-"), let day = number(8, 2), utf8[10] == UInt8(ascii: "T") || utf8[10] == UInt8(ascii: "t"),
            let hour = number(11, 2), utf8[13] == UInt8(ascii: ":"), let minute = number(14, 2),
            utf8[16] == UInt8(ascii: ":"), let second = number(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, hour < 24, minute < 60, second < 60 else { return nil }
        let (y2, m2, d2) = civil(fromDays: days(year: year, month: month, day: day))
        guard y2 == year, m2 == month, d2 == day else { return nil }  // 31 Feb and the like
        var i = 19
        var fraction = 0.0
        if i < utf8.count, utf8[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            let start = i
            while i < utf8.count, utf8[i] >= 48, utf8[i] <= 57 {
                fraction += Double(utf8[i] - 48) * scale
                scale /= 10
                i += 1
            }
            if i == start { return nil }
        }
        var offset = 0
        guard i < utf8.count else { return nil }
        switch utf8[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard utf8.count == i + 6, let oh = number(i + 1, 2), utf8[i + 3] == UInt8(ascii: ":"),
                let om = number(i + 4, 2), oh < 24, om < 60
            else { return nil }
            offset = (oh * 3600 + om * 60) * (utf8[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        default:
            return nil
        }
        guard i == utf8.count else { return nil }
        utf8.removeAll()
        let seconds = days(year: year, month: month, day: day) * 86400 + Int64(hour * 3600 + minute * 60 + second)
            - Int64(offset)
        return Date(timeIntervalSince1970: Double(seconds) + (keepFraction ? fraction : 0))
    }
}
