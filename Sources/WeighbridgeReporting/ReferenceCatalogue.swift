internal import DefraReferenceSeed
internal import Synchronization
internal import WeighbridgeJSON

/// Defra's reference lists, as the receipt body is validated against them before sending.
///
/// Built from the JSON the API serves (`GET /reference-data/{list}`); the daemon starts from the
/// seed copy it ships and replaces it with each day's refresh, cached in the store.
public struct ReferenceCatalogue: Sendable, Hashable {
    /// The path segment of each list in the API, in the order they are refreshed.
    public static let lists = [
        "ewc-codes", "container-types", "disposal-or-recovery-codes", "hazardous-property-codes", "pop-names",
    ]

    /// Six-digit EWC code → whether Defra treats it as hazardous.
    public private(set) var ewcHazardous: [String: Bool] = [:]
    public private(set) var containerTypes: Set<String> = []
    public private(set) var disposalOrRecoveryCodes: Set<String> = []
    public private(set) var hazardousPropertyCodes: Set<String> = []
    public private(set) var popCodes: Set<String> = []

    /// The catalogue from each list's JSON text, keyed by list name; every list must be present
    /// and well formed, or the error names the one that is not.
    public init(lists texts: [String: String]) throws(ReferenceDataError) {
        for list in Self.lists {
            guard let text = texts[list] else { throw ReferenceDataError(list: list, reason: "missing") }
            try apply(list: list, text: text)
        }
    }

    /// The lists Defra published, as shipped with the daemon.
    public static func seed() -> ReferenceCatalogue {
        do {
            return try ReferenceCatalogue(lists: SeedLists.all)
        } catch {
            preconditionFailure("the shipped reference lists do not parse: \(error)")
        }
    }

    private mutating func apply(list: String, text: String) throws(ReferenceDataError) {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: Array(text.utf8))
        } catch {
            throw ReferenceDataError(list: list, reason: error.description)
        }
        guard case .array(let items) = value, !items.isEmpty else {
            throw ReferenceDataError(list: list, reason: "expected a non-empty array")
        }
        switch list {
        case "ewc-codes":
            var table: [String: Bool] = [:]
            for item in items {
                guard case .string(let code)? = item.field("code"), code.count == 6, code.allSatisfy(\.isASCIIDigit),
                    case .bool(let hazardous)? = item.field("isHazardous")
                else { throw ReferenceDataError(list: list, reason: "an entry lacks a six-digit code or isHazardous") }
                table[code] = hazardous
            }
            ewcHazardous = table
        case "disposal-or-recovery-codes":
            disposalOrRecoveryCodes = try Set(
                items.map { item throws(ReferenceDataError) in
                    guard case .string(let code) = item else {
                        throw ReferenceDataError(list: list, reason: "expected strings")
                    }
                    return code
                })
        default:
            let codes = try items.map { item throws(ReferenceDataError) in
                guard case .string(let code)? = item.field("code") else {
                    throw ReferenceDataError(list: list, reason: "an entry lacks its code")
                }
                return code
            }
            switch list {
            case "container-types": containerTypes = Set(codes)
            case "hazardous-property-codes": hazardousPropertyCodes = Set(codes)
            case "pop-names": popCodes = Set(codes)
            default: throw ReferenceDataError(list: list, reason: "not a list this daemon knows")
            }
        }
    }
}

/// The catalogue in force, shared by the receipt document and the daily refresh.
public final class ReferenceCatalogueCache: Sendable {
    private let catalogue: Mutex<ReferenceCatalogue>

    /// A cache holding `catalogue` until it is replaced.
    public init(_ catalogue: ReferenceCatalogue) { self.catalogue = Mutex(catalogue) }

    /// The lists in force now.
    public var current: ReferenceCatalogue { catalogue.withLock { $0 } }

    /// Puts newly refreshed lists in force.
    public func replace(with fresh: ReferenceCatalogue) { catalogue.withLock { $0 = fresh } }
}

/// A reference list that could not be used; the previous copy stays in force.
public struct ReferenceDataError: Error, Sendable, Hashable, CustomStringConvertible {
    public var list: String
    public var reason: String

    public var description: String { "reference list \(list): \(reason)" }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
