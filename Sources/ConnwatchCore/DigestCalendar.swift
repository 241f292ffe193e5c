import Foundation

/// One digest period of an `[[email]]` sink: a local day (`daily:2027-03-28`) or an ISO 8601
/// week (`weekly:2027-W13`), and the instant its digest is due (`digest_at` on that day, or
/// on that weekday of the week, in local time).
public struct DigestPeriod: Sendable, Hashable, CustomStringConvertible {
    /// `daily:YYYY-MM-DD` or `weekly:YYYY-Www` (ISO week-numbering year): the store's key, so
    /// one period is claimed — and sent — once.
    public var key: String
    public var dueAt: Date

    public init(key: String, dueAt: Date) {
        self.key = key
        self.dueAt = dueAt
    }

    public var description: String { "\(key) (due \(RFC3339.string(dueAt)))" }
}

/// When digests are due (SPEC §5, `digest` / `digest_at`), pure: a schedule, a time zone and
/// an instant in, periods out. Civil dates are computed with integer day counts
/// (``CivilTime``), the zone is asked only for its UTC offset at an instant, so the result
/// does not depend on Foundation's `Calendar` matching policies.
///
/// DST: a `digest_at` that does not exist on a day (spring forward: 02:30 in Berlin on the
/// last Sunday of March) is due at the first instant after the gap — the transition itself,
/// 03:00 local (Lord Howe's 30-minute shift: 02:30). One that exists twice (fall back) is due
/// at its first occurrence only; the second lies in the same period, which is sent once.
public enum DigestCalendar {
    /// The period containing `now` (its local date or ISO week) and its due instant, which
    /// may be before or after `now`. Nil for `.off`.
    public static func current(_ schedule: DigestSchedule, timeZone: TimeZone, now: Date) -> DigestPeriod? {
        let today = localDays(now, timeZone)
        return period(schedule, timeZone: timeZone, containingDay: today)
    }

    /// The first due instant strictly after `now`: the current period's when still ahead,
    /// else the next period's. Nil for `.off`.
    public static func next(_ schedule: DigestSchedule, timeZone: TimeZone, after now: Date) -> DigestPeriod? {
        guard let current = current(schedule, timeZone: timeZone, now: now) else { return nil }
        if current.dueAt > now { return current }
        let step: Int64
        switch schedule {
        case .off: return nil
        case .daily: step = 1
        case .weekly: step = 7
        }
        var day = localDays(now, timeZone) + step
        // A due instant is always inside its own period's local day, so the next period's is
        // later than this one's; the loop only guards against a zone skipping a whole day
        // (Samoa, 2011-12-30), whose period then begins after it.
        for _ in 0..<3 {
            if let p = period(schedule, timeZone: timeZone, containingDay: day), p.dueAt > now { return p }
            day += step
        }
        return nil
    }

    /// The period that contains the local day `day` (days since 1970-01-01).
    static func period(_ schedule: DigestSchedule, timeZone: TimeZone, containingDay day: Int64) -> DigestPeriod? {
        switch schedule {
        case .off:
            return nil
        case .daily(let hour, let minute):
            let (y, m, d) = CivilTime.civil(fromDays: day)
            return DigestPeriod(
                key: "daily:\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))",
                dueAt: instant(localDay: day, hour: hour, minute: minute, timeZone: timeZone))
        case .weekly(let weekday, let hour, let minute):
            let (isoYear, week) = isoWeek(day)
            let monday = day - Int64(isoWeekday(day) - 1)
            return DigestPeriod(
                key: "weekly:\(pad(isoYear, 4))-W\(pad(week, 2))",
                dueAt: instant(localDay: monday + Int64(weekday - 1), hour: hour, minute: minute, timeZone: timeZone))
        }
    }

    /// The local date of `date` in `zone`, as days since 1970-01-01.
    static func localDays(_ date: Date, _ zone: TimeZone) -> Int64 {
        let local = Int64(date.timeIntervalSince1970.rounded(.down)) + Int64(zone.secondsFromGMT(for: date))
        return local >= 0 ? local / 86400 : (local - 86399) / 86400
    }

    /// ISO weekday, 1 = Monday … 7 = Sunday. 1970-01-01 was a Thursday.
    static func isoWeekday(_ day: Int64) -> Int {
        let r = Int((day + 3) % 7)
        return (r < 0 ? r + 7 : r) + 1
    }

    /// ISO 8601 week-numbering year and week (1…53): the week belongs to the year of its Thursday.
    static func isoWeek(_ day: Int64) -> (year: Int, week: Int) {
        let thursday = day - Int64(isoWeekday(day)) + 4
        let (year, _, _) = CivilTime.civil(fromDays: thursday)
        let jan1 = CivilTime.days(year: year, month: 1, day: 1)
        return (year, Int((thursday - jan1) / 7) + 1)
    }

    /// The instant at which the local clock in `zone` shows `hour:minute` on `day`: the first
    /// such instant when the time happens twice, the end of the gap when it does not happen.
    public static func instant(localDay day: Int64, hour: Int, minute: Int, timeZone zone: TimeZone) -> Date {
        // The wall time read as if it were UTC; a real instant is `wall - offset` for an offset
        // the zone actually has then. Offsets around it: a day before and after covers any
        // transition near the time (zones change at most once within a day).
        let wall = day * 86400 + Int64(hour * 3600 + minute * 60)
        func offset(_ t: Int64) -> Int64 { Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(t)))) }
        let offsets = Set([offset(wall - 86400), offset(wall), offset(wall + 86400)])
        let valid = offsets.map { wall - $0 }.filter { offset($0) == wall - $0 }
        if let first = valid.min() { return Date(timeIntervalSince1970: Double(first)) }
        // A gap: no offset maps this wall time. Before the transition the clock showed less,
        // after it more; the transition instant lies between `wall - max` and `wall - min`.
        var lo = wall - (offsets.max() ?? 0)
        var hi = wall - (offsets.min() ?? 0)
        let before = offset(lo)
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2
            if offset(mid) == before { lo = mid } else { hi = mid }
        }
        return Date(timeIntervalSince1970: Double(hi))
    }

    static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
