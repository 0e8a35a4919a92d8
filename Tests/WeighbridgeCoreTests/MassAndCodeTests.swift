import PropertyBased
import Testing
import WeighbridgeCore

@Suite("Mass: integer grams, exact parsing and formatting")
struct MassTests {
    @Test(
        "written masses parse exactly into grams",
        arguments: [
            ("12000", MassUnit.kilograms, 12_000_000), ("12000.5", .kilograms, 12_000_500),
            ("12.5 t", .kilograms, 12_500_000), ("12.5t", .kilograms, 12_500_000), ("500 g", .kilograms, 500),
            ("0.001", .kilograms, 1), ("100 t", .kilograms, 100_000_000), ("0.000001 t", .kilograms, 1),
            ("  42 KG ", .grams, 42_000), ("+7", .kilograms, 7_000), ("12000.500", .kilograms, 12_000_500),
            ("20", .grams, 20),
        ] as [(String, MassUnit, Int64)])
    func parses(text: String, unit: MassUnit, grams: Int64) throws {
        #expect(try Mass(parsing: text, defaultUnit: unit).grams == grams)
    }

    @Test("finer than a gram, negative, empty, malformed or absurd input is refused, never rounded")
    func refuses() {
        #expect(throws: MassParseError.tooPrecise("0.0005", unit: .kilograms)) {
            try Mass(parsing: "0.0005", defaultUnit: .kilograms)
        }
        #expect(throws: MassParseError.tooPrecise("1.5 g", unit: .grams)) {
            try Mass(parsing: "1.5 g", defaultUnit: .kilograms)
        }
        #expect(throws: MassParseError.negative("-5")) { try Mass(parsing: "-5", defaultUnit: .kilograms) }
        #expect(throws: MassParseError.empty) { try Mass(parsing: "  ", defaultUnit: .kilograms) }
        #expect(throws: MassParseError.unknownUnit("lb")) { try Mass(parsing: "12 lb", defaultUnit: .kilograms) }
        #expect(throws: MassParseError.tooLarge("99999999999999999999")) {
            try Mass(parsing: "99999999999999999999", defaultUnit: .kilograms)
        }
        for bad in ["12,000", "1.2.3", ".5", "5.", "1e3", "twelve", "12 000"] {
            #expect(throws: MassParseError.notANumber(bad)) { try Mass(parsing: bad, defaultUnit: .kilograms) }
        }
    }

    @Test("formatting is exact with no trailing zeros")
    func formats() {
        #expect(Mass(grams: 12_000_500).formatted(in: .kilograms) == "12000.5")
        #expect(Mass(grams: 12_000_000).formatted(in: .kilograms) == "12000")
        #expect(Mass(grams: 1).formatted(in: .tonnes) == "0.000001")
        #expect(Mass(grams: -250).formatted(in: .kilograms) == "-0.25")
        #expect(Mass(grams: 12_500_000).formatted(in: .tonnes) == "12.5")
        #expect(Mass(grams: 1_499).roundedKilograms == 1)
        #expect(Mass(grams: 1_500).roundedKilograms == 2)
        #expect(Mass(grams: -1_500).roundedKilograms == -2)
    }

    @Test("property: format then parse returns the same grams in every unit")
    func roundTrip() async {
        await propertyCheck(
            count: 1_000, input: Gen.int64(in: 0...1_000_000_000_000),
            Gen<MassUnit>.case
        ) { grams, unit in
            let text = Mass(grams: grams).formatted(in: unit)
            #expect((try? Mass(parsing: text, defaultUnit: unit))?.grams == grams)
        }
    }
}

@Suite("EWC codes")
struct EWCCodeTests {
    @Test(
        "every accepted form reads as the same six digits",
        arguments: [
            "16 06 05", "160605", "16.06.05", " 16 06 05 ",
        ])
    func acceptedForms(text: String) throws {
        let code = try EWCCode(parsing: text)
        #expect(code.compact == "160605")
        #expect(code.spaced == "16 06 05")
        #expect(!code.isMarkedHazardous)
    }

    @Test("an asterisk marks a hazardous entry and does not change identity")
    func asterisk() throws {
        let marked = try EWCCode(parsing: "20 01 33*")
        #expect(marked.isMarkedHazardous)
        #expect(marked == (try EWCCode(parsing: "200133")))
        #expect(marked.description == "20 01 33*")
        #expect(try EWCCode(parsing: "200133 *").isMarkedHazardous)
    }

    @Test("malformed codes get a specific error")
    func refuses() {
        #expect(throws: EWCCodeError.empty) { try EWCCode(parsing: "") }
        #expect(throws: EWCCodeError.wrongLength("16065")) { try EWCCode(parsing: "16065") }
        #expect(throws: EWCCodeError.wrongLength("1606055")) { try EWCCode(parsing: "1606055") }
        #expect(throws: EWCCodeError.mixedSeparators("16 06.05")) { try EWCCode(parsing: "16 06.05") }
        #expect(throws: EWCCodeError.wrongGrouping("160 605")) { try EWCCode(parsing: "160 605") }
        #expect(throws: EWCCodeError.wrongGrouping("16  06 05")) { try EWCCode(parsing: "16  06 05") }
        #expect(throws: EWCCodeError.invalidCharacter("16-06-05", "-")) { try EWCCode(parsing: "16-06-05") }
        #expect(throws: EWCCodeError.invalidCharacter("16 06 0A", "A")) { try EWCCode(parsing: "16 06 0A") }
        #expect(throws: EWCCodeError.unknownChapter("21 01 01", 21)) { try EWCCode(parsing: "21 01 01") }
        #expect(throws: EWCCodeError.unknownChapter("000000", 0)) { try EWCCode(parsing: "000000") }
        #expect(throws: EWCCodeError.self) { try EWCCode(parsing: "16 06 05**") }
    }
}

@Suite("Timestamps and RFC 3339")
struct TimestampTests {
    @Test("RFC 3339 with zones and fractions reads to the millisecond")
    func parses() {
        #expect(Timestamp(rfc3339: "1970-01-01T00:00:00Z")?.millisecondsSinceEpoch == 0)
        #expect(Timestamp(rfc3339: "2026-11-25T08:30:00Z")?.rfc3339 == "2026-11-25T08:30:00.000Z")
        #expect(Timestamp(rfc3339: "2026-11-25T09:30:00.5+01:00")?.rfc3339 == "2026-11-25T08:30:00.500Z")
        #expect(Timestamp(rfc3339: "2024-02-29T23:59:59.999999-00:30")?.rfc3339 == "2024-03-01T00:29:59.999Z")
        #expect(Timestamp(rfc3339: "1969-12-31T23:59:59.999Z")?.millisecondsSinceEpoch == -1)
        for bad in [
            "2026-11-25", "2026-11-25T08:30:00", "2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
            "2026-11-25T24:00:00Z", "2026-11-25T08:30:00.Z", "2026-11-25T08:30:00Zjunk",
        ] {
            #expect(Timestamp(rfc3339: bad) == nil, "\(bad) should not parse")
        }
    }

    @Test("property: days and civil dates convert both ways")
    func civilRoundTrip() async {
        await propertyCheck(count: 1_000, input: Gen.int64(in: -1_000_000...1_000_000)) { days in
            #expect(CivilDate(daysSinceEpoch: days).daysSinceEpoch == days)
        }
        #expect(CivilDate(year: 2026, month: 11, day: 25).isoWeekday == 3)
    }
}
