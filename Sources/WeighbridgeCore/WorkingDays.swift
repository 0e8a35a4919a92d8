/// UK civil time in England and Wales: GMT in winter, BST (UTC+1) from 01:00 UTC on the last
/// Sunday of March to 01:00 UTC on the last Sunday of October.
public enum UKCivilTime {
    /// The offset from UTC in effect at `instant`, in seconds (0 or 3600).
    public static func offsetSeconds(at instant: Timestamp) -> Int64 {
        let utcDate = CivilDate(daysSinceEpoch: floorDivide(instant.millisecondsSinceEpoch, 86_400_000))
        let start = changeover(year: utcDate.year, month: 3)
        let end = changeover(year: utcDate.year, month: 10)
        return (start <= instant && instant < end) ? 3600 : 0
    }

    /// The date on a wall calendar in England and Wales at `instant`.
    public static func date(at instant: Timestamp) -> CivilDate {
        let local = instant.millisecondsSinceEpoch + offsetSeconds(at: instant) * 1000
        return CivilDate(daysSinceEpoch: floorDivide(local, 86_400_000))
    }

    /// The instant at which local midnight starts `date`.
    public static func startOfDay(_ date: CivilDate) -> Timestamp {
        let utcMidnight = Timestamp(millisecondsSinceEpoch: date.daysSinceEpoch * 86_400_000)
        // Midnight is never inside a changeover hour (01:00 UTC), so the offset at UTC midnight
        // of the same date is the offset in force at local midnight.
        return utcMidnight.adding(seconds: -offsetSeconds(at: utcMidnight))
    }

    /// 01:00 UTC on the last Sunday of `month`.
    private static func changeover(year: Int64, month: Int64) -> Timestamp {
        let lastDay = CivilDate(year: year, month: month, day: 31)
        let lastSunday = lastDay.daysSinceEpoch - (lastDay.isoWeekday % 7)
        return Timestamp(millisecondsSinceEpoch: lastSunday * 86_400_000 + 3_600_000)
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor)
    }
}

/// Working days in England and Wales: Monday to Friday, except bank holidays.
///
/// The regular holidays are computed (New Year's Day, Good Friday, Easter Monday, the early May,
/// spring and summer bank holidays, Christmas and Boxing Day, with their substitute days); the
/// one-off moves and additions proclaimed since 2020 are listed in `proclaimedChanges`.
public struct WorkingCalendar: Sendable {
    /// The calendar of England and Wales.
    public init() {}

    /// Whether `date` is a working day.
    public func isWorkingDay(_ date: CivilDate) -> Bool {
        date.isoWeekday <= 5 && !bankHolidays(year: date.year).contains(date)
    }

    /// The bank holidays of `year` in England and Wales.
    public func bankHolidays(year: Int64) -> Set<CivilDate> {
        var days = Set<CivilDate>()
        days.insert(Self.weekdayOnOrAfter(CivilDate(year: year, month: 1, day: 1)))
        let easter = Self.easterSunday(year: year)
        days.insert(CivilDate(daysSinceEpoch: easter.daysSinceEpoch - 2))
        days.insert(CivilDate(daysSinceEpoch: easter.daysSinceEpoch + 1))
        days.insert(Self.firstMonday(year: year, month: 5))
        days.insert(Self.lastMonday(year: year, month: 5))
        days.insert(Self.lastMonday(year: year, month: 8))
        let christmas = CivilDate(year: year, month: 12, day: 25)
        switch christmas.isoWeekday {
        case 5:  // Friday: Boxing Day on Saturday moves to Monday the 28th.
            days.formUnion([christmas, CivilDate(year: year, month: 12, day: 28)])
        case 6:  // Saturday: Monday 27th and Tuesday 28th.
            days.formUnion([CivilDate(year: year, month: 12, day: 27), CivilDate(year: year, month: 12, day: 28)])
        case 7:  // Sunday: Boxing Day on Monday, Christmas substitute on Tuesday 27th.
            days.formUnion([CivilDate(year: year, month: 12, day: 26), CivilDate(year: year, month: 12, day: 27)])
        default:
            days.formUnion([christmas, CivilDate(year: year, month: 12, day: 26)])
        }
        for change in Self.proclaimedChanges where change.year == year {
            if let removed = change.removed { days.remove(removed) }
            days.insert(change.added)
        }
        return days
    }

    /// The legal deadline for reporting a receipt made at `receivedAt`: the end of the second
    /// working day after the day of receipt (Defra: "within two working days starting the day
    /// after receipt"), as the instant the following day begins in England and Wales.
    public func receiptDeadline(receivedAt: Timestamp) -> Timestamp {
        let received = UKCivilTime.date(at: receivedAt)
        let second = addingWorkingDays(2, to: received)
        return UKCivilTime.startOfDay(CivilDate(daysSinceEpoch: second.daysSinceEpoch + 1))
    }

    /// The `count`-th working day after `date`.
    public func addingWorkingDays(_ count: Int, to date: CivilDate) -> CivilDate {
        var day = date
        var remaining = count
        while remaining > 0 {
            day = CivilDate(daysSinceEpoch: day.daysSinceEpoch + 1)
            if isWorkingDay(day) { remaining -= 1 }
        }
        return day
    }

    /// Whole working days from the day after `start` up to and including the day of `end`.
    public func workingDaysElapsed(from start: Timestamp, to end: Timestamp) -> Int {
        var day = UKCivilTime.date(at: start)
        let last = UKCivilTime.date(at: end)
        var count = 0
        while day < last {
            day = CivilDate(daysSinceEpoch: day.daysSinceEpoch + 1)
            if isWorkingDay(day) { count += 1 }
        }
        return count
    }

    /// A bank holiday moved or added by proclamation.
    private struct ProclaimedChange {
        var year: Int64
        var removed: CivilDate?
        var added: CivilDate
    }

    private static let proclaimedChanges: [ProclaimedChange] = [
        // VE Day 75: the early May bank holiday moved from Monday 4 to Friday 8 May.
        ProclaimedChange(
            year: 2020, removed: CivilDate(year: 2020, month: 5, day: 4), added: CivilDate(year: 2020, month: 5, day: 8)
        ),
        // Platinum Jubilee: spring bank holiday moved to Thursday 2 June, and Friday 3 June added.
        ProclaimedChange(
            year: 2022, removed: CivilDate(year: 2022, month: 5, day: 30),
            added: CivilDate(year: 2022, month: 6, day: 2)),
        ProclaimedChange(year: 2022, removed: nil, added: CivilDate(year: 2022, month: 6, day: 3)),
        // The State Funeral of Queen Elizabeth II.
        ProclaimedChange(year: 2022, removed: nil, added: CivilDate(year: 2022, month: 9, day: 19)),
        // The Coronation of King Charles III.
        ProclaimedChange(year: 2023, removed: nil, added: CivilDate(year: 2023, month: 5, day: 8)),
    ]

    private static func weekdayOnOrAfter(_ date: CivilDate) -> CivilDate {
        switch date.isoWeekday {
        case 6: CivilDate(daysSinceEpoch: date.daysSinceEpoch + 2)
        case 7: CivilDate(daysSinceEpoch: date.daysSinceEpoch + 1)
        default: date
        }
    }

    private static func firstMonday(year: Int64, month: Int64) -> CivilDate {
        let first = CivilDate(year: year, month: month, day: 1)
        return CivilDate(daysSinceEpoch: first.daysSinceEpoch + (8 - first.isoWeekday) % 7)
    }

    private static func lastMonday(year: Int64, month: Int64) -> CivilDate {
        let last = CivilDate(year: year, month: month, day: 31)
        return CivilDate(daysSinceEpoch: last.daysSinceEpoch - (last.isoWeekday - 1))
    }

    /// Easter Sunday in the Gregorian calendar (the anonymous Gregorian algorithm).
    static func easterSunday(year: Int64) -> CivilDate {
        let a = year % 19
        let b = year / 100
        let c = year % 100
        let d = b / 4
        let e = b % 4
        let f = (b + 8) / 25
        let g = (b - f + 1) / 3
        let h = (19 * a + b - d - g + 15) % 30
        let i = c / 4
        let k = c % 4
        let l = (32 + 2 * e + 2 * i - h - k) % 7
        let m = (a + 11 * h + 22 * l) / 451
        let month = (h + l - 7 * m + 114) / 31
        let day = (h + l - 7 * m + 114) % 31 + 1
        return CivilDate(year: year, month: month, day: day)
    }
}
