internal import NIOHTTP1
public import WeighbridgeCore
public import WeighbridgeJSON

/// Defra's production approval scenarios (docs/defra/approval-tests.md): before it issues
/// production credentials, Defra wants one test receipt per scenario from the site's own software
/// in its external test environment, submitted with the `wasteTrackingId`s they produced.
public enum ApprovalScenario: String, Sendable, Hashable, CaseIterable {
    case r01 = "R01", r02 = "R02", r03 = "R03", r04 = "R04", r05 = "R05", r07 = "R07"
    case c01 = "C01", c02 = "C02", b01 = "B01", p01 = "P01", h01 = "H01", h02 = "H02", h03 = "H03", x01 = "X01"

    /// Defra's name for it.
    public var title: String {
        switch self {
        case .r01: "single waste item"
        case .r02: "multiple waste items"
        case .r03: "means of transport Road"
        case .r04: "no disposal or recovery codes"
        case .r05: "multiple disposal or recovery codes"
        case .r07: "multiple EWC codes"
        case .c01: "no carrier registration, no reason"
        case .c02: "no carrier registration, with reason"
        case .b01: "broker or dealer"
        case .p01: "multiple POPs components"
        case .h01: "multiple hazardous components"
        case .h02: "hazardous, no consignment code, no reason"
        case .h03: "hazardous, no consignment code, with reason"
        case .x01: "hazardous and POPs"
        }
    }

    /// Whether the scenario is a receipt Defra must refuse: the daemon refuses it itself, and
    /// that refusal is the evidence (there is no receipt to submit).
    public var isRefusal: Bool { self == .c01 || self == .h02 }

    /// The receipt data of the scenario's test load, in Defra's field names, as a site's system
    /// would give it to `expect --file`.
    public var receipt: String {
        switch self {
        case .r01, .r03:
            "{\(Self.items(Self.municipal(dr: #"[{"code":"R3","weight":\#(Self.tonnes("12.34"))}]"#))),\(Self.carrier)}"
        case .r02:
            "{\(Self.items(Self.municipal(share: "8000", dr: #"[{"code":"R3","weight":\#(Self.tonnes("8"))}]"#), Self.paper(share: "4340"))),\(Self.carrier)}"
        case .r04: "{\(Self.items(Self.municipal(dr: nil))),\(Self.carrier)}"
        case .r05:
            "{\(Self.items(Self.municipal(dr: #"[{"code":"R3","weight":\#(Self.tonnes("6"))},{"code":"R13","weight":\#(Self.tonnes("6.34"))}]"#))),\(Self.carrier)}"
        case .r07: "{\(Self.items(Self.packaging)),\(Self.carrier)}"
        case .c01:
            "{\(Self.items(Self.municipal(dr: Self.recovered))),\(Self.carrier(registration: #""registrationNumber":null"#))}"
        case .c02:
            "{\(Self.items(Self.municipal(dr: Self.recovered))),\(Self.carrier(registration: #""registrationNumber":null,"reasonForNoRegistrationNumber":"ONE_OFF""#))}"
        case .b01:
            #"{\#(Self.items(Self.municipal(dr: Self.recovered))),\#(Self.carrier),"brokerOrDealer":{"organisationName":"Approval Test Brokers Ltd","registrationNumber":"CBDU654321","address":{"fullAddress":"3 Trade Street, Testtown","postcode":"TE3 3RD"}}}"#
        case .p01: "{\(Self.items(Self.bulkyWithPOPs)),\(Self.carrier)}"
        case .h01: #"{"hazardousWasteConsignmentCode":"CJ32LE/A0001",\#(Self.items(Self.oil)),\#(Self.carrier)}"#
        case .h02: "{\(Self.items(Self.oil)),\(Self.carrier)}"
        case .h03: #"{"reasonForNoConsignmentCode":"NO_DOC_WITH_WASTE",\#(Self.items(Self.oil)),\#(Self.carrier)}"#
        case .x01:
            #"{"hazardousWasteConsignmentCode":"CJ32LE/A0002",\#(Self.items(Self.demolitionWithPOPs)),\#(Self.carrier)}"#
        }
    }

    /// The test load's movement: its EWC codes are those of its items, its declared weight the
    /// 12 340 kg the receipt is weighed at.
    public var movement: Movement {
        let codes: [String] =
            switch self {
            case .r01, .r03, .r04, .r05, .c01, .c02, .b01: ["200301"]
            case .r02: ["200301", "150101"]
            case .r07: ["150101", "150102"]
            case .p01: ["200307"]
            case .h01, .h02, .h03: ["130205"]
            case .x01: ["170903"]
            }
        do {
            return try Movement(
                id: "approval-test-\(rawValue)", declared: Self.weighed,
                ewcCodes: codes.map { try EWCCode(parsing: $0) }, vehicle: VehicleRegistration("AP26TST"))
        } catch {
            preconditionFailure("approval scenario \(rawValue) has an invalid movement: \(error)")
        }
    }

    /// The net each test load is reported at.
    public static let weighed = Mass(12_340, .kilograms)

    private static func tonnes(_ amount: String) -> String {
        #"{"metric":"Tonnes","amount":\#(amount),"isEstimate":true}"#
    }
    private static let recovered = #"[{"code":"R3","weight":\#(tonnes("12.34"))}]"#
    private static func items(_ items: String...) -> String { #""wasteItems":[\#(items.joined(separator: ","))]"# }
    private static func item(
        codes: String, description: String, form: String = "Solid", container: String = "SKI", share: String? = nil,
        dr: String?, extra: String = #""containsPops":false,"containsHazardous":false"#
    ) -> String {
        let weight = share.map { #","weight":{"metric":"Kilograms","amount":\#($0),"isEstimate":true}"# } ?? ""
        let codesOfDisposal = dr.map { #","disposalOrRecoveryCodes":\#($0)"# } ?? ""
        return
            #"{"ewcCodes":[\#(codes)],"wasteDescription":"\#(description)","physicalForm":"\#(form)","numberOfContainers":1,"typeOfContainers":"\#(container)",\#(extra)\#(weight)\#(codesOfDisposal)}"#
    }
    private static func municipal(share: String? = nil, dr: String?) -> String {
        item(codes: #""200301""#, description: "Mixed municipal waste", form: "Mixed", share: share, dr: dr)
    }
    private static func paper(share: String) -> String {
        item(
            codes: #""150101""#, description: "Paper and cardboard packaging", container: "BAL", share: share,
            dr: #"[{"code":"R3","weight":\#(tonnes("4.34"))}]"#)
    }
    private static let packaging = item(
        codes: #""150101","150102""#, description: "Paper and plastic packaging, baled together", container: "BAL",
        dr: recovered)
    private static let bulkyWithPOPs = item(
        codes: #""200307""#, description: "Upholstered domestic seating", container: "LOO",
        dr: #"[{"code":"R1","weight":\#(tonnes("12.34"))}]"#,
        extra:
            #""containsPops":true,"pops":{"sourceOfComponents":"OWN_TESTING","components":[{"code":"PENTABDE","concentration":120},{"code":"DECABDE","concentration":85}]},"containsHazardous":false"#
    )
    private static let oil = item(
        codes: #""130205""#, description: "Mineral-based non-chlorinated engine oil", form: "Liquid", container: "DRU",
        dr: #"[{"code":"R9","weight":\#(tonnes("12.34"))}]"#,
        extra:
            #""containsPops":false,"containsHazardous":true,"hazardous":{"sourceOfComponents":"PROVIDED_WITH_WASTE","hazCodes":["HP_7","HP_14"],"components":[{"name":"Polycyclic aromatic hydrocarbons","concentration":150},{"name":"Lead","concentration":25}]}"#
    )
    private static let demolitionWithPOPs = item(
        codes: #""170903""#, description: "Demolition waste with treated timber and insulation boards",
        dr: #"[{"code":"D10","weight":\#(tonnes("12.34"))}]"#,
        extra:
            #""containsPops":true,"pops":{"sourceOfComponents":"OWN_TESTING","components":[{"code":"HBCD","concentration":1200}]},"containsHazardous":true,"hazardous":{"sourceOfComponents":"OWN_TESTING","hazCodes":["HP_7"],"components":[{"name":"Pentachlorophenol","concentration":60}]}"#
    )
    private static func carrier(registration: String) -> String {
        #""carrier":{\#(registration),"organisationName":"Approval Test Haulage Ltd","meansOfTransport":"Road","vehicleRegistration":"AP26TST","address":{"fullAddress":"1 Test Road, Testtown","postcode":"TE1 1ST"}}"#
    }
    private static let carrier = carrier(registration: #""registrationNumber":"CBDU123456""#)
}

/// One request of an approval run and its answer, as the evidence directory keeps it.
public struct ApprovalExchange: Sendable {
    public var scenario: ApprovalScenario?
    public var method: String
    public var url: String
    public var requestBody: JSONValue
    public var sentAt: Timestamp
    /// Nil when no answer came.
    public var status: Int?
    public var responseBody: JSONValue?
    public var answeredAt: Timestamp
    /// Why no answer came, when none did.
    public var failure: String?

    /// The record as JSON, times in RFC 3339.
    public var json: JSONValue {
        .object([
            "scenario": scenario.map { .string($0.rawValue) } ?? .null,
            "request": .object(["method": .string(method), "url": .string(url), "body": requestBody]),
            "sent_at": .string(sentAt.rfc3339),
            "response": .object([
                "status": status.map { .integer(Int64($0)) } ?? .null, "body": responseBody ?? .null,
                "failure": failure.map(JSONValue.string) ?? .null,
            ]),
            "answered_at": .string(answeredAt.rfc3339),
        ])
    }
}

/// How one scenario of a run ended.
public struct ApprovalOutcome: Sendable {
    public enum Result: Sendable, Hashable {
        /// Refused by the daemon's own checks, as the scenario requires; the problems are the evidence.
        case refusedLocally([String])
        /// The daemon refused a receipt that should have gone: a fault in the scenario or the site's details.
        case notBuilt([String])
        /// Sent; the API answered this.
        case answered(status: Int, trackingID: String?, detail: String)
        /// Sent; no answer came.
        case failed(String)
    }

    public var scenario: ApprovalScenario
    public var result: Result
    /// Defra's verdict on the submission (`Pass`, `Fail`, …) and its message, once submitted.
    public var verdict: (status: String, message: String)?

    /// The `wasteTrackingId` the receipt was stored under, when it was.
    public var trackingID: String? {
        if case .answered(200..<300, let id?, _) = result { return id }
        return nil
    }

    /// Whether the scenario is shown as Defra asks: refused locally, or passed when submitted
    /// (or, not submitted, stored).
    public var succeeded: Bool {
        if case .refusedLocally = result { return true }
        guard let verdict else { return trackingID != nil }
        return verdict.status == "Pass"
    }
}

/// Runs approval scenarios against the configured API: each receipt is built by the same document
/// builder and checked by the same rules as a real one, then sent directly (they are test receipts
/// in Defra's test environment, not reports of loads, so they do not pass through the outbox).
public struct ApprovalTestRun: Sendable {
    let document: DefraReceiptDocument
    let sender: ReportSender
    let baseURL: String
    let now: @Sendable () -> Timestamp

    /// Defra's production host, which a run refuses: test receipts are not for the live register.
    public static let productionHost = "waste-tracking.api.defra.gov.uk"

    /// A run through `sender` against `baseURL`; refused when that is Defra's production host.
    public init(
        document: DefraReceiptDocument, sender: ReportSender, baseURL: String, now: @escaping @Sendable () -> Timestamp
    ) throws(ApprovalRunRefusal) {
        // The authority's host, without user information, port or a trailing dot.
        let authority = baseURL.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first ?? ""
        let hostAndPort = authority.split(separator: "@").last ?? authority
        var host = (hostAndPort.split(separator: ":").first ?? hostAndPort).lowercased()
        while host.hasSuffix(".") { host.removeLast() }
        guard host != Self.productionHost else { throw ApprovalRunRefusal(baseURL: baseURL) }
        self.document = document
        self.sender = sender
        self.baseURL = baseURL
        self.now = now
    }

    /// Builds and sends each scenario's receipt, then, with `submit`, submits the ids to
    /// `POST /production-approval-tests` and reads Defra's verdicts. Every request and answer is
    /// handed to `record` as it happens.
    public func run(
        _ scenarios: [ApprovalScenario], submit: Bool, record: @Sendable (ApprovalExchange) -> Void
    ) async -> (outcomes: [ApprovalOutcome], submission: ApprovalExchange?) {
        let runStamp = now().rfc3339.filter { $0.isNumber }.prefix(14)
        var outcomes: [ApprovalOutcome] = []
        for scenario in scenarios {
            let body: JSONValue
            do {
                body = try document.body(
                    movement: scenario.movement, receipt: scenario.receipt, net: ApprovalScenario.weighed,
                    receivedAt: now(), reference: "PAT-\(scenario.rawValue)-\(runStamp)",
                    idempotencyKey: "approval-test/\(runStamp)/\(scenario.rawValue)")
            } catch {
                outcomes.append(
                    ApprovalOutcome(
                        scenario: scenario,
                        result: scenario.isRefusal ? .refusedLocally(error.problems) : .notBuilt(error.problems)))
                continue
            }
            guard !scenario.isRefusal else {
                outcomes.append(
                    ApprovalOutcome(
                        scenario: scenario,
                        result: .notBuilt(["the daemon's checks let through a receipt Defra refuses"])))
                continue
            }
            let exchange = await exchange(scenario: scenario, method: .POST, path: "/movements/receive", body: body)
            record(exchange)
            let result: ApprovalOutcome.Result
            if let status = exchange.status {
                var trackingID: String?
                if case .string(let id)? = exchange.responseBody?.field("wasteTrackingId") { trackingID = id }
                result = .answered(status: status, trackingID: trackingID, detail: detail(of: exchange.responseBody))
            } else {
                result = .failed(exchange.failure ?? "no answer")
            }
            outcomes.append(ApprovalOutcome(scenario: scenario, result: result))
        }
        let stored = outcomes.compactMap { outcome in outcome.trackingID.map { (outcome.scenario, $0) } }
        guard submit, !stored.isEmpty else { return (outcomes, nil) }
        let submission = await exchange(
            scenario: nil, method: .POST, path: "/production-approval-tests",
            body: .array(
                stored.map { .object(["scenarioId": .string($0.0.rawValue), "wasteTrackingId": .string($0.1)]) }))
        record(submission)
        if case .array(let results)? = submission.responseBody?.field("results") {
            for result in results {
                guard case .string(let id)? = result.field("scenarioId"),
                    let index = outcomes.firstIndex(where: { $0.scenario.rawValue == id })
                else { continue }
                let status: String = if case .string(let text)? = result.field("status") { text } else { "?" }
                let message: String = if case .string(let text)? = result.field("message") { text } else { "" }
                outcomes[index].verdict = (status, message)
            }
        }
        return (outcomes, submission)
    }

    private func exchange(scenario: ApprovalScenario?, method: HTTPMethod, path: String, body: JSONValue) async
        -> ApprovalExchange
    {
        let sentAt = now()
        let answer = await sender.exchange(
            APIRequest(method: method, url: baseURL + path, headers: [], body: Array(body.serialized.utf8)))
        var record = ApprovalExchange(
            scenario: scenario, method: method.rawValue, url: baseURL + path, requestBody: body, sentAt: sentAt,
            status: nil, responseBody: nil, answeredAt: now(), failure: answer.failure)
        if let status = answer.status {
            record.status = status
            record.responseBody =
                answer.body.isEmpty
                ? nil
                : ((try? JSONValue(parsing: answer.body)) ?? .string(String(decoding: answer.body, as: UTF8.self)))
        }
        return record
    }

    private func detail(of body: JSONValue?) -> String {
        var lines: [String] = []
        for list in ["errors", "warnings"] {
            guard case .array(let items)? = body?.field("validation")?.field(list) else { continue }
            for item in items {
                let text = { (name: String) -> String in
                    if case .string(let value)? = item.field(name) { return value }
                    return ""
                }
                lines.append("\(list == "errors" ? "error" : "warning") \(text("key")): \(text("message"))")
            }
        }
        if lines.isEmpty, case .string(let message)? = body?.field("message") { lines.append(message) }
        return lines.joined(separator: "; ")
    }
}

/// A run refused because its base URL is Defra's production service.
public struct ApprovalRunRefusal: Error, Sendable, CustomStringConvertible {
    public var baseURL: String
    public var description: String {
        "\(baseURL) is Defra's production service: approval tests run against the external test environment "
            + "(api.environment = \"sandbox\") or the local sandbox, never against the live register"
    }
}
