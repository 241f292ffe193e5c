/// A configuration duration: an integer followed by one unit, `s`, `m`, `h` or `d`
/// (`"90s"`, `"15m"`, `"1h"`, `"7d"`). Stored in whole seconds.
public struct ConfigDuration: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let seconds: Int64

    public init(seconds: Int64) { self.seconds = seconds }

    public static func seconds(_ n: Int64) -> ConfigDuration { .init(seconds: n) }
    public static func minutes(_ n: Int64) -> ConfigDuration { .init(seconds: n * 60) }
    public static func hours(_ n: Int64) -> ConfigDuration { .init(seconds: n * 3600) }
    public static func days(_ n: Int64) -> ConfigDuration { .init(seconds: n * 86400) }

    /// Parses `"90s"`, `"15m"`, `"1h"`, `"7d"`; nil for anything else (no sign, no
    /// fraction, no spaces, no compound forms, no zero).
    public init?(parsing text: String) {
        guard let unit = text.last, text.count >= 2 else { return nil }
        let digits = text.dropLast()
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }), digits.count <= 12, let n = Int64(digits), n > 0
        else { return nil }
        switch unit {
        case "s": seconds = n
        case "m": seconds = n * 60
        case "h": seconds = n * 3600
        case "d": seconds = n * 86400
        default: return nil
        }
    }

    public var timeInterval: Double { Double(seconds) }

    public var swiftDuration: Duration { .seconds(seconds) }

    public static func < (lhs: ConfigDuration, rhs: ConfigDuration) -> Bool { lhs.seconds < rhs.seconds }

    /// The largest whole unit that divides the value: `"90s"`, `"15m"`, `"1h"`, `"7d"`.
    public var description: String {
        if seconds % 86400 == 0 { return "\(seconds / 86400)d" }
        if seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        if seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = ConfigDuration(parsing: text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "bad duration \(text)"))
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
