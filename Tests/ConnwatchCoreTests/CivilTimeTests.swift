import ConnwatchTestSupport
import Foundation
import Testing

@testable import ConnwatchCore

/// `CivilTime` replaces Foundation's formatters on hot paths: it must agree with them.
@Suite struct CivilTimeTests {
    /// Dates from 1900 to 2200, every ~37 hours plus odd seconds, and edge cases.
    static var samples: [Date] {
        var out: [Date] = [
            Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: -1), Date(timeIntervalSince1970: 951_782_400),  // 2000-02-29
            Date(timeIntervalSince1970: 4_107_542_399), Date(timeIntervalSince1970: 1_798_761_599.999),
        ]
        var t = -2_208_988_800.0  // 1900-01-01
        while t < 7_258_118_400 {  // 2200-01-01
            out.append(Date(timeIntervalSince1970: t))
            t += 133_337.25
        }
        return out
    }

    @Test func rfc3339MatchesISO8601DateFormatter() {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        f.timeZone = TimeZone(identifier: "UTC")
        let differing = Self.samples.filter { RFC3339.string($0) != f.string(from: $0) }
        #expect(differing.isEmpty, "\(differing.prefix(5).map(\.timeIntervalSince1970))")
    }

    @Test func dayMatchesDateFormatter() {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "d MMM yyyy"
        let differing = Self.samples.filter { Format.day($0) != f.string(from: $0) }
        #expect(differing.isEmpty, "\(differing.prefix(5).map(\.timeIntervalSince1970))")
    }

    @Test func parsingRoundTripsAndMatchesFoundation() async {
        // Checked on a thread of its own, one expectation at the end: 71,000 ICU parses
        // would hold one of the two threads of Swift's pool, which the parallel test run
        // shares, for seconds (and an expectation per sample costs more than the parsing).
        let (notRoundTripped, notAsFoundation) = await onThread { () -> ([String], [String]) in
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime]
            var notRoundTripped: [String] = [], notAsFoundation: [String] = []
            for d in Self.samples {
                let whole = Date(timeIntervalSince1970: d.timeIntervalSince1970.rounded(.down))
                let s = RFC3339.string(d)
                let parsed = RFC3339.date(s)
                if parsed != whole { notRoundTripped.append(s) }
                if parsed != f.date(from: s) { notAsFoundation.append(s) }
            }
            return (notRoundTripped, notAsFoundation)
        }
        #expect(notRoundTripped.isEmpty, "\(notRoundTripped.prefix(5))")
        #expect(notAsFoundation.isEmpty, "\(notAsFoundation.prefix(5))")
    }

    @Test(arguments: [
        ("2027-05-01T00:00:00Z", 1_809_129_600.0),
        ("2027-05-01T00:00:00.5Z", 1_809_129_600.5),
        ("2027-05-01T02:30:00+02:30", 1_809_129_600.0),
        ("2027-05-01T00:00:00-01:00", 1_809_133_200.0),
        ("2024-02-29T12:00:00z", 1_709_208_000.0),
    ])
    func parsesOffsetsAndFractions(text: String, expected: Double) {
        #expect(CivilTime.parseTimestamp(text)?.timeIntervalSince1970 == expected)
    }

    @Test(arguments: [
        "", "2027-05-01", "2027-05-01T00:00:00", "2027-13-01T00:00:00Z", "2027-02-29T00:00:00Z",
        "2027-04-31T00:00:00Z", "2027-05-01T24:00:00Z", "2027-05-01T00:60:00Z", "2027-05-01T00:00:00.Z",
        "2027-05-01T00:00:00Zjunk", "2027-05-01T00:00:00+0100", "2027-05-01 00:00:00Z", "２０２７-05-01T00:00:00Z",
    ])
    func rejectsMalformed(text: String) {
        #expect(CivilTime.parseTimestamp(text) == nil)
    }

    @Test func dropsTheFractionWhenAsked() {
        #expect(
            CivilTime.parseTimestamp("2027-05-01T00:00:00.9999999Z", keepFraction: false)?.timeIntervalSince1970
                == 1_809_129_600)
    }
}
