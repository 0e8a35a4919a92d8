import PropertyBased
import Testing
import WeighbridgeCore

@Suite("Tolerance rule: 100 × |net − declared| ≤ p × declared")
struct ToleranceTests {
    private func judge(declaredKg: Int64, netGrams: Int64, tolerance: String = "5") throws -> Bool {
        try WeightDeviation(
            declared: Mass(declaredKg, .kilograms), received: Mass(grams: netGrams),
            tolerance: Percentage(parsing: tolerance)!
        ).isWithinTolerance
    }

    @Test(
        "exactly 5% above and below is within; one kilogram or one gram more is not",
        arguments: [
            (10_500_000, true), (9_500_000, true), (10_501_000, false), (9_499_000, false),
            (10_500_001, false), (9_499_999, false), (10_000_000, true),
        ] as [(Int64, Bool)])
    func fivePercentBoundary(netGrams: Int64, expected: Bool) throws {
        #expect(try judge(declaredKg: 10_000, netGrams: netGrams) == expected)
    }

    @Test(
        "2.5% tolerance is exact at its boundary",
        arguments: [
            (10_250_000, true), (9_750_000, true), (10_250_001, false), (9_749_999, false),
        ] as [(Int64, Bool)])
    func twoAndAHalfPercent(netGrams: Int64, expected: Bool) throws {
        #expect(try judge(declaredKg: 10_000, netGrams: netGrams, tolerance: "2.5") == expected)
    }

    @Test("declared 1 kg: 50 g either way is the whole tolerance")
    func declaredOneKilogram() throws {
        #expect(try judge(declaredKg: 1, netGrams: 1_050))
        #expect(try judge(declaredKg: 1, netGrams: 950))
        #expect(try !judge(declaredKg: 1, netGrams: 1_051))
        #expect(try !judge(declaredKg: 1, netGrams: 949))
    }

    @Test("100 t in grams does not overflow and keeps gram precision")
    func hundredTonnes() throws {
        #expect(try judge(declaredKg: 100_000, netGrams: 105_000_000))
        #expect(try !judge(declaredKg: 100_000, netGrams: 105_000_001))
        // The largest masses an Int64 holds still compare exactly (128-bit intermediate).
        let huge = Mass(grams: Int64.max / 2)
        let deviation = try WeightDeviation(declared: huge, received: huge + Mass(grams: 1), tolerance: Percentage(0))
        #expect(!deviation.isWithinTolerance)
    }

    @Test("zero tolerance accepts only the exact weight")
    func zeroTolerance() throws {
        #expect(try judge(declaredKg: 12_000, netGrams: 12_000_000, tolerance: "0"))
        #expect(try !judge(declaredKg: 12_000, netGrams: 12_000_001, tolerance: "0"))
    }

    @Test("a declared weight of zero or less is invalid input, never a pass")
    func declaredNotPositive() {
        #expect(throws: DeviationError.declaredNotPositive(.zero)) {
            try WeightDeviation(declared: .zero, received: .zero, tolerance: Percentage(5))
        }
        #expect(throws: DeviationError.self) {
            try WeightDeviation(declared: Mass(grams: -1), received: .zero, tolerance: Percentage(5))
        }
    }

    @Test(
        "deviation text is rounded half away from zero to two places",
        arguments: [
            (10_500_000, "+5.00"), (9_500_000, "-5.00"), (10_502_000, "+5.02"), (10_000_000, "0.00"),
            (9_999_999, "0.00"), (10_000_500, "+0.01"), (9_999_500, "-0.01"), (10_000_499, "0.00"),
        ] as [(Int64, String)])
    func deviationText(netGrams: Int64, expected: String) throws {
        let deviation = try WeightDeviation(
            declared: Mass(10_000, .kilograms), received: Mass(grams: netGrams),
            tolerance: Percentage(5))
        #expect(deviation.percentText() == expected)
    }

    @Test("percentages parse exactly, to four places")
    func percentageParsing() {
        #expect(Percentage(parsing: "5")?.tenThousandths == 50_000)
        #expect(Percentage(parsing: "2.5")?.tenThousandths == 25_000)
        #expect(Percentage(parsing: "0.0125")?.tenThousandths == 125)
        #expect(Percentage(parsing: "2.50000")?.description == "2.5")
        for bad in ["", "-5", "5%", "1e2", "0.00001", ".5", "5.", "five"] {
            #expect(Percentage(parsing: bad) == nil, "\(bad) should not parse")
        }
    }

    @Test("property: the rule agrees with a rational reference for random masses and tolerances")
    func agreesWithReference() async {
        await propertyCheck(
            count: 2_000, input: Gen.int64(in: 1...200_000_000), Gen.int64(in: 0...400_000_000),
            Gen.int64(in: 0...200_000)
        ) { declared, net, tolerance in
            let deviation = try? WeightDeviation(
                declared: Mass(grams: declared), received: Mass(grams: net),
                tolerance: Percentage(tenThousandths: tolerance))
            // Reference: |net − declared| / declared ≤ tolerance / (100 × 10 000), cross-multiplied.
            let reference = abs(net - declared) * 1_000_000 <= tolerance * declared
            #expect(deviation?.isWithinTolerance == reference)
        }
    }
}
