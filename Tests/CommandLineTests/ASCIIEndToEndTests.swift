import Foundation
import TestSupport
import Testing

/// ASCII indicators through the whole product: weighbridge-sim speaking SMA, Toledo continuous or Dini
/// over a pty pair or TCP, weighbridged reading it, dwt-sandbox receiving the report.
@Suite(
    "End to end over ASCII: weighbridge-sim (SMA, Toledo continuous, Dini) → weighbridged → dwt-sandbox", .serialized)
struct ASCIIEndToEndTests {
    static let formats = ["sma", "toledo-continuous", "toledo-continuous-checksum", "dini"]

    @Test(
        "a two-pass visit is captured and confirmed once, over each format, on a pty and over TCP",
        arguments: formats, [true, false])
    func captureIsReported(format: String, overPty: Bool) async throws {
        let site = try await SiteHarness(profile: .brief, indicator: .ascii(format: format, overPty: overPty))
        try await site.start()
        try await site.expect("A-1", declaredKg: 10_000, vehicle: "AS12CII")
        try await site.visit("A-1", grossKg: 22_040, tareKg: 12_000)
        try await site.waitForReports(of: "A-1", state: "done")
        let confirmations = try await site.sandboxRequests().filter { $0.path == "/confirmations/A-1" }
        #expect(confirmations.count == 1)
        #expect(confirmations.first?.body.contains(#""received_weight_kg":10040"#) == true, "\(confirmations)")
        // Each weighing keeps the frame it was captured from, and no registers.
        let evidence = try await onOwnThread {
            try runToCompletion(
                URL(fileURLWithPath: "/usr/bin/sqlite3"),
                [
                    site.storeDirectory + "/weighbridged.sqlite",
                    "SELECT count(*) FROM weighings WHERE length(raw_frame) > 0 AND length(raw_registers) = 0",
                ])
        }
        #expect(evidence.output.trimmingCharacters(in: .whitespacesAndNewlines) == "2", "\(evidence)")
        // A Dini weighing carries the id its alibi memory gave it (00000-000001 and -000002).
        let legalIDs = try await onOwnThread {
            try runToCompletion(
                URL(fileURLWithPath: "/usr/bin/sqlite3"),
                [
                    site.storeDirectory + "/weighbridged.sqlite",
                    "SELECT ifnull(legal_id, '-') FROM weighings ORDER BY ticket",
                ])
        }
        #expect(legalIDs.output == (format == "dini" ? "1\n2\n" : "-\n-\n"), "\(legalIDs)")
    }

    @Test(
        "a generic description of Toledo's frames: captured and confirmed once, on a pty and over TCP",
        arguments: [true, false])
    func genericCaptureIsReported(overPty: Bool) async throws {
        let frame = """
            start = "\\u0002"
            end = "\\r"
            length = 17
            weight = { offset = 4, length = 6 }
            decimals = 0
            motion = { offset = 2, mask = 0x08 }
            negative = { offset = 2, mask = 0x02 }
            """
        let site = try await SiteHarness(
            profile: .brief, indicator: .ascii(format: "toledo-continuous", overPty: overPty, frame: frame))
        try await site.start()
        try await site.expect("G-1", declaredKg: 10_000, vehicle: "GE12NRC")
        try await site.visit("G-1", grossKg: 21_960, tareKg: 12_000)
        try await site.waitForReports(of: "G-1", state: "done")
        let confirmations = try await site.sandboxRequests().filter { $0.path == "/confirmations/G-1" }
        #expect(confirmations.count == 1)
        #expect(confirmations.first?.body.contains(#""received_weight_kg":9960"#) == true, "\(confirmations)")
        let probe = try await run("weighbridged", ["probe", "--config", site.configuration, "--bridge", "inbound"])
        #expect(probe.output.contains("inbound (generic (listened) on "), "\(probe.output)")
        #expect(probe.output.contains("gross       0 kg"), "\(probe.output)")
    }

    @Test("probe shows the frames received and the reading, over each format", arguments: formats)
    func probeShowsFrames(format: String) async throws {
        let site = try await SiteHarness(profile: .brief, indicator: .ascii(format: format, overPty: false))
        let result = try await run("weighbridged", ["probe", "--config", site.configuration, "--bridge", "inbound"])
        #expect(result.status == 0, "\(result.output) \(result.error)")
        #expect(result.output.contains("received    \""), "\(result.output)")
        let start = ["sma": "\\nZ1G", "dini": "ST,GS,"][format] ?? "\\x02"
        #expect(result.output.contains(start), "\(result.output)")
        #expect(result.output.contains("gross       0 kg"), "\(result.output)")
    }

    @Test("probe of a silent indicator says nothing came and exits 69")
    func probeOfSilence() async throws {
        let site = try await SiteHarness(
            profile: .brief, indicator: .ascii(format: "toledo-continuous", overPty: false))
        try await site.sim("fault silence")
        let result = try await run("weighbridged", ["probe", "--config", site.configuration, "--bridge", "inbound"])
        #expect(result.status == 69, "\(result.output) \(result.error)")
        #expect(result.output.contains("nothing received within 2000 ms"), "\(result.output)")
    }
}
