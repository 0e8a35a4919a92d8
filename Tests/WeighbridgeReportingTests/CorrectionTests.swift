import DWTSandbox
import Testing
import WeighbridgeControlProtocol
import WeighbridgeCore
import WeighbridgeDaemon
import WeighbridgeStore

/// `validReceipt` with another waste description: the corrected version.
private let correctedReceipt = validReceipt.replacingOccurrences(
    of: "Mixed municipal waste", with: "Mixed municipal waste, with bulky items")

@Suite("Correcting Defra receipt data: before acceptance it replaces what is sent, after it a PUT", .serialized)
struct CorrectionTests {
    @Test("a correction of an accepted receipt is one PUT to its wasteTrackingId; both versions sent are kept")
    func correctsAnAcceptedReceipt() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        try await fixture.visit("C-1")
        let receipt = try #require(try await fixture.waitFor("C-1") { $0.first?.state == .done }.first)
        let trackingID = try #require(receipt.serverID)
        let correction = try await fixture.desk.correct(
            "C-1", receipt: correctedReceipt, by: sam, reason: "driver's note: bulky items")
        #expect(correction.queued?.kind == .correction)
        #expect(correction.queued?.serverID == trackingID)
        #expect(!correction.late)
        fixture.delivery.wake()
        let entries = try await fixture.waitFor("C-1") { $0.count == 2 && $0.allSatisfy { $0.state == .done } }
        let puts = fixture.requests(to: "/movements/\(trackingID)/receive")
        #expect(puts.map(\.method) == ["PUT"])
        #expect(puts.first?.body.contains("with bulky items") == true)
        #expect(fixture.requests(to: "/movements/receive").count == 1, "a correction never POSTs a second receipt")
        // Every version sent, as it went: the first receipt, then the correction.
        #expect(entries[0].sentBody?.contains("with bulky items") == false)
        #expect(entries[0].sentBody?.contains("Mixed municipal waste") == true)
        #expect(entries[1].sentBody == puts.first?.body)
        let audit = try await fixture.store.read { try $0.auditEntries() }
        let corrected = try #require(audit.last { $0.event.kind == .receiptCorrected })
        #expect(corrected.event.actor == Actor.operator(sam).description)
        #expect(corrected.event.detail["reason"] == "driver's note: bulky items")
        #expect(corrected.event.detail["waste_tracking_id"] == trackingID)
        #expect(sandbox.duplicates == 0)
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("before the receipt is accepted, the corrected data is what the waiting receipt sends; no PUT")
    func correctsBeforeAcceptance() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        sandbox.inject([.status(400, retryAfter: nil)], path: "/movements/receive")
        try await fixture.visit("C-2")
        let parked = try #require(try await fixture.waitFor("C-2") { $0.first?.state == .parked }.first)
        let correction = try await fixture.desk.correct("C-2", receipt: correctedReceipt, by: sam, reason: "fixed")
        #expect(correction.queued == nil)
        try await fixture.retry(parked)
        let entries = try await fixture.waitFor("C-2") { $0.first?.state == .done }
        #expect(entries.count == 1)
        let posts = fixture.requests(to: "/movements/receive")
        #expect(posts.count == 2)
        #expect(posts.last?.body.contains("with bulky items") == true)
        #expect(sandbox.requests.filter { $0.method == "PUT" }.isEmpty)
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("refused: receipt data Defra would refuse, a receipt whose outcome is unknown, a rejected load")
    func refusals() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        try await fixture.visit("C-3")
        try await fixture.waitFor("C-3") { $0.first?.state == .done }
        do {
            _ = try await fixture.desk.correct("C-3", receipt: #"{"wasteItems":[]}"#, by: sam, reason: "x")
            Issue.record("bad receipt data was taken")
        } catch let error as Refusal {
            #expect(error.code == .receiptDataMissing)
            #expect(error.message.contains("wasteItems: at least one waste item is required"), "\(error.message)")
        }
        sandbox.inject([.statusAfterProcessing(504)], path: "/movements/receive")
        try await fixture.visit("C-4")
        try await fixture.waitFor("C-4") { $0.first?.state == .unknown }
        do {
            _ = try await fixture.desk.correct("C-4", receipt: correctedReceipt, by: sam, reason: "x")
            Issue.record("a correction was taken while the receipt's outcome was unknown")
        } catch let error as Refusal {
            #expect(error.code == .conflict)
            #expect(error.message.contains("resolve"), "\(error.message)")
        }
        #expect(try await fixture.entries(of: "C-4").count == 1)
        let turnedAway = try tenTonneMovement("C-6")
        _ = try await fixture.desk.expect(turnedAway, receipt: validReceipt, by: .operator(sam))
        _ = try await fixture.desk.act(
            .reject(by: sam, reason: "wrong waste"), on: "C-6")
        do {
            _ = try await fixture.desk.correct("C-6", receipt: correctedReceipt, by: sam, reason: "x")
            Issue.record("a rejected load's receipt data was corrected")
        } catch let error as Refusal {
            #expect(error.code == .illegalTransition)
        }
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("two corrections in a row go one after the other, the newer data landing last")
    func correctionsInOrder() async throws {
        var settings = SandboxSettings()
        settings.latencyMilliseconds = 300
        let sandbox = try await DWTSandbox.start(settings: settings)
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        try await fixture.visit("C-7")
        let receipt = try #require(try await fixture.waitFor("C-7") { $0.first?.state == .done }.first)
        let trackingID = try #require(receipt.serverID)
        _ = try await fixture.desk.correct("C-7", receipt: correctedReceipt, by: sam, reason: "first")
        fixture.delivery.wake()
        // The first correction is on its way (the sandbox holds it 300 ms) when the second comes.
        let path = "/movements/\(trackingID)/receive"
        let deadline = ContinuousClock.now + .seconds(10)
        while sandbox.summary.field("in_progress") != .integer(1), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(sandbox.requests.filter { $0.path == path }.isEmpty, "the first correction is still being answered")
        let second = validReceipt.replacingOccurrences(of: "Mixed municipal waste", with: "Second version")
        _ = try await fixture.desk.correct("C-7", receipt: second, by: sam, reason: "second")
        fixture.delivery.wake()
        try await fixture.waitFor("C-7") { $0.count == 3 && $0.allSatisfy { $0.state == .done } }
        let puts = fixture.requests(to: path).sorted { $0.receivedAt < $1.receivedAt }
        #expect(puts.count == 2)
        // One request of a movement at a time: the second arrived after the first was answered.
        if puts.count == 2 { #expect(puts[1].receivedAt - puts[0].receivedAt >= 300_000) }
        #expect(puts.first?.body.contains("with bulky items") == true)
        #expect(puts.last?.body.contains("Second version") == true)
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("while the carrier's PUT waits (it may carry the old data), a correction PUT to the same id is queued")
    func correctsWhileACarrierPutWaits() async throws {
        let sandbox = try await DWTSandbox.start()
        sandbox.addCarrierMovement(trackingID: "26CAR010")
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        let path = "/movements/26CAR010/receive"
        sandbox.inject([.status(503, retryAfter: "30")], path: path)
        try await fixture.visit("C-8", trackingID: "26CAR010")
        try await fixture.waitFor("C-8") { $0.first?.state == .retryWait }
        let correction = try await fixture.desk.correct("C-8", receipt: correctedReceipt, by: sam, reason: "noted")
        #expect(correction.queued?.kind == .correction)
        #expect(correction.queued?.serverID == "26CAR010")
        fixture.clock.advance(seconds: 31)
        fixture.delivery.wake()
        try await fixture.waitFor("C-8") { $0.count == 2 && $0.allSatisfy { $0.state == .done } }
        let puts = fixture.requests(to: path)
        #expect(puts.map(\.status) == [503, 200, 200])
        #expect(puts.last?.body.contains("with bulky items") == true)
        #expect(fixture.requests(to: "/movements/receive").isEmpty)
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("new receipt data through expect is refused once the receipt is accepted: correct sends it")
    func expectAfterAcceptanceRefused() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        try await fixture.visit("C-9")
        try await fixture.waitFor("C-9") { $0.first?.state == .done }
        let movement = try #require(try await fixture.store.read { try $0.movement(id: "C-9") }?.lifecycle.movement)
        do {
            _ = try await fixture.desk.expect(movement, receipt: correctedReceipt, by: .operator(sam))
            Issue.record("accepted receipt data was replaced without a correction")
        } catch let error as Refusal {
            #expect(error.code == .conflict)
            #expect(error.message.contains("weighbridgectl correct"), "\(error.message)")
        }
        #expect(try await fixture.store.read { try $0.movement(id: "C-9") }?.receipt == validReceipt)
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("a correction after the legal deadline is still queued, and says it is late")
    func lateCorrection() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        try await fixture.visit("C-5")
        try await fixture.waitFor("C-5") { $0.first?.state == .done }
        fixture.clock.advance(seconds: 6 * 86_400)
        let correction = try await fixture.desk.correct("C-5", receipt: correctedReceipt, by: sam, reason: "late note")
        #expect(correction.late)
        #expect(correction.queued != nil)
        fixture.delivery.wake()
        try await fixture.waitFor("C-5") { $0.count == 2 && $0.allSatisfy { $0.state == .done } }
        let audit = try await fixture.store.read { try $0.auditEntries() }
        #expect(audit.last { $0.event.kind == .receiptCorrected }?.event.detail["late"] == "true")
        await fixture.close()
        try await sandbox.shutdown()
    }
}
