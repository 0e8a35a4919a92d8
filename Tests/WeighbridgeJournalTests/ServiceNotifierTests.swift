import Foundation
import Testing
import WeighbridgeJournal

@Suite("systemd notify protocol")
struct ServiceNotifierTests {
    @Test("READY, STATUS, WATCHDOG and STOPPING reach a socket we own, in order")
    func notifications() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString)").path
        let receiver = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer {
            close(receiver)
            unlink(path)
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(receiver, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        #expect(bound == 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(receiver, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        let notifier = ServiceNotifier(socketPath: path)
        notifier.ready(status: "2 bridges polled")
        notifier.status("1 report pending")
        notifier.watchdog()
        notifier.stopping()
        var received: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4_096)
        for _ in 0..<4 {
            let count = buffer.withUnsafeMutableBytes { recv(receiver, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            received.append(String(decoding: buffer.prefix(count), as: UTF8.self))
        }
        #expect(
            received == ["READY=1\nSTATUS=2 bridges polled", "STATUS=1 report pending", "WATCHDOG=1", "STOPPING=1"])
    }

    @Test("without NOTIFY_SOCKET nothing is sent and nothing fails")
    func withoutSystemd() {
        ServiceNotifier(socketPath: nil).ready(status: "x")
        #expect(ServiceNotifier(socketPath: nil, watchdogInterval: nil).watchdogInterval == nil)
    }
}

@Suite("Journal destinations")
struct JournalDestinationTests {
    @Test("field names journald would refuse are dropped; valid ones kept")
    func fieldNames() {
        #expect(Journal.isValidFieldName("MOVEMENT_ID"))
        #expect(Journal.isValidFieldName("NET_KG"))
        #expect(!Journal.isValidFieldName("_PID"))
        #expect(!Journal.isValidFieldName("movement_id"))
        #expect(!Journal.isValidFieldName("1ST"))
        #expect(!Journal.isValidFieldName(""))
    }
}

@Suite("Log metadata as journal fields")
struct MetadataFieldTests {
    @Test("the daemon's keys stay as they are; a library's are upper-cased with underscores; the rest dropped")
    func metadataKeys() {
        #expect(Journal.fieldName(forMetadataKey: "MOVEMENT_ID") == "MOVEMENT_ID")
        #expect(Journal.fieldName(forMetadataKey: "sl-service.name") == "SL_SERVICE_NAME")
        #expect(Journal.fieldName(forMetadataKey: "wägung") == "W_GUNG")
        #expect(Journal.fieldName(forMetadataKey: "_PID") == nil, "trusted fields are journald's own")
        #expect(Journal.fieldName(forMetadataKey: "1st") == nil)
        #expect(Journal.fieldName(forMetadataKey: "") == nil)
    }
}
