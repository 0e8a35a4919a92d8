// The crash test's child: records complete captures (movement, two weighings, bindings, decision,
// outbox entry, audit entries) in a tight loop, one transaction each, and prints "ready" once the
// store is open, then "ack <movement> <ticket> <ticket>" only after each commit returns. The test SIGKILLs it at random
// moments and checks that every acknowledged capture survived, whole.
//
// Usage: store-crash-writer DATABASE RUN-ID

import Foundation
import WeighbridgeCore
import WeighbridgeStore

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: store-crash-writer DATABASE RUN-ID\n".utf8))
    exit(2)
}
let clock = { Timestamp(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1_000)) }
let store = try Store(path: arguments[1], now: clock())
let context = DecisionContext(policy: .standard, reportsDiscrepancies: true, now: clock())
let division = Mass(20, .kilograms)
FileHandle.standardOutput.write(Data("ready\n".utf8))

for index in 1... {
    let id = "M-\(arguments[2])-\(index)"
    let acknowledged = try await store.write(at: clock()) { transaction in
        var lifecycle = MovementLifecycle(
            movement: try Movement(id: id, declared: Mass(10_000, .kilograms), ewcCodes: [EWCCode(parsing: "20 03 01")])
        )
        try transaction.saveMovement(lifecycle, receipt: nil)
        _ = try lifecycle.receive(.arrived(bridge: "in", at: transaction.now), context: context)
        var tickets: [Int64] = []
        var actions: [MovementAction] = []
        for kilograms: Int64 in [22_000, 12_000] {
            let recorded = try transaction.recordWeighing(
                WeighingEvidence(
                    bridge: "in", weight: Mass(kilograms, .kilograms), division: division, weighedAt: transaction.now,
                    status: .stable, legalID: nil, instrumentID: "sim", raw: .registers([0, 1, 2, 3]),
                    route: .movement(id)
                ))
            try transaction.bind(ticket: recorded.ticket, toMovement: id, by: .automatic)
            actions += try lifecycle.receive(.weighed(recorded.weighing), context: context)
            tickets.append(recorded.ticket)
        }
        for case .report(let report) in actions {
            _ = try transaction.enqueue(report, kind: .confirmation, idempotent: true, idempotencyKey: "confirm-\(id)")
            try transaction.recordDecision(
                DecisionRecord(
                    movementID: id, outcome: .confirmed, reason: nil, net: report.net.net,
                    declared: report.assessment.deviation.declared,
                    deviationPercent: report.assessment.deviation.percentText(), highRisk: false, actor: .automatic,
                    note: "", decidedAt: transaction.now))
        }
        try transaction.saveMovement(lifecycle, receipt: nil)
        return "ack \(id) \(tickets[0]) \(tickets[1])\n"
    }
    FileHandle.standardOutput.write(Data(acknowledged.utf8))
}
