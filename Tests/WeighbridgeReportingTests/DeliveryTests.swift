import DWTSandbox
import Foundation
import TestSupport
import Testing
import WeighbridgeControlProtocol
import WeighbridgeCore
import WeighbridgeDaemon
import WeighbridgeJSON
import WeighbridgeReporting
import WeighbridgeStore

@Suite("Delivery over real HTTP to dwt-sandbox: every classification, both profiles")
struct DeliveryTests {
    // MARK: defra-receipt: the non-idempotent POST

    @Test("an ambiguous POST (connection dropped after the server stored it) ends unknown and is never resent")
    func ambiguousPostIsNeverResent() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        sandbox.inject([.dropAfterProcessing])
        #expect(try await fixture.visit("M-AMB") == .confirmed)
        let entries = try await fixture.waitFor("M-AMB") { $0.first?.state == .unknown }
        #expect(entries.count == 1)
        #expect(entries.first?.serverID == nil)
        // A later report goes through, so the loop has run past the unknown one many times.
        #expect(try await fixture.visit("M-NEXT") == .confirmed)
        try await fixture.waitFor("M-NEXT") { $0.first?.state == .done }
        let posts = fixture.requests(to: "/movements/receive").filter { $0.body.contains("M-AMB") }
        #expect(posts.count == 1, "the ambiguous receipt was sent \(posts.count) times")
        #expect(sandbox.duplicates == 0)
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test(
        "a non-idempotent POST is never resent automatically after a gateway's 502 or 504 that followed processing",
        arguments: [502, 504])
    func gatewayErrorAfterProcessingIsUnknown(status: Int) async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        sandbox.inject([.statusAfterProcessing(status)], path: "/movements/receive")
        #expect(try await fixture.visit("M-GW") == .confirmed)
        let entry = try await fixture.waitFor("M-GW") { $0.first?.state == .unknown }.first
        #expect(entry?.lastError?.contains(String(status)) == true)
        // The next receipt waits for a request that is safe to repeat to succeed, then goes.
        #expect(try await fixture.visit("M-AFTER") == .confirmed)
        try await fixture.waitFor("M-AFTER") { $0.first?.state == .done }
        let posts = fixture.requests(to: "/movements/receive")
        #expect(posts.filter { $0.body.contains("M-GW") }.count == 1, "the stored receipt was sent again")
        #expect(sandbox.summary.field("receipts") == .number("2"))
        #expect(sandbox.duplicates == 0)
        let check = try #require(
            sandbox.requests.firstIndex { $0.path == "/reference-data/container-types" }, "no health check")
        let afterPost = try #require(sandbox.requests.firstIndex { $0.body.contains("M-AFTER") })
        #expect(check < afterPost)
        #expect(try await fixture.entries(of: "M-GW").first?.state == .unknown)
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("Retry-After cannot stop or crash delivery: huge, negative or malformed values are held to an hour")
    func retryAfterIsClampedOnTheWire() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .brief, sandbox: sandbox)
        sandbox.inject([.status(503, retryAfter: "99999999999999999999999")])
        let sent = fixture.clock.now
        try await fixture.visit("B-HUGE")
        let waiting = try #require(
            try await fixture.waitFor("B-HUGE") { $0.first?.state == .retryWait }.first)
        let wait = sent.milliseconds(to: waiting.nextAttemptAt)
        #expect(wait <= DeliveryRules.maximumRetryAfter.wholeMilliseconds + 60_000 && wait >= 3_000_000, "\(wait) ms")
        // An hour later (the test's clock moves on), the report goes through.
        fixture.clock.advance(seconds: 3_700)
        fixture.delivery.wake()
        try await fixture.waitFor("B-HUGE") { $0.first?.state == .done }

        for (index, malformed) in ["-5", "soon", "Tue, 99 Foo 2026 99:99:99 GMT"].enumerated() {
            sandbox.inject([.status(503, retryAfter: malformed)])
            let id = "B-MALFORMED-\(index)"
            try await fixture.visit(id)
            let done = try await fixture.waitFor(id) { $0.first?.state == .done }.first
            #expect(done?.attempts == 2, "Retry-After \(malformed)")
        }
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test(
        "time steps do not stall delivery: a report due in seconds is sent in seconds after the clock steps back an hour"
    )
    func backwardClockStepDoesNotDelay() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .brief, sandbox: sandbox)
        sandbox.inject([.status(503, retryAfter: "3")])
        try await fixture.visit("B-STEP")
        try await fixture.waitFor("B-STEP") { $0.first?.state == .retryWait }
        // NTP corrects a clock that ran an hour ahead: the report must not wait that hour.
        fixture.clock.advance(seconds: -3_600)
        fixture.delivery.wake()
        let done = try await fixture.waitFor("B-STEP", seconds: 10) { $0.first?.state == .done }.first
        #expect(done?.attempts == 2)
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("the delivery loop never spins: an undecodable outbox row is parked with a reason; the others go")
    func poisonRowIsParked() async throws {
        let sqlite3 = try requireTool("/usr/bin/sqlite3", package: "sqlite3")
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        try await fixture.visit("M-GOOD")
        try await fixture.waitFor("M-GOOD") { $0.first?.state == .done }
        // A row an older or broken writer left: its report does not decode. It is due first.
        let inserted = try await onOwnThread {
            try runToCompletion(
                sqlite3,
                [
                    fixture.directory + "/db.sqlite",
                    """
                    INSERT INTO outbox (movement_id, kind, idempotent, idempotency_key, report, state, attempts,
                        next_attempt_ms, created_at_ms, updated_at_ms)
                    VALUES ('M-GOOD', 'receipt', 0, 'poison', '{}', 'pending', 0, 0, 0, 0);
                    """,
                ])
        }
        #expect(inserted.status == 0, "\(inserted.error)")
        try await fixture.visit("M-NEXT")
        try await fixture.waitFor("M-NEXT", seconds: 5) { $0.first?.state == .done }
        let poison = try await onOwnThread {
            try runToCompletion(
                sqlite3,
                [
                    fixture.directory + "/db.sqlite",
                    "SELECT state, last_error FROM outbox WHERE idempotency_key = 'poison'",
                ])
        }
        #expect(poison.output.hasPrefix("parked|not sent: undecodable report"), "\(poison.output)")
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("HTTP 500 on a POST is unknown, never retried; on a PUT it is retried")
    func serverErrorDependsOnIdempotency() async throws {
        let sandbox = try await DWTSandbox.start()
        let defra = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        sandbox.inject([.status(500, retryAfter: nil)])
        try await defra.visit("M-500")
        let entry = try await defra.waitFor("M-500") { $0.first?.state == .unknown }.first
        #expect(entry?.lastError?.contains("500") == true)
        await defra.close()

        let brief = try await ReportingFixture(profile: .brief, sandbox: sandbox)
        sandbox.inject([.status(500, retryAfter: nil)])
        try await brief.visit("B-500")
        let done = try await brief.waitFor("B-500") { $0.first?.state == .done }.first
        #expect(done?.attempts == 2)
        await brief.close()
        try await sandbox.shutdown()
    }

    @Test("a receipt is POSTed once with the weighed net, its wasteTrackingId and Defra's warnings kept")
    func receiptPosted() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        try await fixture.visit("M-OK", declaredKg: 10_020, grossKg: 22_000, tareKg: 11_980)
        let entry = try #require(try await fixture.waitFor("M-OK") { $0.first?.state == .done }.first)
        #expect(entry.serverID?.hasPrefix("SBX") == true)
        #expect(entry.warnings?.contains("disposalOrRecoveryCodes") == true)
        let post = try #require(fixture.requests(to: "/movements/receive").first)
        let body = try JSONValue(parsing: Array(post.body.utf8))
        let weight = body.field("wasteItems").flatMap { items -> JSONValue? in
            if case .array(let list) = items { return list.first?.field("weight") }
            return nil
        }
        #expect(
            weight == .object(["metric": .string("Kilograms"), "amount": .number("10020"), "isEstimate": .bool(false)]))
        #expect(body.field("yourUniqueReference") == .string(String(entry.report.net.gross.ticket)))
        #expect(body.field("apiCode") == .string(apiCode))
        #expect(body.field("carrier")?.field("vehicleRegistration") == .string("AB12CDE"))
        #expect(sandbox.duplicates == 0)
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("a token that expires mid-run is refreshed once on the 401, and the report goes through")
    func tokenExpiryMidRun() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        try await fixture.visit("M-T1")
        try await fixture.waitFor("M-T1") { $0.first?.state == .done }
        sandbox.expireTokens()
        try await fixture.visit("M-T2")
        let entry = try await fixture.waitFor("M-T2") { $0.first?.state == .done }.first
        #expect(entry?.attempts == 1, "a refreshed token is part of the same attempt")
        #expect(fixture.requests(to: "/movements/receive").map(\.status) == [201, 401, 201])
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("402: the report and every later one are held for an hour; once paid, all go through")
    func paymentRequiredThenPaid() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        sandbox.setPaymentRequired(true)
        try await fixture.visit("M-P1")
        let held = try #require(try await fixture.waitFor("M-P1") { $0.first?.state == .retryWait }.first)
        #expect(held.lastError?.contains("402") == true)
        // An hour from the attempt; the outcome is written (updatedAt) a moment after it.
        #expect((3_599_000...3_600_000).contains(held.updatedAt.milliseconds(to: held.nextAttemptAt)))
        try await fixture.visit("M-P2")
        fixture.delivery.wake()
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await fixture.entries(of: "M-P2").first?.state == .pending, "held behind the 402 pause")
        #expect(fixture.requests(to: "/movements/receive").count == 1)
        sandbox.setPaymentRequired(false)
        fixture.clock.advance(seconds: 3_601)
        fixture.delivery.wake()
        try await fixture.waitFor("M-P1") { $0.first?.state == .done }
        try await fixture.waitFor("M-P2") { $0.first?.state == .done }
        #expect(sandbox.duplicates == 0)
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("an operator's confirm cannot strand a receipt: refused until the receipt data is complete, then sent once")
    func confirmChecksReceiptData() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        let noCarrier = """
            {"wasteItems":[{"wasteDescription":"Mixed municipal waste","physicalForm":"Mixed","numberOfContainers":1,
              "typeOfContainers":"SKI","containsPops":false,"containsHazardous":false}]}
            """
        // 8% over: a local Discrepancy (Defra has none), with the carrier missing.
        #expect(try await fixture.visit("M-CONF", grossKg: 22_800, receipt: noCarrier) == .discrepancy)
        await #expect {
            _ = try await fixture.desk.act(
                .confirm(by: sam, reason: "agreed"), on: "M-CONF")
        } throws: { error in
            (error as? Refusal)?.code == .receiptDataMissing && "\(error)".contains("carrier")
        }
        #expect(try await fixture.entries(of: "M-CONF").isEmpty, "a report was queued that cannot be sent")
        // The corrected receipt data is taken for the undecided movement, and the confirmation goes.
        let movement = try #require(try await fixture.store.read { try $0.movement(id: "M-CONF")?.lifecycle.movement })
        _ = try await fixture.desk.expect(movement, receipt: validReceipt, by: .operator(sam))
        _ = try await fixture.desk.act(.confirm(by: sam, reason: "agreed"), on: "M-CONF")
        fixture.delivery.wake()
        try await fixture.waitFor("M-CONF") { $0.first?.state == .done }
        #expect(fixture.requests(to: "/movements/receive").filter { $0.body.contains("M-CONF") }.count == 1)
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("no legal deadline passes silently: a load held with no report is tracked, noticed, then missed")
    func heldLoadsAreDeadlineTracked() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        #expect(try await fixture.visit("M-HELD", receipt: nil) == .held)  // receipt data missing
        let receivedAt = try #require(
            try await fixture.store.read { try $0.movement(id: "M-HELD")?.lifecycle.receivedAt })
        #expect(try await fixture.entries(of: "M-HELD").isEmpty)
        let deadline = WorkingCalendar().receiptDeadline(receivedAt: receivedAt)
        func waitForSweep(_ condition: (ReceiptDeadlines) -> Bool) async throws {
            let until = ContinuousClock.now + .seconds(15)
            while !condition(fixture.delivery.deadlines), ContinuousClock.now < until {
                fixture.delivery.wake()
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(condition(fixture.delivery.deadlines), "\(fixture.delivery.deadlines)")
        }
        // Twelve hours before the deadline: due within a day.
        fixture.clock.advance(seconds: fixture.clock.now.milliseconds(to: deadline) / 1000 - 12 * 3_600)
        try await waitForSweep { $0.dueWithinADay == 1 && $0.missed == 0 }
        // An hour after it: missed.
        fixture.clock.advance(seconds: 13 * 3_600)
        try await waitForSweep { $0.missed == 1 && $0.dueWithinADay == 0 }
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("receipt data Defra would refuse is held before any request: unknown field, bad EWC, no vehicle rule")
    func localValidationHoldsBadReceipts() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        let unknownField = validReceipt.replacingOccurrences(
            of: "\"carrier\":{", with: "\"colour\":\"red\",\"carrier\":{")
        #expect(try await fixture.visit("M-BAD1", receipt: unknownField) == .held)
        let noCarrier = """
            {"wasteItems":[{"wasteDescription":"x","physicalForm":"Solid","numberOfContainers":1,
              "typeOfContainers":"XXX","containsPops":false,"containsHazardous":false}]}
            """
        #expect(try await fixture.visit("M-BAD2", receipt: noCarrier) == .held)
        #expect(try await fixture.visit("M-BAD3", receipt: nil) == .held)
        let hold = try await fixture.store.read { try $0.movement(id: "M-BAD2")?.lifecycle }
        let reason = String(describing: hold)
        #expect(reason.contains("typeOfContainers"))
        #expect(reason.contains("carrier: required"))
        #expect(sandbox.requests.isEmpty)
        // The operator supplies the receipt data and releases: the rules run again and it goes.
        let movement = try #require(try await fixture.store.read { try $0.movement(id: "M-BAD3")?.lifecycle.movement })
        _ = try await fixture.desk.expect(movement, receipt: validReceipt, by: .operator(sam))
        _ = try await fixture.desk.act(
            .release(by: sam, reason: "checked"), on: "M-BAD3")
        #expect(try await fixture.store.read { try $0.movement(id: "M-BAD3")?.lifecycle.state } == .confirmed)
        fixture.delivery.wake()  // as the control service does after every accepted change
        try await fixture.waitFor("M-BAD3") { $0.first?.state == .done }
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("the high-risk rule judges what is reported: item codes the movement does not carry hold the receipt")
    func highRiskRuleJudgesReportedCodes() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        // The WMS declares mixed municipal waste, but the receipt's item says lithium batteries,
        // with no pre-notification: within 5%, so only the codes can stop an auto-confirmation.
        let batteries = validReceipt.replacingOccurrences(
            of: "\"wasteDescription\":\"Mixed municipal waste\"",
            with: "\"wasteDescription\":\"Lithium batteries\",\"ewcCodes\":[\"160605\"]")
        #expect(batteries != validReceipt)
        #expect(try await fixture.visit("M-SWAP", codes: ["20 03 01"], receipt: batteries) == .held)
        let held = String(describing: try await fixture.store.read { try $0.movement(id: "M-SWAP")?.lifecycle })
        #expect(held.contains("16 06 05") && held.contains("20 03 01"), "\(held)")
        // Codes among the movement's are what the rules judged: the receipt goes.
        let same = validReceipt.replacingOccurrences(
            of: "\"wasteDescription\":\"Mixed municipal waste\"",
            with: "\"wasteDescription\":\"Mixed municipal waste\",\"ewcCodes\":[\"200301\"]")
        #expect(try await fixture.visit("M-SAME", codes: ["20 03 01"], receipt: same) == .confirmed)
        try await fixture.waitFor("M-SAME") { $0.first?.state == .done }
        #expect(fixture.requests(to: "/movements/receive").allSatisfy { !$0.body.contains("M-SWAP") })
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("a hazardous EWC code (20 01 33*) needs a consignment code; with one, the receipt goes")
    func hazardousCodeRule() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        #expect(try await fixture.visit("M-HAZ1", codes: ["20 01 33"], prenotified: true) == .held)
        let held = String(describing: try await fixture.store.read { try $0.movement(id: "M-HAZ1")?.lifecycle })
        #expect(held.contains("hazardousWasteConsignmentCode"))
        let withCode = validReceipt.replacingOccurrences(
            of: "\"carrier\":{", with: "\"hazardousWasteConsignmentCode\":\"CJ32LE/A0001\",\"carrier\":{")
        // 20 01 33 is also on the site's high-risk list: pre-notified, so only the Defra rule applies.
        #expect(
            try await fixture.visit("M-HAZ2", codes: ["20 01 33"], receipt: withCode, prenotified: true) == .confirmed)
        try await fixture.waitFor("M-HAZ2") { $0.first?.state == .done }
        await fixture.close()
        try await sandbox.shutdown()
    }

    // MARK: brief: idempotent PUTs

    @Test("brief: a confirmation is PUT with the brief's fields and its Idempotency-Key")
    func briefConfirmation() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .brief, sandbox: sandbox)
        try await fixture.visit("B-1", declaredKg: 10_000, grossKg: 22_000, tareKg: 11_500)
        let entry = try #require(try await fixture.waitFor("B-1") { $0.first?.state == .done }.first)
        let put = try #require(fixture.requests(to: "/confirmations/B-1").first)
        #expect(put.idempotencyKey == entry.idempotencyKey)
        let body = try JSONValue(parsing: Array(put.body.utf8))
        #expect(body.field("received_weight_kg") == .number("10500"))
        #expect(body.field("deviation_percent") == .string("5.00"))
        #expect(body.field("confirmed_by") == .string("auto"))
        #expect(body.field("weighing")?.field("tare_kind") == .string("measured"))
        #expect(body.field("weighing")?.field("alibi_id") == .number("4711"))
        #expect(body.field("destination_jurisdiction") == .string("england"))
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("brief: 5.02% raises exactly one discrepancy and no confirmation")
    func briefDiscrepancy() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .brief, sandbox: sandbox)
        #expect(try await fixture.visit("B-D", declaredKg: 10_000, grossKg: 22_502, tareKg: 12_000) == .discrepancy)
        try await fixture.waitFor("B-D") { $0.first?.state == .done }
        #expect(fixture.requests(to: "/discrepancies/B-D").count == 1)
        #expect(fixture.requests(to: "/confirmations/B-D").isEmpty)
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("brief: a PUT whose answer was lost is resent safely: one record, no duplicate")
    func briefResendIsSafe() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .brief, sandbox: sandbox)
        sandbox.inject([.dropAfterProcessing])
        try await fixture.visit("B-R")
        let entry = try await fixture.waitFor("B-R") { $0.first?.state == .done }.first
        #expect(entry?.attempts == 2)
        #expect(fixture.requests(to: "/confirmations/B-R").count == 2)
        #expect(sandbox.duplicates == 0)
        #expect(sandbox.summary.field("confirmations") == .number("1"))
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("brief: 429 and 503 with Retry-After are retried no sooner than asked; 400 parks with the errors")
    func briefRetryAndPark() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .brief, sandbox: sandbox)
        sandbox.inject([.status(429, retryAfter: "1"), .status(503, retryAfter: "1")])
        let started = ContinuousClock.now
        try await fixture.visit("B-429")
        let entry = try await fixture.waitFor("B-429") { $0.first?.state == .done }.first
        #expect(entry?.attempts == 3)
        #expect(ContinuousClock.now - started >= .seconds(2), "Retry-After was not honoured")

        sandbox.inject([.status(400, retryAfter: nil)])
        try await fixture.visit("B-400")
        let parked = try await fixture.waitFor("B-400") { $0.first?.state == .parked }.first
        #expect(parked?.lastError?.contains("400") == true)
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("brief: a 409 whose stored record is ours counts as done; one holding another record parks")
    func briefConflict() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .brief, sandbox: sandbox)
        try await fixture.visit("B-409")
        let first = try #require(try await fixture.waitFor("B-409") { $0.first?.state == .done }.first)
        // The same report under another key: the server holds exactly this, so it is done.
        try await fixture.store.write(at: fixture.clock.now) { transaction in
            _ = try transaction.enqueue(
                first.report, kind: .confirmation, idempotent: true, idempotencyKey: "B-409/again")
        }
        fixture.delivery.wake()
        let again = try await fixture.waitFor("B-409") { $0.count == 2 && $0[1].state != .pending }
        #expect(again.last?.state == .done)
        #expect(fixture.requests(to: "/confirmations/B-409").map(\.status) == [201, 409])
        // The same decision reported again under another key: a regulator's duplicate, though
        // the record stands once.
        #expect(sandbox.duplicates == 1)
        // A different report (another confirmer) under another key: the server holds something else.
        var changed = first.report
        changed.by = .operator(sam)
        let other = changed
        try await fixture.store.write(at: fixture.clock.now) { transaction in
            _ = try transaction.enqueue(other, kind: .confirmation, idempotent: true, idempotencyKey: "B-409/other")
        }
        fixture.delivery.wake()
        let conflicting = try await fixture.waitFor("B-409") { $0.count == 3 && $0[2].state != .pending }
        #expect(conflicting.last?.state == .parked)
        #expect(conflicting.last?.lastError?.contains("409") == true)
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("the sandbox counts duplicates by what a regulator would see: the same ticket received twice")
    func sandboxCountsDefraDuplicatesByTicket() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        try await fixture.visit("M-TWICE")
        let first = try #require(try await fixture.waitFor("M-TWICE") { $0.first?.state == .done }.first)
        #expect(sandbox.duplicates == 0)
        // A second receipt of the same load under a new key (a bug this count exists to catch).
        try await fixture.store.write(at: fixture.clock.now) { transaction in
            _ = try transaction.enqueue(
                first.report, kind: .receipt, idempotent: false, idempotencyKey: "M-TWICE/again")
        }
        fixture.delivery.wake()
        try await fixture.waitFor("M-TWICE") { $0.count == 2 && $0[1].state == .done }
        #expect(sandbox.duplicates == 1)
        await fixture.close()
        try await sandbox.shutdown()
    }

    // MARK: outage, backlog, TLS
    // MARK: outage, backlog, TLS

    @Test("API down for three vehicles: all three delivered after it comes back, none twice")
    func outageHeals() async throws {
        let sandbox = try await DWTSandbox.start()
        let port = sandbox.port
        try await sandbox.shutdown()
        let fixture = try await ReportingFixture(profile: .brief, sandbox: sandbox, baseURL: "http://127.0.0.1:\(port)")
        for id in ["O-1", "O-2", "O-3"] { try await fixture.visit(id) }
        try await fixture.waitFor("O-1") { $0.first?.state == .retryWait }
        let revived = try await DWTSandbox.start(port: port)
        for id in ["O-1", "O-2", "O-3"] {
            try await fixture.waitFor(id, seconds: 20) { $0.first?.state == .done }
        }
        #expect(revived.summary.field("confirmations") == .number("3"))
        #expect(revived.duplicates == 0)
        await fixture.close()
        try await revived.shutdown()
    }

    @Test("TLS: a self-signed sandbox is refused unless its certificate authority is configured")
    func selfSignedCertificate() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let openssl = try requireTool("/usr/bin/openssl", package: "openssl")
        let generated = try await onOwnThread {
            try runToCompletion(
                openssl,
                [
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", directory + "/key.pem", "-out",
                    directory + "/cert.pem",
                ])
        }
        try #require(generated.status == 0, "\(generated.error)")
        let sandbox = try await DWTSandbox.start(
            tlsCertificate: directory + "/cert.pem", tlsKey: directory + "/key.pem")
        #expect(sandbox.baseURL.hasPrefix("https://"))

        let untrusting = try await ReportingFixture(profile: .brief, sandbox: sandbox)
        try await untrusting.visit("TLS-1")
        let refused = try await untrusting.waitFor("TLS-1") { $0.first?.state == .retryWait }.first
        #expect(refused?.lastError?.contains("not sent") == true)
        #expect(sandbox.requests.isEmpty)
        await untrusting.close()

        let trusting = try await ReportingFixture(profile: .brief, sandbox: sandbox, caFile: directory + "/cert.pem")
        try await trusting.visit("TLS-2")
        try await trusting.waitFor("TLS-2") { $0.first?.state == .done }
        await trusting.close()
        try await sandbox.shutdown()
    }
}
