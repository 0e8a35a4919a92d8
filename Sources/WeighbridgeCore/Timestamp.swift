/// A point in civil time, to the millisecond, as milliseconds since 1970-01-01T00:00:00Z.
///
/// The core never reads a clock: adapters pass timestamps in. Integer milliseconds keep the
/// 24-hour pre-notification rule exact.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Milliseconds since the Unix epoch, UTC.
    public let millisecondsSinceEpoch: Int64

    /// The timestamp `milliseconds` after the Unix epoch.
    public init(millisecondsSinceEpoch milliseconds: Int64) {
        self.millisecondsSinceEpoch = milliseconds
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    /// The timestamp `seconds` later (earlier if negative).
    public func adding(seconds: Int64) -> Timestamp {
        let (milliseconds, overflow) = seconds.multipliedReportingOverflow(by: 1_000)
        return adding(milliseconds: overflow ? (seconds < 0 ? .min : .max) : milliseconds)
    }

    /// The timestamp `milliseconds` later (earlier if negative), held to the ends of time rather
    /// than trapping.
    public func adding(milliseconds: Int64) -> Timestamp {
        let (sum, overflow) = millisecondsSinceEpoch.addingReportingOverflow(milliseconds)
        return Timestamp(millisecondsSinceEpoch: overflow ? (milliseconds < 0 ? .min : .max) : sum)
    }

    /// Milliseconds from `self` to `later` (negative if `later` is earlier).
    public func milliseconds(to later: Timestamp) -> Int64 {
        later.millisecondsSinceEpoch - millisecondsSinceEpoch
    }

    /// RFC 3339 in UTC with milliseconds: "2026-11-25T08:30:00.000Z".
    public var description: String { rfc3339 }

    /// RFC 3339 in UTC with milliseconds: "2026-11-25T08:30:00.000Z".
    public var rfc3339: String {
        let (days, millisecondOfDay) = floorDivide(millisecondsSinceEpoch, 86_400_000)
        let date = CivilDate(daysSinceEpoch: days)
        let seconds = millisecondOfDay / 1_000
        return "\(pad(date.year, 4))-\(pad(date.month, 2))-\(pad(date.day, 2))T"
            + "\(pad(seconds / 3_600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2))."
            + "\(pad(millisecondOfDay % 1_000, 3))Z"
    }

    /// Reads an RFC 3339 date-time: "2026-11-25T08:30:00Z", "2026-11-25T09:30:00.5+01:00".
    /// A time zone offset is required (RFC 3339 §5.6); fractions beyond milliseconds are truncated.
    public init?(rfc3339 text: String) {
        let characters = Array(text.trimmingWhitespace.utf8)
        func number(_ range: Range<Int>) -> Int64? {
            guard range.upperBound <= characters.count else { return nil }
            var value: Int64 = 0
            for index in range {
                let byte = characters[index]
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            return value
        }
        func byte(_ index: Int) -> UInt8? { index < characters.count ? characters[index] : nil }

        guard let year = number(0..<4), byte(4) == UInt8(ascii: "-"),
            let month = number(5..<7), byte(7) == UInt8(ascii: "-"),
            let day = number(8..<10), let separator = byte(10),
            [UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")].contains(separator),
            let hour = number(11..<13), byte(13) == UInt8(ascii: ":"),
            let minute = number(14..<16), byte(16) == UInt8(ascii: ":"),
            let second = number(17..<19)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= CivilDate.daysIn(month: month, year: year),
            hour <= 23, minute <= 59, second <= 59
        else { return nil }

        var index = 19
        var milliseconds: Int64 = 0
        if byte(index) == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while let digit = byte(index), (48...57).contains(digit) {
                if digits < 3 { milliseconds = milliseconds * 10 + Int64(digit - 48) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 3) { milliseconds *= 10 }
        }
        var offsetMinutes: Int64 = 0
        switch byte(index) {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard let offsetHour = number(index + 1..<index + 3), byte(index + 3) == UInt8(ascii: ":"),
                let offsetMinute = number(index + 4..<index + 6), offsetHour <= 23, offsetMinute <= 59
            else { return nil }
            offsetMinutes = (offsetHour * 60 + offsetMinute) * (byte(index) == UInt8(ascii: "-") ? -1 : 1)
            index += 6
        default:
            return nil
        }
        guard index == characters.count else { return nil }

        let days = CivilDate(year: year, month: month, day: day).daysSinceEpoch
        let secondsOfDay = hour * 3_600 + minute * 60 + second - offsetMinutes * 60
        self.millisecondsSinceEpoch = (days * 86_400 + secondsOfDay) * 1_000 + milliseconds
    }
}

/// A date in the proleptic Gregorian calendar, without a time or a zone.
public struct CivilDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int64
    public let month: Int64
    public let day: Int64

    /// The caller guarantees the parts form a real date.
    public init(year: Int64, month: Int64, day: Int64) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
    public init(daysSinceEpoch days: Int64) {
        let shifted = days + 719_468
        let era = floorDivide(shifted, 146_097).quotient
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        self.day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        self.month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        self.year = yearOfEra + era * 400 + (self.month <= 2 ? 1 : 0)
    }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    public var daysSinceEpoch: Int64 {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = floorDivide(shiftedYear, 400).quotient
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Monday is 1, Sunday is 7 (ISO 8601).
    public var isoWeekday: Int64 {
        floorDivide(daysSinceEpoch + 3, 7).remainder + 1
    }

    public static func < (lhs: CivilDate, rhs: CivilDate) -> Bool { lhs.daysSinceEpoch < rhs.daysSinceEpoch }

    /// "2026-11-25".
    public var description: String { "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))" }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

func floorDivide(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
    let quotient = value / divisor - ((value % divisor != 0 && (value < 0) != (divisor < 0)) ? 1 : 0)
    return (quotient, value - quotient * divisor)
}

private func pad(_ value: Int64, _ width: Int) -> String {
    let digits = String(value)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

extension Timestamp: Codable {
    /// Encoded as its bare integer, so stored records stay readable and exact.
    public init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer().decode(Int64.self)
        self = Timestamp(millisecondsSinceEpoch: value)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(millisecondsSinceEpoch)
    }
}
