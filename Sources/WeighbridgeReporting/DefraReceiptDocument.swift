public import WeighbridgeCore
public import WeighbridgeJSON

/// Who receives the waste, as the site configuration names it in Defra's body.
public struct ReceiverDetails: Sendable, Hashable {
    public var siteName: String
    public var authorisationNumber: String
    public var fullAddress: String
    public var postcode: String

    public init(siteName: String, authorisationNumber: String, fullAddress: String, postcode: String) {
        self.siteName = siteName
        self.authorisationNumber = authorisationNumber
        self.fullAddress = fullAddress
        self.postcode = postcode
    }
}

/// The body of Defra's `POST /movements/receive` (and of the `PUT` that corrects it), assembled
/// from the movement's `receipt` object (Defra's own field names, from `weighbridgectl expect
/// --file`) and what the daemon knows itself, then checked against Defra's published rules
/// before anything is sent (ReceiptAPI.yml, `receiveMovementRequest`).
///
/// The daemon fills in `apiCode`, `dateTimeReceived` (the first weighing), `receiver`,
/// `receipt.address`, `yourUniqueReference` (the ticket), each item's `weight` (one item: the
/// weighed net, `isEstimate: false`; several: the net divided by their shares, `LoadSplit`, each
/// an estimate), the EWC codes and the vehicle when the receipt leaves them out, and our movement
/// id and idempotency key in `otherReferencesForMovement`.
public struct DefraReceiptDocument: Sendable {
    /// Top-level fields the receipt object may carry; anything else is refused (Defra answers an
    /// unknown field with 400 `NotAllowed`).
    static let receiptFields: Set<String> = [
        "wasteItems", "carrier", "brokerOrDealer", "hazardousWasteConsignmentCode", "reasonForNoConsignmentCode",
        "specialHandlingRequirements", "otherReferencesForMovement",
    ]
    static let bodyFields = receiptFields.union([
        "apiCode", "dateTimeReceived", "yourUniqueReference", "receiver", "receipt",
    ])
    static let itemFields: Set<String> = [
        "ewcCodes", "wasteDescription", "physicalForm", "numberOfContainers", "typeOfContainers", "weight",
        "containsPops", "pops", "containsHazardous", "hazardous", "disposalOrRecoveryCodes",
    ]
    static let carrierFields: Set<String> = [
        "registrationNumber", "reasonForNoRegistrationNumber", "organisationName", "address", "emailAddress",
        "phoneNumber", "vehicleRegistration", "meansOfTransport",
    ]
    static let physicalForms: Set<String> = ["Gas", "Liquid", "Solid", "Powder", "Sludge", "Mixed"]
    static let meansOfTransport: Set<String> = ["Road", "Rail", "Air", "Sea", "Inland Waterway", "Piped", "Other"]
    /// The business rule's codes; the published schema's enum shows display names instead (see
    /// docs/operators-guide.md, "Defra receipt data").
    static let noConsignmentReasons: Set<String> = ["NON_HAZ_WASTE_TRANSFER", "NO_DOC_WITH_WASTE", "HWRC_RECEIPT"]

    /// Defra's weight metrics, and the unit each is.
    static let metrics: [String: MassUnit] = ["Grams": .grams, "Kilograms": .kilograms, "Tonnes": .tonnes]
    /// Why a carrier may have no registration number (ReceiptAPI.yml, `carrier`).
    static let noRegistrationReasons: Set<String> = ["ON_SITE", "HOUSEHOLD", "ONE_OFF", "MARINE"]

    /// The reference lists in force: the daily refresh replaces them under the document's feet.
    public let catalogue: ReferenceCatalogueCache
    public let receiver: ReceiverDetails
    public let apiCode: String

    /// A document builder for one receiving organisation.
    public init(catalogue: ReferenceCatalogueCache, receiver: ReceiverDetails, apiCode: String) {
        self.catalogue = catalogue
        self.receiver = receiver
        self.apiCode = apiCode
    }

    /// A problem naming both lists when the item's codes are not all the movement's
    /// (`Movement.codesNotJudged`).
    static func codesOutsideMovement(_ codes: JSONValue, item: Int, movement: Movement) -> [String] {
        guard case .array(let list) = codes else { return [] }  // the schema check names its shape
        let outside = movement.codesNotJudged(
            list.compactMap { value -> EWCCode? in
                guard case .string(let text) = value else { return nil }
                return try? EWCCode(parsing: text)
            })
        guard !outside.isEmpty else { return [] }
        return [
            "wasteItems[\(item)].ewcCodes: \(outside.map(\.spaced).joined(separator: ", ")) not among the movement's "
                + "ewc_codes (\(movement.ewcCodes.map(\.spaced).joined(separator: ", "))): the rules judged only "
                + "those; send one list"
        ]
    }

    /// What a movement's receipt data lacks or has wrong for Defra, one line per field; empty
    /// when a receipt can be sent. The weight is the one thing not needed: the bridge gives it
    /// (the declared weight stands in for it here, to divide among several items).
    public func problems(movement: Movement, receipt: String?) -> [String] {
        do {
            _ = try body(
                movement: movement, receipt: receipt, net: movement.declared,
                receivedAt: Timestamp(millisecondsSinceEpoch: 0),
                reference: "1", idempotencyKey: "check")
            return []
        } catch {
            return error.problems
        }
    }

    /// The request body, or every problem found with it. `reference` is `yourUniqueReference`:
    /// the weighing ticket of a real receipt.
    public func body(
        movement: Movement, receipt: String?, net: Mass, receivedAt: Timestamp, reference: String,
        idempotencyKey: String
    ) throws(ReceiptProblems) -> JSONValue {
        guard let receipt else { throw ReceiptProblems(["receipt: the movement has no receipt data"]) }
        let supplied: [String: JSONValue]
        do {
            guard case .object(let object) = try JSONValue(parsing: Array(receipt.utf8)) else {
                throw ReceiptProblems(["receipt: must be a JSON object"])
            }
            supplied = object
        } catch let error as JSONSyntaxError {
            throw ReceiptProblems(["receipt: \(error)"])
        } catch let problems as ReceiptProblems {
            throw problems
        } catch {
            throw ReceiptProblems(["receipt: \(error)"])
        }
        var problems: [String] = []
        for key in supplied.keys.sorted() where !Self.receiptFields.contains(key) {
            problems.append("receipt.\(key): not a field Defra accepts here")
        }
        var fields = supplied.filter { Self.receiptFields.contains($0.key) }
        fields["apiCode"] = .string(apiCode)
        fields["dateTimeReceived"] = .string(receivedAt.rfc3339)
        fields["yourUniqueReference"] = .string(reference)
        fields["receiver"] = .object([
            "siteName": .string(receiver.siteName), "authorisationNumber": .string(receiver.authorisationNumber),
        ])
        fields["receipt"] = .object([
            "address": .object(["fullAddress": .string(receiver.fullAddress), "postcode": .string(receiver.postcode)])
        ])
        var references: [JSONValue] = []
        if case .array(let given)? = supplied["otherReferencesForMovement"] { references = given }
        references.append(.object(["label": .string("Movement ID"), "reference": .string(movement.id)]))
        references.append(.object(["label": .string("Idempotency key"), "reference": .string(idempotencyKey)]))
        fields["otherReferencesForMovement"] = .array(references)

        if case .array(let items)? = supplied["wasteItems"] {
            let weights = itemWeights(items, net: net, problems: &problems)
            fields["wasteItems"] = .array(
                items.enumerated().map { index, item in
                    guard case .object(var object) = item else { return item }
                    if let weight = weights[index] { object["weight"] = weight }
                    if let codes = object["ewcCodes"] {
                        problems += Self.codesOutsideMovement(codes, item: index, movement: movement)
                    } else {
                        object["ewcCodes"] = .array(movement.ewcCodes.map { .string($0.compact) })
                    }
                    return .object(object)
                })
        }
        if case .object(var carrier)? = supplied["carrier"], carrier["vehicleRegistration"] == nil,
            carrier["meansOfTransport"] == .string("Road"), let vehicle = movement.vehicle
        {
            carrier["vehicleRegistration"] = .string(vehicle.normalised)
            fields["carrier"] = .object(carrier)
        }
        let body = JSONValue.object(fields)
        problems += validate(body)
        guard problems.isEmpty else { throw ReceiptProblems(problems) }
        return body
    }

    /// Each item's `weight` as sent: one item is the whole weighed net, measured
    /// (`isEstimate: false`); several divide the net by the shares their receipt data gives
    /// (`LoadSplit`), each part an estimate, the parts adding up exactly to the net. An item whose
    /// share is missing or unreadable keeps what it had, for `validate` to name; nil keeps it too.
    private func itemWeights(_ items: [JSONValue], net: Mass, problems: inout [String]) -> [JSONValue?] {
        func weight(_ mass: Mass, estimate: Bool) -> JSONValue {
            .object([
                "metric": .string("Kilograms"), "amount": .number(mass.formatted(in: .kilograms)),
                "isEstimate": .bool(estimate),
            ])
        }
        guard items.count > 1 else { return [weight(net, estimate: false)] }
        let shares = items.map { item in share(item.field("weight")) }
        guard shares.allSatisfy({ $0 != nil }) else {
            // A missing weight is named by `validate`; one that is there but unreadable, here.
            for (index, item) in items.enumerated() where shares[index] == nil && item.field("weight") != nil {
                problems.append(
                    "wasteItems[\(index)].weight: its share of the load must be a metric (Grams, Kilograms, "
                        + "Tonnes) and an exact amount above zero")
            }
            return items.map { _ in nil }
        }
        do {
            return try LoadSplit.divide(net, byShares: shares.compactMap { $0 }).map { weight($0, estimate: true) }
        } catch {
            let net = "the net \(net.formatted(in: .kilograms)) kg"
            switch error {
            case .itemComesToNothing(let item, let unit):
                problems.append(
                    "wasteItems[\(item)].weight: its share comes to less than \(unit) of \(net): give it a larger one")
            case .shareNotPositive(let item):
                problems.append("wasteItems[\(item)].weight: its share must be more than zero")
            case .noItems, .netNotPositive, .sharesTooLarge:
                problems.append("wasteItems: \(net) cannot be divided: \(error)")
            }
            return items.map { _ in nil }
        }
    }

    /// An item's share of the load: the weight its receipt data gives it, in any of Defra's
    /// metrics; nil when it gives none that reads as a weight.
    private func share(_ weight: JSONValue?) -> Mass? {
        guard case .string(let metric)? = weight?.field("metric"), let unit = Self.metrics[metric],
            case .number(let amount)? = weight?.field("amount")
        else { return nil }
        return try? Mass(parsing: amount, defaultUnit: unit)
    }

    /// Defra's rules for a whole body, one line per broken rule.
    public func validate(_ body: JSONValue) -> [String] {
        guard case .object(let fields) = body else { return ["body: must be a JSON object"] }
        var problems = unknownFields(fields, allowed: Self.bodyFields, at: "")
        if !isUUID(fields["apiCode"]) { problems.append("apiCode: must be a UUID") }
        if case .string(let text)? = fields["dateTimeReceived"], Timestamp(rfc3339: text) != nil {
        } else {
            problems.append("dateTimeReceived: must be an RFC 3339 date-time")
        }
        var anyHazardous = false
        if case .array(let items)? = fields["wasteItems"], !items.isEmpty {
            for (index, item) in items.enumerated() {
                let (itemProblems, hazardous) = validate(item: item, at: "wasteItems[\(index)]")
                problems += itemProblems
                anyHazardous = anyHazardous || hazardous
            }
        } else {
            problems.append("wasteItems: at least one waste item is required")
        }
        problems += validate(carrier: fields["carrier"])
        if let broker = fields["brokerOrDealer"], nonEmptyString(broker.field("organisationName")) == nil {
            problems.append("brokerOrDealer.organisationName: required when a broker or dealer is given")
        }
        if let code = fields["hazardousWasteConsignmentCode"] {
            if !isConsignmentCode(code) {
                problems.append(
                    "hazardousWasteConsignmentCode: must be XXXXXX/YYYYY (England and Wales), "
                        + "S[ABC]1234567 (Scotland) or D[ABC]1234567 (Northern Ireland)")
            }
        } else if let reason = fields["reasonForNoConsignmentCode"] {
            if case .string(let text) = reason, Self.noConsignmentReasons.contains(text) {
            } else {
                problems.append(
                    "reasonForNoConsignmentCode: must be NON_HAZ_WASTE_TRANSFER, NO_DOC_WITH_WASTE or HWRC_RECEIPT")
            }
        } else if anyHazardous {
            problems.append(
                "hazardousWasteConsignmentCode: required (or reasonForNoConsignmentCode) because an EWC code is hazardous"
            )
        }
        if case .array(let references)? = fields["otherReferencesForMovement"] {
            for (index, reference) in references.enumerated()
            where nonEmptyString(reference.field("label")) == nil || nonEmptyString(reference.field("reference")) == nil
            {
                problems.append("otherReferencesForMovement[\(index)]: needs a non-empty label and reference")
            }
        }
        if case .string(let text)? = fields["specialHandlingRequirements"], text.count > 5000 {
            problems.append("specialHandlingRequirements: at most 5000 characters")
        }
        let receiverFields = fields["receiver"]
        if nonEmptyString(receiverFields?.field("siteName")) == nil {
            problems.append("receiver.siteName: required (site.name)")
        }
        if nonEmptyString(receiverFields?.field("authorisationNumber")) == nil {
            problems.append("receiver.authorisationNumber: required (site.permit)")
        }
        let address = fields["receipt"]?.field("address")
        if nonEmptyString(address?.field("fullAddress")) == nil {
            problems.append("receipt.address.fullAddress: required (site.address)")
        }
        if nonEmptyString(address?.field("postcode")) == nil {
            problems.append("receipt.address.postcode: required (site.postcode)")
        }
        return problems
    }

    private func validate(item: JSONValue, at path: String) -> (problems: [String], hazardous: Bool) {
        guard case .object(let fields) = item else { return (["\(path): must be an object"], false) }
        let catalogue = catalogue.current
        var problems = unknownFields(fields, allowed: Self.itemFields, at: path + ".")
        var hazardous = false
        if case .array(let codes)? = fields["ewcCodes"], (1...5).contains(codes.count) {
            for code in codes {
                guard case .string(let text) = code, text.count == 6, text.allSatisfy(\.isASCIIDigit) else {
                    problems.append("\(path).ewcCodes: \(code.serialized) is not six digits without spaces")
                    continue
                }
                guard let isHazardous = catalogue.ewcHazardous[text] else {
                    problems.append("\(path).ewcCodes: \(text) is not in Defra's EWC list")
                    continue
                }
                hazardous = hazardous || isHazardous
            }
        } else {
            problems.append("\(path).ewcCodes: one to five codes are required")
        }
        if nonEmptyString(fields["wasteDescription"]) == nil { problems.append("\(path).wasteDescription: required") }
        if case .string(let form)? = fields["physicalForm"], Self.physicalForms.contains(form) {
        } else {
            problems.append("\(path).physicalForm: one of \(Self.physicalForms.sorted().joined(separator: ", "))")
        }
        if case .number(let text)? = fields["numberOfContainers"], let count = Int(text), count >= 0 {
        } else {
            problems.append("\(path).numberOfContainers: a whole number, zero or more")
        }
        if case .string(let type)? = fields["typeOfContainers"], catalogue.containerTypes.contains(type) {
        } else {
            problems.append("\(path).typeOfContainers: one of Defra's container type codes (e.g. SKI, BAG)")
        }
        for flag in ["containsPops", "containsHazardous"] {
            if case .bool? = fields[flag] {} else { problems.append("\(path).\(flag): true or false is required") }
        }
        if fields["weight"] == nil {
            problems.append(
                "\(path).weight: required (with several waste items, give each its weight or share of the load: "
                    + "the bridge weighs only the whole load)")
        } else {
            problems += validate(weight: fields["weight"], at: "\(path).weight")
        }
        if case .array(let codes)? = fields["disposalOrRecoveryCodes"] {
            for (index, entry) in codes.enumerated() {
                if case .string(let code)? = entry.field("code"), catalogue.disposalOrRecoveryCodes.contains(code) {
                } else {
                    problems.append("\(path).disposalOrRecoveryCodes[\(index)].code: R1–R13 or D1–D15")
                }
                problems += validate(
                    weight: entry.field("weight"), at: "\(path).disposalOrRecoveryCodes[\(index)].weight")
            }
        }
        problems += validate(
            components: fields["pops"], declared: fields["containsPops"], kind: .pops, at: "\(path).pops",
            catalogue: catalogue)
        problems += validate(
            components: fields["hazardous"], declared: fields["containsHazardous"], kind: .hazardous,
            at: "\(path).hazardous", catalogue: catalogue)
        return (problems, hazardous)
    }

    /// The two kinds of component detail an item can carry.
    private enum ComponentKind {
        case pops, hazardous

        var flag: String { self == .pops ? "containsPops" : "containsHazardous" }
        var fields: Set<String> {
            self == .pops ? ["sourceOfComponents", "components"] : ["sourceOfComponents", "hazCodes", "components"]
        }
        /// What names a component: a POP's code from Defra's list, a hazardous substance's name.
        var componentName: String { self == .pops ? "code" : "name" }
    }

    static let componentSources: Set<String> = ["NOT_PROVIDED", "PROVIDED_WITH_WASTE", "GUIDANCE", "OWN_TESTING"]

    /// An item's `pops` or `hazardous` object against its flag and Defra's business rules: present
    /// exactly when the flag is true; a known source of the component details; no components when
    /// none were provided, at least one when they come from guidance or testing; each component
    /// named (a POP by a code in Defra's list), its concentration above zero; hazard codes from
    /// Defra's list.
    private func validate(
        components object: JSONValue?, declared: JSONValue?, kind: ComponentKind, at path: String,
        catalogue: ReferenceCatalogue
    ) -> [String] {
        guard let object else {
            return declared == .bool(true) ? ["\(path): required because \(kind.flag) is true"] : []
        }
        guard case .object(let fields) = object else { return ["\(path): must be an object"] }
        guard declared == .bool(true) else { return ["\(path): given, but \(kind.flag) is not true"] }
        var problems = unknownFields(fields, allowed: kind.fields, at: path + ".")
        let source: String? = if case .string(let text)? = fields["sourceOfComponents"] { text } else { nil }
        if let source, Self.componentSources.contains(source) {
        } else {
            problems.append(
                "\(path).sourceOfComponents: one of \(Self.componentSources.sorted().joined(separator: ", "))")
        }
        var components: [JSONValue] = []
        switch fields["components"] {
        case nil: break
        case .array(let list)?: components = list
        default: problems.append("\(path).components: must be an array")
        }
        if source == "NOT_PROVIDED", !components.isEmpty {
            problems.append("\(path).components: must be empty when sourceOfComponents is NOT_PROVIDED")
        }
        if source == "GUIDANCE" || source == "OWN_TESTING", components.isEmpty {
            problems.append("\(path).components: at least one is required when sourceOfComponents is \(source ?? "")")
        }
        for (index, component) in components.enumerated() {
            let at = "\(path).components[\(index)]"
            guard case .object(let parts) = component else {
                problems.append("\(at): must be an object")
                continue
            }
            problems += unknownFields(parts, allowed: [kind.componentName, "concentration"], at: at + ".")
            switch (kind, parts[kind.componentName]) {
            case (.pops, .string(let code)?) where catalogue.popCodes.contains(code): break
            case (.pops, _): problems.append("\(at).code: one of Defra's POP codes (e.g. PFOS, END)")
            case (.hazardous, let name?) where nonEmptyString(name) != nil: break
            case (.hazardous, _): problems.append("\(at).name: required (the substance, e.g. Mercury)")
            }
            if let concentration = parts["concentration"] {
                if case .number(let text) = concentration, isAboveZero(text) {
                } else {
                    problems.append("\(at).concentration: a number above zero (mg/kg)")
                }
            }
        }
        if kind == .hazardous, let codes = fields["hazCodes"] {
            guard case .array(let list) = codes else { return problems + ["\(path).hazCodes: must be an array"] }
            for code in list {
                if case .string(let text) = code, catalogue.hazardousPropertyCodes.contains(text) {
                } else {
                    problems.append("\(path).hazCodes: \(code.serialized) is not HP_1–HP_15 or HP_POP")
                }
            }
        }
        return problems
    }

    private func validate(weight: JSONValue?, at path: String) -> [String] {
        guard case .object(let fields)? = weight else { return ["\(path): required"] }
        var problems = unknownFields(fields, allowed: ["metric", "amount", "isEstimate"], at: path + ".")
        if case .string(let metric)? = fields["metric"], Self.metrics[metric] != nil {
        } else {
            problems.append("\(path).metric: Grams, Kilograms or Tonnes")
        }
        if case .number(let amount)? = fields["amount"], isAboveZero(amount) {
        } else {
            problems.append("\(path).amount: a number above zero")
        }
        if case .bool? = fields["isEstimate"] {} else { problems.append("\(path).isEstimate: required") }
        return problems
    }

    private func validate(carrier: JSONValue?) -> [String] {
        guard case .object(let fields)? = carrier else { return ["carrier: required"] }
        var problems = unknownFields(fields, allowed: Self.carrierFields, at: "carrier.")
        switch (nonEmptyString(fields["registrationNumber"]), nonEmptyString(fields["reasonForNoRegistrationNumber"])) {
        case (nil, nil):
            problems.append("carrier.registrationNumber: required (or carrier.reasonForNoRegistrationNumber)")
        case (nil, let reason?) where !Self.noRegistrationReasons.contains(reason):
            problems.append(
                "carrier.reasonForNoRegistrationNumber: one of \(Self.noRegistrationReasons.sorted().joined(separator: ", "))"
            )
        case (_?, _?):
            problems.append("carrier.reasonForNoRegistrationNumber: only without a registrationNumber")
        default:
            break
        }
        if nonEmptyString(fields["organisationName"]) == nil { problems.append("carrier.organisationName: required") }
        guard case .string(let means)? = fields["meansOfTransport"], Self.meansOfTransport.contains(means) else {
            problems.append(
                "carrier.meansOfTransport: one of \(Self.meansOfTransport.sorted().joined(separator: ", "))")
            return problems
        }
        if means == "Road", nonEmptyString(fields["vehicleRegistration"]) == nil {
            problems.append("carrier.vehicleRegistration: required for Road (or give the movement a vehicle)")
        }
        return problems
    }

    /// Whether a JSON number's text is above zero: not negative, and a digit other than zero in
    /// its mantissa ("0e5" and "0.000" are zero).
    private func isAboveZero(_ number: String) -> Bool {
        !number.hasPrefix("-") && number.prefix { $0 != "e" && $0 != "E" }.contains { ("1"..."9").contains($0) }
    }

    private func unknownFields(_ fields: [String: JSONValue], allowed: Set<String>, at path: String) -> [String] {
        fields.keys.sorted().filter { !allowed.contains($0) }.map { "\(path)\($0): not a field Defra accepts" }
    }

    private func nonEmptyString(_ value: JSONValue?) -> String? {
        guard case .string(let text)? = value, !text.trimmingWhitespace.isEmpty else { return nil }
        return text
    }

    private func isUUID(_ value: JSONValue?) -> Bool {
        guard case .string(let text)? = value else { return false }
        let groups = text.split(separator: "-", omittingEmptySubsequences: false)
        return groups.map(\.count) == [8, 4, 4, 4, 12] && groups.allSatisfy { $0.allSatisfy(\.isHexDigit) }
    }

    private func isConsignmentCode(_ value: JSONValue) -> Bool {
        guard case .string(let text) = value else { return false }
        let alphanumeric: (Character) -> Bool = { $0.isASCII && ($0.isLetter || $0.isNumber) }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 2, parts[0].count == 6, parts[1].count == 5,
            parts.allSatisfy({ $0.allSatisfy(alphanumeric) })
        {
            return true
        }
        let characters = Array(text)
        return characters.count == 9 && ["S", "D"].contains(characters[0]) && ["A", "B", "C"].contains(characters[1])
            && characters[2...].allSatisfy(\.isASCIIDigit)
    }
}

/// Why a receipt cannot be sent: every problem, each naming its field.
public struct ReceiptProblems: Error, Sendable, Hashable, CustomStringConvertible {
    public var problems: [String]

    init(_ problems: [String]) { self.problems = problems }

    public var description: String { problems.joined(separator: "; ") }
}
