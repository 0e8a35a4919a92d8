internal import WeighbridgeJSON

/// Defra's production approval tests as its backend judges them: `POST
/// /production-approval-tests` takes scenario ids with the `wasteTrackingId`s of the test
/// receipts, and judges each on the receipt stored under that id (docs/defra/approval-tests.md).
enum ApprovalJudge {
    /// The scenarios Defra knows; C01 and H02 are refusals, with no receipt to judge.
    static let known = [
        "R01", "R02", "R03", "R04", "R05", "R07", "C01", "C02", "B01", "P01", "H01", "H02", "H03", "X01",
    ]
    static let withoutReceipt: Set<String> = ["C01", "H02"]

    /// The answer to one submission, given the receipts stored so far.
    static func submit(_ body: JSONValue?, receipts: [String: JSONValue], submission: Int) -> SandboxState.Response {
        guard case .array(let entries)? = body, !entries.isEmpty else {
            return refusal("the body must be an array of at least one {scenarioId, wasteTrackingId}")
        }
        var seen: Set<String> = []
        var pairs: [(scenario: String, trackingID: String)] = []
        var missing: [String] = []
        for (index, entry) in entries.enumerated() {
            guard case .string(let scenario)? = entry.field("scenarioId"),
                case .string(let trackingID)? = entry.field("wasteTrackingId")
            else { return refusal("[\(index)]: scenarioId and wasteTrackingId are required strings") }
            guard known.contains(scenario) else {
                return refusal("[\(index)].scenarioId: unknown scenario \(scenario)")
            }
            guard seen.insert(scenario).inserted else {
                return refusal("[\(index)].scenarioId: \(scenario) is given more than once")
            }
            if receipts[trackingID] == nil, !withoutReceipt.contains(scenario) { missing.append(trackingID) }
            pairs.append((scenario, trackingID))
        }
        guard missing.isEmpty else {
            return refusal("Could not find waste input(s) for the following id(s): \(missing.joined(separator: ", "))")
        }
        let results = pairs.map { pair -> JSONValue in
            let (status, message): (String, String)
            if withoutReceipt.contains(pair.scenario) {
                (status, message) = (
                    "Error", "\(pair.scenario) is shown by the API refusing the receipt: nothing to judge"
                )
            } else if let failure = judge(pair.scenario, receipts[pair.trackingID] ?? .null) {
                (status, message) = ("Fail", failure)
            } else {
                (status, message) = ("Pass", "")
            }
            return .object([
                "scenarioId": .string(pair.scenario), "wasteTrackingId": .string(pair.trackingID),
                "status": .string(status), "message": .string(message),
            ])
        }
        return SandboxState.Response(
            status: 200,
            body: .object(["submissionId": .string("SBX-PAT-\(submission)"), "results": .array(results)]))
    }

    /// Why the receipt fails the scenario, or nil when it passes.
    static func judge(_ scenario: String, _ receipt: JSONValue) -> String? {
        let items: [JSONValue] = if case .array(let list)? = receipt.field("wasteItems") { list } else { [] }
        func count(_ value: JSONValue?) -> Int {
            if case .array(let list)? = value { return list.count }
            return 0
        }
        func anyItem(_ test: (JSONValue) -> Bool) -> Bool { items.contains(where: test) }
        func given(_ value: JSONValue?) -> Bool {
            if case .string(let text)? = value { return !text.isEmpty }
            return false
        }
        switch scenario {
        case "R01":
            guard items.count == 1, let item = items.first else {
                return "Expected exactly 1 waste item for R01, found \(items.count)"
            }
            if count(item.field("disposalOrRecoveryCodes")) == 0 {
                return "Expected at least 1 disposal or recovery code for R01"
            }
            if item.field("containsPops") == .bool(true) { return "Expected containsPops not to be true for R01" }
            if item.field("containsHazardous") == .bool(true) {
                return "Expected containsHazardous not to be true for R01"
            }
            return nil
        case "R02":
            return items.count >= 2 ? nil : "Expected more than 1 waste item for R02, found \(items.count)"
        case "R03":
            return receipt.field("carrier")?.field("meansOfTransport") == .string("Road")
                ? nil : "Expected carrier.meansOfTransport to be Road for R03"
        case "R04":
            return anyItem { count($0.field("disposalOrRecoveryCodes")) > 0 }
                ? "Expected no disposal or recovery codes for R04" : nil
        case "R05":
            return anyItem { count($0.field("disposalOrRecoveryCodes")) >= 2 }
                ? nil : "Expected a waste item with more than 1 disposal or recovery code for R05"
        case "R07":
            return anyItem { count($0.field("ewcCodes")) >= 2 }
                ? nil : "Expected a waste item with more than 1 EWC code for R07"
        case "C02":
            return given(receipt.field("carrier")?.field("reasonForNoRegistrationNumber"))
                ? nil : "Expected carrier.reasonForNoRegistrationNumber for C02"
        case "B01":
            return given(receipt.field("brokerOrDealer")?.field("organisationName"))
                ? nil : "Expected brokerOrDealer.organisationName for B01"
        case "P01":
            return anyItem { count($0.field("pops")?.field("components")) >= 2 }
                ? nil : "Expected a waste item with more than 1 POPs component for P01"
        case "H01":
            return anyItem { count($0.field("hazardous")?.field("components")) >= 2 }
                ? nil : "Expected a waste item with more than 1 hazardous component for H01"
        case "H03":
            return given(receipt.field("reasonForNoConsignmentCode"))
                ? nil : "Expected reasonForNoConsignmentCode for H03"
        case "X01":
            return anyItem {
                count($0.field("pops")?.field("components")) > 0
                    && count($0.field("hazardous")?.field("components")) > 0
            } ? nil : "Expected a waste item with both POPs and hazardous components for X01"
        default:
            return "\(scenario) is not judged"
        }
    }

    private static func refusal(_ message: String) -> SandboxState.Response {
        SandboxState.Response(
            status: 400,
            body: .object([
                "statusCode": .integer(400), "error": .string("Bad Request"), "message": .string(message),
            ]))
    }
}
