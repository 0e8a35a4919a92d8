import Foundation
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The acceptance of the whole product: built binaries, real sockets, both profiles.
@Suite("End to end: weighbridge-sim → weighbridged → dwt-sandbox, driven with weighbridgectl")
struct EndToEndTests {
    @Test("brief: 5.02% over declared → exactly one discrepancy and no confirmation; 5.00% → one confirmation")
    func briefToleranceBoundary() async throws {
        let site = try await SiteHarness(profile: .brief)
        try await site.start()
        try await site.expect("E-OVER", declaredKg: 10_000, vehicle: "AB12CDE")
        try await site.visit("E-OVER", grossKg: 22_502, tareKg: 12_000)
        try await site.expect("E-EDGE", declaredKg: 10_000, vehicle: "CD34EFG")
        try await site.visit("E-EDGE", grossKg: 22_500, tareKg: 12_000)
        try await site.waitForReports(of: "E-OVER", state: "done")
        try await site.waitForReports(of: "E-EDGE", state: "done")
        let requests = try await site.sandboxRequests()
        #expect(requests.filter { $0.path == "/discrepancies/E-OVER" }.count == 1)
        #expect(requests.filter { $0.path == "/confirmations/E-OVER" }.isEmpty)
        let confirmations = requests.filter { $0.path == "/confirmations/E-EDGE" }
        #expect(confirmations.count == 1)
        #expect(confirmations.first?.body.contains(#""received_weight_kg":10500"#) == true)
        #expect(requests.filter { $0.path.hasSuffix("/E-EDGE") }.count == 1)
        #expect(try await site.show("E-OVER")["state"] as? String == "discrepancy")
    }

    @Test("a secret that cannot be read stops start-up with exit 78, naming the file and where it is set")
    func unreadableSecret() async throws {
        let site = try await SiteHarness(profile: .brief)
        unlink(site.directory + "/token")
        let result = try await run("weighbridged", ["--config", site.configuration])
        #expect(result.status == 78, "\(result.error)")
        #expect(result.error.contains("[api]"), "\(result.error)")
        #expect(result.error.contains(site.directory + "/token"), "\(result.error)")
    }

    @Test("one daemon per store: a second instance exits with a clear message, touching neither socket nor store")
    func secondInstanceIsRefused() async throws {
        let site = try await SiteHarness(profile: .brief)
        try await site.start()
        let socket = site.directory + "/control.sock"
        let inode = try FileManager.default.attributesOfItem(atPath: socket)[.systemFileNumber] as? Int
        let second = try await run("weighbridged", ["--config", site.configuration])
        #expect(second.status == 73, "\(second.error)")
        #expect(second.error.contains("another weighbridged is already using this store"), "\(second.error)")
        #expect(try FileManager.default.attributesOfItem(atPath: socket)[.systemFileNumber] as? Int == inode)
        #expect(try await site.ctl("status").status == 0)
    }

    @Test("defra-receipt: within tolerance → exactly one receipt POST with the weighed net, tracking id kept")
    func defraReceipt() async throws {
        let site = try await SiteHarness(profile: .defraReceipt)
        try await site.start()
        try await site.expect("E-DEFRA", declaredKg: 10_000, vehicle: "AB12CDE")
        try await site.visit("E-DEFRA", grossKg: 22_040, tareKg: 12_000)
        try await site.waitForReports(of: "E-DEFRA", state: "done")
        let posts = try await site.sandboxRequests().filter { $0.path == "/movements/receive" }
        #expect(posts.count == 1)
        #expect(posts.first?.body.contains(#""amount":10040"#) == true)
        #expect(posts.first?.body.contains(#""isEstimate":false"#) == true)
        let report = (try await site.show("E-DEFRA")["reports"] as? [[String: Any]])?.first
        #expect((report?["server_id"] as? String)?.hasPrefix("SBX") == true)
    }

    @Test("a high-risk load without pre-notification → Discrepancy prenotification_missing, never confirmed")
    func highRiskWithoutNotice() async throws {
        let site = try await SiteHarness(profile: .brief)
        try await site.start()
        try await site.expect("E-BATT", declaredKg: 2_000, ewc: "16 06 05", vehicle: "EF56GHI")
        try await site.visit("E-BATT", grossKg: 14_000, tareKg: 12_000)
        try await site.waitForReports(of: "E-BATT", state: "done")
        let requests = try await site.sandboxRequests()
        let discrepancy = requests.first { $0.path == "/discrepancies/E-BATT" }
        #expect(discrepancy?.body.contains(#""reason":"prenotification_missing""#) == true)
        #expect(discrepancy?.body.contains(#""high_risk":true"#) == true)
        #expect(!requests.contains { $0.path == "/confirmations/E-BATT" })
    }

    @Test("an unidentified vehicle's weighing is held, attached by the operator, then reported")
    func unidentifiedThenAttached() async throws {
        let site = try await SiteHarness(profile: .brief)
        try await site.start()
        #expect(try await site.ctl("arrive", "--bridge", "inbound", "--vehicle", "ZZ99ZZZ").status == 0)
        try await site.drive(15_000)
        let status = try await site.ctlJSON("status")
        let tickets = status["unattributed_tickets"] as? [Int] ?? []
        #expect(tickets.count == 1, "\(status)")
        #expect(try await site.sandboxRequests().isEmpty, "nothing is reported for a weighing held unattributed")
        try await site.expect("E-ZZ", declaredKg: 3_000, vehicle: "ZZ99ZZZ")
        let attach = try await site.ctl(
            "attach", String(try #require(tickets.first)), "E-ZZ", "--reason", "paperwork checked")
        #expect(attach.status == 0, "\(attach.output) \(attach.error)")
        #expect(try await site.ctl("arrive", "--bridge", "inbound", "--movement", "E-ZZ").status == 0)
        try await site.drive(12_000)
        try await site.waitForReports(of: "E-ZZ", state: "done")
        let confirmation = try await site.sandboxRequests().first { $0.path == "/confirmations/E-ZZ" }
        #expect(confirmation?.body.contains(#""received_weight_kg":3000"#) == true)
    }

    @Test(
        "a capture the full disk cannot take is held, and recorded as weighed once space returns; the daemon stays up",
        .needs(.root))
    func captureHeldThroughDiskFull() async throws {
        let site = try await SiteHarness(profile: .brief, storeSubdirectory: "disk")
        let mount = try runToCompletion(
            URL(fileURLWithPath: "/bin/mount"), ["-t", "tmpfs", "-o", "size=4m", "tmpfs", site.storeDirectory])
        try #require(mount.status == 0, "\(mount.error)")
        defer { _ = try? runToCompletion(URL(fileURLWithPath: "/bin/umount"), ["-l", site.storeDirectory]) }
        try await site.start()
        let daemon = try #require(site.daemon)
        // Every block of the store's file system taken (dd ends with "No space left on device").
        _ = try runToCompletion(
            URL(fileURLWithPath: "/bin/dd"), ["if=/dev/zero", "of=\(site.storeDirectory)/filler", "bs=4k"])

        try await site.drive(15_000)
        let deadline = ContinuousClock.now + .seconds(10)
        while !site.log.contains("held in memory"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(site.log.contains("weighing on inbound of 15000 kg could not be recorded"), "\(site.log)")
        #expect(try await site.ctlJSON("status")["unattributed"] as? Int == 0, "not recorded while the disk is full")
        let held = try await inbound(site)
        #expect(held["held_weighing_kg"] as? Int == 15_000, "\(held)")
        #expect((held["last_error"] as? String)?.contains("weighing of 15000 kg held, not yet recorded") == true)

        try FileManager.default.removeItem(atPath: site.storeDirectory + "/filler")
        let recorded = ContinuousClock.now + .seconds(15)
        var status: [String: Any] = [:]
        repeat {
            try await Task.sleep(for: .milliseconds(100))
            status = try await site.ctlJSON("status")
        } while status["unattributed"] as? Int != 1 && ContinuousClock.now < recorded
        #expect(status["unattributed"] as? Int == 1, "recorded once space returned: \(status)")
        #expect(site.log.contains("weighing on inbound of 15000 kg recorded after being held"), "\(site.log)")
        #expect(daemon.process.isRunning, "the daemon never stopped")
        #expect(try await inbound(site)["held_weighing_kg"] is NSNull, "nothing held any more")
        let audit = try await site.ctl("audit", "verify")
        #expect(audit.status == 0, "\(audit.output) \(audit.error)")
    }

    /// The inbound bridge as `weighbridgectl bridges` shows it.
    private func inbound(_ site: SiteHarness) async throws -> [String: Any] {
        let output = try await site.ctl("bridges").output
        let bridges = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]]
        return try #require(bridges?.first { $0["name"] as? String == "inbound" }, "\(output)")
    }

    @Test("daemon SIGKILLed between capture and report → after restart exactly one report (PUT resent safely)")
    func killedBetweenCaptureAndReport() async throws {
        let site = try await SiteHarness(profile: .brief)
        try await site.start()
        // The sandbox takes 3 s over the report, so the daemon dies with it in flight.
        try await site.injectSandboxFaults(#"{"faults":[{"latency_ms":3000}]}"#)
        try await site.expect("E-KILL", declaredKg: 10_000, vehicle: "AB12CDE")
        try await site.visit("E-KILL", grossKg: 22_000, tareKg: 12_000)
        // Idempotent reports go out straight from pending: wait until the sandbox is holding it.
        let deadline = ContinuousClock.now + .seconds(10)
        while try await site.sandboxSummary()["in_progress"] != 1, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        try #require(try await site.sandboxSummary()["in_progress"] == 1, "the report never reached the sandbox")
        site.killDaemon()
        try await site.start()
        try await site.waitForReports(of: "E-KILL", state: "done")
        try await Task.sleep(for: .seconds(3))  // let the abandoned slow request land at the sandbox
        let summary = try await site.sandboxSummary()
        #expect(summary["confirmations"] == 1)
        #expect(summary["duplicates"] == 0)
        #expect(try await site.ctlJSON("audit", "verify")["intact"] as? Bool == true)
    }

    @Test("defra-receipt: SIGKILL with the POST in flight → unknown after restart, never resent, one receipt")
    func killedDuringPost() async throws {
        let site = try await SiteHarness(profile: .defraReceipt)
        try await site.start()
        // Only the receipt is slowed down: the start-up refresh of Defra's reference lists, which
        // may come after the daemon answers, must not take the fault instead.
        try await site.injectSandboxFaults(#"{"faults":[{"latency_ms":3000,"path":"/movements/receive"}]}"#)
        try await site.expect("E-POST", declaredKg: 10_000, vehicle: "AB12CDE")
        try await site.visit("E-POST", grossKg: 22_000, tareKg: 12_000)
        try await site.waitForReports(of: "E-POST", state: "sending", seconds: 10)
        site.killDaemon()
        try await site.start()
        try await site.waitForReports(of: "E-POST", state: "unknown")
        try await Task.sleep(for: .seconds(4))
        let posts = try await site.sandboxRequests().filter { $0.path == "/movements/receive" }
        #expect(posts.count == 1, "an ambiguous POST must not be resent without an operator")
        #expect(try await site.ctlJSON("status")["outbox_unknown"] as? Int == 1)
    }

    @Test("API down for the duration of three vehicles → all three delivered after it heals, none twice")
    func outageOfThreeVehicles() async throws {
        let site = try await SiteHarness(profile: .brief)
        try await site.start()
        site.stopSandbox()
        for (index, vehicle) in ["AA11AAA", "BB22BBB", "CC33CCC"].enumerated() {
            try await site.expect("E-OUT-\(index)", declaredKg: 8_000, vehicle: vehicle)
            try await site.visit("E-OUT-\(index)", grossKg: 20_000, tareKg: 12_000)
        }
        for index in 0..<3 {
            let reports = try await site.show("E-OUT-\(index)")["reports"] as? [[String: Any]] ?? []
            #expect(reports.count == 1 && reports.first?["state"] as? String != "done", "\(reports)")
        }
        try await site.reviveSandbox()
        for index in 0..<3 { try await site.waitForReports(of: "E-OUT-\(index)", state: "done") }
        let summary = try await site.sandboxSummary()
        #expect(summary["confirmations"] == 3)
        #expect(summary["duplicates"] == 0)
    }

    @Test("metrics (opt-in): the textfile and the loopback endpoint count weighings, decisions and reports")
    func metrics() async throws {
        let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(probe, pointer, length) == 0 ? getsockname(probe, pointer, &length) : -1
            }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        close(probe)
        let textfile = "/tmp/wb-metrics-\(UUID().uuidString.prefix(8)).prom"
        defer { unlink(textfile) }
        let site = try await SiteHarness(
            profile: .brief, extra: "[metrics]\nlisten = \"127.0.0.1:\(port)\"\ntextfile = \"\(textfile)\"")
        try await site.start()
        try await site.expect("E-MET", declaredKg: 10_000, vehicle: "AB12CDE")
        try await site.visit("E-MET", grossKg: 22_000, tareKg: 12_000)
        try await site.waitForReports(of: "E-MET", state: "done")
        var text = ""
        let deadline = ContinuousClock.now + .seconds(20)
        while !text.contains(#"weighbridged_report_attempts_total{result="delivered"} 1"#),
            ContinuousClock.now < deadline
        {
            text = (try? String(contentsOfFile: textfile, encoding: .utf8)) ?? ""
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(text.contains("weighbridged_weighings_total 2"), "\(text)")
        #expect(text.contains(#"weighbridged_decisions_total{outcome="confirmed"} 1"#))
        #expect(text.contains(#"weighbridged_outbox_entries{state="done"} 1"#))
        #expect(text.contains(#"weighbridged_bridge_connected{bridge="inbound"} 1"#))
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: data, as: UTF8.self).contains("# TYPE weighbridged_weighings_total counter"))

        // The metrics endpoint cannot starve the daemon: 16 connections at most (the 17th is
        // closed at once), each closed after 10 s of silence, and the control socket unaffected.
        let idle = try (0..<17).map { _ in try TCPClient(port: port) }
        #expect(try await idle[16].readToEnd() == 0, "the connection over the cap was not closed")
        #expect(try await site.ctl("status").status == 0)
        let started = ContinuousClock.now
        #expect(try await idle[0].readToEnd() == 0)
        let waited = ContinuousClock.now - started
        #expect(waited < .seconds(15), "an idle connection stayed open \(waited)")
        let (again, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        #expect(String(decoding: again, as: UTF8.self).contains("weighbridged_weighings_total 2"))
    }

    @Test("100 000 hostile control lines: each answered, and the daemon's memory stays flat")
    func hostileControlLinesLeaveMemoryFlat() async throws {
        let site = try await SiteHarness(profile: .brief)
        try await site.start()
        let pid = try #require(site.daemon?.process.processIdentifier)
        // Mutated requests, 5 000 to a connection, from a client of its own (python3): the
        // daemon's resident size is read before and after from /proc, the daemon alone. The
        // client reads the replies while it sends, as any client must: one that sends all before
        // reading stalls once the replies fill the socket's buffers (the server, unable to write,
        // reads no more), and is rightly closed when its unfinished line's deadline passes.
        let client = """
            import random, socket, sys, threading
            path, rounds = sys.argv[1], int(sys.argv[2])
            seeds = [b'{"v":1,"id":1,"cmd":"confirm","movement":"M404","reason":"r"}', b'{"v":1,"id":2,"cmd":"status"}',
                     b'{"v":1,"id":4,"cmd":"arrive","bridge":"inbound","movement":"M404"}']
            rng, answered = random.Random(7), 0
            for _ in range(rounds):
                lines = []
                for _ in range(5000):
                    line = bytearray(rng.choice(seeds))
                    for _ in range(rng.randrange(4)):
                        line[rng.randrange(len(line))] = rng.randrange(256)
                    lines.append(bytes(line).replace(b"\\n", b"") + b"\\n")
                with socket.socket(socket.AF_UNIX) as connection:
                    connection.connect(path)
                    sender = threading.Thread(target=connection.sendall, args=(b"".join(lines),))
                    sender.start()
                    received = b""
                    while received.count(b"\\n") < len(lines):
                        chunk = connection.recv(1 << 16)
                        if not chunk:
                            break
                        received += chunk
                    sender.join()
                    answered += received.count(b"\\n")
            print(answered)
            """
        func send(rounds: Int) async throws -> String {
            let socket = site.socket
            let run = try await onOwnThread {
                try runToCompletion(try projectPython(), ["-c", client, socket, String(rounds)])
            }
            if !run.error.isEmpty { Issue.record("the client says: \(run.error)") }
            return run.output
        }
        func residentKilobytes() -> Int {
            let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        #expect(try await send(rounds: 4) == "20000\n", "warm-up: every line answered")
        let before = residentKilobytes()
        #expect(try await send(rounds: 20) == "100000\n", "every line answered")
        let growth = residentKilobytes() - before
        #expect(before > 0)
        #expect(growth < 8_000, "the daemon grew by \(growth) kB over 100 000 requests")
        #expect(try await site.ctl("status").status == 0, "still serving")
    }
}

/// A TCP connection to a loopback port that sends nothing, for tests of idle and capped servers.
private final class TCPClient: Sendable {
    let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(descriptor) }

    /// Reads until the server closes (0) or 20 s pass with nothing (-1), on a thread of its own.
    func readToEnd() async throws -> Int {
        try await onOwnThread {
            var byte: UInt8 = 0
            while true {
                let count = read(self.descriptor, &byte, 1)
                if count <= 0 { return count }
            }
        }
    }
}
