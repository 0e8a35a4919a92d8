import DWTSandbox
import Foundation
import TestSupport
import Testing
import WeighbridgeControlProtocol
import WeighbridgeCore
import WeighbridgeJSON
import WeighbridgeReporting

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A receipt's waste item without a weight: the daemon gives it its part of the weighed net.
private func item(_ description: String, share: String? = nil) -> String {
    let weight = share.map { #","weight":{"metric":"Kilograms","amount":\#($0),"isEstimate":false}"# } ?? ""
    return
        #"{"wasteDescription":"\#(description)","physicalForm":"Mixed","numberOfContainers":1,"typeOfContainers":"SKI","containsPops":false,"containsHazardous":false\#(weight)}"#
}

private func receipt(items: [String]) -> String {
    #"{"wasteItems":[\#(items.joined(separator: ","))],"carrier":{"registrationNumber":"CBDU123456","organisationName":"Carrier Ltd","meansOfTransport":"Road"}}"#
}

private func weights(in body: String) throws -> [JSONValue] {
    guard case .array(let items)? = try JSONValue(parsing: Array(body.utf8)).field("wasteItems") else { return [] }
    return items.compactMap { $0.field("weight") }
}

private func estimate(_ kilograms: String) -> JSONValue {
    .object(["metric": .string("Kilograms"), "amount": .number(kilograms), "isEstimate": .bool(true)])
}

@Suite("Defra receipts with several waste items, and the production approval scenarios", .serialized)
struct ReceiptItemsAndApprovalTests {
    @Test("a two-item load is POSTed with the net divided by the items' shares, each an estimate, adding up exactly")
    func twoItemLoad() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        // Declared 6 t of one and 4 t of the other; weighed 10 020 kg: 6 012 + 4 008.
        try await fixture.visit(
            "I-2", declaredKg: 10_000, grossKg: 22_020, tareKg: 12_000,
            receipt: receipt(items: [item("Mixed municipal waste", share: "6000"), item("Bulky waste", share: "4000")]))
        // Three equal shares of 10 000 kg: 3 333.33 each, the leftover kilogram to the first.
        try await fixture.visit(
            "I-3", declaredKg: 10_000, grossKg: 22_000, tareKg: 12_000,
            receipt: receipt(items: [item("One", share: "1"), item("Two", share: "1"), item("Three", share: "1")]))
        for id in ["I-2", "I-3"] { try await fixture.waitFor(id) { $0.first?.state == .done } }
        let posts = fixture.requests(to: "/movements/receive")
        #expect(posts.count == 2)
        let two = try #require(posts.first { $0.body.contains(#""reference":"I-2""#) })
        let three = try #require(posts.first { $0.body.contains(#""reference":"I-3""#) })
        #expect(try weights(in: two.body) == [estimate("6012"), estimate("4008")], "\(two.body)")
        #expect(try weights(in: three.body) == [estimate("3334"), estimate("3333"), estimate("3333")], "\(three.body)")
        // The time received carries its offset: UTC, written with its Z.
        let received = try JSONValue(parsing: Array(two.body.utf8)).field("dateTimeReceived")
        guard case .string(let text)? = received else { throw ControlError(.internalError, "no dateTimeReceived") }
        #expect(text.hasSuffix("Z") && Timestamp(rfc3339: text) != nil, "\(text)")
        #expect(sandbox.duplicates == 0)
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("several items without each one's share are held with the item named; one item needs none")
    func severalItemsNeedShares() throws {
        let document = DefraReceiptDocument.forTests
        let movement = try tenTonneMovement("S-2")
        #expect(document.problems(movement: movement, receipt: receipt(items: [item("Only")])) == [])
        let missing = document.problems(
            movement: movement, receipt: receipt(items: [item("A", share: "5000"), item("B")]))
        #expect(missing.count == 1)
        #expect(missing.first?.hasPrefix("wasteItems[1].weight: required (with several waste items") == true)
        let unreadable = document.problems(
            movement: movement,
            receipt: receipt(items: [item("A", share: "5000"), item("B", share: "1e3")]))
        #expect(unreadable.contains { $0.hasPrefix("wasteItems[1].weight: its share of the load") })
        let nothing = document.problems(
            movement: movement,
            receipt: receipt(items: [item("A", share: "9999999"), item("B", share: "0.001")]))
        #expect(nothing.contains { $0.hasPrefix("wasteItems[1].weight: its share comes to less than 1 kg of the net") })
    }

    @Test("POPs and hazardous components are checked as Defra checks them, against its reference lists")
    func componentsChecked() throws {
        let document = DefraReceiptDocument.forTests
        let movement = try tenTonneMovement("S-3", ewc: "20 03 07")
        func problems(_ details: String) -> [String] {
            let withDetails = receipt(items: [item("Bulky")]).replacingOccurrences(
                of: #""containsPops":false,"containsHazardous":false"#, with: details)
            return document.problems(movement: movement, receipt: withDetails)
        }
        #expect(
            problems(
                #""containsPops":true,"pops":{"sourceOfComponents":"OWN_TESTING","components":[{"code":"PFOS","concentration":12.5}]},"containsHazardous":false"#
            ) == [])
        #expect(
            problems(#""containsPops":true,"containsHazardous":false"#) == [
                "wasteItems[0].pops: required because containsPops is true"
            ])
        #expect(
            problems(
                #""containsPops":true,"pops":{"sourceOfComponents":"GUIDANCE","components":[{"code":"XYZ"},{"code":"END","concentration":0}]},"containsHazardous":false"#
            ) == [
                "wasteItems[0].pops.components[0].code: one of Defra's POP codes (e.g. PFOS, END)",
                "wasteItems[0].pops.components[1].concentration: a number above zero (mg/kg)",
            ])
        #expect(
            problems(
                #""containsPops":true,"pops":{"sourceOfComponents":"NOT_PROVIDED","components":[{"code":"END"}]},"containsHazardous":false"#
            ) == ["wasteItems[0].pops.components: must be empty when sourceOfComponents is NOT_PROVIDED"])
        #expect(
            problems(#""containsPops":true,"pops":{"sourceOfComponents":"OWN_TESTING"},"containsHazardous":false"#) == [
                "wasteItems[0].pops.components: at least one is required when sourceOfComponents is OWN_TESTING"
            ])
        #expect(
            problems(#""containsPops":false,"pops":{"sourceOfComponents":"OWN_TESTING"},"containsHazardous":false"#)
                == [
                    "wasteItems[0].pops: given, but containsPops is not true"
                ])
        #expect(
            problems(
                #""containsPops":false,"containsHazardous":true,"hazardous":{"sourceOfComponents":"ASKED","hazCodes":["HP_99"],"components":[{"concentration":3}],"extra":1}"#
            ) == [
                "wasteItems[0].hazardous.extra: not a field Defra accepts",
                "wasteItems[0].hazardous.sourceOfComponents: one of GUIDANCE, NOT_PROVIDED, OWN_TESTING, PROVIDED_WITH_WASTE",
                "wasteItems[0].hazardous.components[0].name: required (the substance, e.g. Mercury)",
                "wasteItems[0].hazardous.hazCodes: \"HP_99\" is not HP_1–HP_15 or HP_POP",
            ])
    }

    @Test("an approval run against the sandbox passes all twelve scenarios and refuses C01 and H02 locally")
    func approvalRunPasses() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        let clock = fixture.clock
        let run = try ApprovalTestRun(
            document: fixture.document, sender: fixture.sender, baseURL: sandbox.baseURL, now: { clock.now })
        let recorded = Recorder()
        let (outcomes, submission) = await run.run(ApprovalScenario.allCases, submit: true) { recorded.add($0) }
        #expect(submission?.status == 200)
        for outcome in outcomes {
            if outcome.scenario.isRefusal {
                guard case .refusedLocally(let problems) = outcome.result else {
                    Issue.record("\(outcome.scenario) was not refused locally: \(outcome.result)")
                    continue
                }
                #expect(!problems.isEmpty)
            } else {
                #expect(
                    outcome.verdict?.status == "Pass",
                    "\(outcome.scenario): \(outcome.result) \(outcome.verdict ?? ("", ""))")
            }
        }
        #expect(outcomes.filter { $0.verdict?.status == "Pass" }.count == 12)
        // Each receipt sent is what Defra's published schema accepts.
        let bodies = recorded.exchanges.filter { $0.scenario != nil }.map(\.requestBody)
        #expect(bodies.count == 12)
        try await checkAgainstReceiptSchema(bodies, in: fixture.directory)
        // What the sandbox stored for R02 is two items adding up to the weighed 12 340 kg.
        let r02 = try #require(recorded.exchanges.first { $0.scenario == .r02 })
        #expect(try weights(in: r02.requestBody.serialized) == [estimate("8000"), estimate("4340")])
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test(
        "the approval endpoint refuses unknown, repeated and unstored scenarios, and fails a receipt that does not fit")
    func approvalEndpointJudges() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        let clock = fixture.clock
        let run = try ApprovalTestRun(
            document: fixture.document, sender: fixture.sender, baseURL: sandbox.baseURL, now: { clock.now })
        let (sent, _) = await run.run([.r01], submit: false) { _ in }
        let r01 = try #require(sent.first?.trackingID)
        let token = try await sandboxToken(sandbox)
        func submit(_ body: String) async throws -> (status: Int?, body: JSONValue?) {
            var request = URLRequest(url: URL(string: sandbox.baseURL + "/production-approval-tests")!)
            request.httpMethod = "POST"
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            request.httpBody = Data(body.utf8)
            let (data, response) = try await URLSession.shared.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode, try? JSONValue(parsing: Array(data)))
        }
        let unknown = try await submit(#"[{"scenarioId":"R99","wasteTrackingId":"\#(r01)"}]"#)
        #expect(unknown.status == 400)
        let repeated = try await submit(
            #"[{"scenarioId":"R01","wasteTrackingId":"\#(r01)"},{"scenarioId":"R01","wasteTrackingId":"\#(r01)"}]"#)
        #expect(repeated.status == 400)
        let unstored = try await submit(#"[{"scenarioId":"R01","wasteTrackingId":"NOPE1"}]"#)
        #expect(unstored.status == 400)
        #expect(
            unstored.body?.field("message")
                == .string("Could not find waste input(s) for the following id(s): NOPE1"))
        #expect(try await submit("[]").status == 400)
        let wrong = try await submit(
            #"[{"scenarioId":"R02","wasteTrackingId":"\#(r01)"},{"scenarioId":"R01","wasteTrackingId":"\#(r01)"}]"#)
        #expect(wrong.status == 200)
        guard case .array(let results)? = wrong.body?.field("results") else {
            Issue.record("no results: \(String(describing: wrong.body))")
            return
        }
        #expect(results.first?.field("status") == .string("Fail"))
        #expect(results.first?.field("message") == .string("Expected more than 1 waste item for R02, found 1"))
        #expect(results.last?.field("status") == .string("Pass"))
        await fixture.close()
        try await sandbox.shutdown()
    }

    @Test("an approval run refuses Defra's production host")
    func refusesProduction() async throws {
        let sandbox = try await DWTSandbox.start()
        let fixture = try await ReportingFixture(profile: .defraReceipt, sandbox: sandbox)
        for url in [
            "https://waste-tracking.api.defra.gov.uk", "https://WASTE-TRACKING.api.defra.gov.uk:443/",
            "https://waste-tracking.api.defra.gov.uk./", "https://someone@waste-tracking.api.defra.gov.uk",
        ] {
            #expect(throws: ApprovalRunRefusal.self) {
                try ApprovalTestRun(
                    document: fixture.document, sender: fixture.sender, baseURL: url,
                    now: { .init(millisecondsSinceEpoch: 0) })
            }
        }
        _ = try ApprovalTestRun(
            document: fixture.document, sender: fixture.sender,
            baseURL: "https://waste-tracking.integration.api.defra.gov.uk", now: { .init(millisecondsSinceEpoch: 0) })
        await fixture.close()
        try await sandbox.shutdown()
    }
}

/// Exchanges of a run, as they are recorded.
private final class Recorder: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [ApprovalExchange] = []
    func add(_ exchange: ApprovalExchange) { lock.withLock { list.append(exchange) } }
    var exchanges: [ApprovalExchange] { lock.withLock { list } }
}

/// An OAuth token from the sandbox's token endpoint, as a client of Defra's would get one.
private func sandboxToken(_ sandbox: DWTSandbox) async throws -> String {
    var request = URLRequest(url: URL(string: sandbox.baseURL + "/oauth2/token")!)
    request.httpMethod = "POST"
    let settings = SandboxSettings()
    let basic = Data("\(settings.clientID):\(settings.clientSecret)".utf8).base64EncodedString()
    request.setValue("Basic \(basic)", forHTTPHeaderField: "Authorization")
    request.httpBody = Data("grant_type=client_credentials".utf8)
    let (data, _) = try await URLSession.shared.data(for: request)
    guard case .string(let token)? = try JSONValue(parsing: Array(data)).field("access_token") else {
        throw ControlError(.internalError, "no token: \(String(decoding: data, as: UTF8.self))")
    }
    return token
}

/// Runs the contract check of `bodies` against Defra's published `receiveMovementRequest`.
func checkAgainstReceiptSchema(_ bodies: [JSONValue], in directory: String) async throws {
    let folder = directory + "/schema-check"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    var files: [String] = []
    for (index, body) in bodies.enumerated() {
        let file = "\(folder)/body-\(index).json"
        try body.serialized.write(toFile: file, atomically: true, encoding: .utf8)
        files.append(file)
    }
    let python = try projectPython()
    let arguments =
        [
            repositoryRoot.appendingPathComponent("scripts/contract/check_receipt_bodies.py").path,
            repositoryRoot.appendingPathComponent("docs/defra/ReceiptAPI.yml").path,
        ] + files
    let checked = try await onOwnThread { try runToCompletion(python, arguments) }
    #expect(checked.status == 0, "\(checked.output)\(checked.error)")
    #expect(checked.output.contains("checked \(bodies.count) bodies, 0 problems"), "\(checked.output)")
}
