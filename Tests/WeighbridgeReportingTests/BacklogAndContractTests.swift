import DWTSandbox
import DefraReferenceSeed
import Foundation
import TestSupport
import Testing
import WeighbridgeControlProtocol
import WeighbridgeCore
import WeighbridgeDaemon
import WeighbridgeJournal
import WeighbridgeReporting
import WeighbridgeStore
import WeighbridgeTesting

@Suite("Backlog and Defra's published contract")
struct BacklogAndContractTests {
    @Test("10 000 reports queued during an outage drain after it heals: none lost, none twice, in-flight ≤ 4")
    func backlogDrains() async throws {
        // The API is down (connections refused) at an address of this test's own: on 127.0.0.1,
        // a server another test starts meanwhile could be given the freed port, and answer.
        let host = privateLoopbackAddress()
        let probe = try await DWTSandbox.start(host: host)
        let port = probe.port
        try await probe.shutdown()
        let fixture = try await ReportingFixture(
            profile: .brief, sandbox: probe, baseURL: "http://\(host):\(port)", maxInFlight: 4)
        let count = 10_000
        let now = fixture.clock.now
        let reports = try (0..<count).map {
            try SampleMovements.confirmed("BL-\($0)", ticket: Int64($0) * 2 + 1, at: now)
        }
        try await fixture.store.write(at: now) { transaction in
            for (lifecycle, report) in reports {
                try transaction.saveMovement(lifecycle, receipt: nil)
                _ = try transaction.enqueue(
                    report, kind: .confirmation, idempotent: true, idempotencyKey: "\(report.movementID)/confirmation/1"
                )
            }
        }
        fixture.delivery.wake()
        try await fixture.waitFor("BL-0") { $0.first?.state == .retryWait }
        let sandbox = try await DWTSandbox.start(host: host, port: port)
        // Answered at once, a request is over before the next one arrives (a loaded machine may
        // never run two at the same instant), so overlap shows only while requests take time: the
        // first dozen after the outage take 100 ms each, as over a slow WAN.
        sandbox.inject(Array(repeating: .latency(milliseconds: 100), count: 12))
        // Drained means always making progress until none is left: it fails on a stall (nothing
        // delivered for 30 s), not on a deadline, which would be a throughput test in disguise
        // (a loaded machine drains this backlog in 80 to 300 s).
        var done = 0
        var progressed = ContinuousClock.now
        while done < count, ContinuousClock.now - progressed < .seconds(30) {
            try await Task.sleep(for: .milliseconds(200))
            let now = try await fixture.store.read { try $0.outboxEntries(state: .done).count }
            if now > done { (done, progressed) = (now, ContinuousClock.now) }
        }
        #expect(done == count, "stalled at \(done) of \(count)")
        #expect(sandbox.summary.field("confirmations") == .number(String(count)))
        #expect(sandbox.duplicates == 0)
        #expect(sandbox.maxConcurrentRequests <= 4, "in flight: \(sandbox.maxConcurrentRequests)")
        #expect(sandbox.maxConcurrentRequests >= 2, "the backlog should drain with parallel requests")
        await fixture.close()
        try await sandbox.shutdown()
    }

    /// Defra's published OpenAPI document, carried in docs/defra/.
    static let receiptSpecification = repositoryRoot.appendingPathComponent("docs/defra/ReceiptAPI.yml").path

    @Test("every receipt body the adapter sends validates against ReceiptAPI.yml's receiveMovementRequest")
    func bodiesMatchDefraSchema() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        let hazardous = validReceipt.replacingOccurrences(
            of: "\"carrier\":{", with: "\"hazardousWasteConsignmentCode\":\"CJ32LE/A0001\",\"carrier\":{")
        let rich = """
            {"wasteItems":[{"ewcCodes":["150101","150102"],"wasteDescription":"Packaging","physicalForm":"Solid",
              "numberOfContainers":3,"typeOfContainers":"BAL","containsPops":false,"containsHazardous":false,
              "disposalOrRecoveryCodes":[{"code":"R3","weight":{"metric":"Tonnes","amount":2.5,"isEstimate":true}}]}],
             "carrier":{"registrationNumber":"CBDU123456","organisationName":"Carrier Ltd","meansOfTransport":"Road",
               "vehicleRegistration":"XY99ZZZ","address":{"fullAddress":"2 Haul Way","postcode":"TE2 2ND"}},
             "brokerOrDealer":{"organisationName":"Broker Ltd"},
             "otherReferencesForMovement":[{"label":"PO Number","reference":"PO-1"}]}
            """
        try await fixture.visit("C-1")
        try await fixture.visit("C-2", codes: ["20 01 33"], receipt: hazardous, prenotified: true)
        try await fixture.visit("C-3", codes: ["15 01 01", "15 01 02"], receipt: rich)
        for id in ["C-1", "C-2", "C-3"] { try await fixture.waitFor(id) { $0.first?.state == .done } }
        let bodies = fixture.requests(to: "/movements/receive").map(\.body)
        #expect(bodies.count == 3)
        let directory = fixture.directory + "/bodies"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var files: [String] = []
        for (index, body) in bodies.enumerated() {
            let file = "\(directory)/body-\(index).json"
            try body.write(toFile: file, atomically: true, encoding: .utf8)
            files.append(file)
        }
        let python = try projectPython()
        let arguments =
            [
                repositoryRoot.appendingPathComponent("scripts/contract/check_receipt_bodies.py").path,
                Self.receiptSpecification,
            ] + files
        let checked = try await onOwnThread { try runToCompletion(python, arguments) }
        #expect(checked.status == 0, "\(checked.output)\(checked.error)")
        #expect(checked.output.contains("checked 3 bodies, 0 problems"), "\(checked.output)\(checked.error)")
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("the shipped reference lists are the committed JSON, and the generator reproduces them from a clone")
    func shippedListsMatchTheCommittedData() async throws {
        let lists = repositoryRoot.appendingPathComponent("Sources/DefraReferenceSeed/lists")
        let files = try FileManager.default.contentsOfDirectory(atPath: lists.path).filter { $0.hasSuffix(".json") }
        #expect(Set(files.map { String($0.dropLast(".json".count)) }) == Set(SeedLists.all.keys))
        for (list, shipped) in SeedLists.all {
            let committed = try String(contentsOf: lists.appendingPathComponent("\(list).json"), encoding: .utf8)
            #expect(shipped == committed, "\(list): SeedLists.swift differs from lists/\(list).json")
        }
        let check = try await onOwnThread {
            try runToCompletion(
                repositoryRoot.appendingPathComponent("scripts/update-reference-data"), ["--check"])
        }
        #expect(check.status == 0, "\(check.output)\(check.error)")
    }

    @Test("Defra's reference lists are fetched, cached in the store and put in force; a failed refresh keeps them")
    func referenceDataRefresh() async throws {
        let sandbox = try await DWTSandbox.start()
        var lists = SeedLists.all
        lists["ewc-codes"] = #"[{"code":"200301","isHazardous":false}]"#
        let fixture = try await ReportingFixture(
            profile: .defraReceipt, sandbox: sandbox, referenceLists: lists)
        let clock = fixture.clock
        let refresh = ReferenceDataRefresh(
            store: fixture.store, sender: fixture.sender, cache: fixture.catalogue,
            logger: Journal(destination: .standardError).logger(level: .error), now: { clock.now })
        #expect(fixture.catalogue.current.ewcHazardous.count == 1)
        #expect(await refresh.refreshOnce())
        #expect(fixture.catalogue.current.ewcHazardous.count == 842)
        #expect(fixture.catalogue.current.ewcHazardous["160605"] == false)
        #expect(fixture.catalogue.current.ewcHazardous["200133"] == true)
        let cached = try await fixture.store.read { transaction in
            try ReferenceCatalogue.lists.compactMap { try transaction.referenceData(list: $0) }.count
        }
        #expect(cached == 5)
        sandbox.expireTokens()
        #expect(await refresh.refreshOnce(), "a refused token is refreshed once")

        fixture.catalogue.replace(with: try ReferenceCatalogue(lists: lists))
        sandbox.inject([.status(503, retryAfter: nil)])
        #expect(await refresh.refreshOnce() == false)
        #expect(fixture.catalogue.current.ewcHazardous.count == 1, "a failed refresh changes nothing")
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("the project's own schema checks refuse what Defra's rules refuse, field by field")
    func ownSchemaChecks() throws {
        let document = DefraReceiptDocument.forTests
        let movement = try Movement(
            id: "S-1", declared: Mass(1_000, .kilograms), ewcCodes: [EWCCode(parsing: "16 06 05")], vehicle: nil)
        #expect(
            document.problems(movement: movement, receipt: validReceipt) == [
                "carrier.vehicleRegistration: required for Road (or give the movement a vehicle)"
            ])
        let spaced = validReceipt.replacingOccurrences(
            of: "\"wasteDescription\"", with: "\"ewcCodes\":[\"16 06 05\"],\"wasteDescription\"")
        #expect(document.problems(movement: movement, receipt: spaced).contains { $0.contains("six digits") })
        let rail = validReceipt.replacingOccurrences(of: "\"Road\"", with: "\"Rail\"")
        #expect(document.problems(movement: movement, receipt: rail) == [], "16 06 05 is not hazardous in Defra's list")
        let twoItems = rail.replacingOccurrences(of: "}],", with: "},{\"wasteDescription\":\"x\"}],")
        #expect(
            document.problems(movement: movement, receipt: twoItems).contains {
                $0.hasPrefix("wasteItems[0].weight: required (with several waste items")
            })
        let notObject = "[1,2]"
        #expect(document.problems(movement: movement, receipt: notObject) == ["receipt: must be a JSON object"])
        let weightless = try document.body(
            movement: movement, receipt: rail, net: Mass(grams: 1_234_567),
            receivedAt: Timestamp(millisecondsSinceEpoch: 0),
            reference: "7", idempotencyKey: "S-1/receipt/1")
        if case .array(let items)? = weightless.field("wasteItems") {
            #expect(items.first?.field("weight")?.field("amount") == .number("1234.567"))
        } else {
            Issue.record("no wasteItems in the body")
        }
    }
}
