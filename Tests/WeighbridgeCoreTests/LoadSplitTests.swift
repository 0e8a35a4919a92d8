import PropertyBased
import Testing
import WeighbridgeCore

@Suite("Dividing a load's net among its waste items")
struct LoadSplitTests {
    private func kilograms(_ values: [Int64]) -> [Mass] { values.map { Mass($0, .kilograms) } }

    @Test(
        "parts in whole kilograms, adding up exactly; leftover kilograms to the largest remainders, earlier first",
        arguments: [
            // Shares that add up to the net come back unchanged.
            (12_340, [8_000, 4_340], [8_000, 4_340]),
            // 10 000 / 3 = 3 333.33 each: one kilogram left, to the first of three equal remainders.
            (10_000, [1, 1, 1], [3_334, 3_333, 3_333]),
            // Declared 6 t + 4 t, weighed 10 006 kg: 6 003.6 and 4 002.4 → 6 003 + 4 002, the
            // leftover kilogram to the first (remainder 0.6 beats 0.4).
            (10_006, [6_000, 4_000], [6_004, 4_002]),
            // 100 kg by 1:2:3:4 is exact.
            (100, [1, 2, 3, 4], [10, 20, 30, 40]),
            // 8 kg among 3 equal shares: two leftover kilograms, to the first two.
            (8, [5, 5, 5], [3, 3, 2]),
            // The later item takes the leftover when its remainder is larger: 11 × 3/4 = 8.25, 11 × 1/4 = 2.75.
            (11, [3, 1], [8, 3]),
        ] as [(Int64, [Int64], [Int64])])
    func divides(net: Int64, shares: [Int64], expected: [Int64]) throws {
        let parts = try LoadSplit.divide(Mass(net, .kilograms), byShares: kilograms(shares))
        #expect(parts == kilograms(expected))
        #expect(parts.reduce(Mass.zero, +) == Mass(net, .kilograms))
    }

    @Test("a net that is not whole kilograms is divided in grams")
    func gramsWhenTheNetIsNotWholeKilograms() throws {
        let net = Mass(grams: 1_000_001)
        let parts = try LoadSplit.divide(net, byShares: [Mass(1, .tonnes), Mass(1, .tonnes)])
        #expect(parts == [Mass(grams: 500_001), Mass(grams: 500_000)])
        #expect(LoadSplit.unit(of: net) == Mass(grams: 1))
        #expect(LoadSplit.unit(of: Mass(12_340, .kilograms)) == Mass(1, .kilograms))
    }

    @Test("shares in other units are proportions all the same: 2.5 t and 500 kg are 5 to 1")
    func sharesInMixedUnits() throws {
        let parts = try LoadSplit.divide(
            Mass(6_000, .kilograms), byShares: [Mass(grams: 2_500_000), Mass(500, .kilograms)])
        #expect(parts == kilograms([5_000, 1_000]))
    }

    @Test("refused: no items, a share of zero, a net of zero, an item that would come to nothing, shares past any mass")
    func refusals() {
        #expect(throws: LoadSplit.Refusal.noItems) { try LoadSplit.divide(Mass(1, .kilograms), byShares: []) }
        #expect(throws: LoadSplit.Refusal.shareNotPositive(item: 1)) {
            try LoadSplit.divide(Mass(10, .kilograms), byShares: self.kilograms([1, 0]))
        }
        #expect(throws: LoadSplit.Refusal.netNotPositive(.zero)) {
            try LoadSplit.divide(.zero, byShares: self.kilograms([1]))
        }
        #expect(throws: LoadSplit.Refusal.itemComesToNothing(item: 1, unit: Mass(1, .kilograms))) {
            try LoadSplit.divide(Mass(10, .kilograms), byShares: self.kilograms([10_000, 1]))
        }
        #expect(throws: LoadSplit.Refusal.sharesTooLarge) {
            try LoadSplit.divide(Mass(10, .kilograms), byShares: [Mass(grams: .max), Mass(grams: 1)])
        }
    }

    @Test("40 t nets and shares given in grams do not overflow: the products are taken at full width")
    func noOverflow() throws {
        let shares = [Mass(grams: 9_000_000_000_000), Mass(grams: 1_000_000_000_000)]
        let parts = try LoadSplit.divide(Mass(grams: 40_000_001), byShares: shares)
        #expect(parts == [Mass(grams: 36_000_001), Mass(grams: 4_000_000)])
    }

    @Test("property: the parts add up to the net, and none is more than one unit from its exact proportion")
    func partsAreExactAndFair() async {
        await propertyCheck(
            count: 2_000, input: Gen.int64(in: 1...80_000), Gen.int64(in: 1...50_000_000).array(of: 1...8)
        ) { netKilograms, shareGrams in
            let net = Mass(netKilograms, .kilograms)
            let shares = shareGrams.map(Mass.init(grams:))
            guard let parts = try? LoadSplit.divide(net, byShares: shares) else {
                // Only a share too small to come to a kilogram is refused.
                let total = shareGrams.reduce(0, +)
                #expect(shareGrams.contains { $0 * netKilograms < total })
                return
            }
            #expect(parts.reduce(Mass.zero, +) == net)
            let total = shareGrams.reduce(0, +)
            for (part, share) in zip(parts, shareGrams) {
                // |part − net × share / total| < 1 kg, cross-multiplied by total.
                let exact = netKilograms * share
                #expect(abs(part.grams / 1_000 * total - exact) < total)
            }
        }
    }
}
