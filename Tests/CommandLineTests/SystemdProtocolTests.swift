import Foundation
import TestSupport
import Testing

/// A datagram socket standing in for systemd's notify socket.
private final class NotifySocket {
    let path: String
    private let descriptor: Int32

    init(path: String) throws {
        self.path = path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard descriptor >= 0, bound == 0 else { throw POSIXError(.EADDRNOTAVAIL) }
    }

    deinit {
        close(descriptor)
        unlink(path)
    }

    /// Every datagram waiting now.
    func drain() -> [String] {
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { return messages }
            messages.append(String(decoding: buffer[..<count], as: UTF8.self))
        }
    }
}

@Suite("weighbridged speaks systemd's protocols: notify and the native journal", .serialized)
struct SystemdProtocolTests {
    @Test("NOTIFY_SOCKET sees READY=1 with STATUS=, then WATCHDOG=1, then STOPPING=1 on SIGTERM, in order")
    func notifySequence() async throws {
        let site = try await SiteHarness(profile: .brief)
        let notify = try NotifySocket(path: site.directory + "/notify.sock")
        let started = ContinuousClock.now
        try await site.start(environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"])
        var messages: [String] = []
        let deadline = ContinuousClock.now + .seconds(15)
        while !messages.contains("WATCHDOG=1"), ContinuousClock.now < deadline {
            messages += notify.drain()
            try await Task.sleep(for: .milliseconds(20))
        }
        let ready = try #require(
            messages.firstIndex { $0.hasPrefix("READY=1\nSTATUS=1 bridge: inbound") }, "\(messages)")
        let watchdog = try #require(messages.firstIndex(of: "WATCHDOG=1"), "\(messages)")
        #expect(ready < watchdog)
        let readyAfter = ContinuousClock.now - started
        let daemon = try #require(site.daemon)
        kill(daemon.process.processIdentifier, SIGTERM)
        let stopDeadline = ContinuousClock.now + .seconds(25)
        while daemon.process.isRunning, ContinuousClock.now < stopDeadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        try #require(!daemon.process.isRunning, "SIGTERM did not stop the daemon")
        messages += notify.drain()
        #expect(messages.last == "STOPPING=1", "\(messages)")
        #expect(daemon.process.terminationStatus == 0, "\(site.log)")
        #expect(site.log.contains("stopped"))
        print("READY after \(readyAfter) (process start, store open, first poll)")
    }

    @Test(
        "under journald every event carries its fields: a movement's story is one MOVEMENT_ID= away",
        .needs(.root, .journald))
    func structuredFieldsInTheJournal() async throws {
        try await withStandaloneJournald {
            let site = try await SiteHarness(profile: .brief)
            // What systemd does for a service whose output goes to the journal: JOURNAL_STREAM
            // names the device and inode of its stderr, and the daemon switches to the native protocol.
            _ = FileManager.default.createFile(atPath: site.daemonLog, contents: nil)
            var info = stat()
            stat(site.daemonLog, &info)
            try await site.start(environment: ["JOURNAL_STREAM": "\(info.st_dev):\(info.st_ino)"])
            let id = "E-J-\(UUID().uuidString.prefix(6))"
            try await site.expect(id, declaredKg: 10_000, vehicle: "AB12CDE")
            try await site.visit(id, grossKg: 22_000, tareKg: 12_000)
            try await site.waitForReports(of: id, state: "done")
            var entries: [[String: Any]] = []
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                entries = try journalEntries(["MOVEMENT_ID=\(id)"])
                if entries.contains(where: { $0["REPORT_ID"] != nil }) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let confirmed = entries.first { $0["DECISION"] as? String == "confirmed" }
            #expect(confirmed?["NET_KG"] as? String == "10000")
            #expect(confirmed?["DECLARED_KG"] as? String == "10000")
            #expect(confirmed?["DEVIATION_PCT"] as? String == "0.00")
            #expect(confirmed?["BRIDGE"] as? String == "inbound")
            #expect(confirmed?["PRIORITY"] as? String == "6")
            #expect(entries.contains { $0["TICKET"] != nil && ($0["MESSAGE"] as? String ?? "").hasPrefix("captured") })
            let delivered = entries.first { $0["REPORT_ID"] != nil }
            #expect(delivered?["HTTP_STATUS"] as? String == "201")
            #expect(site.log.isEmpty, "nothing goes to stderr under journald, but: \(site.log)")
        }
    }
}
