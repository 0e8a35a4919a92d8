/// What the site's rules make of a net weight for a movement, before anyone intervenes.
public struct Assessment: Sendable, Hashable, Codable {
    /// The deviation of the net from the declared weight.
    public let deviation: WeightDeviation
    /// The high-risk rule's outcome.
    public let highRisk: HighRiskAssessment
    /// What the rules decide.
    public let verdict: Verdict

    /// The rules' verdict.
    public enum Verdict: Sendable, Hashable, Codable {
        /// Confirm receipt automatically.
        case confirm
        /// Raise a Discrepancy instead of confirming.
        case discrepancy(DiscrepancyReason)
        /// Wait for an operator.
        case hold(HoldReason)
    }

    /// Applies the rules in order of what must never be auto-confirmed:
    /// 1. a net below the bridge's legal minimum is not certifiable → hold `below_minimum_weight`;
    /// 2. a high-risk load above the threshold without timely notice → Discrepancy
    ///    `prenotification_missing` (even when the weight agrees);
    /// 3. a deviation outside tolerance → Discrepancy `weight_deviation`;
    /// 4. auto-confirmation switched off → hold `auto_confirm_disabled`;
    /// 5. receipt data the profile needs is missing → hold `receipt_data_missing`;
    /// 6. otherwise → confirm.
    ///
    /// A movement with several waste items is judged on the whole load: the bridge weighs the
    /// vehicle, so the total net is compared with the sum of the declared item weights.
    public init(
        net: NetWeighing, movement: Movement, arrivedAt: Timestamp, policy: DecisionPolicy,
        missingReceiptFields: [String]
    ) throws(DeviationError) {
        deviation = try WeightDeviation(declared: movement.declared, received: net.net, tolerance: policy.tolerance)
        highRisk = policy.highRisk.assess(
            codes: movement.ewcCodes, net: net.net, arrivedAt: arrivedAt, prenotifiedAt: movement.prenotifiedAt)
        let minimum = policy.minimumWeight(division: net.gross.division)
        if net.net < minimum {
            verdict = .hold(.belowMinimumWeight(net: net.net, minimum: minimum))
        } else if highRisk.blocksAutoConfirmation {
            verdict = .discrepancy(.prenotificationMissing)
        } else if !deviation.isWithinTolerance {
            verdict = .discrepancy(.weightDeviation)
        } else if !policy.autoConfirm {
            verdict = .hold(.autoConfirmDisabled)
        } else if !missingReceiptFields.isEmpty {
            verdict = .hold(.receiptDataMissing(missingReceiptFields))
        } else {
            verdict = .confirm
        }
    }
}

/// Why a Discrepancy was raised; the raw values are the brief API's `reason` values.
public enum DiscrepancyReason: String, Sendable, Hashable, CaseIterable, Codable {
    case weightDeviation = "weight_deviation"
    case prenotificationMissing = "prenotification_missing"
    case belowMinimumWeight = "below_minimum_weight"
    case `operator` = "operator"
}

/// Why a movement waits for an operator.
public enum HoldReason: Sendable, Hashable, CustomStringConvertible, Codable {
    /// The net is below the bridge's legal minimum and cannot be certified.
    case belowMinimumWeight(net: Mass, minimum: Mass)
    /// `policy.auto_confirm` is false.
    case autoConfirmDisabled
    /// The reporting profile needs receipt data the movement lacks (field names).
    case receiptDataMissing([String])
    /// An operator put it on hold.
    case operatorHold(String)

    /// A stable machine-readable code.
    public var code: String {
        switch self {
        case .belowMinimumWeight: "below_minimum_weight"
        case .autoConfirmDisabled: "auto_confirm_disabled"
        case .receiptDataMissing: "receipt_data_missing"
        case .operatorHold: "operator_hold"
        }
    }

    public var description: String {
        switch self {
        case .belowMinimumWeight(let net, let minimum):
            "net \(net) is below the bridge's legal minimum \(minimum)"
        case .autoConfirmDisabled:
            "automatic confirmation is switched off"
        case .receiptDataMissing(let fields):
            "receipt data missing: \(fields.joined(separator: ", "))"
        case .operatorHold(let reason):
            "held by operator: \(reason)"
        }
    }
}
