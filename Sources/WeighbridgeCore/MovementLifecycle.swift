/// The states a movement can be in, as `weighbridgectl movements --state` names them.
public enum MovementState: String, Sendable, Hashable, CaseIterable, Codable {
    case expected, arrived, weighing, confirmed, discrepancy, held, rejected
}

/// Everything the lifecycle needs to know from outside to decide, besides the event itself.
public struct DecisionContext: Sendable, Hashable {
    /// The site's rules.
    public var policy: DecisionPolicy
    /// Whether the reporting profile can send a Discrepancy (`brief`) or must hold it locally
    /// for the operator (`defra-receipt`: the real API has no such object).
    public var reportsDiscrepancies: Bool
    /// Receipt fields the reporting profile needs and this movement lacks.
    public var missingReceiptFields: [String]
    /// The vehicle's stored tare, if it has one (used only if valid at the weighing's time).
    public var storedTare: StoredTare?
    /// Now, for stamping reports.
    public var now: Timestamp

    public init(
        policy: DecisionPolicy, reportsDiscrepancies: Bool, missingReceiptFields: [String] = [],
        storedTare: StoredTare? = nil, now: Timestamp
    ) {
        self.policy = policy
        self.reportsDiscrepancies = reportsDiscrepancies
        self.missingReceiptFields = missingReceiptFields
        self.storedTare = storedTare
        self.now = now
    }
}

/// An input to a movement's lifecycle.
public enum MovementEvent: Sendable, Hashable {
    /// The vehicle was announced on a bridge (first or second weighing). `vehicle` is the
    /// registration the gatehouse identified it by (`arrive --vehicle`); nil when the announcement
    /// named the movement alone, which says nothing about which truck came.
    case arrived(bridge: String, at: Timestamp, vehicle: VehicleRegistration? = nil)
    /// A certified weighing was bound to this movement (by arrival, or attached by an operator).
    case weighed(Weighing)
    /// An operator confirms receipt, despite any deviation.
    case confirm(by: OperatorIdentity, reason: String)
    /// An operator raises a Discrepancy.
    case raiseDiscrepancy(by: OperatorIdentity, reason: String)
    /// An operator rejects the load: nothing is reported as received.
    case reject(by: OperatorIdentity, reason: String)
    /// An operator stops automatic processing.
    case hold(by: OperatorIdentity, reason: String)
    /// An operator lets the rules run again.
    case release(by: OperatorIdentity, reason: String)
}

extension Refusal {
    static func illegal(_ event: String, in state: MovementState, _ hint: String = "") -> Refusal {
        Refusal(
            code: .illegalTransition,
            message: "cannot \(event) a movement that is \(state.rawValue)" + (hint.isEmpty ? "" : "; \(hint)"))
    }
}

/// One movement's life, from expected to confirmed, Discrepancy or rejected, as a state machine.
///
/// Every transition of docs/movements.md ("States and transitions") goes through
/// `receive(_:context:)`, which either refuses the event (nothing changes) or returns the actions
/// to carry out in the same transaction as the new state. An operator hold overlays any stage: the
/// rules still run, but their verdict waits until the hold is released.
public struct MovementLifecycle: Sendable, Hashable, Codable {
    /// How far the movement has come.
    public enum Stage: Sendable, Hashable, Codable {
        case expected
        /// Announced on a bridge, first weighing not yet taken; `identifiedVehicle` is the
        /// registration the announcement identified the vehicle by, if it did.
        case arrived(bridge: String, at: Timestamp, identifiedVehicle: VehicleRegistration?)
        /// First weighing taken; waiting for the second (tare) weighing.
        case weighing(first: Weighing, arrivedAt: Timestamp)
        /// The net is known and the rules have run; the verdict waits for an operator.
        case decided(NetWeighing, Assessment, arrivedAt: Timestamp)
        case confirmed(NetWeighing, Assessment, by: Actor)
        case discrepancy(NetWeighing, Assessment, DiscrepancyReason, by: Actor)
        case rejected(by: OperatorIdentity, reason: String)
    }

    /// The movement as registered.
    public private(set) var movement: Movement
    /// How far it has come.
    public private(set) var stage: Stage
    /// Why it waits for an operator, if it does.
    public private(set) var hold: HoldReason?

    /// A newly expected movement.
    public init(movement: Movement) {
        self.movement = movement
        self.stage = .expected
        self.hold = nil
    }

    /// Rebuilds a lifecycle from stored parts.
    public init(movement: Movement, stage: Stage, hold: HoldReason?) {
        self.movement = movement
        self.stage = stage
        self.hold = hold
    }

    /// The state as operators see it: held whenever a hold is in force.
    public var state: MovementState {
        if hold != nil { return .held }
        switch stage {
        case .expected: return .expected
        case .arrived: return .arrived
        case .weighing: return .weighing
        case .decided: return .held
        case .confirmed: return .confirmed
        case .discrepancy: return .discrepancy
        case .rejected: return .rejected
        }
    }

    /// When the load was received (its first weighing), once it has been weighed: the legal
    /// clock for reporting its receipt runs from then.
    public var receivedAt: Timestamp? {
        switch stage {
        case .expected, .arrived, .rejected: nil
        case .weighing(let first, _): first.time
        case .decided(let net, _, _), .confirmed(let net, _, _), .discrepancy(let net, _, _, _): net.firstWeighedAt
        }
    }

    /// Who settled it as it stands (confirmed, a Discrepancy, rejected): the rules or an
    /// operator; nil while it is not settled.
    public var settledBy: Actor? {
        switch stage {
        case .confirmed(_, _, let by), .discrepancy(_, _, _, let by): by
        case .rejected(let by, _): .operator(by)
        default: nil
        }
    }

    /// Whether nothing more can happen to it but corrections.
    public var isTerminal: Bool {
        switch stage {
        case .confirmed, .rejected: true
        default: false
        }
    }

    /// Updates the registered data (a re-sent `expect`) while nothing has been weighed yet.
    public mutating func update(_ newMovement: Movement) throws(Refusal) {
        guard newMovement.id == movement.id else {
            throw Refusal(code: .invalidArgument, message: "movement id cannot change")
        }
        switch stage {
        case .expected, .arrived: movement = newMovement
        default: throw .illegal("update", in: state, "it has been weighed already")
        }
    }

    /// Records the `wasteTrackingId` the carrier created for the movement (typed or scanned at
    /// arrival, or a mistyped one put right), at any stage but a load turned away.
    public mutating func carry(wasteTrackingID: String) throws(Refusal) {
        guard state != .rejected else {
            throw .illegal("give a waste tracking id to", in: state, "it was turned away")
        }
        movement.wasteTrackingID = wasteTrackingID
    }

    /// Applies one event. On error nothing has changed.
    public mutating func receive(_ event: MovementEvent, context: DecisionContext) throws(Refusal)
        -> [MovementAction]
    {
        var next = self
        let actions = try next.apply(event, context: context)
        self = next
        return actions
    }

    private mutating func apply(_ event: MovementEvent, context: DecisionContext) throws(Refusal)
        -> [MovementAction]
    {
        switch event {
        case .arrived(let bridge, let at, let vehicle):
            switch stage {
            case .expected, .arrived: stage = .arrived(bridge: bridge, at: at, identifiedVehicle: vehicle)
            case .weighing: break  // announced again for the second weighing; the visit stays open
            default: throw .illegal("announce", in: state, "it has been weighed already")
            }
            return []

        case .weighed(let weighing):
            return try weigh(weighing, context: context)

        case .confirm(let identity, let reason):
            try requireReason(reason)
            // An operator may confirm a held verdict or a Discrepancy; the confirmation supersedes it.
            switch stage {
            case .decided(let net, let assessment, _), .discrepancy(let net, let assessment, _, _):
                // A confirmation queues the legal receipt: one that could not be sent as it stands
                // would be stranded, so the receipt data comes first.
                guard context.missingReceiptFields.isEmpty else {
                    throw Refusal(
                        code: .receiptDataMissing,
                        message: "the receipt cannot be sent as it stands ("
                            + context.missingReceiptFields.joined(separator: "; ")
                            + "); supply the receipt data with expect --file, then confirm")
                }
                hold = nil
                return settle(
                    net: net, assessment: assessment, verdict: .confirm, by: .operator(identity),
                    note: reason, context: context)
            default:
                throw .illegal("confirm", in: state, "only a weighed movement that is not yet confirmed can be")
            }

        case .raiseDiscrepancy(let identity, let reason):
            try requireReason(reason)
            guard case .decided(let net, let assessment, _) = stage else {
                throw .illegal("raise a Discrepancy for", in: state, "only a weighed, undecided movement can have one")
            }
            hold = nil
            return settle(
                net: net, assessment: assessment, verdict: .discrepancy(.operator), by: .operator(identity),
                note: reason, context: context)

        case .reject(let identity, let reason):
            try requireReason(reason)
            switch stage {
            case .confirmed: throw .illegal("reject", in: state, "correct the confirmed receipt instead")
            case .rejected: throw .illegal("reject", in: state)
            default: break
            }
            stage = .rejected(by: identity, reason: reason)
            hold = nil
            return [.notify(.rejected)]

        case .hold(_, let reason):
            try requireReason(reason)
            if isTerminal { throw .illegal("hold", in: state) }
            if case .operatorHold = hold { throw .illegal("hold", in: state, "it is already held") }
            hold = .operatorHold(reason)
            return [.notify(.held(.operatorHold(reason)))]

        case .release:
            guard let current = hold else { throw .illegal("release", in: state, "it is not held") }
            hold = nil
            guard case .decided(let net, _, let arrivedAt) = stage else { return [.notify(.released)] }
            // Run the rules again with today's data (e.g. receipt fields added since the hold).
            let assessment = try assess(net, arrivedAt: arrivedAt, context: context)
            if case .belowMinimumWeight = current, case .hold(let reason) = assessment.verdict {
                throw Refusal(
                    code: .decisionRequired,
                    message: "\(reason); confirm, raise a Discrepancy or reject it")
            }
            return [.notify(.released)]
                + conclude(
                    net: net, assessment: assessment, arrivedAt: arrivedAt,
                    context: context)
        }
    }

    private mutating func weigh(_ weighing: Weighing, context: DecisionContext) throws(Refusal)
        -> [MovementAction]
    {
        switch stage {
        case .arrived(_, let arrivedAt, let identifiedVehicle):
            // A valid stored tare completes the visit in one weighing, but only when the arrival
            // identified the truck as the one the tare was taken of: a movement announced by its id
            // alone may have come in a substitute truck, whose own tare is unknown. A tare that has
            // expired, or is heavier than this weighing (the vehicle came in empty), also leaves it
            // to two passes.
            if let storedTare = context.storedTare, identifiedVehicle == storedTare.vehicle,
                let net = try? NetWeighing(gross: weighing, storedTare: storedTare)
            {
                return try netKnown(net, arrivedAt: arrivedAt, context: context)
            }
            stage = .weighing(first: weighing, arrivedAt: arrivedAt)
            return []
        case .expected:
            // Attached by an operator without an arrival: the weighing's time stands for arrival,
            // and the operator, who attaches it with a reason, vouches for the vehicle.
            stage = .arrived(bridge: weighing.bridge, at: weighing.time, identifiedVehicle: movement.vehicle)
            return try weigh(weighing, context: context)
        case .weighing(let first, let arrivedAt):
            guard first.ticket != weighing.ticket else {
                throw Refusal(
                    code: .alreadyAttached,
                    message: "weighing \(weighing.ticket) is already part of this movement")
            }
            return try netKnown(NetWeighing(pairing: first, with: weighing), arrivedAt: arrivedAt, context: context)
        default:
            throw .illegal("attach a weighing to", in: state, "its net is already known")
        }
    }

    private func assess(_ net: NetWeighing, arrivedAt: Timestamp, context: DecisionContext) throws(Refusal)
        -> Assessment
    {
        do {
            return try Assessment(
                net: net, movement: movement, arrivedAt: arrivedAt, policy: context.policy,
                missingReceiptFields: context.missingReceiptFields)
        } catch {
            throw Refusal(code: .invalidArgument, message: error.description)
        }
    }

    private mutating func netKnown(_ net: NetWeighing, arrivedAt: Timestamp, context: DecisionContext)
        throws(Refusal) -> [MovementAction]
    {
        let assessment = try assess(net, arrivedAt: arrivedAt, context: context)
        var actions: [MovementAction] = []
        if case .highRisk(_, let notice) = assessment.highRisk { actions.append(.notify(.highRiskReceived(notice))) }
        stage = .decided(net, assessment, arrivedAt: arrivedAt)
        guard hold == nil else { return actions }
        return actions + conclude(net: net, assessment: assessment, arrivedAt: arrivedAt, context: context)
    }

    private mutating func conclude(
        net: NetWeighing, assessment: Assessment, arrivedAt: Timestamp,
        context: DecisionContext
    ) -> [MovementAction] {
        stage = .decided(net, assessment, arrivedAt: arrivedAt)
        return settle(
            net: net, assessment: assessment, verdict: assessment.verdict, by: .automatic, note: "",
            context: context)
    }

    private mutating func settle(
        net: NetWeighing, assessment: Assessment, verdict: Assessment.Verdict, by actor: Actor,
        note: String, context: DecisionContext
    ) -> [MovementAction] {
        switch verdict {
        case .confirm:
            stage = .confirmed(net, assessment, by: actor)
            let report = Report(
                kind: .confirmation, movementID: movement.id, net: net, assessment: assessment,
                by: actor, at: context.now)
            return [.report(report), .notify(.confirmed(by: actor))]
        case .discrepancy(let reason):
            stage = .discrepancy(net, assessment, reason, by: actor)
            guard context.reportsDiscrepancies else { return [.notify(.discrepancyHeldLocally(reason))] }
            let report = Report(
                kind: .discrepancy(reason, note: note.isEmpty ? assessment.note(for: reason) : note),
                movementID: movement.id, net: net, assessment: assessment, by: actor, at: context.now)
            return [.report(report), .notify(.discrepancyRaised(reason))]
        case .hold(let reason):
            hold = reason
            return [.notify(.held(reason))]
        }
    }

    private func requireReason(_ reason: String) throws(Refusal) {
        guard !reason.trimmingWhitespace.isEmpty else {
            throw Refusal(code: .reasonRequired, message: "a reason is required for this action")
        }
    }
}

extension Assessment {
    /// The automatic note on a Discrepancy: what was declared, what was received, by how much.
    func note(for reason: DiscrepancyReason) -> String {
        let weights =
            "declared \(deviation.declared), received \(deviation.received) "
            + "(\(deviation.percentText())%, tolerance \(deviation.tolerance)%)"
        switch reason {
        case .prenotificationMissing:
            return "high-risk load above the threshold without timely pre-notification; " + weights
        default:
            return weights
        }
    }
}
