import Glibc

/// A serial line or TCP stream to an ASCII indicator that failed, classified so the loop knows
/// whether to open it again.
public struct StreamError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, in the terms a commissioning engineer needs.
    public enum Kind: Sendable, Hashable {
        /// No reply to a request within the response timeout.
        case timeout
        /// No complete frame for longer than the bridge's stale time.
        case silent
        /// The line or connection is gone (unplugged, reset, refused, not there).
        case connectionLost
        /// Any other operating-system error.
        case system(Int32)
    }

    public let kind: Kind
    /// What was being done: "open serial /dev/ttyUSB0 9600 7E1".
    public let operation: String
    /// The system's own words, or what was missing.
    public let message: String

    public init(kind: Kind, operation: String, message: String) {
        self.kind = kind
        self.operation = operation
        self.message = message
    }

    /// Classifies `errno` right after a failed call.
    init(errno code: Int32, operation: String) {
        let kind: Kind =
            switch code {
            case ECONNRESET, ECONNREFUSED, ECONNABORTED, EPIPE, ENOTCONN, EBADF, EIO, ENXIO, ENODEV, ENOENT,
                EHOSTUNREACH, ENETUNREACH, ETIMEDOUT:
                .connectionLost
            default: .system(code)
            }
        self.init(kind: kind, operation: operation, message: String(cString: strerror(code)))
    }

    /// Whether the line must be closed and opened again before the next read.
    public var requiresReopen: Bool {
        switch kind {
        case .connectionLost, .system: true
        case .timeout, .silent: false
        }
    }

    public var description: String { "\(operation): \(message)" }

    /// What to check, for `probe` and the journal.
    public var hint: String {
        switch kind {
        case .timeout:
            "the indicator did not answer: check the wiring, the baud rate, parity and data bits, and that its "
                + "serial port is set to answer requests on demand (SMA, Dini's READ, the generic request)"
        case .silent:
            "no frame arrives: check that the indicator's port is set to continuous output, the wiring, and the "
                + "baud rate, parity and data bits"
        case .connectionLost:
            "the line is gone: check the device path or the device server's address, the cable and the power"
        case .system:
            "the system refused: check the device's permissions (the dialout group) and that nothing else has it open"
        }
    }
}
