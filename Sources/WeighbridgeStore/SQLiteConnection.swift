import CSQLite

/// SQLite's "copy this buffer now" destructor, `SQLITE_TRANSIENT`, which Swift cannot import.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// The one owner of a `sqlite3 *`. Opened in one place, closed in `deinit`; never shared between
/// threads (the `Store` actor runs every call on its own serial executor).
final class SQLiteConnection {
    private let handle: OpaquePointer
    let path: String
    /// Prepared statements by SQL text: the store runs the same few statements all day, and
    /// preparing one costs more than running it.
    private var statements: [String: Statement] = [:]

    /// Opens (creating if needed) the database at `path` with SQLite's own mutexes off: the
    /// store's executor is the only thread that touches it.
    init(path: String) throws(StoreError) {
        var pointer: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &pointer, flags, nil)
        guard status == SQLITE_OK, let pointer else {
            let message = pointer.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(pointer)
            throw StoreError(sqliteStatus: status, operation: "open \(path)", message: message)
        }
        self.handle = pointer
        self.path = path
        sqlite3_extended_result_codes(pointer, 1)
        // Keep the -wal and -shm files when the last connection closes (the WAL is emptied, not
        // deleted): opening the store again then creates no file, so the daemon can start on a
        // full disk, take what it can in memory, and write once space returns.
        var persist: Int32 = 1
        sqlite3_file_control(pointer, "main", SQLITE_FCNTL_PERSIST_WAL, &persist)
    }

    deinit {
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements that return no rows.
    func execute(_ sql: String, operation: String) throws(StoreError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        guard status == SQLITE_OK else {
            let message = errorMessage.map { String(cString: $0) } ?? lastErrorMessage
            sqlite3_free(errorMessage)
            throw StoreError(sqliteStatus: status, operation: operation, message: message)
        }
    }

    /// A prepared statement for `sql`, reset and ready to bind: cached after its first use.
    func prepare(_ sql: String, operation: String) throws(StoreError) -> Statement {
        if let cached = statements[sql] {
            cached.reset(operation: operation)
            return cached
        }
        let statement = try prepareUncached(sql, operation: operation)
        statements[sql] = statement
        return statement
    }

    private func prepareUncached(_ sql: String, operation: String) throws(StoreError) -> Statement {
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard status == SQLITE_OK, let statement else {
            throw StoreError(sqliteStatus: status, operation: operation, message: lastErrorMessage)
        }
        return Statement(handle: statement, connection: self, operation: operation)
    }

    /// Runs `sql` with `values` bound, expecting no rows.
    func run(_ sql: String, _ values: [SQLValue] = [], operation: String) throws(StoreError) {
        let statement = try prepare(sql, operation: operation)
        try statement.bind(values)
        while try statement.step() {}
    }

    /// Runs `sql` with `values` bound and maps every row.
    func rows<Row>(
        _ sql: String, _ values: [SQLValue] = [], operation: String,
        _ map: (Statement) throws(StoreError) -> Row
    ) throws(StoreError) -> [Row] {
        let statement = try prepare(sql, operation: operation)
        try statement.bind(values)
        var result: [Row] = []
        while try statement.step() { result.append(try map(statement)) }
        return result
    }

    /// The rowid of the last insert on this connection.
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last statement.
    var changes: Int { Int(sqlite3_changes(handle)) }

    var lastErrorMessage: String { String(cString: sqlite3_errmsg(handle)) }

    /// Copies the whole database into `destination` with SQLite's online backup API, while the
    /// store stays usable; `destination` is replaced.
    func backup(to destination: SQLiteConnection) throws(StoreError) {
        guard let backup = sqlite3_backup_init(destination.handle, "main", handle, "main") else {
            throw StoreError(
                sqliteStatus: sqlite3_errcode(destination.handle), operation: "backup",
                message: destination.lastErrorMessage)
        }
        var status: Int32
        repeat {
            status = sqlite3_backup_step(backup, 256)
        } while status == SQLITE_OK || status == SQLITE_BUSY || status == SQLITE_LOCKED
        let finish = sqlite3_backup_finish(backup)
        guard status == SQLITE_DONE, finish == SQLITE_OK else {
            throw StoreError(
                sqliteStatus: status == SQLITE_DONE ? finish : status, operation: "backup",
                message: destination.lastErrorMessage)
        }
    }

    fileprivate func statusError(_ status: Int32, operation: String) -> StoreError {
        StoreError(sqliteStatus: status, operation: operation, message: lastErrorMessage)
    }
}

@available(*, unavailable)
extension SQLiteConnection: Sendable {}

/// A value to bind to a statement parameter.
enum SQLValue {
    case integer(Int64)
    case text(String)
    case blob([UInt8])
    case null
}

extension SQLValue {
    static func optional(_ value: Int64?) -> SQLValue { value.map(SQLValue.integer) ?? .null }
    static func optional(_ value: String?) -> SQLValue { value.map(SQLValue.text) ?? .null }
    static func optional(_ value: [UInt8]?) -> SQLValue { value.map(SQLValue.blob) ?? .null }
}

/// A prepared statement, finalized when released.
final class Statement {
    private let handle: OpaquePointer
    private unowned let connection: SQLiteConnection
    private var operation: String

    fileprivate init(handle: OpaquePointer, connection: SQLiteConnection, operation: String) {
        self.handle = handle
        self.connection = connection
        self.operation = operation
    }

    deinit {
        sqlite3_finalize(handle)
    }

    /// Makes a used statement ready to bind and run again.
    fileprivate func reset(operation: String) {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        self.operation = operation
    }

    /// Ends a statement left part-way through its rows, releasing the read snapshot it holds
    /// (which would otherwise keep the WAL from being checkpointed).
    func finish() {
        sqlite3_reset(handle)
    }

    func bind(_ values: [SQLValue]) throws(StoreError) {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32
            switch value {
            case .integer(let number): status = sqlite3_bind_int64(handle, index, number)
            case .text(let text): status = sqlite3_bind_text(handle, index, text, -1, transient)
            case .blob(let bytes):
                status = bytes.withUnsafeBytes { buffer in
                    sqlite3_bind_blob(handle, index, buffer.baseAddress, Int32(buffer.count), transient)
                }
            case .null: status = sqlite3_bind_null(handle, index)
            }
            guard status == SQLITE_OK else { throw connection.statusError(status, operation: operation) }
        }
    }

    /// Advances; true while there is a row to read.
    func step() throws(StoreError) -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let status: throw connection.statusError(status, operation: operation)
        }
    }

    func integer(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    func optionalInteger(_ column: Int32) -> Int64? {
        sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, column)
    }

    func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(handle, column) else { return "" }
        return String(cString: pointer)
    }

    func optionalText(_ column: Int32) -> String? {
        sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : text(column)
    }

    func optionalBlob(_ column: Int32) -> [UInt8]? {
        sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : blob(column)
    }

    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let pointer = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}

@available(*, unavailable)
extension Statement: Sendable {}
