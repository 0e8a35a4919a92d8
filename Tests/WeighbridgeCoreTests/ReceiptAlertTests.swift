import Testing
import WeighbridgeCore

private func at(_ text: String) -> Timestamp { Timestamp(rfc3339: text)! }

/// What one sweep should find, for a table of sweeps made one after another on one schedule.
private struct Sweep: Sendable {
    var time: String
    var dueWithinADay: Int
    var missed: Int
    /// The alerts due, by kind: "due", "missed", "discrepancy".
    var alerts: [String]
}

private func kind(_ alert: ReceiptAlert) -> String {
    switch alert {
    case .dueSoon: "due"
    case .missed: "missed"
    case .discrepancyUnresolved: "discrepancy"
    case .serviceChargeExpiring: "service-charge"
    }
}

@Suite("The receipt deadline alerts: when each is given, with time as an input")
struct ReceiptAlertScheduleTests {
    // Received Thursday 26 November 2026, 15:00 GMT: due by the end of Monday 30 November.
    let receipt = UnacceptedReceipt(
        movementID: "M-1", receivedAt: at("2026-11-26T15:00:00Z"), why: "report 1 is retry_wait", reportID: 1)

    @Test("a receipt is named once when due within a day, then every hour once missed")
    func deadlineAlerts() {
        let sweeps = [
            Sweep(time: "2026-11-27T12:00:00Z", dueWithinADay: 0, missed: 0, alerts: []),
            Sweep(time: "2026-11-30T00:00:00Z", dueWithinADay: 1, missed: 0, alerts: ["due"]),
            Sweep(time: "2026-11-30T12:00:00Z", dueWithinADay: 1, missed: 0, alerts: []),
            Sweep(time: "2026-11-30T23:59:59Z", dueWithinADay: 1, missed: 0, alerts: []),
            Sweep(time: "2026-12-01T00:00:00Z", dueWithinADay: 0, missed: 1, alerts: ["missed"]),
            Sweep(time: "2026-12-01T00:59:59Z", dueWithinADay: 0, missed: 1, alerts: []),
            Sweep(time: "2026-12-01T01:00:00Z", dueWithinADay: 0, missed: 1, alerts: ["missed"]),
            Sweep(time: "2026-12-03T09:00:00Z", dueWithinADay: 0, missed: 1, alerts: ["missed"]),
        ]
        var schedule = ReceiptAlertSchedule()
        for sweep in sweeps {
            let (deadlines, alerts) = schedule.sweep([receipt], discrepancies: [], at: at(sweep.time))
            #expect(
                deadlines == ReceiptDeadlines(dueWithinADay: sweep.dueWithinADay, missed: sweep.missed), "\(sweep.time)"
            )
            #expect(alerts.map(kind) == sweep.alerts, "\(sweep.time)")
        }
        let deadline = at("2026-12-01T00:00:00Z")
        #expect(
            schedule.sweep([receipt], discrepancies: [], at: at("2026-12-04T09:00:00Z")).alerts == [
                .missed(receipt, deadline: deadline)
            ])
    }

    @Test("a local Discrepancy is named every hour once it has waited a working day (a weekend does not count)")
    func discrepancyAlerts() {
        var schedule = ReceiptAlertSchedule()
        let raised = [(movementID: "M-D", raisedAt: at("2026-11-27T16:00:00Z"))]  // a Friday
        let table: [(String, [ReceiptAlert])] = [
            ("2026-11-27T18:00:00Z", []),
            ("2026-11-28T10:00:00Z", []),
            ("2026-11-29T23:00:00Z", []),
            ("2026-11-30T09:00:00Z", [.discrepancyUnresolved(movementID: "M-D")]),
            ("2026-11-30T09:30:00Z", []),
            ("2026-11-30T10:00:00Z", [.discrepancyUnresolved(movementID: "M-D")]),
        ]
        for (time, expected) in table {
            #expect(schedule.sweep([], discrepancies: raised, at: at(time)).alerts == expected, "\(time)")
        }
    }

    @Test("a service charge running out within 14 days is warned about once a day")
    func serviceChargeWarnings() {
        var schedule = ReceiptAlertSchedule()
        let expiry = at("2026-12-20T00:00:00Z")
        let table: [(String, Bool)] = [
            ("2026-12-05T00:00:00Z", false),
            ("2026-12-06T00:00:01Z", true),
            ("2026-12-06T23:00:00Z", false),
            ("2026-12-07T00:00:00Z", false),
            ("2026-12-07T00:00:01Z", true),
            ("2026-12-21T00:00:00Z", true),
        ]
        for (time, warned) in table {
            let alert = schedule.serviceCharge(expiresAt: expiry, at: at(time))
            #expect(alert == (warned ? .serviceChargeExpiring(at: expiry) : nil), "\(time)")
        }
    }

    @Test("the sweep runs at most once a minute")
    func sweepInterval() {
        var schedule = ReceiptAlertSchedule()
        let table: [(String, Bool)] = [
            ("2026-12-01T09:00:00Z", true),
            ("2026-12-01T09:00:59Z", false),
            ("2026-12-01T09:01:00Z", true),
            ("2026-12-01T09:01:30Z", false),
            ("2026-12-01T09:05:00Z", true),
        ]
        for (time, due) in table {
            #expect(schedule.sweepDue(at: at(time)) == due, "\(time)")
        }
    }
}
