/// A percentage held exactly, to four decimal places ("5", "2.5", "0.125").
///
/// The tolerance is a legal and commercial threshold, so it is compared in integers: a binary
/// floating-point 5% is not exactly 5%.
public struct Percentage: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Ten-thousandths of a percent: 5% is 50 000.
    public let tenThousandths: Int64

    /// The scale of `tenThousandths`.
    public static let scale: Int64 = 10_000

    /// A whole-number percentage.
    public init(_ whole: Int64) {
        self.tenThousandths = whole * Self.scale
    }

    /// A percentage from ten-thousandths of a percent.
    public init(tenThousandths: Int64) {
        self.tenThousandths = tenThousandths
    }

    /// Reads "5", "2.5" or "0.0125". At most four decimal places; no sign, no exponent.
    public init?(parsing text: String) {
        let parts = text.trimmingWhitespace.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].count <= 9,
            parts[0].allSatisfy(\.isASCIIDigit),
            parts.count == 1 || (!parts[1].isEmpty && parts[1].allSatisfy(\.isASCIIDigit))
        else { return nil }
        var fraction = parts.count == 2 ? parts[1] : ""
        while fraction.last == "0" { fraction = fraction.dropLast() }
        guard fraction.count <= 4, let whole = Int64(parts[0]) else { return nil }
        let padded = fraction + String(repeating: "0", count: 4 - fraction.count)
        self.tenThousandths = whole * Self.scale + (Int64(padded) ?? 0)
    }

    public static func < (lhs: Percentage, rhs: Percentage) -> Bool { lhs.tenThousandths < rhs.tenThousandths }

    /// "5", "2.5", "0.0125".
    public var description: String {
        let whole = tenThousandths / Self.scale
        var fraction = tenThousandths % Self.scale
        guard fraction != 0 else { return String(whole) }
        var places = 4
        while fraction % 10 == 0 {
            fraction /= 10
            places -= 1
        }
        let digits = String(fraction)
        return "\(whole)." + String(repeating: "0", count: places - digits.count) + digits
    }
}

/// How far a received net weight is from the declared weight, and whether that is acceptable.
public struct WeightDeviation: Sendable, Hashable, Codable {
    /// The weight the producer or carrier declared.
    public let declared: Mass
    /// The certified net weight received.
    public let received: Mass
    /// The tolerance it was judged against.
    public let tolerance: Percentage

    /// Whether `100 × |received − declared| ≤ tolerance × declared` (inclusive, exact).
    public let isWithinTolerance: Bool

    /// Judges `received` against `declared` with `tolerance`. A declared weight of zero or less is
    /// invalid input and throws: it must never be read as "within tolerance".
    public init(declared: Mass, received: Mass, tolerance: Percentage) throws(DeviationError) {
        guard declared.grams > 0 else { throw .declaredNotPositive(declared) }
        guard received.grams >= 0 else { throw .receivedNegative(received) }
        self.declared = declared
        self.received = received
        self.tolerance = tolerance
        // 100 × |net − declared| × scale ≤ tolerance(in ten-thousandths) × declared, in 128 bits so
        // that no pair of Int64 masses can overflow.
        let difference = Int128(received.grams) - Int128(declared.grams)
        let lhs = 100 * difference.magnitude * UInt128(Percentage.scale)
        let rhs = UInt128(tolerance.tenThousandths) * UInt128(declared.grams)
        self.isWithinTolerance = lhs <= rhs
    }

    /// The signed deviation in percent of the declared weight, rounded half away from zero to two
    /// decimal places (the brief's `deviation_percent`): "+5.00", "-4.99", "0.00". Exact integer
    /// arithmetic.
    public func percentText() -> String {
        let scale: Int128 = 100
        let numerator = (Int128(received.grams) - Int128(declared.grams)) * 100 * scale
        let denominator = Int128(declared.grams)
        var (quotient, remainder) = numerator.magnitude.quotientAndRemainder(dividingBy: denominator.magnitude)
        if remainder * 2 >= denominator.magnitude { quotient += 1 }
        let whole = quotient / UInt128(scale)
        let fraction = quotient % UInt128(scale)
        let sign = numerator < 0 && quotient != 0 ? "-" : (quotient != 0 ? "+" : "")
        return sign + String(whole) + "." + (fraction < 10 ? "0" : "") + String(fraction)
    }
}

/// Why a deviation could not be judged.
public enum DeviationError: Error, Sendable, Equatable, CustomStringConvertible {
    case declaredNotPositive(Mass)
    case receivedNegative(Mass)

    public var description: String {
        switch self {
        case .declaredNotPositive(let mass):
            "declared weight \(mass) is not positive; a deviation from it cannot be judged"
        case .receivedNegative(let mass):
            "received weight \(mass) is negative"
        }
    }
}

extension Percentage: Codable {
    /// Encoded as its bare integer, so stored records stay readable and exact.
    public init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer().decode(Int64.self)
        self = Percentage(tenThousandths: value)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(tenThousandths)
    }
}
