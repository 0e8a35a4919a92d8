internal import DefraReferenceSeed
internal import WeighbridgeJSON

/// The Receipt API's validation as Defra documents it (ReceiptAPI.yml): written separately from
/// the daemon's own checks, so that a test against the sandbox checks one against the other.
enum DefraRules {
    static let topLevel: Set<String> = [
        "apiCode", "dateTimeReceived", "hazardousWasteConsignmentCode", "reasonForNoConsignmentCode",
        "yourUniqueReference", "otherReferencesForMovement", "specialHandlingRequirements", "wasteItems", "carrier",
        "brokerOrDealer", "receiver", "receipt",
    ]
    static let itemFields: Set<String> = [
        "ewcCodes", "wasteDescription", "physicalForm", "numberOfContainers", "typeOfContainers", "weight",
        "containsPops", "pops", "containsHazardous", "hazardous", "disposalOrRecoveryCodes",
    ]
    static let carrierFields: Set<String> = [
        "registrationNumber", "reasonForNoRegistrationNumber", "organisationName", "address", "emailAddress",
        "phoneNumber", "vehicleRegistration", "meansOfTransport",
    ]

    /// EWC code → hazardous, from the published list.
    static let ewcCodes: [String: Bool] = {
        guard let text = SeedLists.all["ewc-codes"], case .array(let items)? = try? JSONValue(parsing: Array(text.utf8))
        else { return [:] }
        var table: [String: Bool] = [:]
        for item in items {
            if case .string(let code)? = item.field("code"), case .bool(let hazardous)? = item.field("isHazardous") {
                table[code] = hazardous
            }
        }
        return table
    }()

    /// Errors and warnings, each `{key, errorType, message}`.
    static func validate(_ body: JSONValue) -> (errors: [JSONValue], warnings: [JSONValue]) {
        var errors: [JSONValue] = []
        var warnings: [JSONValue] = []
        func fail(_ key: String, _ type: String, _ message: String) {
            errors.append(.object(["key": .string(key), "errorType": .string(type), "message": .string(message)]))
        }
        guard case .object(let fields) = body else {
            fail("", "InvalidType", "\"value\" must be of type object")
            return (errors, warnings)
        }
        for key in fields.keys.sorted() where !topLevel.contains(key) {
            fail(key, "NotAllowed", "\"\(key)\" is not allowed")
        }
        for key in ["apiCode", "dateTimeReceived", "carrier", "wasteItems", "receiver", "receipt"]
        where fields[key] == nil {
            fail(key, "NotProvided", "\"\(key)\" is required")
        }
        var hazardous = false
        if case .array(let items)? = fields["wasteItems"] {
            if items.isEmpty { fail("wasteItems", "InvalidValue", "\"wasteItems\" must contain at least 1 item") }
            for (index, item) in items.enumerated() {
                let key = "wasteItems.\(index)"
                guard case .object(let itemFields) = item else {
                    fail(key, "InvalidType", "\"\(key)\" must be of type object")
                    continue
                }
                for name in itemFields.keys.sorted() where !Self.itemFields.contains(name) {
                    fail("\(key).\(name)", "NotAllowed", "\"\(key).\(name)\" is not allowed")
                }
                for name in [
                    "ewcCodes", "wasteDescription", "physicalForm", "typeOfContainers", "numberOfContainers", "weight",
                    "containsPops", "containsHazardous",
                ] where itemFields[name] == nil {
                    fail("\(key).\(name)", "NotProvided", "\"\(key).\(name)\" is required")
                }
                if case .array(let codes)? = itemFields["ewcCodes"] {
                    if codes.isEmpty || codes.count > 5 {
                        fail("\(key).ewcCodes", "InvalidValue", "from one to five EWC codes are allowed")
                    }
                    for code in codes {
                        guard case .string(let text) = code, text.count == 6, text.allSatisfy({ $0.isNumber }) else {
                            fail("\(key).ewcCodes", "InvalidFormat", "EWC codes must be six digits with no spaces")
                            continue
                        }
                        guard let isHazardous = ewcCodes[text] else {
                            fail("\(key).ewcCodes", "InvalidValue", "\(text) is not a valid EWC code")
                            continue
                        }
                        hazardous = hazardous || isHazardous
                    }
                }
                if let weight = itemFields["weight"] {
                    if weight.field("isEstimate") == nil {
                        fail("\(key).weight.isEstimate", "NotProvided", "\"\(key).weight.isEstimate\" is required")
                    }
                    if weight.field("metric") == nil || weight.field("amount") == nil {
                        fail("\(key).weight", "NotProvided", "weight needs metric and amount")
                    }
                }
                componentRules(
                    itemFields, key: key, fail: fail,
                    warn: { key, message in
                        warnings.append(
                            .object([
                                "key": .string(key), "errorType": .string("NotProvided"), "message": .string(message),
                            ]))
                    })
                if itemFields["disposalOrRecoveryCodes"] == nil {
                    warnings.append(
                        .object([
                            "key": .string("\(key).disposalOrRecoveryCodes"), "errorType": .string("NotProvided"),
                            "message": .string("Disposal or recovery codes are recommended"),
                        ]))
                }
            }
        }
        if case .object(let carrier)? = fields["carrier"] {
            for name in carrier.keys.sorted() where !carrierFields.contains(name) {
                fail("carrier.\(name)", "NotAllowed", "\"carrier.\(name)\" is not allowed")
            }
            if case .string("Road")? = carrier["meansOfTransport"], carrier["vehicleRegistration"] == nil {
                fail(
                    "carrier.vehicleRegistration", "NotProvided",
                    "If carrier.meansOfTransport is \"Road\" then carrier.vehicleRegistration is required")
            }
            let registration: String? = if case .string(let text)? = carrier["registrationNumber"] { text } else { nil }
            let reason: String? =
                if case .string(let text)? = carrier["reasonForNoRegistrationNumber"] { text } else { nil }
            if (registration ?? "").isEmpty, (reason ?? "").isEmpty {
                fail(
                    "carrier.reasonForNoRegistrationNumber", "NotProvided",
                    "If carrier.registrationNumber is null or empty then carrier.reasonForNoRegistrationNumber is required"
                )
            }
            if carrier["meansOfTransport"] == nil {
                fail("carrier.meansOfTransport", "NotProvided", "\"carrier.meansOfTransport\" is required")
            }
        }
        if hazardous, fields["hazardousWasteConsignmentCode"] == nil, fields["reasonForNoConsignmentCode"] == nil {
            fail(
                "hazardousWasteConsignmentCode", "BusinessRuleViolation",
                "A hazardous waste consignment code or a reason for its absence is required for hazardous EWC codes")
        }
        return (errors, warnings)
    }

    static let popCodes: Set<String> = codes(of: "pop-names")
    static let hazardousPropertyCodes: Set<String> = codes(of: "hazardous-property-codes")
    static let componentSources: Set<String> = ["NOT_PROVIDED", "PROVIDED_WITH_WASTE", "GUIDANCE", "OWN_TESTING"]

    private static func codes(of list: String) -> Set<String> {
        guard let text = SeedLists.all[list], case .array(let items)? = try? JSONValue(parsing: Array(text.utf8))
        else { return [] }
        return Set(
            items.compactMap { item -> String? in
                if case .string(let code)? = item.field("code") { return code }
                return nil
            })
    }

    /// The `pops` and `hazardous` business rules of one waste item (ReceiptAPI.yml, `wasteItem`).
    private static func componentRules(
        _ item: [String: JSONValue], key: String, fail: (String, String, String) -> Void,
        warn: (String, String) -> Void
    ) {
        for (flag, name, componentKey) in [
            ("containsPops", "pops", "code"), ("containsHazardous", "hazardous", "name"),
        ] {
            let path = "\(key).\(name)"
            guard case .object(let details)? = item[name] else {
                if item[flag] == .bool(true) {
                    fail("\(path).sourceOfComponents", "NotProvided", "\"\(path).sourceOfComponents\" is required")
                }
                continue
            }
            guard case .string(let source)? = details["sourceOfComponents"], componentSources.contains(source) else {
                fail(
                    "\(path).sourceOfComponents", "InvalidValue",
                    "\"\(path).sourceOfComponents\" must be one of \(componentSources.sorted())")
                continue
            }
            var components: [JSONValue] = []
            if case .array(let list)? = details["components"] { components = list }
            switch source {
            case "NOT_PROVIDED" where !components.isEmpty:
                fail(
                    "\(path).components", "BusinessRuleViolation",
                    "components must be empty when no components were provided")
            case "GUIDANCE", "OWN_TESTING":
                if components.isEmpty {
                    fail("\(path).components", "NotProvided", "components are required for source \(source)")
                }
            case "PROVIDED_WITH_WASTE" where components.isEmpty:
                warn("\(path).components", "components are recommended when provided with the waste")
            default: break
            }
            for (index, component) in components.enumerated() {
                let at = "\(path).components.\(index)"
                guard case .string(let value)? = component.field(componentKey), !value.isEmpty else {
                    fail("\(at).\(componentKey)", "NotProvided", "\"\(at).\(componentKey)\" is required")
                    continue
                }
                if name == "pops", !popCodes.contains(value) {
                    fail("\(at).code", "InvalidValue", "\(value) is not a valid POP code")
                }
                if let concentration = component.field("concentration") {
                    guard case .number(let text) = concentration, let number = Double(text), number > 0 else {
                        fail("\(at).concentration", "InvalidValue", "concentration must be greater than 0")
                        continue
                    }
                }
            }
            if name == "hazardous", case .array(let codes)? = details["hazCodes"] {
                for code in codes {
                    guard case .string(let text) = code, hazardousPropertyCodes.contains(text) else {
                        fail(
                            "\(path).hazCodes", "InvalidValue",
                            "\(code.serialized) is not a valid hazardous property code")
                        continue
                    }
                }
            }
        }
    }

    /// The reference our daemon puts in `otherReferencesForMovement` (label "Idempotency key"),
    /// else `yourUniqueReference`: what makes two POSTs "the same receipt" for counting duplicates.
    static func idempotencyReference(_ body: JSONValue) -> String? {
        if case .array(let references)? = body.field("otherReferencesForMovement") {
            for reference in references {
                if case .string("Idempotency key")? = reference.field("label"),
                    case .string(let value)? = reference.field("reference")
                {
                    return value
                }
            }
        }
        if case .string(let value)? = body.field("yourUniqueReference") { return value }
        return nil
    }
}
