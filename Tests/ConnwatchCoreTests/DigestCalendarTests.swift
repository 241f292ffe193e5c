import Foundation
import Testing

@testable import ConnwatchCore

/// The digest calendar against instants worked out independently (Python's `zoneinfo`,
/// which reads the same tz database): DST gaps and repeats in several zones, ISO weeks
/// across year ends, midnight.
@Suite struct DigestCalendarTests {
    static func date(_ s: String) -> Date { RFC3339.date(s)! }
    static func zone(_ id: String) -> TimeZone { TimeZone(identifier: id)! }

    struct Row: Sendable, CustomTestStringConvertible {
        var zone: String
        var schedule: DigestSchedule
        var now: String
        var key: String
        var due: String
        var why: String
        var testDescription: String { why }
    }

    static let rows: [Row] = [
        // Spring forward: 02:30 does not exist; due at the end of the gap, 03:00 local.
        Row(zone: "Europe/Berlin", schedule: .daily(hour: 2, minute: 30), now: "2027-03-28T12:00:00Z",
            key: "daily:2027-03-28", due: "2027-03-28T01:00:00Z", why: "Berlin spring-forward gap"),
        Row(zone: "Europe/Berlin", schedule: .daily(hour: 8, minute: 0), now: "2027-03-28T12:00:00Z",
            key: "daily:2027-03-28", due: "2027-03-28T06:00:00Z", why: "Berlin DST day, after the gap"),
        Row(zone: "Europe/Berlin", schedule: .daily(hour: 8, minute: 0), now: "2027-03-27T12:00:00Z",
            key: "daily:2027-03-27", due: "2027-03-27T07:00:00Z", why: "Berlin day before, winter time"),
        // Fall back: 02:30 happens twice; the first one (summer time) only.
        Row(zone: "Europe/Berlin", schedule: .daily(hour: 2, minute: 30), now: "2027-10-31T01:45:00Z",
            key: "daily:2027-10-31", due: "2027-10-31T00:30:00Z", why: "Berlin fall-back repeat, second pass"),
        Row(zone: "America/New_York", schedule: .daily(hour: 2, minute: 30), now: "2027-03-14T20:00:00Z",
            key: "daily:2027-03-14", due: "2027-03-14T07:00:00Z", why: "New York spring-forward gap"),
        Row(zone: "America/New_York", schedule: .daily(hour: 1, minute: 30), now: "2027-11-07T07:00:00Z",
            key: "daily:2027-11-07", due: "2027-11-07T05:30:00Z", why: "New York fall-back repeat"),
        // Lord Howe moves by 30 minutes: 02:00 → 02:30 in October, 02:00 → 01:30 in April.
        Row(zone: "Australia/Lord_Howe", schedule: .daily(hour: 2, minute: 15), now: "2027-10-03T00:00:00Z",
            key: "daily:2027-10-03", due: "2027-10-02T15:30:00Z", why: "Lord Howe 30-minute gap"),
        Row(zone: "Australia/Lord_Howe", schedule: .daily(hour: 1, minute: 45), now: "2027-04-03T15:20:00Z",
            key: "daily:2027-04-04", due: "2027-04-03T14:45:00Z", why: "Lord Howe 30-minute repeat"),
        // Midnight, half-hour zone: the local date is already tomorrow's in UTC terms.
        Row(zone: "Asia/Kolkata", schedule: .daily(hour: 0, minute: 0), now: "2026-12-07T20:00:00Z",
            key: "daily:2026-12-08", due: "2026-12-07T18:30:00Z", why: "Kolkata midnight"),
        Row(zone: "UTC", schedule: .daily(hour: 23, minute: 59), now: "2026-12-07T00:00:00Z",
            key: "daily:2026-12-07", due: "2026-12-07T23:59:00Z", why: "UTC before the due time"),
        // ISO weeks: 2026 has 53; its week 53 ends on Sunday 2027-01-03.
        Row(zone: "UTC", schedule: .weekly(weekday: 1, hour: 0, minute: 0), now: "2026-12-31T10:00:00Z",
            key: "weekly:2026-W53", due: "2026-12-28T00:00:00Z", why: "ISO week 53"),
        Row(zone: "UTC", schedule: .weekly(weekday: 7, hour: 23, minute: 59), now: "2027-01-03T12:00:00Z",
            key: "weekly:2026-W53", due: "2027-01-03T23:59:00Z", why: "Sunday of week 53 in the new year"),
        Row(zone: "UTC", schedule: .weekly(weekday: 1, hour: 8, minute: 0), now: "2027-01-04T00:00:00Z",
            key: "weekly:2027-W01", due: "2027-01-04T08:00:00Z", why: "week 1 of 2027"),
        Row(zone: "Europe/Berlin", schedule: .weekly(weekday: 1, hour: 8, minute: 0), now: "2026-12-31T23:30:00Z",
            key: "weekly:2026-W53", due: "2026-12-28T07:00:00Z", why: "Berlin: already 2027 locally, still W53"),
        Row(zone: "Europe/Berlin", schedule: .weekly(weekday: 7, hour: 2, minute: 30), now: "2027-03-28T12:00:00Z",
            key: "weekly:2027-W12", due: "2027-03-28T01:00:00Z", why: "weekly on the DST Sunday"),
        Row(zone: "America/New_York", schedule: .weekly(weekday: 5, hour: 17, minute: 0), now: "2027-01-01T23:00:00Z",
            key: "weekly:2026-W53", due: "2027-01-01T22:00:00Z", why: "New York Friday of week 53"),
        Row(zone: "Asia/Kolkata", schedule: .weekly(weekday: 1, hour: 0, minute: 0), now: "2021-01-03T19:00:00Z",
            key: "weekly:2021-W01", due: "2021-01-03T18:30:00Z", why: "Kolkata Monday midnight, 2020 had W53"),
    ]

    @Test(arguments: rows) func currentPeriod(_ row: Row) throws {
        let p = try #require(
            DigestCalendar.current(row.schedule, timeZone: Self.zone(row.zone), now: Self.date(row.now)))
        #expect(p.key == row.key)
        #expect(RFC3339.string(p.dueAt) == row.due)
    }

    @Test func nextDueIsTheCurrentOneWhileAheadThenTheFollowingPeriod() throws {
        let berlin = Self.zone("Europe/Berlin")
        let daily = DigestSchedule.daily(hour: 8, minute: 0)
        let before = try #require(DigestCalendar.next(daily, timeZone: berlin, after: Self.date("2026-12-07T06:59:59Z")))
        #expect(before.key == "daily:2026-12-07" && RFC3339.string(before.dueAt) == "2026-12-07T07:00:00Z")
        let at = try #require(DigestCalendar.next(daily, timeZone: berlin, after: Self.date("2026-12-07T07:00:00Z")))
        #expect(at.key == "daily:2026-12-08" && RFC3339.string(at.dueAt) == "2026-12-08T07:00:00Z")
        // Across the spring-forward night: 23 hours later in UTC terms.
        let dst = try #require(DigestCalendar.next(daily, timeZone: berlin, after: Self.date("2027-03-27T08:00:00Z")))
        #expect(dst.key == "daily:2027-03-28" && RFC3339.string(dst.dueAt) == "2027-03-28T06:00:00Z")
        let weekly = DigestSchedule.weekly(weekday: 1, hour: 8, minute: 0)
        let w = try #require(DigestCalendar.next(weekly, timeZone: .gmt, after: Self.date("2026-12-28T09:00:00Z")))
        #expect(w.key == "weekly:2027-W01" && RFC3339.string(w.dueAt) == "2027-01-04T08:00:00Z")
        #expect(DigestCalendar.next(.off, timeZone: berlin, after: Date()) == nil)
        #expect(DigestCalendar.current(.off, timeZone: berlin, now: Date()) == nil)
    }

    /// Every day of two years in each zone, for times in and around the DST hours: the local
    /// clock shows `digest_at` at the due instant, or — only in a gap — shows less a second
    /// before and more at it; and no earlier instant of that local day shows it (the first
    /// of a repeat). Consecutive periods' due instants strictly increase.
    @Test(arguments: ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC", "Asia/Kolkata"])
    func everyDayShowsTheTimeOrEndsItsGap(_ id: String) throws {
        let zone = Self.zone(id)
        func clock(_ t: Date) -> Int {
            let local = Int(t.timeIntervalSince1970) + zone.secondsFromGMT(for: t)
            return ((local % 86400) + 86400) % 86400 / 60
        }
        var gaps = 0
        for (h, m) in [(0, 0), (1, 45), (2, 0), (2, 15), (2, 30), (3, 0), (8, 0), (23, 59)] {
            var previous = Date.distantPast
            var day = CivilTime.days(year: 2026, month: 1, day: 1)
            while day < CivilTime.days(year: 2028, month: 1, day: 1) {
                let due = DigestCalendar.instant(localDay: day, hour: h, minute: m, timeZone: zone)
                #expect(DigestCalendar.localDays(due, zone) == day, "\(id) \(h):\(m) day \(day)")
                #expect(due > previous)
                previous = due
                if clock(due) != h * 60 + m {
                    gaps += 1
                    #expect(clock(due.addingTimeInterval(-1)) < h * 60 + m && clock(due) > h * 60 + m, "\(id) \(due)")
                }
                // The first occurrence: an hour earlier (the largest repeat there is) the clock
                // never showed this time within the same day.
                for back in stride(from: 60.0, through: 3600, by: 60) {
                    let t = due.addingTimeInterval(-back)
                    if DigestCalendar.localDays(t, zone) == day { #expect(clock(t) != h * 60 + m, "\(id) \(due)") }
                }
                day += 1
            }
        }
        if id == "UTC" || id == "Asia/Kolkata" { #expect(gaps == 0) } else { #expect(gaps > 0) }
    }

    @Test func isoWeekdaysAndWeeks() {
        #expect(DigestCalendar.isoWeekday(0) == 4)  // 1970-01-01, a Thursday
        #expect(DigestCalendar.isoWeek(CivilTime.days(year: 2026, month: 12, day: 31)) == (2026, 53))
        #expect(DigestCalendar.isoWeek(CivilTime.days(year: 2027, month: 1, day: 3)) == (2026, 53))
        #expect(DigestCalendar.isoWeek(CivilTime.days(year: 2027, month: 1, day: 4)) == (2027, 1))
        #expect(DigestCalendar.isoWeek(CivilTime.days(year: 2024, month: 12, day: 30)) == (2025, 1))
        #expect(DigestCalendar.isoWeek(CivilTime.days(year: 2021, month: 1, day: 3)) == (2020, 53))
    }
}
