internal import CSQLite

/// A store operation that failed. Nothing of a failed write is kept: the transaction rolls back.
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Stable failure classes callers act on.
    public enum Code: String, Sendable, Hashable {
        /// The file cannot be opened or created.
        case cannotOpen = "cannot_open"
        /// `PRAGMA quick_check` failed or the file is not a database.
        case corrupt
        /// The database was written by a newer weighbridged.
        case newerSchema = "newer_schema"
        /// The disk (or the database's size limit) is full.
        case diskFull = "disk_full"
        /// The database or its directory cannot be written.
        case readOnly = "read_only"
        /// Another process holds the database.
        case busy
        /// A rule of the schema refused the write (duplicate, immutable row, missing reference).
        case constraint
        /// The record the operation names does not exist.
        case notFound = "not_found"
        /// The record changed since the caller read it: its decision no longer applies.
        case conflict
        /// The record's lifecycle does not allow the change.
        case illegalTransition = "illegal_transition"
        /// The operating system failed to read or write.
        case io
        /// Anything else SQLite reported.
        case other
    }

    public let code: Code
    /// What the store was doing: "record weighing", "open /var/lib/…".
    public let operation: String
    /// SQLite's or the store's own explanation.
    public let message: String

    public init(code: Code, operation: String, message: String) {
        self.code = code
        self.operation = operation
        self.message = message
    }

    init(sqliteStatus: Int32, operation: String, message: String) {
        let code: Code
        switch sqliteStatus & 0xFF {
        case SQLITE_CANTOPEN, SQLITE_PERM, SQLITE_AUTH: code = .cannotOpen
        case SQLITE_CORRUPT, SQLITE_NOTADB: code = .corrupt
        case SQLITE_FULL: code = .diskFull
        case SQLITE_READONLY: code = .readOnly
        case SQLITE_BUSY, SQLITE_LOCKED: code = .busy
        case SQLITE_CONSTRAINT: code = .constraint
        case SQLITE_IOERR: code = .io
        default: code = .other
        }
        self.init(code: code, operation: operation, message: message)
    }

    public var description: String { "store: \(operation): \(message) [\(code.rawValue)]" }
}
