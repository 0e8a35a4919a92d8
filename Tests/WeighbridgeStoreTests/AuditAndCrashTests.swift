import Foundation
import Synchronization
import TestSupport
import Testing
import WeighbridgeCore

@testable import WeighbridgeStore

@Suite("Audit log: hash chain and tamper evidence")
struct AuditTests {
    /// A store with ten audited weighings, and the database path for tampering.
    private func auditedStore(_ directory: TemporaryDirectory) async throws -> (Store, String) {
        let path = directory.file("db.sqlite")
        let store = try Store(path: path, now: t0)
        for kilograms: Int64 in 1...10 {
            _ = try await store.write(at: t0.adding(seconds: kilograms)) {
                try $0.recordWeighing(evidence(kilograms * 1_000))
            }
        }
        #expect(try await store.verifyAudit() == .intact(entries: 10, head: try await headHash(store)))
        // A tamperer drops the append-only triggers first; the chain must still tell.
        try sqlite3(path, "DROP TRIGGER audit_is_append_only; DROP TRIGGER audit_is_kept;")
        return (store, path)
    }

    private func headHash(_ store: Store) async throws -> String {
        guard case .intact(_, let head) = try await store.verifyAudit() else { return "" }
        return head
    }

    @Test("editing one entry's content breaks the chain at that entry")
    func editDetected() async throws {
        let directory = try TemporaryDirectory()
        let (store, path) = try await auditedStore(directory)
        try sqlite3(path, "UPDATE audit SET subject = 'ticket:99' WHERE seq = 4;")
        #expect(try sqlite3(path, "SELECT subject FROM audit WHERE seq = 4;") == "ticket:99\n")
        #expect(
            try await store.verifyAudit()
                == .broken(sequence: 4, reason: "its content does not match its hash (edited)"))
    }

    @Test("deleting one entry is named as missing")
    func deletionDetected() async throws {
        let directory = try TemporaryDirectory()
        let (store, path) = try await auditedStore(directory)
        try sqlite3(path, "DELETE FROM audit WHERE seq = 6;")
        #expect(try await store.verifyAudit() == .broken(sequence: 6, reason: "entry 6 is missing (next present is 7)"))
    }

    @Test("inserting a forged entry breaks the chain where it stands")
    func insertionDetected() async throws {
        let directory = try TemporaryDirectory()
        let (store, path) = try await auditedStore(directory)
        // Forge entry 11 claiming to follow 10, with a made-up hash; then renumbering to slip it
        // in the middle is impossible without rewriting every later hash.
        try sqlite3(
            path,
            """
            INSERT INTO audit (seq, at_ms, kind, actor, subject, detail, prev_hash, hash)
            SELECT 11, at_ms, 'override', 'operator:mallory(uid=0)', 'M1', '{}', hash, zeroblob(32)
            FROM audit WHERE seq = 10;
            """)
        #expect(
            try await store.verifyAudit()
                == .broken(sequence: 11, reason: "its content does not match its hash (edited)"))
        // Moving entries up to open a gap for the forgery breaks the link of the entry after it.
        try sqlite3(
            path,
            "DELETE FROM audit WHERE seq = 11; UPDATE audit SET seq = seq + 100 WHERE seq >= 5; "
                + "UPDATE audit SET seq = seq - 99 WHERE seq >= 105;")
        try sqlite3(
            path,
            """
            INSERT INTO audit (seq, at_ms, kind, actor, subject, detail, prev_hash, hash)
            SELECT 5, at_ms, 'override', 'operator:mallory(uid=0)', 'M1', '{}', hash, hash FROM audit WHERE seq = 4;
            """)
        guard case .broken(let sequence, _) = try await store.verifyAudit() else {
            Issue.record("tampering went unnoticed")
            return
        }
        #expect(sequence == 5)
    }
}

@Suite("Crash safety")
struct CrashTests {
    private let writer = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("store-crash-writer")

    @Test("long reads never block the writer: a capture during an audit verify of 200 000 entries is recorded first")
    func verifyDoesNotBlockWrites() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.file("db.sqlite"), now: t0)
        try await store.write(at: t0) { transaction in
            for index in 0..<200_000 {
                _ = try transaction.appendAudit(AuditEvent(kind: .override, by: .automatic, subject: "s\(index)"))
            }
        }
        let verified = Mutex(false)
        let verifying = Task {
            defer { verified.withLock { $0 = true } }
            return try await store.verifyAudit()
        }
        // Captures go on being recorded while the verify walks the chain. On the writer, every one
        // of them would wait for the whole walk (200 000 hashes take seconds here): one at most,
        // queued before the verify began, could come first.
        var recordedDuringVerify = 0
        while !verified.withLock({ $0 }) {
            _ = try await store.write(at: t0) { try $0.recordWeighing(evidence(22_000)) }
            if !verified.withLock({ $0 }) { recordedDuringVerify += 1 }
        }
        #expect(recordedDuringVerify >= 3, "\(recordedDuringVerify) captures recorded during the verify")
        #expect(try await verifying.value.isIntact)
    }

    @Test("SIGKILL at 200 random moments: every acknowledged capture survives whole, tickets gap-free, chain intact")
    func killedWriterLosesNothing() async throws {
        let directory = try TemporaryDirectory()
        try await killWriterRepeatedly(storeAt: directory.file("db.sqlite"))
    }

    @Test(
        "SIGKILL at 200 random moments with the store on ext4 on a loop device: every acknowledged capture survives",
        .needs(.root))
    func killedWriterLosesNothingOnExt4() async throws {
        // The temporary directory may be a tmpfs (where fsync does nothing) on another machine:
        // this one is the file system a gatehouse box runs, on a block device of its own.
        let disk = try SmallDisk(megabytes: 64, fileSystem: .ext4OnLoopDevice)
        defer { disk.unmount() }
        try await killWriterRepeatedly(storeAt: disk.mountPoint + "/db.sqlite")
    }

    private func killWriterRepeatedly(storeAt path: String) async throws {
        var generator = SystemRandomNumberGenerator()
        var acknowledged: [(movement: String, tickets: [Int64])] = []
        var runsThatCommitted = 0
        for run in 0..<200 {
            // Kill after 0–3 acknowledged commits plus 0–5 ms: now and then before the first commit,
            // mostly mid-loop, however loaded the machine is.
            let commitsFirst = Int.random(in: 0...3, using: &generator)
            let delay = UInt32.random(in: 0...5_000, using: &generator)
            let writer = writer
            // The child runs and dies on a thread of its own: a test that blocks the concurrency
            // pool for a minute starves every other test running beside it.
            let (reason, lines) = try await onOwnThread { () throws -> (Process.TerminationReason, [Substring]) in
                let process = Process()
                process.executableURL = writer
                process.arguments = [path, String(run)]
                let output = Pipe()
                process.standardOutput = output
                try process.run()
                func readLine() throws -> String? {
                    var line = Data()
                    while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty {
                        if byte == Data("\n".utf8) { return String(decoding: line, as: UTF8.self) }
                        line += byte
                    }
                    return nil
                }
                var early: [String] = []
                _ = try readLine()  // "ready": the store is open
                while early.count < commitsFirst, let line = try readLine() { early.append(line) }
                usleep(delay)
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                return (process.terminationReason, early.map { Substring($0) } + text.split(separator: "\n"))
            }
            #expect(reason == .uncaughtSignal)
            let before = acknowledged.count
            for line in lines {
                // Only whole lines count: a line cut by the kill was never acknowledged in full.
                let fields = line.split(separator: " ")
                guard fields.count == 4, fields[0] == "ack", let first = Int64(fields[2]), let second = Int64(fields[3])
                else { continue }
                acknowledged.append((String(fields[1]), [first, second]))
            }
            if acknowledged.count > before { runsThatCommitted += 1 }

            let store = try await reopen(path)
            try await checkInvariants(store, acknowledged: acknowledged)
        }
        // Three runs in four wait for commits before the kill: if they did not commit, the writer
        // never got going and the test proved nothing.
        #expect(runsThatCommitted >= 100, "only \(runsThatCommitted) runs committed before the kill")
    }

    private func checkInvariants(_ store: Store, acknowledged: [(movement: String, tickets: [Int64])]) async throws {
        #expect(try await store.verifyAudit().isIntact)
        let snapshot = try await store.read { transaction in
            (
                movements: try transaction.movements(), unattributed: try transaction.unattributedWeighings(),
                outbox: try transaction.outboxEntries(),
                bound: try transaction.movements().flatMap {
                    try transaction.weighings(ofMovement: $0.lifecycle.movement.id)
                }
            )
        }
        let tickets = snapshot.bound.map(\.ticket).sorted()
        #expect(tickets == Array(stride(from: 1, through: Int64(tickets.count), by: 1)), "ticket gap")
        #expect(snapshot.unattributed.isEmpty, "a weighing without its movement: a partial write")
        #expect(snapshot.movements.allSatisfy { $0.lifecycle.state == .confirmed }, "a half-decided movement")
        #expect(snapshot.outbox.count == snapshot.movements.count, "a decision without its report")
        #expect(tickets.count == 2 * snapshot.movements.count)
        let stored = Dictionary(grouping: snapshot.bound, by: { $0.evidence.route })
        for ack in acknowledged {
            let weighings = stored[.movement(ack.movement)]?.map(\.ticket).sorted()
            #expect(weighings == ack.tickets, "acknowledged capture \(ack.movement) lost")
        }
    }
}

/// A small file system mounted for one test; `unmount()` it when done. Needs root.
private struct SmallDisk {
    enum FileSystem {
        case tmpfs
        /// ext4 in an image file, mounted through a loop device.
        case ext4OnLoopDevice
    }

    let directory: TemporaryDirectory
    let mountPoint: String

    init(megabytes: Int, fileSystem: FileSystem = .tmpfs) throws {
        directory = try TemporaryDirectory()
        mountPoint = directory.file("small")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        switch fileSystem {
        case .tmpfs:
            let mounted = try shell("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", mountPoint])
            #expect(mounted.status == 0, "mount a tmpfs: \(mounted.output)")
        case .ext4OnLoopDevice:
            let image = directory.file("disk.ext4")
            #expect(FileManager.default.createFile(atPath: image, contents: nil))
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: image))
            try handle.truncate(atOffset: UInt64(megabytes) << 20)
            try handle.close()
            let made = try shell("/usr/sbin/mkfs.ext4", ["-q", "-F", "-m", "0", image])
            #expect(made.status == 0, "mkfs.ext4: \(made.output)")
            let mounted = try shell("/bin/mount", ["-o", "loop", image, mountPoint])
            #expect(mounted.status == 0, "mount the ext4 image on a loop device: \(mounted.output)")
        }
    }

    func unmount() { _ = try? shell("/bin/umount", [mountPoint]) }
}

@Suite("Disk full")
struct DiskFullTests {
    @Test(
        "a write that cannot reach the disk fails clearly, keeps nothing half-written, and the store recovers",
        .needs(.root))
    func diskFull() async throws {
        let disk = try SmallDisk(megabytes: 2)
        defer { disk.unmount() }
        let mountPoint = disk.mountPoint
        let path = mountPoint + "/db.sqlite"
        let store = try Store(path: path, now: t0)
        // Fill the disk around the database, leaving room for a few hundred writes.
        _ = try shell("/bin/dd", ["if=/dev/zero", "of=\(mountPoint)/filler", "bs=64k", "count=26"])
        var recorded = 0
        var failure: StoreError?
        while failure == nil, recorded < 100_000 {
            do {
                _ = try await store.write(at: t0) { try $0.recordWeighing(evidence(22_000)) }
                recorded += 1
            } catch let error as StoreError {
                failure = error
            }
        }
        #expect(failure?.code == .diskFull || failure?.code == .io, "\(String(describing: failure))")
        #expect(recorded > 0, "the disk was full before the first write; the test proves little")
        try FileManager.default.removeItem(atPath: mountPoint + "/filler")
        _ = try await store.write(at: t0) { try $0.recordWeighing(evidence(12_000)) }
        let tickets = try await store.read { try $0.unattributedWeighings() }.map(\.ticket)
        #expect(tickets == Array(1...Int64(recorded + 1)))
        #expect(try await store.verifyAudit().isIntact)
    }
}

@Suite("Start-up with a full disk")
struct FullDiskStartTests {
    @Test(
        "start-up with a full disk works; the send a stop interrupted is settled once space returns",
        .needs(.root))
    func startsOnAFullDisk() async throws {
        let disk = try SmallDisk(megabytes: 2)
        defer { disk.unmount() }
        let mountPoint = disk.mountPoint
        let path = mountPoint + "/db.sqlite"
        do {
            let store = try Store(path: path, now: t0)
            let report = try confirmation("M1")
            try await store.write(at: t0) { transaction in
                try transaction.saveMovement(try movement("M1"), receipt: nil)
                let entry = try transaction.enqueue(report, kind: .receipt, idempotent: false, idempotencyKey: "post")
                try transaction.transitionOutboxEntry(
                    id: entry.id, from: .pending, OutboxUpdate(event: .dispatch, attempts: 0, nextAttemptAt: t0))
            }
        }
        // The daemon was killed with the POST in flight; then the disk filled up.
        _ = try shell("/bin/dd", ["if=/dev/zero", "of=\(mountPoint)/filler", "bs=64k"])
        let store = try await reopen(path, now: t0.adding(seconds: 60))
        #expect(try await store.read { try $0.outboxEntries().map(\.state) } == [.sending])
        await #expect(throws: StoreError.self) { try await store.settleInterruptedSends(at: t0.adding(seconds: 61)) }
        try FileManager.default.removeItem(atPath: mountPoint + "/filler")
        try await store.settleInterruptedSends(at: t0.adding(seconds: 62))
        #expect(try await store.read { try $0.outboxEntries().map(\.state) } == [.unknown])
    }
}

@Suite("Read-only disk")
struct ReadOnlyTests {
    @Test(
        "a state directory on a read-only file system is refused at open with a clear error",
        .needs(.root))
    func readOnlyDisk() async throws {
        let directory = try TemporaryDirectory()
        let mountPoint = directory.file("disk")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        #expect(try shell("/bin/mount", ["-t", "tmpfs", "-o", "size=4m,ro", "tmpfs", mountPoint]).status == 0)
        defer { _ = try? shell("/bin/umount", [mountPoint]) }
        #expect {
            _ = try Store(path: mountPoint + "/db.sqlite", now: t0)
        } throws: { error in
            guard let error = error as? StoreError else { return false }
            return [.cannotOpen, .readOnly].contains(error.code) && error.description.contains(mountPoint)
        }
    }
}

@Suite("Audit canonical form")
struct CanonicalFormTests {
    @Test("detail is canonical: keys sorted, fixed escaping, no whitespace, independent of insertion order")
    func canonicalDetail() {
        let detail = ["b": "x\"y", "a": "1\n", "é": "\u{1}", "A": "\\"]
        #expect(AuditChain.canonicalDetail(detail) == #"{"A":"\\","a":"1\n","b":"x\"y","é":"\u0001"}"#)
        #expect(AuditChain.canonicalDetail([:]) == "{}")
    }
}
