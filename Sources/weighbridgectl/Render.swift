import Foundation
import WeighbridgeControlProtocol
import WeighbridgeCore
import WeighbridgeJSON

/// Human output, rendered from the typed replies: a table for what lists many things, a line or
/// two for what changes one.
enum Render {
    /// Rows under their column names, each column as wide as its widest cell.
    static func table(_ columns: [String], _ rows: [[String]]) -> String {
        guard !rows.isEmpty else { return "(none)" }
        let widths = columns.indices.map { index in
            max(columns[index].count, rows.map { $0[index].count }.max() ?? 0)
        }
        func line(_ values: [String]) -> String {
            let padded = zip(values.dropLast(), widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
            return (padded + values.suffix(1)).joined(separator: "  ")
        }
        return ([line(columns)] + rows.map(line)).joined(separator: "\n")
    }

    /// A page of `movements` or `outbox` as a table, followed, when older rows remain, by the
    /// command that lists the next page (`command`, with `--state` if one was given).
    static func listing<Row: ListedRow>(
        of _: Row.Type, next command: String, _ state: String?, _ columns: [String],
        _ cells: @escaping (Row) -> [String]
    ) -> (JSONValue) throws(ControlError) -> String {
        { value throws(ControlError) in
            let page = try ListingPage<Row>(json: value)
            let rows = table(columns, page.rows.map(cells))
            guard let cursor = page.nextBefore else { return rows }
            return rows + "\nolder: \(command)\(state.map { " --state \($0)" } ?? "") --before \(cursor)"
        }
    }

    /// `movements`: one row per movement, with what settled or holds it.
    static func movements(_ state: String?) -> (JSONValue) throws(ControlError) -> String {
        listing(
            of: MovementView.self, next: "weighbridgectl movements", state,
            ["MOVEMENT", "STATE", "DECLARED", "NET", "DEVIATION", "VEHICLE", "WHY"]
        ) { movement in
            [
                movement.movementID, movement.state.rawValue, "\(movement.declared)",
                movement.weights.map { "\($0.net)" } ?? "-", movement.weights.map { "\($0.deviationPercent)%" } ?? "-",
                movement.vehicle ?? "-", why(movement),
            ]
        }
    }

    /// `outbox`: one row per report.
    static func outbox(_ state: String?) -> (JSONValue) throws(ControlError) -> String {
        listing(
            of: ReportView.self, next: "weighbridgectl outbox", state,
            ["ENTRY", "MOVEMENT", "KIND", "STATE", "ATTEMPTS", "NEXT", "LAST ERROR"]
        ) { report in
            [
                "#\(report.id)", report.movementID, report.kind.rawValue, report.state.rawValue, "\(report.attempts)",
                report.state.awaitsAttempt ? report.nextAttemptAt.rfc3339 : "-",
                report.lastError ?? "-",
            ]
        }
    }

    /// `bridges`: one row per bridge, then the last error of each that had one.
    static func bridges(_ value: JSONValue) throws(ControlError) -> String {
        let bridges = try BridgeView.list(json: value)
        let rows = bridges.map { bridge in
            [
                bridge.name, bridge.link, reading(bridge), bridge.phase?.rawValue ?? "-", "\(bridge.captures)",
                bridge.instrumentID.map(instrument) ?? "-",
            ]
        }
        let failing = bridges.compactMap { bridge in
            bridge.lastError.map { error in
                "\(bridge.name): last error"
                    + (bridge.consecutiveFailures > 0
                        ? " (\(plural(bridge.consecutiveFailures, "failed poll")) in a row)" : "") + ": \(error)"
            }
        }
        return ([table(["BRIDGE", "LINK", "READING", "PHASE", "CAPTURES", "INSTRUMENT"], rows)] + failing)
            .joined(separator: "\n")
    }

    /// `weight`: each bridge's reading on a line, with net and tare when the indicator gives them.
    static func weight(_ value: JSONValue) throws(ControlError) -> String {
        let bridges = if case .array = value { try BridgeView.list(json: value) } else { [try BridgeView(json: value)] }
        return bridges.map { bridge in
            var line = "\(bridge.name)  \(reading(bridge))"
            // Net and tare beside a gross; an indicator giving net alone has shown it already.
            if bridge.connected, let tare = bridge.tare, let net = bridge.net { line += " (net \(net), tare \(tare))" }
            if let at = bridge.readingAt {
                line += bridge.connected ? "  at \(at.rfc3339)" : "  last read \(at.rfc3339)"
            }
            return line
        }.joined(separator: "\n")
    }

    /// `tare list`: every stored tare, valid or not.
    static func tareList(_ value: JSONValue) throws(ControlError) -> String {
        table(
            ["VEHICLE", "TARE", "SET", "EXPIRES", "VALID"],
            try TareView.list(json: value).map { tare in
                [tare.vehicle, "\(tare.tare)", tare.setAt.rfc3339, tare.expiresAt.rfc3339, tare.valid ? "yes" : "no"]
            })
    }

    /// `tare set`: the tare as stored.
    static func storedTare(_ value: JSONValue) throws(ControlError) -> String {
        let tare = try TareView(json: value)
        return "\(tare.vehicle): stored tare \(tare.tare), expires \(tare.expiresAt.rfc3339)"
    }

    /// `tare expire`: whose stored tare no longer counts.
    static func tareExpiry(_ value: JSONValue) throws(ControlError) -> String {
        "\(try TareExpiry(json: value).vehicle): stored tare expired"
    }

    /// `expect`: the movement as registered.
    static func registered(_ value: JSONValue) throws(ControlError) -> String {
        header(try MovementView(json: value)).joined(separator: "\n")
    }

    /// An override or `attach`: where the movement stands now and the reports it queued.
    static func change(_ value: JSONValue) throws(ControlError) -> String {
        let change = try MovementChange(json: value)
        var lines = header(change.movement)
        if let weights = change.movement.weights { lines.append(net(weights, declared: change.movement.declared)) }
        lines += change.queuedReports.map { "queued " + reportLine($0) }
        return lines.joined(separator: "\n")
    }

    /// `arrive` and `depart`.
    static func arrival(_ value: JSONValue) throws(ControlError) -> String {
        let arrival = try ArrivalChange(json: value)
        guard let at = arrival.announcedAt else { return "\(arrival.subject) withdrawn from \(arrival.bridge)" }
        return "\(arrival.bridge) waits for \(arrival.subject) (announced \(at.rfc3339))"
    }

    /// `correct`: the report that carries the correction, and whether it is late.
    static func correction(_ value: JSONValue) throws(ControlError) -> String {
        let correction = try CorrectionReply(json: value)
        var line =
            if let report = correction.queuedReport {
                "\(correction.movementID): correction queued as " + reportLine(report)
            } else {
                "\(correction.movementID): the receipt not yet sent will carry the corrected data"
            }
        if correction.late, let deadline = correction.deadline {
            line += "\nlate: the receipt's legal deadline was \(deadline.rfc3339); sent all the same"
        }
        return line
    }

    /// `retry`: how many reports go again.
    static func retried(_ value: JSONValue) throws(ControlError) -> String {
        plural(try RetryReply(json: value).retried, "report") + " queued again"
    }

    /// `park` and `resolve`: the report as it now stands.
    static func report(_ value: JSONValue) throws(ControlError) -> String {
        reportLine(try ReportView(json: value))
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
        var lines = header(movement)

        lines.append("Weighings")
        if detail.weighings.isEmpty { lines.append("  none yet") }
        for weighing in detail.weighings {
            var line =
                "  \(weighing.weighedAt.rfc3339)  ticket \(weighing.ticket)  \(weighing.bridge)  \(weighing.weight)"
            if let legal = weighing.legalID { line += "  legal id \(legal)" }
            if let recorded = weighing.instrument { line += "  instrument " + instrument(recorded) }
            lines.append(line)
        }
        if let weights = movement.weights { lines.append(net(weights, declared: movement.declared)) }

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
        lines += detail.reports.map { "  " + reportLine($0) }
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

    /// The movement's first lines: its state, what was declared, and any hold or arrival.
    private static func header(_ movement: MovementView) -> [String] {
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
        return lines
    }

    /// "Net 11000 kg = 22000 kg − 11000 kg (measured tare): +10.00% against 10000 kg declared".
    private static func net(_ weights: MovementView.Weights, declared: Mass) -> String {
        "Net \(weights.net) = \(weights.gross) − \(weights.tare) (\(weights.tareKind.rawValue) tare): "
            + "\(weights.deviationPercent)% against \(declared) declared" + (weights.highRisk ? "; high-risk load" : "")
    }

    /// "#2 confirmation  pending  0 attempts  next …", with the tracking id and last error when known.
    private static func reportLine(_ report: ReportView) -> String {
        var line =
            "#\(report.id) \(report.kind.rawValue)  \(report.state.rawValue)  \(plural(report.attempts, "attempt"))"
        if let server = report.serverID { line += "  tracking id \(server)" }
        if report.state.awaitsAttempt { line += "  next \(report.nextAttemptAt.rfc3339)" }
        if let error = report.lastError { line += "  last error: \(error)" }
        return line
    }

    /// What holds or settled a movement, for its row in `movements`.
    private static func why(_ movement: MovementView) -> String {
        if let hold = movement.hold { return hold.reason }
        switch movement.outcome {
        case .confirmed(let by)?: return "confirmed by \(by)"
        case .discrepancy(let reason, let by)?: return "\(reason.rawValue), raised by \(by)"
        case .rejected(let reason, let by)?: return "rejected by \(by): \(reason)"
        case nil: return "-"
        }
    }

    /// A bridge's reading in a few words: "22020 kg stable", "starting", "unreachable", "no reading yet".
    private static func reading(_ bridge: BridgeView) -> String {
        if let held = bridge.heldWeighing { return "holding an unrecorded weighing of \(held)" }
        guard bridge.connected else {
            return bridge.consecutiveFailures == 0 && bridge.lastError == nil ? "starting" : "unreachable"
        }
        guard let weight = bridge.weight else { return "no reading yet" }
        return "\(weight) " + (bridge.stable ? "stable" : "moving")
    }

    /// An instrument's recorded identification as people read it ("LMB3.1.6 (id B4, running)").
    private static func instrument(_ recorded: String) -> String {
        ServerIdentification(recorded: recorded)?.readable ?? recorded
    }

    private static func plural(_ count: Int, _ one: String, _ many: String? = nil) -> String {
        "\(count) " + (count == 1 ? one : many ?? one + "s")
    }
}
