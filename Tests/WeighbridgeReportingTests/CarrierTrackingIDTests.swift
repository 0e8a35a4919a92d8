import DWTSandbox
import Testing
import WeighbridgeCore
import WeighbridgeDaemon
import WeighbridgeStore

@Suite("Defra receipts for a movement the carrier already created: by its wasteTrackingId", .serialized)
struct CarrierTrackingIDTests {
    @Test("a movement carrying the carrier's wasteTrackingId is reported by one PUT to it, never a POST")
    func reportedByPutOnly() async throws {
        let sandbox = try await DWTSandbox.start()
        sandbox.addCarrierMovement(trackingID: "26CAR001")
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        // The first attempt meets a gateway failure after processing: a PUT is simply sent again.
        sandbox.inject([.statusAfterProcessing(504)], path: "/movements/26CAR001/receive")
        try await fixture.visit("T-1", trackingID: "26CAR001")
        let entry = try #require(try await fixture.waitFor("T-1") { $0.first?.state == .done }.first)
        #expect(entry.kind == .carrierReceipt)
        #expect(entry.idempotent)
        #expect(entry.attempts == 2)
        #expect(fixture.requests(to: "/movements/receive").isEmpty)
        #expect(fixture.requests(to: "/movements/26CAR001/receive").map(\.method) == ["PUT", "PUT"])
        #expect(sandbox.duplicates == 0)
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("a 404 for the carrier's id parks the report naming the id; put right, it is retried as a PUT")
    func unknownIDParked() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        try await fixture.visit("T-2", trackingID: "26CAR0O2")
        let parked = try #require(try await fixture.waitFor("T-2") { $0.first?.state == .parked }.first)
        #expect(parked.lastError?.contains("Defra holds no movement with wasteTrackingId 26CAR0O2") == true)
        #expect(parked.lastError?.contains("never sent as a new receipt without an operator") == true)
        #expect(fixture.requests(to: "/movements/receive").isEmpty, "a 404 is never turned into a POST")
        // The operator checks the paperwork: the id was 26CAR002, typed with a letter O.
        sandbox.addCarrierMovement(trackingID: "26CAR002")
        let movement = try #require(try await fixture.store.read { try $0.movement(id: "T-2") }?.lifecycle.movement)
        var corrected = movement
        corrected.wasteTrackingID = "26CAR002"
        _ = try await fixture.desk.expect(corrected, receipt: validReceipt, by: .operator(sam))
        try await fixture.retry(parked)
        try await fixture.waitFor("T-2") { $0.first?.state == .done }
        #expect(fixture.requests(to: "/movements/26CAR002/receive").count == 1)
        #expect(fixture.requests(to: "/movements/receive").isEmpty)
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("an id typed or scanned at arrival is carried by the movement; one for an unknown vehicle is refused")
    func givenAtArrival() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        let movement = try tenTonneMovement("T-4")
        _ = try await fixture.desk.expect(movement, receipt: validReceipt, by: .operator(sam))
        _ = try await fixture.desk.arrive(
            bridge: "in", target: .vehicle(VehicleRegistration("AB12CDE")!), trackingID: "26CAR004", by: .operator(sam))
        #expect(
            try await fixture.store.read { try $0.movement(id: "T-4") }?.lifecycle.movement.wasteTrackingID
                == "26CAR004")
        let audit = try await fixture.store.read { try $0.auditEntries() }
        #expect(audit.contains { $0.event.kind == .arrival && $0.event.detail["waste_tracking_id"] == "26CAR004" })
        // The site's system sends the movement again, without the id: the gate's id stays.
        _ = try await fixture.desk.expect(movement, receipt: nil, by: .operator(sam))
        let kept = try await fixture.store.read { try $0.movement(id: "T-4") }
        #expect(kept?.lifecycle.movement.wasteTrackingID == "26CAR004")
        #expect(kept?.receipt == validReceipt, "receipt data left out is kept too")
        do {
            _ = try await fixture.desk.arrive(
                bridge: "in", target: .vehicle(VehicleRegistration("ZZ99ZZZ")!), trackingID: "26CAR005",
                by: .operator(sam))
            Issue.record("an unidentified vehicle's tracking id was taken")
        } catch let error as Refusal {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("matches no open movement to carry wasteTrackingId 26CAR005"))
        }
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("the id cannot change while a PUT to the old one may reach its record")
    func notWhileAPutMayLand() async throws {
        let sandbox = try await DWTSandbox.start()
        sandbox.addCarrierMovement(trackingID: "26CAR006")
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        // The gateway fails after the backend stored it: the PUT waits to be sent again.
        sandbox.inject(
            [.statusAfterProcessing(502), .status(503, retryAfter: "30")], path: "/movements/26CAR006/receive")
        try await fixture.visit("T-6", trackingID: "26CAR006")
        try await fixture.waitFor("T-6") { $0.first?.state == .retryWait && $0.first?.attempts == 2 }
        try await expectRefused(fixture, "T-6", givenID: "26CAR007", saying: "may reach that record")
        let entry = try #require(try await fixture.entries(of: "T-6").first)
        #expect(entry.serverID == "26CAR006")
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("a carrier's id cannot be given once the receipt is queued as a new record")
    func notAfterAPost() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        // The POST is refused and parked: the receipt is still to be accepted, as a new record.
        sandbox.inject([.status(400, retryAfter: nil)], path: "/movements/receive")
        try await fixture.visit("T-3")
        try await fixture.waitFor("T-3") { $0.first?.state == .parked }
        try await expectRefused(fixture, "T-3", givenID: "26CAR003", saying: "queued as a new record")
        #expect(try await fixture.store.read { try $0.movement(id: "T-3") }?.lifecycle.movement.wasteTrackingID == nil)
        #expect(throws: MovementError.invalidWasteTrackingID("26 CAR")) {
            try Movement.check(wasteTrackingID: "26 CAR")
        }
        await fixture.close()
        try await sandbox.shutdown()
    }

    /// Gives movement `id` another carrier's id through `expect`, and expects the refusal.
    private func expectRefused(
        _ fixture: ReportingFixture, _ id: String, givenID: String, saying words: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        var movement = try #require(try await fixture.store.read { try $0.movement(id: id) }?.lifecycle.movement)
        movement.wasteTrackingID = givenID
        do {
            _ = try await fixture.desk.expect(movement, receipt: validReceipt, by: .operator(sam))
            Issue.record("\(id) took wasteTrackingId \(givenID)", sourceLocation: sourceLocation)
        } catch let error as Refusal {
            #expect(error.code == .conflict, sourceLocation: sourceLocation)
            #expect(error.message.contains(words), "\(error.message)", sourceLocation: sourceLocation)
        }
    }
}
