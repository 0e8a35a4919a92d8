/// A European Waste Catalogue (List of Wastes) code: chapter, sub-chapter and entry, two digits each.
///
/// People write the same code several ways ("16 06 05", "160605", "16.06.05"), and the catalogue
/// marks hazardous entries with an asterisk ("20 01 33*"). Two codes are equal when their six
/// digits are; the asterisk is kept as what the writer asserted, not as part of the identity.
public struct EWCCode: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The six digits, without separators: "160605".
    public let digits: String
    /// Whether the code was written with the catalogue's hazardous-entry asterisk.
    public let isMarkedHazardous: Bool

    /// Reads a code in any of the accepted forms; anything else throws a specific error.
    public init(parsing text: String) throws(EWCCodeError) {
        var body = Substring(text.trimmingWhitespace)
        guard !body.isEmpty else { throw .empty }
        var marked = false
        if body.last == "*" {
            marked = true
            body = Substring(String(body.dropLast()).trimmingWhitespace)
        }
        let separators: Set<Character> = [" ", "."]
        let used = Set(body.filter { separators.contains($0) })
        if let bad = body.first(where: { !$0.isASCIIDigit && !separators.contains($0) }) {
            throw .invalidCharacter(text, bad)
        }
        guard used.count <= 1 else { throw .mixedSeparators(text) }
        let groups = used.isEmpty ? [body] : body.split(separator: used.first!, omittingEmptySubsequences: false)
        let digits: String
        if groups.count == 1 {
            guard body.count == 6 else { throw .wrongLength(text) }
            digits = String(body)
        } else {
            guard groups.count == 3, groups.allSatisfy({ $0.count == 2 }) else { throw .wrongGrouping(text) }
            digits = groups.joined()
        }
        let chapter = Int(digits.prefix(2))!
        guard (1...20).contains(chapter) else { throw .unknownChapter(text, chapter) }
        self.digits = digits
        self.isMarkedHazardous = marked
    }

    /// The form the brief's API uses: "16 06 05".
    public var spaced: String {
        let characters = Array(digits)
        return "\(characters[0])\(characters[1]) \(characters[2])\(characters[3]) \(characters[4])\(characters[5])"
    }

    /// The form Defra's Receipt API uses: "160605".
    public var compact: String { digits }

    /// The spaced form with the asterisk if it was marked hazardous: "20 01 33*".
    public var description: String { spaced + (isMarkedHazardous ? "*" : "") }

    public static func == (lhs: EWCCode, rhs: EWCCode) -> Bool { lhs.digits == rhs.digits }
    public func hash(into hasher: inout Hasher) { hasher.combine(digits) }
    public static func < (lhs: EWCCode, rhs: EWCCode) -> Bool { lhs.digits < rhs.digits }
}

/// Why a text is not an EWC code.
public enum EWCCodeError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case invalidCharacter(String, Character)
    case mixedSeparators(String)
    case wrongLength(String)
    case wrongGrouping(String)
    case unknownChapter(String, Int)

    public var description: String {
        let forms = "write it as \"16 06 05\", \"160605\" or \"16.06.05\""
        switch self {
        case .empty:
            return "an EWC code is required but the text is empty"
        case .invalidCharacter(let text, let character):
            return "EWC code \"\(text)\" contains \"\(character)\"; \(forms)"
        case .mixedSeparators(let text):
            return "EWC code \"\(text)\" mixes separators; \(forms)"
        case .wrongLength(let text):
            return "EWC code \"\(text)\" does not have six digits; \(forms)"
        case .wrongGrouping(let text):
            return "EWC code \"\(text)\" is not three pairs of digits; \(forms)"
        case .unknownChapter(let text, let chapter):
            return "EWC code \"\(text)\" has chapter \(chapter); the catalogue's chapters are 01 to 20"
        }
    }
}

extension EWCCode: Codable {
    /// Encoded in its written form ("20 01 33*"), and validated again when read back.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            self = try EWCCode(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
