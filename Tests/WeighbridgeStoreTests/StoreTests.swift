import Foundation
import Testing
import WeighbridgeCore

@testable import WeighbridgeStore

private let sam = OperatorIdentity(uid: 1_001, name: "sam")

@Suite("Store: durability, integrity, named transactions")
struct StoreTests {
    @Test("synchronous=FULL and WAL are truly in force on the writer (read back, not assumed)")
    func durabilityInForce() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.file("db.sqlite"), now: t0)
        let durability = try await store.durability()
        #expect(durability.journalMode == "wal")
        #expect(durability.synchronous == 2)  // 2 = FULL
    }

    @Test("tickets are consecutive, and a rolled-back transaction leaves no gap")
    func ticketsAreGapFree() async throws {
        struct Abort: Error {}
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.file("db.sqlite"), now: t0)
        let first = try await store.write(at: t0) { try $0.recordWeighing(evidence(22_000)).ticket }
        await #expect(throws: Abort.self) {
            try await store.write(at: t0) { transaction in
                _ = try transaction.recordWeighing(evidence(12_000))
                throw Abort()
            }
        }
        let second = try await store.write(at: t0) { try $0.recordWeighing(evidence(12_000)).ticket }
        #expect([first, second] == [1, 2])
        let all = try await store.read { try $0.unattributedWeighings() }
        #expect(all.map(\.ticket) == [1, 2])
        #expect(all.first?.evidence == evidence(22_000))
    }

    @Test("weighings and the audit log cannot be changed or deleted through SQL")
    func immutableRows() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("db.sqlite")
        let store = try Store(path: path, now: t0)
        _ = try await store.write(at: t0) { try $0.recordWeighing(evidence(22_000)) }
        for sql in [
            "UPDATE weighings SET weight_g = 1;", "DELETE FROM weighings;", "UPDATE audit SET kind = 'x';",
            "DELETE FROM audit;",
        ] {
            let result = try shell("/usr/bin/sqlite3", [path], input: sql)
            #expect(result.status != 0, "\(sql) was allowed")
        }
        let weighing = try await store.read { try $0.weighing(ticket: 1) }
        #expect(weighing?.evidence.weight == Mass(22_000, .kilograms))
    }

    @Test("a weighing binds to one visit only")
    func bindOnce() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.file("db.sqlite"), now: t0)
        try await store.write(at: t0) { transaction in
            try transaction.saveMovement(try movement("M1"), receipt: nil)
            try transaction.saveMovement(try movement("M2"), receipt: nil)
            let ticket = try transaction.recordWeighing(evidence(22_000)).ticket
            try transaction.bind(ticket: ticket, toMovement: "M1", by: .operator(sam))
        }
        await #expect(throws: StoreError.self) {
            try await store.write(at: t0) { try $0.bind(ticket: 1, toMovement: "M2", by: .operator(sam)) }
        }
        let (m1, unattributed) = try await store.read {
            try ($0.weighings(ofMovement: "M1"), $0.unattributedWeighings())
        }
        #expect(m1.map(\.ticket) == [1])
        #expect(unattributed.isEmpty)
    }

    @Test("movements round-trip with their whole lifecycle and receipt data")
    func movementsRoundTrip() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.file("db.sqlite"), now: t0)
        var lifecycle = try movement("M1")
        let context = DecisionContext(policy: .standard, reportsDiscrepancies: true, now: t0)
        _ = try lifecycle.receive(.arrived(bridge: "in", at: t0), context: context)
        _ = try lifecycle.receive(
            .weighed(
                Weighing(
                    ticket: 1, bridge: "in", weight: Mass(22_000, .kilograms),
                    division: Mass(20, .kilograms), time: t0)), context: context)
        let saved = lifecycle
        try await store.write(at: t0) { try $0.saveMovement(saved, receipt: #"{"wasteItems":[]}"#) }
        let (loaded, weighing, byVehicle) = try await store.read {
            try (
                $0.movement(id: "M1"), $0.movements(state: .weighing),
                $0.openMovements(vehicle: VehicleRegistration("ab12 cde")!)
            )
        }
        #expect(loaded?.lifecycle == saved)
        #expect(loaded?.receipt == #"{"wasteItems":[]}"#)
        #expect(weighing.map(\.lifecycle.movement.id) == ["M1"])
        #expect(byVehicle.map(\.id) == ["M1"])
    }

    @Test("outbox: claim marks entries sending so no two senders take one; a key is enqueued once")
    func outboxClaims() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.file("db.sqlite"), now: t0)
        let report = try confirmation("M1")
        try await store.write(at: t0) { transaction in
            try transaction.saveMovement(try movement("M1"), receipt: nil)
            _ = try transaction.enqueue(report, kind: .confirmation, idempotent: true, idempotencyKey: "k1")
        }
        await #expect(throws: StoreError.self) {
            try await store.write(at: t0) {
                _ = try $0.enqueue(report, kind: .confirmation, idempotent: true, idempotencyKey: "k1")
            }
        }
        let due = try await store.read { try $0.dueOutboxEntries(at: t0, limit: 10).entries }
        #expect(due.map(\.state) == [.pending])
        #expect(due.first?.report == report)
        let id = try #require(due.first?.id)
        #expect(try await store.read { try $0.dueOutboxEntries(at: t0, limit: 10, excluding: [id]).entries }.isEmpty)
        let dispatch = OutboxUpdate(event: .dispatch, attempts: 0, nextAttemptAt: t0)
        try await store.write(at: t0) { try $0.transitionOutboxEntry(id: id, from: .pending, dispatch) }
        #expect(try await store.read { try $0.outboxEntry(id: id)?.state } == .sending)
        #expect(try await store.read { try $0.dueOutboxEntries(at: t0, limit: 10).entries }.isEmpty)
        await #expect(throws: StoreError.self, "an entry already being sent is not marked twice") {
            try await store.write(at: t0) { try $0.transitionOutboxEntry(id: id, from: .sending, dispatch) }
        }
        try await store.write(at: t0) { transaction in
            try transaction.transitionOutboxEntry(
                id: id, from: .sending,
                OutboxUpdate(
                    event: .answered(.retry(reason: "HTTP 503", retryAfter: nil, pause: true)), attempts: 1,
                    nextAttemptAt: t0.adding(seconds: 5), lastError: "HTTP 503"))
        }
        #expect(try await store.read { try $0.dueOutboxEntries(at: t0.adding(seconds: 4), limit: 10).entries }.isEmpty)
        #expect(
            try await store.read { try $0.dueOutboxEntries(at: t0.adding(seconds: 5), limit: 10).entries }.map(\.id)
                == [id])
    }

    @Test("the store refuses an outbox step the lifecycle does not allow, or one from a stale state")
    func outboxRefusesIllegalTransitions() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.file("db.sqlite"), now: t0)
        let report = try confirmation("M1")
        let id = try await store.write(at: t0) { transaction in
            try transaction.saveMovement(try movement("M1"), receipt: nil)
            return try transaction.enqueue(report, kind: .receipt, idempotent: false, idempotencyKey: "post").id
        }
        func step(_ event: OutboxEvent, from state: OutboxState) async throws {
            try await store.write(at: t0) { transaction in
                try transaction.transitionOutboxEntry(
                    id: id, from: state, OutboxUpdate(event: event, attempts: 1, nextAttemptAt: t0))
            }
        }
        func refusal(_ event: OutboxEvent, from state: OutboxState) async -> StoreError.Code? {
            do {
                try await step(event, from: state)
                return nil
            } catch let error as StoreError {
                return error.code
            } catch {
                return .other
            }
        }
        // A POST answered without being marked as sent first: refused (nothing would recover it).
        #expect(await refusal(.answered(.delivered(serverID: "W1")), from: .pending) == .illegalTransition)
        try await step(.dispatch, from: .pending)
        // A caller that read the entry before it was dispatched decides nothing any more.
        #expect(await refusal(.operatorPark, from: .pending) == .conflict)
        try await step(.answered(.unknown("HTTP 504", pause: true)), from: .sending)
        for event in [OutboxEvent.operatorRetry, .operatorPark, .dispatch, .answered(.delivered(serverID: nil))] {
            #expect(await refusal(event, from: .unknown) == .illegalTransition, "\(event) on an unknown POST")
        }
        #expect(try await store.read { try $0.outboxEntry(id: id)?.state } == .unknown)
        try await step(.operatorResend, from: .unknown)
        #expect(try await store.read { try $0.outboxEntry(id: id)?.state } == .pending)
        #expect(await refusal(.operatorPark, from: .pending) == nil)
        #expect(await refusal(.operatorPark, from: .parked) == .illegalTransition)
    }

    @Test("after a crash mid-send, idempotent entries go back to pending and POSTs become unknown")
    func interruptedSendsAreSettled() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("db.sqlite")
        do {
            let store = try Store(path: path, now: t0)
            let report = try confirmation("M1")
            try await store.write(at: t0) { transaction in
                try transaction.saveMovement(try movement("M1"), receipt: nil)
                _ = try transaction.enqueue(report, kind: .confirmation, idempotent: true, idempotencyKey: "put")
                _ = try transaction.enqueue(report, kind: .receipt, idempotent: false, idempotencyKey: "post")
                for entry in try transaction.dueOutboxEntries(at: t0, limit: 10).entries {
                    try transaction.transitionOutboxEntry(
                        id: entry.id, from: entry.state, OutboxUpdate(event: .dispatch, attempts: 0, nextAttemptAt: t0))
                }
            }
        }
        let reopened = try await reopen(path, now: t0.adding(seconds: 60))
        let entries = try await reopened.read { try $0.outboxEntries() }
        #expect(entries.map(\.state) == [.pending, .unknown])
        #expect(entries.allSatisfy { $0.lastError?.contains("interrupted") == true })
    }

    @Test("stored tares, arrivals, decisions and reference data keep what was written")
    func otherRecords() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.file("db.sqlite"), now: t0)
        let vehicle = VehicleRegistration("AB12CDE")!
        var board = ArrivalBoard()
        board.announce(Arrival(bridge: "in", subject: .movement("M1"), at: t0))
        board.announce(Arrival(bridge: "in", subject: .unidentifiedVehicle(vehicle), at: t0.adding(seconds: 1)))
        let savedBoard = board
        try await store.write(at: t0) { transaction in
            try transaction.saveMovement(try movement("M1"), receipt: nil)
            try transaction.setStoredTare(
                StoredTare(
                    vehicle: vehicle, tare: Mass(12_000, .kilograms), setAt: t0,
                    expiresAt: t0.adding(seconds: 86_400)), by: .operator(sam), reason: "weighed empty")
            try transaction.saveArrivalBoard(savedBoard)
            try transaction.recordDecision(
                DecisionRecord(
                    movementID: "M1", outcome: .held, reason: "below_minimum_weight", net: Mass(300, .kilograms),
                    declared: Mass(310, .kilograms), deviationPercent: "-3.23", highRisk: false,
                    actor: .operator(sam),
                    note: "n", decidedAt: t0))
            try transaction.saveReferenceData(list: "ewc-codes", body: "[]")
        }
        try await store.write(at: t0.adding(seconds: 60)) {
            try $0.expireStoredTare(vehicle: vehicle, by: .operator(sam), reason: "new trailer")
        }
        let (tare, loadedBoard, decisions, reference) = try await store.read {
            try (
                $0.storedTare(vehicle: vehicle), $0.arrivalBoard(), $0.decisions(ofMovement: "M1"),
                $0.referenceData(list: "ewc-codes")
            )
        }
        #expect(tare?.isValid(at: t0.adding(seconds: 59)) == true)
        #expect(tare?.isValid(at: t0.adding(seconds: 60)) == false)
        #expect(loadedBoard == savedBoard)
        #expect(decisions.map(\.actor) == [.operator(sam)])
        #expect(decisions.first?.net == Mass(300, .kilograms))
        #expect(reference?.body == "[]")
    }

    @Test("an online backup is a complete, verifiable copy")
    func backup() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.file("db.sqlite"), now: t0)
        for kilograms: Int64 in [22_000, 12_000, 30_000] {
            _ = try await store.write(at: t0) { try $0.recordWeighing(evidence(kilograms)) }
        }
        try await store.backup(to: directory.file("backup.sqlite"))
        let copy = try Store(path: directory.file("backup.sqlite"), now: t0)
        #expect(try await copy.read { try $0.unattributedWeighings() }.map(\.ticket) == [1, 2, 3])
        #expect(try await copy.verifyAudit() == store.verifyAudit())
    }
}

@Suite("Store: refusing bad files, migrating old ones")
struct StoreOpeningTests {
    private func digest(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    @Test("a database from a newer weighbridged is refused and left untouched")
    func newerSchemaRefused() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("db.sqlite")
        _ = try Store(path: path, now: t0)
        try sqlite3(path, "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA user_version = 99;")
        let before = try digest(path)
        #expect {
            _ = try Store(path: path, now: t0)
        } throws: { error in
            (error as? StoreError)?.code == .newerSchema && "\(error)".contains("schema version 99")
        }
        #expect(try digest(path) == before)
    }

    @Test("a corrupt file is refused with a clear message and left untouched")
    func corruptRefused() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("db.sqlite")
        try Data(repeating: 0x5A, count: 8_192).write(to: URL(fileURLWithPath: path))
        let before = try digest(path)
        #expect {
            _ = try Store(path: path, now: t0)
        } throws: { error in
            (error as? StoreError)?.code == .corrupt
        }
        #expect(try digest(path) == before)
    }

    @Test("a damaged page fails the integrity check at open")
    func damagedPageRefused() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("db.sqlite")
        do {
            let store = try Store(path: path, now: t0)
            for index in 0..<200 { _ = try await store.write(at: t0) { try $0.recordWeighing(evidence(Int64(index))) } }
        }
        try sqlite3(path, "PRAGMA wal_checkpoint(TRUNCATE);")
        // Overwrite the b-tree page headers of the weighings table's pages.
        let pages = try sqlite3(path, "SELECT pageno FROM dbstat WHERE name = 'weighings' AND pagetype = 'leaf';")
            .split(separator: "\n").compactMap { UInt64($0) }
        #expect(!pages.isEmpty)
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        for page in pages {
            try handle.seek(toOffset: (page - 1) * 4_096)
            handle.write(Data(repeating: 0xFF, count: 12))
        }
        try handle.close()
        #expect {
            _ = try Store(path: path, now: t0)
        } throws: { error in
            (error as? StoreError)?.code == .corrupt
        }
    }

    @Test("one daemon per store: a second opening is refused at once and touches nothing; closing frees it")
    func oneDaemonPerStore() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("db.sqlite")
        do {
            let first = try Store(path: path, now: t0)
            _ = try await first.write(at: t0) { try $0.recordWeighing(evidence(22_000)) }
            let before = try sqlite3(path, "SELECT COUNT(*) FROM audit;")
            #expect {
                _ = try Store(path: path, now: t0)
            } throws: { error in
                (error as? StoreError)?.code == .busy && "\(error)".contains("another weighbridged")
            }
            #expect(try sqlite3(path, "SELECT COUNT(*) FROM audit;") == before)
            #expect(try await first.read { try $0.unattributedWeighings() }.count == 1)
        }
        _ = try await reopen(path)
    }

    @Test(
        "an operator recorded before the uid was kept (decisions, a stored lifecycle, a queued report) reads back by name"
    )
    func operatorsRecordedWithoutUID() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("db.sqlite")
        let confirmed = try {
            var report = try confirmation("M1")
            report.by = .operator(sam)
            return report
        }()
        do {
            let store = try Store(path: path, now: t0)
            try await store.write(at: t0) { transaction in
                try transaction.saveMovement(try movement("M1"), receipt: nil)
                try transaction.saveMovement(
                    MovementLifecycle(
                        movement: try movement("M2").movement, stage: .rejected(by: sam, reason: "turned away"),
                        hold: nil), receipt: nil)
                _ = try transaction.enqueue(confirmed, kind: .confirmation, idempotent: true, idempotencyKey: "k1")
                try transaction.recordDecision(
                    DecisionRecord(
                        movementID: "M2", outcome: .rejected, reason: "turned away", net: nil,
                        declared: Mass(10_000, .kilograms), deviationPercent: nil, highRisk: false,
                        actor: .operator(sam), note: "turned away", decidedAt: t0))
            }
        }
        let written = #"{"name":"sam","uid":1001}"#
        #expect(try sqlite3(path, "SELECT instr(lifecycle, '\(written)') > 0 FROM movements WHERE id = 'M2';") == "1\n")
        #expect(try sqlite3(path, "SELECT instr(report, '\(written)') > 0 FROM outbox;") == "1\n")
        // As schema 3 left them: the name alone, in the decision's text and in the stored JSON.
        _ = try sqlite3(
            path,
            """
            UPDATE movements SET lifecycle = replace(lifecycle, '\(written)', '"sam"');
            UPDATE outbox SET report = replace(report, '\(written)', '"sam"');
            UPDATE decisions SET actor = 'operator:sam';
            ALTER TABLE decisions DROP COLUMN operator_name;
            ALTER TABLE decisions DROP COLUMN operator_uid;
            ALTER TABLE weighings DROP COLUMN raw_frame;
            PRAGMA user_version = 3;
            """)
        let store = try await reopen(path)
        let byName = OperatorIdentity(uid: nil, name: "sam")
        let (decisions, rejected, outbox) = try await store.read {
            try ($0.decisions(ofMovement: "M2"), $0.movement(id: "M2"), $0.outboxEntries())
        }
        #expect(decisions.map(\.actor) == [.operator(byName)])
        #expect(rejected?.lifecycle.stage == .rejected(by: byName, reason: "turned away"))
        #expect(outbox.map(\.report.by) == [.operator(byName)])
        #expect(Actor.operator(byName).description == "operator:sam")
    }

    @Test(
        "migrates from an empty file and from every earlier schema version, keeping data",
        arguments: 0..<Schema.latestVersion)
    func migratesFromEveryVersion(version: Int) async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("db.sqlite")
        try sqlite3(
            path, Schema.migrations.prefix(version).joined(separator: "\n") + "\nPRAGMA user_version = \(version);")
        do {
            let store = try Store(path: path, now: t0)
            #expect(try await store.schemaVersion() == Schema.latestVersion)
            _ = try await store.write(at: t0) { try $0.recordWeighing(evidence(22_000)) }
            #expect(try await store.verifyAudit().isIntact)
        }
        // Opening again (once the first is closed) is a no-op: nothing left to migrate.
        let again = try await reopen(path)
        #expect(try await again.read { try $0.unattributedWeighings() }.count == 1)
    }
}
