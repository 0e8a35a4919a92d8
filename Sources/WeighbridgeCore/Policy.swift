/// The site's rules for judging a received load. The same in both reporting profiles; only the way
/// the outcome leaves the site differs.
public struct DecisionPolicy: Sendable, Hashable {
    /// Largest acceptable deviation of the net from the declared weight, inclusive (default 5%).
    public var tolerance: Percentage
    /// The high-risk pre-notification rule.
    public var highRisk: HighRiskPolicy
    /// How many divisions of a bridge a net must reach to be certifiable (default 20).
    public var minimumWeightDivisions: Int64
    /// When false, even a load within tolerance waits for an operator.
    public var autoConfirm: Bool
    /// How long an announced arrival claims the next weighing on its bridge (default 30 min).
    public var arrivalExpiry: Duration

    /// The product's defaults: 5%, batteries above 50 kg need 24 h notice, 20 divisions, auto on,
    /// arrivals expire after 30 minutes.
    public static let standard = DecisionPolicy(
        tolerance: Percentage(5),
        highRisk: .standard,
        minimumWeightDivisions: 20,
        autoConfirm: true,
        arrivalExpiry: .seconds(30 * 60)
    )

    public init(
        tolerance: Percentage, highRisk: HighRiskPolicy, minimumWeightDivisions: Int64, autoConfirm: Bool,
        arrivalExpiry: Duration
    ) {
        self.tolerance = tolerance
        self.highRisk = highRisk
        self.minimumWeightDivisions = minimumWeightDivisions
        self.autoConfirm = autoConfirm
        self.arrivalExpiry = arrivalExpiry
    }

    /// The least certifiable weight on a bridge with `division`: below it, a weighbridge's
    /// relative error is too large for trade use (OIML R 76 minimum capacity, 20 e for class III).
    public func minimumWeight(division: Mass) -> Mass { division * minimumWeightDivisions }
}

/// Which waste codes are high-risk, above which net they need pre-notification, and how early.
///
/// Our site policy from the brief: "Any movement of >50kg of these codes requires pre-notification
/// (24 hours)". Lithium-ion (16 06 05) and mixed batteries (20 01 33) carry a fire risk.
public struct HighRiskPolicy: Sendable, Hashable {
    /// Codes that make a load high-risk.
    public var codes: Set<EWCCode>
    /// A net strictly above this needs pre-notification.
    public var threshold: Mass
    /// The notice must be at least this long before arrival, in seconds.
    public var noticeSeconds: Int64

    /// 16 06 05 and 20 01 33, above 50 kg, 24 hours.
    public static let standard = HighRiskPolicy(
        codes: [try! EWCCode(parsing: "16 06 05"), try! EWCCode(parsing: "20 01 33")],
        threshold: Mass(50, .kilograms),
        noticeSeconds: 24 * 3_600
    )

    public init(codes: Set<EWCCode>, threshold: Mass, noticeSeconds: Int64) {
        self.codes = codes
        self.threshold = threshold
        self.noticeSeconds = noticeSeconds
    }

    /// Judges a load: its codes, its net, when it arrived, and when (if ever) it was pre-notified.
    public func assess(codes loadCodes: [EWCCode], net: Mass, arrivedAt: Timestamp, prenotifiedAt: Timestamp?)
        -> HighRiskAssessment
    {
        let matched = loadCodes.filter { codes.contains($0) }
        guard !matched.isEmpty else { return .notHighRisk }
        guard net > threshold else { return .highRisk(codes: matched, notice: .notRequired) }
        guard let prenotifiedAt else { return .highRisk(codes: matched, notice: .missing) }
        let lead = prenotifiedAt.milliseconds(to: arrivedAt)
        let required = noticeSeconds * 1_000
        guard lead >= required else {
            return .highRisk(codes: matched, notice: .late(shortByMilliseconds: required - lead))
        }
        return .highRisk(codes: matched, notice: .given)
    }
}

/// The outcome of the high-risk rule for one load.
public enum HighRiskAssessment: Sendable, Hashable, Codable {
    /// No high-risk code.
    case notHighRisk
    /// At least one high-risk code; flagged in logs and records whatever the notice.
    case highRisk(codes: [EWCCode], notice: PrenotificationStatus)

    /// Whether the load carries a high-risk code.
    public var isHighRisk: Bool {
        if case .highRisk = self { return true }
        return false
    }

    /// Whether the rule forbids confirming automatically: notice required but missing or late.
    public var blocksAutoConfirmation: Bool {
        switch self {
        case .highRisk(_, .missing), .highRisk(_, .late): true
        default: false
        }
    }
}

/// Whether a high-risk load was pre-notified as the policy requires.
public enum PrenotificationStatus: Sendable, Hashable, Codable {
    /// At or below the threshold: no notice needed.
    case notRequired
    /// Notified early enough.
    case given
    /// Required and never given.
    case missing
    /// Given, but less than the required period before arrival.
    case late(shortByMilliseconds: Int64)
}
