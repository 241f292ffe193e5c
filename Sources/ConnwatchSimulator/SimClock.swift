import Foundation

/// Date formats the Microsoft services use, without shared mutable formatters.
enum SimClock {
    private static let utcCalendar: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        return c
    }()

    /// `2027-01-15T00:00:00Z`, Graph's and ARM's date-time form.
    static func iso8601(_ date: Date) -> String {
        let c = utcCalendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }

    /// `2027-01-15T00:00:00.1234567Z`, the seven-digit form Graph uses for `createdDateTime`.
    static func iso8601Fraction(_ date: Date) -> String {
        let base = iso8601(date).dropLast()
        let fraction = date.timeIntervalSince1970 - date.timeIntervalSince1970.rounded(.down)
        return base + String(format: ".%07dZ", Int(fraction * 10_000_000))
    }

    /// `2027-01-15 10:00:00Z`, the identity platform's `timestamp` field.
    static func aadTimestamp(_ date: Date) -> String {
        let c = utcCalendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }

    /// `1/15/2027 10:00:00 AM`, the US form the AADSTS700027 messages print key windows in.
    static func aadKeyWindow(_ date: Date) -> String {
        let c = utcCalendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let hour12 = c.hour! % 12 == 0 ? 12 : c.hour! % 12
        return String(
            format: "%d/%d/%04d %d:%02d:%02d %@", c.month!, c.day!, c.year!, hour12, c.minute!, c.second!,
            c.hour! < 12 ? "AM" : "PM")
    }

    /// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS[.fff]Z` or with a `±HH:MM` offset.
    static func parseISO8601(_ text: String) -> Date? {
        let s = text.trimmingCharacters(in: .whitespaces)
        let chars = Array(s.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= chars.count else { return nil }
            var value = 0
            for i in from..<from + count {
                guard (48...57).contains(chars[i]) else { return nil }
                value = value * 10 + Int(chars[i] - 48)
            }
            return value
        }
        guard let year = number(0, 4), chars.count >= 10, chars[4] == UInt8(ascii: "-"),
            let month = number(5, 2), chars[7] == UInt8(ascii: "-"), let day = number(8, 2),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var components = DateComponents(year: year, month: month, day: day, hour: 0, minute: 0, second: 0)
        var offsetSeconds = 0
        var fraction = 0.0
        if chars.count > 10 {
            guard chars[10] == UInt8(ascii: "T") || chars[10] == UInt8(ascii: " "),
                let hour = number(11, 2), chars.count > 13, chars[13] == UInt8(ascii: ":"),
                let minute = number(14, 2)
            else { return nil }
            var i = 16
            var second = 0
            if i < chars.count, chars[i] == UInt8(ascii: ":") {
                guard let s = number(17, 2) else { return nil }
                second = s
                i = 19
            }
            if i < chars.count, chars[i] == UInt8(ascii: ".") {
                var j = i + 1
                var digits = ""
                while j < chars.count, (48...57).contains(chars[j]) {
                    digits.append(Character(Unicode.Scalar(chars[j])))
                    j += 1
                }
                guard !digits.isEmpty else { return nil }
                fraction = Double("0." + digits) ?? 0
                i = j
            }
            guard i < chars.count else { return nil }  // a zone is required with a time
            if chars[i] == UInt8(ascii: "Z") || chars[i] == UInt8(ascii: "z") {
                guard i + 1 == chars.count else { return nil }
            } else if chars[i] == UInt8(ascii: "+") || chars[i] == UInt8(ascii: "-") {
                guard let oh = number(i + 1, 2), i + 3 < chars.count, chars[i + 3] == UInt8(ascii: ":"),
                    let om = number(i + 4, 2), i + 6 == chars.count
                else { return nil }
                offsetSeconds = (oh * 3600 + om * 60) * (chars[i] == UInt8(ascii: "-") ? -1 : 1)
            } else {
                return nil
            }
            guard hour < 24, minute < 60, second < 61 else { return nil }
            components.hour = hour
            components.minute = minute
            components.second = second
        }
        guard let date = utcCalendar.date(from: components) else { return nil }
        return date.addingTimeInterval(fraction - Double(offsetSeconds))
    }
}
