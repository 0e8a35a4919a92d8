import Foundation
import WeighbridgeControlProtocol
import WeighbridgeCore
import WeighbridgeJSON

/// Human output: objects as aligned "key  value" lines, arrays of objects as tables.
enum Render {
    static func value(_ value: JSONValue) -> String {
        switch value {
        case .object(let fields):
            let width = fields.keys.map(\.count).max() ?? 0
            return fields.sorted { $0.key < $1.key }.map { key, value in
                key.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + inline(value)
            }.joined(separator: "\n")
        case .array(let items) where items.allSatisfy({ if case .object = $0 { true } else { false } }):
            return table(value)
        default:
            return inline(value)
        }
    }

    static func table(_ value: JSONValue) -> String {
        guard case .array(let rows) = value, !rows.isEmpty else { return "(none)" }
        let objects = rows.compactMap { row -> [String: JSONValue]? in
            if case .object(let fields) = row { fields } else { nil }
        }
        let preferred = [
            "movement_id", "id", "name", "link", "weight_kg", "state", "vehicle", "bridge", "declared_kg",
            "net_kg", "kind", "attempts", "tare_kg", "expires_at", "valid", "last_error",
        ]
        let present = Set(objects.flatMap(\.keys))
        let columns = preferred.filter(present.contains)
        let cells = objects.map { object in columns.map { object[$0].map(inline) ?? "" } }
        let widths = columns.indices.map { index in max(columns[index].count, cells.map { $0[index].count }.max() ?? 0)
        }
        func line(_ values: [String]) -> String {
            zip(values, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        return ([line(columns.map { $0.uppercased() })] + cells.map(line)).joined(separator: "\n")
    }

    /// A page of a listing as a table of its `rows` field, followed, when older rows remain, by
    /// the command that lists the next page (`command`, with `--state` if one was given).
    static func listing(_ rows: String, next command: String, _ state: String?) -> (JSONValue) -> String {
        { value in
            guard case .object(let fields) = value, let page = fields[rows] else { return Render.value(value) }
            guard case .number(let cursor)? = fields["next_before"] else { return table(page) }
            return table(page) + "\nolder: \(command)\(state.map { " --state \($0)" } ?? "") --before \(cursor)"
        }
    }

    static func inline(_ value: JSONValue) -> String {
        switch value {
        case .null: "-"
        case .bool(let flag): flag ? "yes" : "no"
        case .number(let text), .string(let text): text
        case .array(let items): items.map(inline).joined(separator: ", ")
        case .object: value.serialized
        }
    }
}

// The replies people read most, rendered from their typed form: `status` leads with what needs a
// person, `show` tells a movement's story in order.
extension Render {
    /// `status`: each thing waiting for a person, with the command that deals with it; then the
    /// bridges and the reports on their way.
    static func status(_ value: JSONValue) throws(ControlError) -> String {
        let status = try StatusReply(json: value)
        let tickets = status.unattributedTickets.map(String.init).joined(separator: ", ")
        let waiting: [(count: Int, what: String, next: String)] = [
            (
                status.receiptsPastDeadline,
                plural(status.receiptsPastDeadline, "receipt") + " past the legal deadline",
                "weighbridgectl outbox"
            ),
            (
                status.outboxUnknown, plural(status.outboxUnknown, "report") + " with an unknown outcome",
                "weighbridgectl outbox --state unknown, then resolve"
            ),
            (
                status.outboxParked, plural(status.outboxParked, "report") + " parked",
                "weighbridgectl outbox --state parked"
            ),
            (
                status.discrepancies, plural(status.discrepancies, "Discrepancy", "Discrepancies") + " to settle",
                "weighbridgectl movements --state discrepancy"
            ),
            (status.held, plural(status.held, "movement") + " held", "weighbridgectl movements --state held"),
            (
                status.unattributed,
                plural(status.unattributed, "weighing") + " belonging to no movement"
                    + (tickets.isEmpty ? "" : " (tickets \(tickets))"),
                "weighbridgectl attach TICKET MOVEMENT --reason …"
            ),
            (
                status.receiptsDueWithinADay, plural(status.receiptsDueWithinADay, "receipt") + " due within a day",
                "weighbridgectl outbox"
            ),
        ].filter { $0.count > 0 }
        var lines = waiting.isEmpty ? ["Nothing needs a person."] : ["Needs a person:"]
        let width = waiting.map(\.what.count).max() ?? 0
        lines += waiting.map { "  " + $0.what.padding(toLength: width, withPad: " ", startingAt: 0) + "   " + $0.next }
        lines.append("Bridges:  \(status.summary)")
        lines.append("Outbox:   \(plural(status.outboxPending, "report")) on the way")
        return lines.joined(separator: "\n")
    }

    /// `show`: the movement, then each weighing, the net against the declared weight, each
    /// decision and override with who and why, and each report with its state and attempts.
    static func movement(_ value: JSONValue) throws(ControlError) -> String {
        let detail = try MovementDetail(json: value)
        let movement = detail.movement
        var lines = ["Movement \(movement.movementID): \(movement.state.rawValue)"]
        var facts = ["declared \(movement.declared)", "EWC \(movement.ewcCodes.joined(separator: ", "))"]
        if let vehicle = movement.vehicle { facts.append("vehicle \(vehicle)") }
        if let carrier = movement.carrier { facts.append("carrier \(carrier)") }
        if let prenotified = movement.prenotifiedAt { facts.append("pre-notified \(prenotified.rfc3339)") }
        if let tracking = movement.wasteTrackingID { facts.append("waste tracking id \(tracking)") }
        lines.append("  " + facts.joined(separator: " · "))
        if let hold = movement.hold { lines.append("  held: \(hold.reason) (\(hold.code))") }
        if let arrival = movement.arrival {
            lines.append(
                "  announced on \(arrival.bridge) at \(arrival.at.rfc3339)"
                    + (arrival.vehicleIdentified ? ", vehicle identified" : ""))
        }

        lines.append("Weighings")
        if detail.weighings.isEmpty { lines.append("  none yet") }
        for weighing in detail.weighings {
            var line =
                "  \(weighing.weighedAt.rfc3339)  ticket \(weighing.ticket)  \(weighing.bridge)  \(weighing.weight)"
            if let legal = weighing.legalID { line += "  legal id \(legal)" }
            if let instrument = weighing.instrument {
                line += "  instrument " + (ServerIdentification(recorded: instrument)?.readable ?? instrument)
            }
            lines.append(line)
        }
        if let weights = movement.weights {
            lines.append(
                "Net \(weights.net) = \(weights.gross) − \(weights.tare) (\(weights.tareKind.rawValue) tare): "
                    + "\(weights.deviationPercent)% against \(movement.declared) declared"
                    + (weights.highRisk ? "; high-risk load" : ""))
        }

        lines.append("Decisions")
        if detail.decisions.isEmpty { lines.append("  none yet") }
        for decision in detail.decisions {
            var line = "  \(decision.at.rfc3339)  \(decision.outcome.rawValue)"
            if let reason = decision.reason { line += " (\(reason))" }
            line += " by \(decision.by)"
            if !decision.note.isEmpty { line += ": \(decision.note)" }
            lines.append(line)
        }

        lines.append("Reports")
        if detail.reports.isEmpty { lines.append("  none") }
        for report in detail.reports {
            var line =
                "  #\(report.id) \(report.kind.rawValue)  \(report.state.rawValue)  \(plural(report.attempts, "attempt"))"
            if let server = report.serverID { line += "  tracking id \(server)" }
            if report.state == .pending || report.state == .retryWait {
                line += "  next \(report.nextAttemptAt.rfc3339)"
            }
            if let error = report.lastError { line += "  last error: \(error)" }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// `audit verify`: intact with its length and head, or where it breaks.
    static func auditVerification(_ value: JSONValue) throws(ControlError) -> String {
        switch try AuditVerification(json: value) {
        case .intact(let entries, let head): "intact: \(entries) entries, head \(head)"
        case .broken(let sequence, let reason): "BROKEN at entry \(sequence): \(reason)"
        }
    }

    /// `tail`: one line per audit entry as it is recorded.
    static func tail(_ value: JSONValue) throws(ControlError) -> String {
        switch try TailReply(json: value) {
        case .following:
            return "following…"
        case .entry(let entry):
            let detail = entry.detail.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            return "\(entry.at.rfc3339)  \(entry.kind.rawValue)  \(entry.subject)  \(entry.actor)  "
                + detail.joined(separator: " ").replacingOccurrences(of: "\n", with: " ")
        }
    }

    private static func plural(_ count: Int, _ one: String, _ many: String? = nil) -> String {
        "\(count) " + (count == 1 ? one : many ?? one + "s")
    }
}
