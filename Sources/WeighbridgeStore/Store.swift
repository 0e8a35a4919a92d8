import BlockingExecution
public import WeighbridgeCore

/// The durable state of one gatehouse box: weighings, movements, decisions, the outbox, stored
/// tares, arrivals, reference data and the audit log, in one SQLite database.
///
/// Write-ahead logging with `synchronous=FULL`: a transaction that returned has reached the disk,
/// and a crash at any instant loses nothing that was acknowledged. One writer connection; reads
/// run on a second connection of their own, so a read never waits for a commit's sync (WAL gives
/// each read a consistent snapshot of everything committed before it began).
/// The public API speaks only domain values and named operations in transactions.
public actor Store {
    private let executor: BlockingSerialExecutor
    private let connection: SQLiteConnection
    private let reader: StoreReader
    private let heads = StoreTransaction.Heads()
    /// Held for as long as the store is open: one daemon per store.
    private let lock: StoreLock
    /// Whether the reports a stopped daemon left in flight have been settled.
    private var interruptedSendsSettled = false

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// Opens the database at `path`, creating it if needed, and only if no other process has it
    /// open (`busy` then, and nothing is touched): checks its integrity, refuses a
    /// corrupt or newer-schema file without writing to it, migrates an older one, and settles
    /// reports that a crash interrupted mid-send (idempotent ones go back to pending; the others
    /// become `unknown`, since whether they arrived cannot be known). A full or read-only disk
    /// does not stop the opening: the settling waits for `settleInterruptedSends(at:)`.
    public init(path: String, now: Timestamp) throws(StoreError) {
        lock = try StoreLock(database: path)
        executor = BlockingSerialExecutor(label: "weighbridged.store")
        connection = try SQLiteConnection(path: path)
        try Self.prepare(connection)
        reader = try StoreReader(path: path)
        do throws(StoreError) {
            try Self.settleInterruptedSends(on: connection, heads: heads, at: now)
            interruptedSendsSettled = true
        } catch  where [.diskFull, .readOnly, .io].contains(error.code) {
            // Settled later: until then those entries stay `sending`, and nothing takes them.
        }
    }

    /// Settles the reports a stopped daemon left in flight, if opening could not (a full disk).
    /// Returns once they are settled; throws while the disk still refuses. Call it before the
    /// first report is taken: it must never see a send of this process.
    public func settleInterruptedSends(at now: Timestamp) throws(StoreError) {
        guard !interruptedSendsSettled else { return }
        try Self.settleInterruptedSends(on: connection, heads: heads, at: now)
        interruptedSendsSettled = true
    }

    private static func settleInterruptedSends(
        on connection: SQLiteConnection, heads: StoreTransaction.Heads, at now: Timestamp
    ) throws(StoreError) {
        try connection.run("BEGIN IMMEDIATE", operation: "begin")
        do {
            try StoreTransaction(connection: connection, heads: heads, now: now).settleInterruptedSends()
            try connection.run("COMMIT", operation: "commit")
        } catch {
            try? connection.run("ROLLBACK", operation: "rollback")
            heads.forget()
            throw error
        }
    }

    private static func prepare(_ connection: SQLiteConnection) throws(StoreError) {
        try connection.execute("PRAGMA busy_timeout = 5000", operation: "configure")
        let check = try connection.rows("PRAGMA quick_check", operation: "check integrity") { $0.text(0) }
        guard check == ["ok"] else {
            throw StoreError(
                code: .corrupt, operation: "open \(connection.path)",
                message: "integrity check failed (\(check.prefix(3).joined(separator: "; "))); "
                    + "the file was not modified: restore it from a backup")
        }
        let version = try connection.rows("PRAGMA user_version", operation: "read schema version") {
            Int($0.integer(0))
        }[0]
        guard version <= Schema.latestVersion else {
            throw StoreError(
                code: .newerSchema, operation: "open \(connection.path)",
                message: "schema version \(version) is newer than this weighbridged understands "
                    + "(\(Schema.latestVersion)); the file was not modified: run the newer version")
        }
        let mode = try connection.rows("PRAGMA journal_mode = WAL", operation: "configure") { $0.text(0) }
        guard mode == ["wal"] else {
            throw StoreError(code: .other, operation: "configure", message: "cannot enable WAL (got \(mode))")
        }
        try connection.execute("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", operation: "configure")
        for (index, migration) in Schema.migrations.enumerated().dropFirst(version) {
            try connection.execute("BEGIN IMMEDIATE", operation: "migrate to \(index + 1)")
            do {
                try connection.execute(migration, operation: "migrate to \(index + 1)")
                try connection.execute("PRAGMA user_version = \(index + 1)", operation: "migrate to \(index + 1)")
                try connection.execute("COMMIT", operation: "migrate to \(index + 1)")
            } catch {
                try? connection.execute("ROLLBACK", operation: "migrate")
                throw error
            }
        }
    }

    /// Runs `body` as one write transaction stamped `now`. If `body` throws, or the commit fails
    /// (disk full, read-only), nothing of it is kept and the error is rethrown: a weighing that
    /// could not be recorded must not be acknowledged.
    public func write<Result: Sendable>(
        at now: Timestamp, _ body: @Sendable (StoreTransaction) throws -> Result
    ) throws -> Result {
        try connection.run("BEGIN IMMEDIATE", operation: "begin")
        do {
            let result = try body(StoreTransaction(connection: connection, heads: heads, now: now))
            try connection.run("COMMIT", operation: "commit")
            return result
        } catch {
            try? connection.run("ROLLBACK", operation: "rollback")
            heads.forget()
            throw error
        }
    }

    /// Runs `body` against a consistent snapshot of everything committed before it began;
    /// nothing it does is written. Runs on the reader connection, beside any write in progress.
    public nonisolated func read<Result: Sendable>(
        _ body: @Sendable (StoreTransaction) throws -> Result
    ) async throws -> Result {
        try await reader.read(body)
    }

    /// Checks the whole audit chain and names the first entry that breaks it. Runs on the
    /// reader connection, against a snapshot: however long the log, captures and report
    /// outcomes are written meanwhile.
    public nonisolated func verifyAudit() async throws -> AuditVerification {
        try await reader.verifyAudit()
    }

    /// Writes a consistent copy of the database to `path` (SQLite's online backup), while the
    /// daemon keeps running. An existing file at `path` is replaced.
    public func backup(to path: String) throws(StoreError) {
        let destination = try SQLiteConnection(path: path)
        try connection.backup(to: destination)
    }

    /// The journal mode and synchronous level in force on the writer, as SQLite reports them
    /// (`wal` and 2 = FULL), so that durability is checked, not assumed.
    public func durability() throws(StoreError) -> (journalMode: String, synchronous: Int) {
        let mode = try connection.rows("PRAGMA journal_mode", operation: "read journal mode") { $0.text(0) }[0]
        let level = try connection.rows("PRAGMA synchronous", operation: "read synchronous") { Int($0.integer(0)) }[0]
        return (mode, level)
    }

    /// The schema version of the open database.
    public func schemaVersion() throws(StoreError) -> Int {
        try connection.rows("PRAGMA user_version", operation: "read schema version") { Int($0.integer(0)) }[0]
    }
}

/// The store's second connection, for reads only, on an executor of its own.
private actor StoreReader {
    private let executor: BlockingSerialExecutor
    private let connection: SQLiteConnection

    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// Opens a connection to the (already prepared, WAL) database at `path` that refuses writes.
    init(path: String) throws(StoreError) {
        executor = BlockingSerialExecutor(label: "weighbridged.store.reader")
        connection = try SQLiteConnection(path: path)
        try connection.execute("PRAGMA busy_timeout = 5000; PRAGMA query_only = 1", operation: "configure reader")
    }

    /// Checks the whole audit chain in one read transaction (a consistent snapshot).
    func verifyAudit() throws(StoreError) -> AuditVerification {
        try connection.run("BEGIN DEFERRED", operation: "begin read")
        defer { try? connection.run("ROLLBACK", operation: "end read") }
        let statement = try connection.prepare(
            "SELECT seq, at_ms, kind, actor, subject, detail, prev_hash, hash FROM audit ORDER BY seq",
            operation: "verify audit")
        defer { statement.finish() }
        var expectedSequence: Int64 = 1
        var previous = AuditChain.genesis
        while try statement.step() {
            let sequence = statement.integer(0)
            guard sequence == expectedSequence else {
                return .broken(
                    sequence: expectedSequence,
                    reason: "entry \(expectedSequence) is missing (next present is \(sequence))")
            }
            guard statement.blob(6) == previous else {
                return .broken(sequence: sequence, reason: "its previous-hash does not match entry \(sequence - 1)")
            }
            let hash = AuditChain.hash(
                previous: previous, sequence: sequence, at: Timestamp(millisecondsSinceEpoch: statement.integer(1)),
                kind: statement.text(2), actor: statement.text(3), subject: statement.text(4),
                detail: statement.text(5))
            guard statement.blob(7) == hash else {
                return .broken(sequence: sequence, reason: "its content does not match its hash (edited)")
            }
            previous = hash
            expectedSequence += 1
        }
        return .intact(entries: expectedSequence - 1, head: previous.hexadecimal)
    }

    func read<Result: Sendable>(_ body: @Sendable (StoreTransaction) throws -> Result) throws -> Result {
        try connection.run("BEGIN DEFERRED", operation: "begin read")
        defer { try? connection.run("ROLLBACK", operation: "end read") }
        // A fresh Heads: a read never appends, and must not disturb the writer's.
        return try body(
            StoreTransaction(
                connection: connection, heads: StoreTransaction.Heads(),
                now: Timestamp(millisecondsSinceEpoch: 0)))
    }
}
