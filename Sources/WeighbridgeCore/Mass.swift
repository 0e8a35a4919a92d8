/// A unit a weight can be written in. Weighbridges divide in kilograms; small platform scales in
/// grams; declarations and tickets sometimes use tonnes.
public enum MassUnit: String, Sendable, Hashable, CaseIterable {
    case grams = "g"
    case kilograms = "kg"
    case tonnes = "t"

    /// How many grams one of this unit is.
    public var grams: Int64 {
        switch self {
        case .grams: 1
        case .kilograms: 1_000
        case .tonnes: 1_000_000
        }
    }

    /// How many decimal places a value in this unit can carry and still be a whole number of grams.
    public var decimalPlaces: Int {
        switch self {
        case .grams: 0
        case .kilograms: 3
        case .tonnes: 6
        }
    }
}

/// A mass held exactly as a whole number of grams.
///
/// Weights on a legal-for-trade instrument are whole multiples of its division; binary floating
/// point cannot represent most decimal fractions, so a weight is never held in one. Arithmetic traps
/// on overflow like any Swift integer: a mass that overflows 9.2 × 10¹⁵ kg is a programming error.
public struct Mass: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The mass in grams. Negative values occur: an indicator below zero reports a negative gross.
    public let grams: Int64

    /// A mass of the given number of grams.
    public init(grams: Int64) {
        self.grams = grams
    }

    /// A mass of a whole number of units, e.g. `Mass(12_000, .kilograms)`.
    public init(_ amount: Int64, _ unit: MassUnit) {
        self.grams = amount * unit.grams
    }

    /// No mass at all.
    public static let zero = Mass(grams: 0)

    public static func < (lhs: Mass, rhs: Mass) -> Bool { lhs.grams < rhs.grams }
    public static func + (lhs: Mass, rhs: Mass) -> Mass { Mass(grams: lhs.grams + rhs.grams) }
    public static func - (lhs: Mass, rhs: Mass) -> Mass { Mass(grams: lhs.grams - rhs.grams) }
    public static func * (lhs: Mass, rhs: Int64) -> Mass { Mass(grams: lhs.grams * rhs) }
    public static prefix func - (mass: Mass) -> Mass { Mass(grams: -mass.grams) }

    /// The distance between two masses, always zero or more.
    public func distance(to other: Mass) -> Mass { Mass(grams: (other.grams - grams).magnitude.asInt64) }

    /// Whether this mass is a whole multiple of `division` (which must be positive).
    public func isMultiple(of division: Mass) -> Bool { grams % division.grams == 0 }

    /// The mass written in `unit` as an exact decimal with no trailing zeros: "12000", "12000.5",
    /// "12.5", "-0.25". Never rounded: a gram is always representable in every unit.
    public func formatted(in unit: MassUnit) -> String {
        let magnitude = grams.magnitude
        let per = UInt64(unit.grams)
        let whole = magnitude / per
        var fraction = magnitude % per
        var text = (grams < 0 ? "-" : "") + String(whole)
        if fraction != 0 {
            var places = unit.decimalPlaces
            while fraction % 10 == 0 {
                fraction /= 10
                places -= 1
            }
            let digits = String(fraction)
            text += "." + String(repeating: "0", count: places - digits.count) + digits
        }
        return text
    }

    /// The mass in kilograms with its unit, for people: "12000.5 kg".
    public var description: String { formatted(in: .kilograms) + " kg" }

    /// The mass rounded to whole kilograms, half away from zero, for reports whose field is in kg.
    public var roundedKilograms: Int64 {
        let (quotient, remainder) = grams.quotientAndRemainder(dividingBy: 1_000)
        if remainder.magnitude >= 500 { return quotient + (grams < 0 ? -1 : 1) }
        return quotient
    }
}

extension UInt64 {
    fileprivate var asInt64: Int64 { Int64(self) }
}

/// Why a written mass could not be read.
public enum MassParseError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case negative(String)
    case notANumber(String)
    case unknownUnit(String)
    case tooPrecise(String, unit: MassUnit)
    case tooLarge(String)

    public var description: String {
        switch self {
        case .empty:
            "a mass is required but the text is empty"
        case .negative(let text):
            "\"\(text)\" is negative; a mass must be zero or more"
        case .notANumber(let text):
            "\"\(text)\" is not a number; write e.g. \"12000\", \"12000.5\" or \"12.5 t\""
        case .unknownUnit(let unit):
            "\"\(unit)\" is not a unit; use g, kg or t"
        case .tooPrecise(let text, let unit):
            "\"\(text)\" is finer than a gram; \(unit.rawValue) takes at most \(unit.decimalPlaces) decimal places"
        case .tooLarge(let text):
            "\"\(text)\" is too large to be a mass"
        }
    }
}

extension Mass {
    /// Reads a mass written by a person or a document: a decimal number, optionally followed by a
    /// unit (`g`, `kg`, `t`, with or without a space). Without a unit, `defaultUnit` applies.
    /// The result is exact: "12000.5" kg is 12 000 500 g; "0.0005" kg is refused, not rounded.
    public init(parsing text: String, defaultUnit: MassUnit) throws(MassParseError) {
        try self.init(parsing: text, defaultUnit: defaultUnit, signed: false)
    }

    /// Reads a reading's text, which may be below zero ("-20", "-12.34"), as an indicator shows
    /// a deck a little under its zero; otherwise as `init(parsing:defaultUnit:)`.
    public init(parsingSigned text: String, defaultUnit: MassUnit) throws(MassParseError) {
        try self.init(parsing: text, defaultUnit: defaultUnit, signed: true)
    }

    private init(parsing text: String, defaultUnit: MassUnit, signed: Bool) throws(MassParseError) {
        let trimmed = text.trimmingWhitespace
        guard !trimmed.isEmpty else { throw .empty }

        // A unit is a run of letters at the end ("12.5 t", "500g"); anything else must be the number.
        var number = Substring(trimmed)
        var unitText = ""
        while let last = number.last, last.isLetter {
            unitText = String(last) + unitText
            number = number.dropLast()
        }
        number = Substring(String(number).trimmingWhitespace)
        let negative = number.hasPrefix("-")
        if negative {
            guard signed else { throw .negative(trimmed) }
            number = number.dropFirst()
        } else if number.hasPrefix("+") {
            number = number.dropFirst()
        }

        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count),
            let wholeText = parts.first, !wholeText.isEmpty,
            wholeText.allSatisfy(\.isASCIIDigit),
            parts.count == 1 || (!parts[1].isEmpty && parts[1].allSatisfy(\.isASCIIDigit))
        else { throw .notANumber(trimmed) }

        var unit = defaultUnit
        if !unitText.isEmpty {
            guard let parsedUnit = MassUnit(rawValue: unitText.lowercased()) else { throw .unknownUnit(unitText) }
            unit = parsedUnit
        }

        var fractionText = parts.count == 2 ? parts[1] : ""
        while fractionText.last == "0" { fractionText = fractionText.dropLast() }
        guard fractionText.count <= unit.decimalPlaces else { throw .tooPrecise(trimmed, unit: unit) }

        let padded = String(fractionText) + String(repeating: "0", count: unit.decimalPlaces - fractionText.count)
        guard let whole = Int64(wholeText), let fraction = padded.isEmpty ? 0 : Int64(padded) else {
            throw .tooLarge(trimmed)
        }
        let (scaled, overflowA) = whole.multipliedReportingOverflow(by: unit.grams)
        let (total, overflowB) = scaled.addingReportingOverflow(fraction)
        guard !overflowA, !overflowB else { throw .tooLarge(trimmed) }
        self.init(grams: negative ? -total : total)
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension String {
    /// The text without leading and trailing whitespace; shared by the package's parsers.
    package var trimmingWhitespace: String {
        var scalars = Substring(self)
        while scalars.first?.isWhitespace == true { scalars = scalars.dropFirst() }
        while scalars.last?.isWhitespace == true { scalars = scalars.dropLast() }
        return String(scalars)
    }

    /// The text as a double-quoted JSON string (also a valid TOML basic string): `"`, `\\` and
    /// control characters escaped, nothing else. Shared by the audit log's canonical form, whose
    /// hashed bytes must never change, the control protocol and the configuration rendering.
    package var quotedForJSON: String {
        var result = "\""
        for scalar in unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}

extension Mass: Codable {
    /// Encoded as its bare integer, so stored records stay readable and exact.
    public init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer().decode(Int64.self)
        self = Mass(grams: value)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(grams)
    }
}
