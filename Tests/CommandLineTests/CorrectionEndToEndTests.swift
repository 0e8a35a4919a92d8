import Foundation
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite("End to end: correcting an accepted Defra receipt with weighbridgectl correct")
struct CorrectionEndToEndTests {
    @Test("the correction is PUT exactly once, though the daemon is SIGKILLed while it waits to be sent")
    func correctionAcrossSigkill() async throws {
        let site = try await SiteHarness(profile: .defraReceipt)
        try await site.start()
        try await site.expect("E-COR", declaredKg: 10_000, vehicle: "AB12CDE")
        try await site.visit("E-COR", grossKg: 22_040, tareKg: 12_000)
        try await site.waitForReports(of: "E-COR", state: "done")
        let receipt = try #require((try await site.show("E-COR")["reports"] as? [[String: Any]])?.first)
        let trackingID = try #require(receipt["server_id"] as? String)
        let path = "/movements/\(trackingID)/receive"
        // The first PUT is turned away (429, try again in 3 s): the correction waits, durable.
        try await site.injectSandboxFaults(#"{"faults":[{"status":429,"retry_after":3,"path":"\#(path)"}]}"#)
        let corrected: [String: Any] = [
            "wasteItems": [
                [
                    "wasteDescription": "Mixed municipal waste, corrected", "physicalForm": "Mixed",
                    "numberOfContainers": 2, "typeOfContainers": "SKI", "containsPops": false,
                    "containsHazardous": false,
                ]
            ],
            "carrier": [
                "registrationNumber": "CBDU123456", "organisationName": "Carrier Ltd", "meansOfTransport": "Road",
            ],
        ]
        let file = site.directory + "/corrected.json"
        try JSONSerialization.data(withJSONObject: corrected).write(to: URL(fileURLWithPath: file))
        let result = try await site.ctl("correct", "E-COR", "--file", file, "--reason", "two skips, not one")
        #expect(result.status == 0, "\(result.output)\(result.error)")
        #expect(result.output.contains(#""kind":"correction""#), "\(result.output)")
        let deadline = ContinuousClock.now + .seconds(10)
        var waiting = false
        while ContinuousClock.now < deadline, !waiting {
            let reports = try await site.show("E-COR")["reports"] as? [[String: Any]] ?? []
            waiting = reports.count == 2 && reports[1]["state"] as? String == "retry_wait"
            if !waiting { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(waiting, "the correction never waited after its 429")
        site.killDaemon()
        try await site.start()
        try await site.waitForReports(of: "E-COR", state: "done")
        let puts = try await site.sandboxRequests().filter { $0.path == path }
        #expect(puts.map(\.method) == ["PUT", "PUT"], "\(puts.map { ($0.method, $0.status ?? 0) })")
        #expect(puts.map(\.status) == [429, 200])
        #expect(puts.last?.body.contains("Mixed municipal waste, corrected") == true)
        #expect(try await site.sandboxRequests().filter { $0.path == "/movements/receive" }.count == 1)
        // show lists both versions sent: the receipt as POSTed, the correction as PUT.
        let reports = try #require(try await site.show("E-COR")["reports"] as? [[String: Any]])
        #expect(reports.map { $0["kind"] as? String } == ["receipt", "correction"])
        let sent = reports.map {
            ($0["sent"] as? [String: Any]).flatMap { ($0["wasteItems"] as? [[String: Any]])?.first }
        }
        #expect(
            sent.map { $0?["wasteDescription"] as? String } == [
                "Mixed municipal waste", "Mixed municipal waste, corrected",
            ])
        #expect(site.log.contains("correct E-COR: two skips, not one"), "\(site.log)")
    }
}
