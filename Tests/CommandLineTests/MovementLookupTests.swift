import Foundation
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite("brief: a scanned movement id not known here is looked up with GET /movements/{id}")
struct MovementLookupTests {
    @Test("found: registered as fetched from the API and the arrival bound; 404 and an outage refuse it, clearly")
    func lookUpAtArrival() async throws {
        let site = try await SiteHarness(profile: .brief)
        try await site.start()
        let id = "7d6f0c1e-3b8a-4c55-9a51-2f4d8e6b1a90"
        var request = URLRequest(url: URL(string: site.sandboxURL + "/__sandbox/movements")!)
        request.httpMethod = "POST"
        request.httpBody = Data(
            #"{"movement_id":"\#(id)","ewc_codes":["20 03 01"],"declared_weight_kg":10000,"vehicle_registration":"AB12CDE","carrier":"Northern Haulage","origin":"Leeds","destination_site_id":"SITE-E2E","destination_jurisdiction":"england","prenotified_at":null}"#
                .utf8)
        _ = try await URLSession.shared.data(for: request)

        let found = try await site.ctl("arrive", "--bridge", "inbound", "--movement", id)
        #expect(found.status == 0, "\(found.output)\(found.error)")
        let shown = try await site.show(id)
        #expect(shown["state"] as? String == "arrived")
        #expect(shown["declared_kg"] as? Int == 10_000)
        #expect(shown["vehicle"] as? String == "AB12CDE")
        #expect(shown["carrier"] as? String == "Northern Haulage")
        #expect(try await site.sandboxRequests().filter { $0.path == "/movements/\(id)" }.map(\.method) == ["GET"])
        // The weighings that follow belong to it, as to any expected movement.
        try await site.drive(22_000)
        try await site.ctl("arrive", "--bridge", "inbound", "--movement", id)
        try await site.drive(12_000)
        try await site.waitForReports(of: id, state: "done")
        #expect(try await site.sandboxRequests().filter { $0.path == "/movements/\(id)" }.count == 1, "looked up once")
        #expect(site.log.contains("movement \(id) fetched from the API (GET /movements/\(id))"), "\(site.log)")

        let unknown = "00000000-0000-4000-8000-000000000000"
        let missing = try await site.ctl("arrive", "--bridge", "inbound", "--movement", unknown)
        #expect(missing.status != 0)
        #expect(
            (missing.output + missing.error).contains(
                "is known neither here nor to the API (GET /movements/\(unknown) answered 404)"),
            "\(missing.output)\(missing.error)")
        #expect(try await site.show(unknown)["state"] == nil, "nothing registered for an id nobody knows")

        // A container bound for another site is refused, not registered here.
        let elsewhere = "11111111-2222-4333-8444-555555555555"
        request.httpBody = Data(
            #"{"movement_id":"\#(elsewhere)","ewc_codes":["20 03 01"],"declared_weight_kg":5000,"destination_site_id":"SITE-OTHER"}"#
                .utf8)
        _ = try await URLSession.shared.data(for: request)
        let misdirected = try await site.ctl("arrive", "--bridge", "inbound", "--movement", elsewhere)
        #expect(misdirected.status != 0)
        #expect((misdirected.output + misdirected.error).contains("is bound for site SITE-OTHER, not this one"))
        #expect(try await site.show(elsewhere)["state"] == nil)
        // The brief sends no receipt data: nothing to correct, no carrier's tracking id.
        let file = site.directory + "/receipt.json"
        try Data(#"{"wasteItems":[]}"#.utf8).write(to: URL(fileURLWithPath: file))
        let correction = try await site.ctl("correct", id, "--file", file, "--reason", "x")
        #expect(correction.status != 0)
        #expect((correction.output + correction.error).contains("the brief profile sends no receipt data"))

        site.stopSandbox()
        let outage = try await site.ctl("arrive", "--bridge", "inbound", "--movement", unknown)
        #expect(outage.status != 0)
        let said = outage.output + outage.error
        #expect(said.contains("the API cannot be asked now"), "\(said)")
        #expect(said.contains("the lookup works once the API answers again"), "\(said)")
        #expect(said.contains("weighbridgectl expect"), "\(said)")
        try await site.reviveSandbox()
    }
}
