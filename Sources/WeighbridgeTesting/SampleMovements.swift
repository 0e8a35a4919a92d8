public import WeighbridgeCore

/// Movements carried through the real rules, for tests and benchmarks that need many reports.
public enum SampleMovements {
    /// A movement of 10 000 kg declared, weighed at 22 000 kg in and 12 000 kg out on bridge "in"
    /// (tickets `ticket` and `ticket + 1`) and confirmed: its lifecycle and the report it queues.
    public static func confirmed(_ id: String, ticket: Int64, at time: Timestamp) throws -> (MovementLifecycle, Report)
    {
        var lifecycle = MovementLifecycle(
            movement: try Movement(
                id: id, declared: Mass(10_000, .kilograms), ewcCodes: [EWCCode(parsing: "20 03 01")],
                vehicle: VehicleRegistration("AB12CDE")))
        let context = DecisionContext(policy: .standard, reportsDiscrepancies: true, now: time)
        _ = try lifecycle.receive(.arrived(bridge: "in", at: time), context: context)
        var actions: [MovementAction] = []
        for (offset, kilograms) in [Int64(22_000), 12_000].enumerated() {
            actions = try lifecycle.receive(
                .weighed(
                    Weighing(
                        ticket: ticket + Int64(offset), bridge: "in", weight: Mass(kilograms, .kilograms),
                        division: Mass(20, .kilograms), time: time)), context: context)
        }
        for case .report(let report) in actions { return (lifecycle, report) }
        throw NoReportQueued(movement: id)
    }
}

/// The rules queued no report for a sample movement (they changed under the samples).
public struct NoReportQueued: Error, CustomStringConvertible {
    public let movement: String
    public var description: String { "the rules queued no report for \(movement)" }
}
