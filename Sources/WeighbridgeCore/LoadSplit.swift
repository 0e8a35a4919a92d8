/// How the weighed net of one load is divided among the waste items it carries (docs/operators-guide.md,
/// "Several waste items in one load").
///
/// The bridge weighs the whole load, never an item. Each item's share is the weight the site's
/// system or the operator gave it; the net is divided in proportion to the shares, in whole
/// kilograms (in whole grams when the net itself is not a whole number of kilograms), so that the
/// items always add up exactly to the net. Each item first gets the whole units its proportion
/// holds, rounded down; the units left over go one each to the items whose proportions lost the
/// most to that rounding, the earlier item first where two lost the same. Shares that already add
/// up to the net come back unchanged.
public enum LoadSplit {
    /// Why a load cannot be divided.
    public enum Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        case noItems
        /// The item at this index has a share of zero or less.
        case shareNotPositive(item: Int)
        /// The net is zero or less.
        case netNotPositive(Mass)
        /// The item at this index comes to nothing: its share is too small a part of the load.
        case itemComesToNothing(item: Int, unit: Mass)
        /// The shares add up to more than a mass can hold.
        case sharesTooLarge

        public var description: String {
            switch self {
            case .noItems: "no items to divide the net among"
            case .shareNotPositive(let item): "item \(item): its share must be more than zero"
            case .netNotPositive(let net): "the net \(net) must be more than zero"
            case .itemComesToNothing(let item, let unit):
                "item \(item): its share is less than \(unit) of the net, so it comes to nothing"
            case .sharesTooLarge: "the shares add up to more than any load can weigh"
            }
        }
    }

    /// The unit the net is divided in: a kilogram, or a gram when the net is not whole kilograms.
    public static func unit(of net: Mass) -> Mass {
        net.isMultiple(of: Mass(1, .kilograms)) ? Mass(1, .kilograms) : Mass(grams: 1)
    }

    /// Each item's part of `net`, in the order of `shares`; the parts add up exactly to `net`.
    public static func divide(_ net: Mass, byShares shares: [Mass]) throws(Refusal) -> [Mass] {
        guard !shares.isEmpty else { throw .noItems }
        guard net.grams > 0 else { throw .netNotPositive(net) }
        if let index = shares.firstIndex(where: { $0.grams <= 0 }) { throw .shareNotPositive(item: index) }
        let unit = unit(of: net)
        let units = net.grams / unit.grams
        var total: Int64 = 0
        for share in shares {
            let (sum, overflow) = total.addingReportingOverflow(share.grams)
            guard !overflow else { throw .sharesTooLarge }
            total = sum
        }
        // units × share can exceed 64 bits (a 40 t net in grams times a share in grams): the
        // products are taken at full width, so no proportion is rounded before its division.
        var parts: [Int64] = []
        var remainders: [Int64] = []
        for share in shares {
            let product = units.multipliedFullWidth(by: share.grams)
            let (quotient, remainder) = total.dividingFullWidth(product)
            parts.append(quotient)
            remainders.append(remainder)
        }
        let leftOver = units - parts.reduce(0, +)
        let favoured = remainders.indices.sorted { (remainders[$0], -$0) > (remainders[$1], -$1) }
        for index in favoured.prefix(Int(leftOver)) { parts[index] += 1 }
        if let index = parts.firstIndex(of: 0) { throw .itemComesToNothing(item: index, unit: unit) }
        return parts.map { Mass(grams: $0 * unit.grams) }
    }
}
