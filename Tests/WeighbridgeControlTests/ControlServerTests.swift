import Foundation
import Logging
import TestSupport
import Testing
import WeighbridgeControl
import WeighbridgeControlProtocol
import WeighbridgeCore
import WeighbridgeDaemon
import WeighbridgeJSON
import WeighbridgeJournal
import WeighbridgeStore
import WeighbridgeTesting

private let t0 = Timestamp(rfc3339: "2026-11-25T08:00:00Z")!
private let productsDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()

/// A control server in-process over a temporary socket, with the real store and desk behind it.
private final class ServerFixture: Sendable {
    let directory: String
    let socket: String
    let store: Store
    let desk: MovementDesk
    private let task: Task<Void, any Error>

    init(
        idleTimeout: Duration = .seconds(30), lineDeadline: Duration = .seconds(10),
        logger: Logger = Journal(destination: .standardError).logger(level: .error)
    ) async throws {
        directory = "/tmp/wbctl-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o755])
        socket = directory + "/control.sock"
        store = try Store(path: directory + "/db.sqlite", now: t0)
        desk = MovementDesk(store: store, policy: .standard, routing: .brief) { t0 }
        let live = LiveView(
            bridges: {
                [
                    BridgeView(
                        name: "in", link: "tcp 127.0.0.1:502", connected: true, instrumentID: nil,
                        weight: Mass(-20, .kilograms), net: nil, tare: nil, stable: true, phase: .armed, readingAt: t0,
                        consecutiveFailures: 0, lastError: nil, captures: 0, heldWeighing: nil),
                    BridgeView(
                        name: "out", link: "rtu /dev/ttyUSB0 9600 8E1", connected: false,
                        instrumentID: "..LMB3.1.6 [B4FF4C4D42332E312E36]", weight: nil, net: nil, tare: nil,
                        stable: false,
                        phase: nil, readingAt: nil, consecutiveFailures: 3, lastError: "Connection timed out",
                        captures: 0, heldWeighing: nil),
                ]
            },
            summary: { "1 bridge polled" })
        let service = ControlService(desk: desk, live: live, logger: logger) { t0 }
        let server = ControlServer(
            settings: .init(path: socket, group: nil, idleTimeout: idleTimeout, lineDeadline: lineDeadline),
            handler: service)
        let ready = AsyncStream<Void>.makeStream()
        task = Task { try await server.run { ready.continuation.yield() } }
        for await _ in ready.stream { break }
    }

    deinit {
        task.cancel()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs weighbridgectl against this server.
    /// Runs weighbridgectl against the in-process server on a thread of its own: blocking a
    /// thread of the concurrency pool on it could starve the very server it is waiting for.
    func ctl(_ arguments: String..., user: String? = nil) async throws -> (status: Int32, output: String, error: String)
    {
        try await ctl(arguments, user: user)
    }

    func ctl(_ arguments: [String], user: String? = nil) async throws -> (status: Int32, output: String, error: String)
    {
        try await onOwnThread { [socket] in try Self.runCtl(arguments, user: user, socket: socket) }
    }

    private static func runCtl(_ arguments: [String], user: String?, socket: String) throws -> (
        status: Int32, output: String, error: String
    ) {
        let ctl = productsDirectory.appendingPathComponent("weighbridgectl")
        guard let user else { return try runToCompletion(ctl, arguments + ["--socket", socket]) }
        return try runToCompletion(
            URL(fileURLWithPath: "/usr/sbin/runuser"), ["-u", user, "--", ctl.path] + arguments + ["--socket", socket])
    }

    func capture(_ kilograms: Int64) async throws -> CaptureOutcome {
        try await desk.recordCapture(
            WeighingEvidence(
                bridge: "in", weight: Mass(kilograms, .kilograms), division: Mass(20, .kilograms), weighedAt: t0,
                status: .stable, legalID: nil, instrumentID: "sim", raw: .registers([1]), route: .unannounced))
    }
}

/// A raw protocol client for what weighbridgectl never sends. Its blocking reads run on a thread
/// of their own, never on the tests' concurrency pool; one caller at a time.
private final class RawClient: @unchecked Sendable {
    let descriptor: Int32

    init(path: String) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(descriptor) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            // MSG_NOSIGNAL: a server that closed the connection gives EPIPE, not SIGPIPE.
            let written = bytes[offset...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard written > 0 else { return }
            offset += written
        }
    }

    /// Sends `bytes` while reading the replies, as a client that keeps reading does, until `count`
    /// lines came back, the server closed, or nothing moved for 10 s. (Writing everything before
    /// reading anything stalls once the replies fill the socket's buffers: the server, unable to
    /// write, stops reading, and rightly closes the connection as idle.)
    func exchange(_ bytes: [UInt8], expecting count: Int) async throws -> [String] {
        try await onOwnThread { self.blockingExchange(bytes, expecting: count) }
    }

    /// Reads until `count` lines arrived or the server closed; returns the lines.
    func lines(_ count: Int) async throws -> [String] {
        try await onOwnThread { self.blockingLines(count) }
    }

    private func blockingExchange(_ bytes: [UInt8], expecting count: Int) -> [String] {
        let flags = fcntl(descriptor, F_GETFL)
        _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(descriptor, F_SETFL, flags) }
        var offset = 0
        var buffer: [UInt8] = []
        var result: [String] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while result.count < count {
            var events = Int16(POLLIN)
            if offset < bytes.count { events |= Int16(POLLOUT) }
            var descriptors = pollfd(fd: descriptor, events: events, revents: 0)
            guard poll(&descriptors, 1, 10_000) > 0 else { break }
            if descriptors.revents & Int16(POLLOUT) != 0 {
                let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
                if written > 0 { offset += written } else if errno != EAGAIN { offset = bytes.count }
            }
            if descriptors.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                let read = chunk.withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress, $0.count) }
                if read == 0 || (read < 0 && errno != EAGAIN) { break }
                if read > 0 { buffer += chunk.prefix(read) }
                while let newline = buffer.firstIndex(of: 0x0A) {
                    result.append(String(decoding: buffer[..<newline], as: UTF8.self))
                    buffer.removeSubrange(...newline)
                }
            }
        }
        return result
    }

    private func blockingLines(_ count: Int) -> [String] {
        var buffer: [UInt8] = []
        var result: [String] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while result.count < count {
            let read = chunk.withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress, $0.count) }
            guard read > 0 else { break }
            buffer += chunk.prefix(read)
            while let newline = buffer.firstIndex(of: 0x0A) {
                result.append(String(decoding: buffer[..<newline], as: UTF8.self))
                buffer.removeSubrange(...newline)
            }
        }
        return result
    }
}

@Suite("Control socket: weighbridgectl against the server, real store and rules behind it", .serialized)
struct ControlServerTests {
    @Test("every command round-trips: expect, arrive, show, movements, overrides, attach, tares, outbox, audit")
    func everyCommand() async throws {
        let fixture = try await ServerFixture()
        #expect(
            try await fixture.ctl(
                "expect", "--movement", "M1", "--declared-kg", "10000", "--ewc", "20 03 01",
                "--vehicle", "AB12 CDE"
            ).status == 0)
        let movements = try await fixture.ctl("movements", "--json")
        #expect(movements.output.contains(#""movement_id":"M1""#) && movements.output.contains(#""state":"expected""#))
        // A typo'd bridge is refused, and does not take the vehicle off the bridge it is on.
        #expect(try await fixture.ctl("arrive", "--bridge", "in", "--vehicle", "AB12CDE").status == 0)
        let typo = try await fixture.ctl("arrive", "--bridge", "inbund", "--movement", "M1")
        #expect(typo.status != 0 && typo.error.contains("no bridge inbund"), "\(typo)")
        // Withdrawn and announced again, as a kiosk does when a driver is sent round.
        #expect(try await fixture.ctl("depart", "--movement", "M1").status == 0)
        #expect(try await fixture.ctl("depart", "--movement", "M1").status != 0)
        #expect(try await fixture.ctl("arrive", "--bridge", "in", "--vehicle", "AB12CDE").status == 0)
        _ = try await fixture.capture(22_000)
        #expect(try await fixture.ctl("arrive", "--bridge", "in", "--movement", "M1").status == 0)
        _ = try await fixture.capture(11_500)  // net 10 500: +5.00%, confirmed
        let shown = try await fixture.ctl("show", "M1", "--json")
        #expect(shown.status == 0)
        #expect(shown.output.contains("net_kg") && shown.output.contains("10500") && shown.output.contains("confirmed"))

        // An illegal override is refused with its code, exit 1, and changes nothing.
        let refused = try await fixture.ctl("reject", "M1", "--reason", "too late")
        #expect(refused.status == 1)
        #expect(refused.error.contains("illegal_transition"))

        // Hold and release a second movement; reject a third; attach an unannounced weighing.
        _ = try await fixture.ctl("expect", "--movement", "M2", "--declared-kg", "5000", "--ewc", "200101")
        #expect(try await fixture.ctl("hold", "M2", "--reason", "driver disputes load").status == 0)
        #expect(try await fixture.ctl("movements", "--state", "held").output.contains("M2"))
        #expect(try await fixture.ctl("release", "M2", "--reason", "resolved").status == 0)
        _ = try await fixture.ctl("expect", "--movement", "M3", "--declared-kg", "5000", "--ewc", "200101")
        #expect(try await fixture.ctl("reject", "M3", "--reason", "turned away").status == 0)
        guard case .unattributed(let loose) = try await fixture.capture(17_000) else {
            Issue.record("an unannounced weighing was attributed")
            return
        }
        #expect(try await fixture.ctl("attach", String(loose.ticket), "M2", "--reason", "ANPR missed it").status == 0)
        #expect(try await fixture.ctl("show", "M2", "--json").output.contains(#""state":"weighing""#))

        #expect(
            try await fixture.ctl(
                "tare", "set", "CD34EFG", "--tare-kg", "11000", "--expires-at", "2026-12-01T00:00:00Z",
                "--reason", "weighed empty today"
            ).status == 0)
        #expect(try await fixture.ctl("tare", "list").output.contains("CD34EFG"))
        #expect(try await fixture.ctl("tare", "expire", "CD34EFG", "--reason", "trailer changed").status == 0)

        let outbox = try await fixture.ctl("outbox", "--json")
        #expect(outbox.output.contains(#""idempotency_key":"M1/confirmation/1""#))
        #expect(try await fixture.ctl("park", "1", "--reason", "duplicate of a manual upload").status == 0)
        #expect(try await fixture.ctl("outbox", "--state", "parked").output.contains("M1"))
        #expect(try await fixture.ctl("retry", "1", "--reason", "it was not a duplicate").status == 0)
        #expect(try await fixture.ctl("outbox", "--state", "pending", "--json").output.contains(#""id":1"#))
        #expect(try await fixture.ctl("resolve", "1", "--tracking-id", "WT-1", "--reason", "x").status == 1)

        // Below the legal minimum: held; an operator raises a Discrepancy, then confirms after all.
        _ = try await fixture.ctl("expect", "--movement", "M4", "--declared-kg", "300", "--ewc", "200101")
        for kilograms: Int64 in [12_300, 12_000] {
            _ = try await fixture.ctl("arrive", "--bridge", "in", "--movement", "M4")
            _ = try await fixture.capture(kilograms)
        }
        #expect(try await fixture.ctl("show", "M4", "--json").output.contains(#""code":"below_minimum_weight""#))
        #expect(try await fixture.ctl("discrepancy", "M4", "--reason", "load short").status == 0)
        #expect(try await fixture.ctl("confirm", "M4", "--reason", "agreed with the producer").status == 0)
        #expect(try await fixture.ctl("outbox", "--json").output.contains(#""idempotency_key":"M4/confirmation/1""#))

        // An entry whose outcome is unknown: record the id found in the service, or resend.
        let report = try await fixture.store.read { try $0.outboxEntries(ofMovement: "M4") }.first!.report
        let unknown = try await fixture.store.write(at: t0) { transaction in
            let entries = try (1...2).map { index in
                try transaction.enqueue(report, kind: .receipt, idempotent: false, idempotencyKey: "post-\(index)")
            }
            for entry in entries {
                try transaction.transitionOutboxEntry(
                    id: entry.id, from: .pending, OutboxUpdate(event: .dispatch, attempts: 0, nextAttemptAt: t0))
                try transaction.transitionOutboxEntry(
                    id: entry.id, from: .sending,
                    OutboxUpdate(
                        event: .answered(.unknown("timeout", pause: false)), attempts: 1, nextAttemptAt: t0,
                        lastError: "timeout"))
            }
            return entries.map(\.id)
        }
        // An ambiguous report stays ambiguous until a person resolves it: neither `park` nor
        // `retry` (one or all) turns it into a resend.
        let park = try await fixture.ctl("park", String(unknown[0]), "--reason", "look at it Monday")
        #expect(park.status != 0 && park.error.contains("resolve"), "\(park)")
        let retryOne = try await fixture.ctl("retry", String(unknown[0]), "--reason", "API back")
        #expect(retryOne.status != 0, "\(retryOne)")
        #expect(try await fixture.ctl("retry", "--all", "--reason", "API back").status == 0)
        #expect(try await fixture.store.read { try $0.outboxEntries(state: .unknown) }.map(\.id) == unknown)
        #expect(
            try await fixture.ctl("resolve", String(unknown[0]), "--tracking-id", "WTR-8F2K", "--reason", "found it")
                .status
                == 0)
        #expect(
            try await fixture.ctl("resolve", String(unknown[1]), "--resend", "--reason", "not in the service").status
                == 0)
        let settled = try await fixture.store.read { transaction in
            try unknown.map { try transaction.outboxEntry(id: $0)! }
        }
        #expect(settled.map(\.state) == [.done, .pending])
        #expect(settled.first?.serverID == "WTR-8F2K")

        let status = try await fixture.ctl("status", "--json")
        #expect(status.output.contains(#""summary":"1 bridge polled""#))
        #expect(try await fixture.ctl("bridges").output.contains("tcp 127.0.0.1:502"))
        #expect(try await fixture.ctl("weight", "nope").status == 1)

        // Every override is in the audit log with the operator, and the chain verifies.
        let verify = try await fixture.ctl("audit", "verify")
        #expect(verify.status == 0 && verify.output.hasPrefix("intact"))
        let entries = try await fixture.store.read { try $0.auditEntries() }
        let overrides = entries.filter { $0.event.kind == .override }
        #expect(
            !entries.contains { [.tareSet, .tareExpired].contains($0.event.kind) },
            "a tare override is one audit entry, not an override and a tare entry")
        #expect(overrides.first { $0.event.detail["action"] == "tare-set" }?.event.detail["tare_g"] != nil)
        // Each accepted override once; the refused ones left no trace.
        #expect(
            overrides.map { $0.event.detail["action"] ?? "" }.sorted()
                == [
                    "attach", "confirm", "discrepancy", "hold", "park", "reject", "release", "resend", "resolve",
                    "retry", "retry", "tare-expire", "tare-set",
                ])
        #expect(
            overrides.allSatisfy {
                $0.event.actor.hasPrefix("operator:") && $0.event.actor.hasSuffix("(uid=\(getuid()))")
            })
        #expect(overrides.contains { $0.event.detail["reason"] == "ANPR missed it" })
    }

    @Test(
        "listing commands page their output: newest first, a capped page with the cursor of the next, every row once; status counts without listing"
    )
    func listingsPage() async throws {
        let fixture = try await ServerFixture()
        let count = 2_500
        let report = try SampleMovements.confirmed("P00000", ticket: 1, at: t0).1
        try await fixture.store.write(at: t0) { transaction in
            for index in 0..<count {
                let movement = try Movement(
                    id: String(format: "P%05d", index), declared: Mass(10_000, .kilograms),
                    ewcCodes: [EWCCode(parsing: "20 03 01")])
                let hold: HoldReason? = index % 10 == 0 ? .operatorHold("paperwork") : nil
                try transaction.saveMovement(
                    MovementLifecycle(movement: movement, stage: .expected, hold: hold), receipt: nil)
            }
            for index in 0..<150 {
                _ = try transaction.enqueue(
                    report, kind: .confirmation, idempotent: true, idempotencyKey: "P00000/\(index)")
            }
        }
        func page(_ arguments: String...) async throws -> (rows: [[String: Any]], next: Int?) {
            let result = try await fixture.ctl(arguments + ["--json"])
            #expect(result.status == 0, "\(arguments): \(result.error)")
            let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any] ?? [:]
            let rows = (object["movements"] ?? object["entries"]) as? [[String: Any]] ?? []
            return (rows, object["next_before"] as? Int)
        }
        func walk(_ command: String, _ extra: [String] = []) async throws -> [String] {
            var ids: [String] = []
            var before: Int?
            repeat {
                let listed = try await fixture.ctl(
                    [command, "--limit", "1000"] + extra + (before.map { ["--before", String($0)] } ?? []) + ["--json"])
                let object = try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [String: Any] ?? [:]
                let rows = (object["movements"] ?? object["entries"]) as? [[String: Any]] ?? []
                #expect(rows.count <= 1_000)
                ids += rows.map { "\($0["movement_id"] ?? "")/\($0["id"] ?? "")" }
                before = object["next_before"] as? Int
            } while before != nil
            return ids
        }

        // The default page: the newest 100, and the way down.
        let first = try await page("movements")
        #expect(first.rows.count == ControlProtocol.defaultListLimit)
        #expect(first.rows.first?["movement_id"] as? String == "P02499")
        #expect(first.next != nil)
        // As text: a table, then the command for the next page, which carries on where it stopped.
        let text = try await fixture.ctl("movements", "--state", "held", "--limit", "5")
        let hint = "older: weighbridgectl movements --state held --before "
        let lines = text.output.split(separator: "\n")
        #expect(lines.count == 7 && lines[1].hasPrefix("P02490") && lines[5].hasPrefix("P02450"), "\(text.output)")
        let cursor = lines.last.flatMap { $0.hasPrefix(hint) ? String($0.dropFirst(hint.count)) : nil } ?? "none"
        let next = try await page("movements", "--state", "held", "--limit", "5", "--before", cursor)
        #expect(next.rows.first?["movement_id"] as? String == "P02440")

        // Walking the pages lists every movement once, newest first; a state filter pages too.
        let all = try await walk("movements")
        #expect(all.count == count && Set(all).count == count)
        #expect(all == (0..<count).reversed().map { String(format: "P%05d/", $0) })
        #expect(try await walk("movements", ["--state", "held"]).count == count / 10)
        let outbox = try await walk("outbox")
        #expect(outbox.count == 150 && Set(outbox).count == 150)
        let outboxFirst = try await page("outbox", "--state", "pending", "--limit", "100")
        #expect(outboxFirst.rows.count == 100 && outboxFirst.next == 51)
        let outboxLast = try await page("outbox", "--state", "pending", "--limit", "100", "--before", "51")
        #expect(outboxLast.rows.count == 50 && outboxLast.next == nil)

        // Limits outside 1…1000, and a cursor that is not one, are refused.
        for bad in [["--limit", "0"], ["--limit", "1001"], ["--before", "0"]] {
            let refused = try await fixture.ctl(["movements"] + bad)
            #expect(refused.status == 1 && refused.error.contains("invalid_argument"), "\(bad): \(refused.error)")
        }
        let status = try await fixture.ctl("status", "--json")
        #expect(status.output.contains(#""held":250"#) && status.output.contains(#""outbox_pending":150"#))
    }

    @Test("people read status and show as prose: what needs a person first, a movement's story in order")
    func humanOutput() async throws {
        let fixture = try await ServerFixture()
        let calm = try await fixture.ctl("status")
        #expect(calm.status == 0)
        #expect(calm.output.hasPrefix("Nothing needs a person.\n"), "\(calm.output)")
        _ = try await fixture.ctl("expect", "--movement", "M1", "--declared-kg", "10000", "--ewc", "200301")
        _ = try await fixture.ctl("arrive", "--bridge", "in", "--movement", "M1")
        _ = try await fixture.capture(22_000)
        _ = try await fixture.ctl("arrive", "--bridge", "in", "--movement", "M1")
        _ = try await fixture.capture(11_000)  // net 11 000: +10.00%, a Discrepancy
        _ = try await fixture.ctl("confirm", "M1", "--reason", "declared weight was a guess")
        _ = try await fixture.capture(17_000)  // nobody announced: unattributed

        let shown = try await fixture.ctl("show", "M1")
        #expect(shown.status == 0, "\(shown)")
        let lines = shown.output.split(separator: "\n").map(String.init)
        #expect(lines.first == "Movement M1: confirmed", "\(shown.output)")
        let weighings = lines.filter { $0.contains("  ticket ") }
        #expect(weighings.count == 2, "\(shown.output)")
        #expect(weighings.first?.contains("ticket 1  in  22000 kg") == true, "\(shown.output)")
        #expect(
            lines.contains("Net 11000 kg = 22000 kg − 11000 kg (measured tare): +10.00% against 10000 kg declared"),
            "\(shown.output)")
        let name = ServerFixtureUser.name
        #expect(
            lines.contains {
                $0.hasSuffix("confirmed by operator:\(name)(uid=\(getuid())): declared weight was a guess")
            },
            "\(shown.output)")
        #expect(lines.contains { $0.hasPrefix("  #1 discrepancy  pending  0 attempts") }, "\(shown.output)")
        #expect(lines.contains { $0.hasPrefix("  #2 confirmation  pending  0 attempts") }, "\(shown.output)")
        #expect(!shown.output.contains("{"), "no raw JSON in what people read: \(shown.output)")

        let busy = try await fixture.ctl("status")
        let needs = busy.output.split(separator: "\n").map(String.init)
        #expect(needs.first == "Needs a person:", "\(busy.output)")
        #expect(
            needs.dropFirst().first?.contains("1 weighing belonging to no movement (tickets 3)") == true,
            "\(busy.output)")
        #expect(needs.contains { $0.hasPrefix("Outbox:   2 reports on the way") }, "\(busy.output)")
    }

    @Test("people read listings as tables and every change as a line or two, never raw JSON")
    func humanListingsAndChanges() async throws {
        let fixture = try await ServerFixture()
        func said(_ arguments: String...) async throws -> [String] {
            let result = try await fixture.ctl(arguments)
            #expect(result.status == 0, "\(arguments): \(result)")
            #expect(!result.output.contains("{"), "no raw JSON in what people read: \(result.output)")
            return result.output.split(separator: "\n").map(String.init)
        }
        let bridges = try await said("bridges")
        #expect(bridges.first?.hasPrefix("BRIDGE  LINK") == true, "\(bridges)")
        // A deck a division under its zero reads below zero, and is shown so.
        #expect(bridges.contains { $0.hasPrefix("in ") && $0.contains("-20 kg stable") && $0.contains("armed") })
        #expect(bridges.contains { $0.hasPrefix("out ") && $0.contains("unreachable") }, "\(bridges)")
        #expect(bridges.contains { $0.hasSuffix("LMB3.1.6 (id B4, running)") }, "\(bridges)")
        #expect(bridges.last == "out: last error (3 failed polls in a row): Connection timed out", "\(bridges)")
        #expect(try await said("weight", "in") == ["in  -20 kg stable  at 2026-11-25T08:00:00.000Z"])

        let expected = try await said(
            "expect", "--movement", "M1", "--declared-kg", "10000", "--ewc", "200301", "--vehicle", "AB12CDE")
        #expect(expected == ["Movement M1: expected", "  declared 10000 kg · EWC 20 03 01 · vehicle AB12CDE"])
        #expect(
            try await said("arrive", "--bridge", "in", "--movement", "M1").first?.hasPrefix("in waits for movement M1")
                == true)
        #expect(try await said("depart", "--movement", "M1") == ["movement M1 withdrawn from in"])
        _ = try await said("arrive", "--bridge", "in", "--movement", "M1")
        _ = try await fixture.capture(22_000)
        _ = try await said("arrive", "--bridge", "in", "--movement", "M1")
        _ = try await fixture.capture(11_000)  // net 11 000: +10.00%, a Discrepancy
        let confirmed = try await said("confirm", "M1", "--reason", "declared weight was a guess")
        #expect(confirmed.first == "Movement M1: confirmed", "\(confirmed)")
        #expect(
            confirmed.contains("Net 11000 kg = 22000 kg − 11000 kg (measured tare): +10.00% against 10000 kg declared"))
        #expect(confirmed.last?.hasPrefix("queued #2 confirmation  pending  0 attempts") == true, "\(confirmed)")

        let movements = try await said("movements")
        #expect(movements.first?.hasPrefix("MOVEMENT  STATE") == true, "\(movements)")
        #expect(movements.last?.contains("+10.00%") == true, "\(movements)")
        #expect(movements.last?.hasSuffix("confirmed by operator:\(ServerFixtureUser.name)(uid=\(getuid()))") == true)
        let outbox = try await said("outbox")
        #expect(outbox.count == 3 && outbox[0].hasPrefix("ENTRY  MOVEMENT") && outbox[1].hasPrefix("#2 "), "\(outbox)")
        let parked = try await said("park", "1", "--reason", "sent by hand")
        #expect(parked == ["#1 discrepancy  parked  0 attempts  last error: parked by operator: sent by hand"])
        #expect(try await said("retry", "1", "--reason", "it was not") == ["1 report queued again"])

        let tare = try await said(
            "tare", "set", "CD34EFG", "--tare-kg", "11000", "--expires-at", "2026-12-01T00:00:00Z", "--reason", "x")
        #expect(tare == ["CD34EFG: stored tare 11000 kg, expires 2026-12-01T00:00:00.000Z"])
        let tares = try await said("tare", "list")
        #expect(tares.count == 2 && tares[1].hasPrefix("CD34EFG  11000 kg") && tares[1].hasSuffix("yes"), "\(tares)")
        #expect(try await said("tare", "expire", "CD34EFG", "--reason", "x") == ["CD34EFG: stored tare expired"])
    }

    @Test("expect --file refuses a field it does not know (a misspelt one would be left out) and registers nothing")
    func movementFileWithAMisspeltField() async throws {
        let fixture = try await ServerFixture()
        let file = fixture.directory + "/movement.json"
        try #"{"movement_id":"F1","declared_weight_kg":9000,"ewc_codes":["200301"],"vehicle_registraton":"AB12CDE"}"#
            .write(toFile: file, atomically: true, encoding: .utf8)
        let refused = try await fixture.ctl("expect", "--file", file)
        #expect(refused.status == 1 && refused.error.contains(#"unknown argument "vehicle_registraton""#), "\(refused)")
        #expect(try await fixture.ctl("show", "F1").status == 1, "nothing registered")
        try #"{"movement_id":"F1","declared_weight_kg":9000,"ewc_codes":["200301"],"vehicle_registration":"AB12CDE"}"#
            .write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try await fixture.ctl("expect", "--file", file).status == 0)
        #expect(try await fixture.ctl("show", "F1", "--json").output.contains(#""vehicle":"AB12CDE""#))
    }

    @Test("exit codes: usage 2, refused 1, daemon unreachable 3")
    func exitCodes() async throws {
        let fixture = try await ServerFixture()
        #expect(try await fixture.ctl("confirm", "M1").status == 2)  // --reason missing
        #expect(try await fixture.ctl("show", "M404").status == 1)
        let process = Process()
        process.executableURL = productsDirectory.appendingPathComponent("weighbridgectl")
        process.arguments = ["status", "--socket", "/nonexistent/control.sock"]
        process.standardError = Pipe()
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 3)
    }

    @Test(
        "a mistyped command names the nearest one; a name like none says so; both exit 2 without asking the daemon; --help lists the global options"
    )
    func mistypedCommand() async throws {
        // No daemon behind this socket: a command that asked one would exit 3.
        let ctl = { @Sendable (arguments: [String]) in
            try await onOwnThread {
                try runToCompletion(
                    productsDirectory.appendingPathComponent("weighbridgectl"),
                    arguments + ["--socket", "/nonexistent/control.sock"])
            }
        }
        let typo = try await ctl(["confrim", "M1", "--reason", "x"])
        #expect(typo.status == 2)
        #expect(typo.error.contains(#"no command "confrim"; did you mean "confirm"?"#), "\(typo.error)")
        let stranger = try await ctl(["frobnicate"])
        #expect(stranger.status == 2)
        #expect(stranger.error.contains(#"no command "frobnicate" (weighbridgectl --help lists them)"#))
        let global = try await ctl(["--json", "stauts"])
        #expect(global.error.contains(#"did you mean "status"?"#), "\(global.error)")
        let help = try await onOwnThread {
            try runToCompletion(productsDirectory.appendingPathComponent("weighbridgectl"), ["help", "status"])
        }
        #expect(help.status == 0 && help.output.contains("USAGE: weighbridgectl status"), "\(help.error)")
        let overview = try await onOwnThread {
            try runToCompletion(productsDirectory.appendingPathComponent("weighbridgectl"), ["--help"])
        }
        #expect(
            overview.output.contains("--socket PATH") && overview.output.contains("--json"),
            "the global options are in --help: \(overview.output)")
    }

    @Test(
        "the socket is 0660; a user outside its group cannot connect",
        .needs(.root))
    func permissions() async throws {
        let fixture = try await ServerFixture()
        var info = stat()
        #expect(stat(fixture.socket, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o660)
        let outsider = try await fixture.ctl("status", user: "nobody")
        #expect(outsider.status == 3, "\(outsider.error)")
        #expect(outsider.error.contains("ermission denied"))
    }

    @Test("tail follows events as they are recorded")
    func tail() async throws {
        let fixture = try await ServerFixture()
        let client = try RawClient(path: fixture.socket)
        client.send(Array(#"{"v":1,"id":"t","cmd":"tail"}"#.utf8) + [0x0A])
        #expect(try await client.lines(1).first?.contains(#""following":true"#) == true)
        _ = try await fixture.capture(21_000)
        let event = try await client.lines(1).first ?? ""
        #expect(event.contains(#""kind":"weighing_recorded""#))
    }

    @Test("weighbridgectl tail prints each entry as a line as it is recorded")
    func tailForPeople() async throws {
        let fixture = try await ServerFixture()
        let process = Process()
        process.executableURL = productsDirectory.appendingPathComponent("weighbridgectl")
        process.arguments = ["tail", "--socket", fixture.socket]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        defer { process.terminate() }
        let descriptor = output.fileHandleForReading.fileDescriptor
        // The next line, or what came of it within 10 s: a line held in the CLI's buffers fails.
        func nextLine() async throws -> String {
            try await onOwnThread {
                var line: [UInt8] = []
                var byte: UInt8 = 0
                var ready = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                while poll(&ready, 1, 10_000) > 0, read(descriptor, &byte, 1) == 1, byte != 0x0A { line.append(byte) }
                return String(decoding: line, as: UTF8.self)
            }
        }
        #expect(try await nextLine() == "following…")
        _ = try await fixture.capture(21_000)
        let entry = try await nextLine()
        #expect(entry.contains("  weighing_recorded  ticket:1  auto  "), "\(entry)")
        #expect(entry.contains("weight_g=21000000"), "\(entry)")
    }

    @Test(
        "fuzz: 100 000 hostile lines each get an error (or the connection closes), others are still served, nothing changes"
    )
    func fuzzOverTheSocket() async throws {
        // Five seconds: long enough that a loaded machine answering 5 000 buffered lines is not
        // taken for idle, short enough to cut the slow-loris off well before the end.
        let fixture = try await ServerFixture(idleTimeout: .seconds(5))
        _ = try await fixture.ctl("expect", "--movement", "M1", "--declared-kg", "1000", "--ewc", "200101")
        let auditBefore = try await fixture.store.read { try $0.auditEntries().count }

        // A slow-loris client: half a line, then silence. The idle timeout closes it.
        let loris = try RawClient(path: fixture.socket)
        loris.send(Array(#"{"v":1,"cmd":"sta"#.utf8))

        var generator = SplitMix(seed: 7)
        let seeds = [
            #"{"v":1,"id":1,"cmd":"confirm","movement":"M404","reason":"r"}"#, #"{"v":1,"id":2,"cmd":"status"}"#,
            #"{"v":1,"id":3,"cmd":"reject","movement":"M404","reason":"r"}"#,
            #"{"v":1,"id":4,"cmd":"arrive","bridge":"in","movement":"M404"}"#,
        ].map { Array($0.utf8) }
        // (The daemon's memory under the same kind of traffic is measured in its own process, by
        // the end-to-end tests: here the whole test runner's would be.)
        var answered = 0
        var sent = 0
        for _ in 0..<20 {
            let client = try RawClient(path: fixture.socket)
            var batch: [UInt8] = []
            for _ in 0..<5_000 {
                var line = seeds[Int(generator.next() % UInt64(seeds.count))]
                for _ in 0..<Int(generator.next() % 4) {
                    let position = Int(generator.next() % UInt64(line.count))
                    line[position] = UInt8(truncatingIfNeeded: generator.next())
                }
                batch += line.filter { $0 != 0x0A } + [0x0A]
                sent += 1
            }
            let replies = try await client.exchange(batch, expecting: 5_000)
            answered += replies.count
            #expect(replies.allSatisfy { $0.hasPrefix("{") && ($0.contains(#""error":"#) || $0.contains(#""ok":"#)) })
        }
        #expect(answered == sent, "every line got a reply")

        // Huge and deep lines: an error, then the connection is closed for the huge one.
        let huge = try RawClient(path: fixture.socket)
        huge.send([UInt8](repeating: UInt8(ascii: "["), count: ControlProtocol.maximumLineLength + 10) + [0x0A])
        #expect(try await huge.lines(2).first?.contains("line_too_long") == true)

        // Another client is served meanwhile, and the slow-loris has been cut off.
        #expect(try await fixture.ctl("status").status == 0)
        #expect(try await loris.lines(1).isEmpty, "the idle connection was closed without a reply")
        #expect(try await fixture.store.read { try $0.auditEntries().count } == auditBefore)
    }

    @Test("the control socket cuts off clients that trickle bytes without completing a line; others are served")
    func tricklingClientsAreCutOff() async throws {
        let fixture = try await ServerFixture(lineDeadline: .seconds(1))
        // Every connection the server allows, each trickling one byte every 200 ms: never idle.
        let clients = try (0..<64).map { _ in try RawClient(path: fixture.socket) }
        let trickling = Task.detached {
            for byte in Array(#"{"v":1,"cmd":"status""#.utf8) {
                for client in clients { client.send([byte]) }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        defer { trickling.cancel() }
        // Within the line deadline (and a margin) every one of them is closed, and the
        // operator's next command is answered.
        let closed = try await clients.first!.lines(1)
        #expect(closed.isEmpty, "cut off without a reply")
        let deadline = ContinuousClock.now + .seconds(5)
        var status = try await fixture.ctl("status")
        while status.status != 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            status = try await fixture.ctl("status")
        }
        #expect(status.status == 0, "\(status)")
    }

    @Test("a line whose rest waits in the socket while the server is busy with the lines before it is not cut off")
    func busyServerKeepsTheLineDeadlineForTheClient() async throws {
        let directory = "/tmp/wbctl-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = directory + "/control.sock"
        // 600 commands of 4 ms each: 2.4 s of work queued ahead of the 601st line, against a
        // line deadline of 1 s. The server reads nothing while it works through them (before,
        // it cut the client off after about 220 replies).
        let server = ControlServer(
            settings: .init(path: socket, group: nil, lineDeadline: .seconds(1)),
            handler: SlowHandler(delay: .milliseconds(4)))
        let ready = AsyncStream<Void>.makeStream()
        let running = Task { try await server.run { ready.continuation.yield() } }
        defer { running.cancel() }
        for await _ in ready.stream { break }
        let client = try RawClient(path: socket)
        let line = Array(#"{"v":1,"cmd":"status"}"#.utf8) + [0x0A]
        client.send(Array(Array(repeating: line, count: 600).joined()) + line.prefix(5))
        try await Task.sleep(for: .milliseconds(200))
        client.send(Array(line[5...]))
        let replies = try await client.lines(601)
        #expect(replies.count == 601, "cut off after \(replies.count) replies")
    }

    @Test(
        "every override is a journal entry with OPERATOR=, MOVEMENT_ID= and the reason",
        .needs(.root, .journald))
    func overridesReachTheJournal() async throws {
        try await withStandaloneJournald {
            let fixture = try await ServerFixture(logger: Journal(destination: .native).logger(level: .info))
            let movement = "J-\(UUID().uuidString.prefix(8))"
            #expect(
                try await fixture.ctl("expect", "--movement", movement, "--declared-kg", "1000", "--ewc", "200101")
                    .status
                    == 0)
            #expect(try await fixture.ctl("hold", movement, "--reason", "journal check").status == 0)
            let name = ServerFixtureUser.name
            let deadline = ContinuousClock.now + .seconds(10)
            var found = ""
            while !found.contains(#""DECISION":"hold""#), ContinuousClock.now < deadline {
                let entries = try journalEntries([
                    "SYSLOG_IDENTIFIER=weighbridged", "MOVEMENT_ID=\(movement)", "OPERATOR=\(name)",
                ])
                found = String(
                    decoding: try JSONSerialization.data(withJSONObject: entries, options: [.sortedKeys]), as: UTF8.self
                )
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(found.contains(#""DECISION":"hold""#))
            #expect(found.contains("journal check"))
            #expect(found.contains(#""OPERATOR_UID":"\#(getuid())""#))
            #expect(found.contains(#""PRIORITY":"5""#))
        }
    }
}

/// The user the tests run as, as the server will name them.
private enum ServerFixtureUser {
    static var name: String {
        guard let entry = getpwuid(getuid()), let name = entry.pointee.pw_name else { return "uid\(getuid())" }
        return String(cString: name)
    }
}

/// A handler that takes `delay` over every command: a server with work queued.
private struct SlowHandler: ControlHandler {
    let delay: Duration

    func execute(_ command: ControlCommand, by identity: OperatorIdentity) async throws(ControlError) -> JSONValue {
        try? await Task.sleep(for: delay)
        return .object([:])
    }

    func auditHead() async throws -> Int64 { 0 }

    func auditEntries(after sequence: Int64, limit: Int) async throws -> [AuditEntryView] { [] }
}
