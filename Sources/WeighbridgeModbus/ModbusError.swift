internal import CModbus
import Foundation

/// A Modbus request that failed, classified so callers know whether the link is gone.
public struct ModbusError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, in the terms a commissioning engineer needs.
    public enum Kind: Sendable, Hashable {
        /// No (complete) reply within the response or byte timeout.
        case timeout
        /// A reply arrived with a bad CRC (RTU): noise, wrong baud or parity, two masters.
        case badCRC
        /// The device answered with a Modbus exception (1 illegal function, 2 illegal address, …).
        case exception(UInt8)
        /// A reply that does not fit the request: wrong length, wrong unit, wrong function.
        case badReply
        /// The connection or device is gone (reset, refused, unplugged, not connected).
        case connectionLost
        /// Any other operating-system error.
        case system(Int32)
    }

    public let kind: Kind
    /// What was being done: "read 5 registers at 6 (FC 03) from unit 1 on tcp 127.0.0.1:502".
    public let operation: String
    /// libmodbus's or the system's own words.
    public let message: String

    public init(kind: Kind, operation: String, message: String) {
        self.kind = kind
        self.operation = operation
        self.message = message
    }

    /// Classifies `errno` right after a failed libmodbus call.
    init(errno code: Int32, operation: String) {
        let base = Int32(MODBUS_ENOBASE)
        let kind: Kind
        switch code {
        case ETIMEDOUT: kind = .timeout
        case base + 1...base + 11: kind = .exception(UInt8(code - base))
        case base + 12: kind = .badCRC  // EMBBADCRC
        case base + 13...base + 17: kind = .badReply  // EMBBADDATA, EMBBADEXC, EMBUNKEXC, EMBMDATA, EMBBADSLAVE
        case ECONNRESET, ECONNREFUSED, ECONNABORTED, EPIPE, ENOTCONN, EBADF, EIO, ENXIO, ENODEV, ENOENT, EHOSTUNREACH,
            ENETUNREACH:
            kind = .connectionLost
        default: kind = .system(code)
        }
        self.init(kind: kind, operation: operation, message: String(cString: modbus_strerror(code)))
    }

    /// Whether the link must be closed and reopened before the next request.
    public var requiresReconnect: Bool {
        switch kind {
        case .connectionLost, .system: true
        case .timeout, .badCRC, .exception, .badReply: false
        }
    }

    /// What to check, for `probe` and the journal.
    public var hint: String {
        switch kind {
        case .timeout: "check the wiring, the unit id, baud rate and parity, and that the device is powered"
        case .badCRC: "check baud rate, parity and termination; noise or a second master on the line"
        case .exception(1): "the device does not support this function code: check `function` (3 or 4)"
        case .exception(2): "the device has no such registers: check the address base (0-based wire addresses)"
        case .exception: "the device refused the request: see its manual for this exception code"
        case .badReply: "the reply does not match the request: check the unit id and that one master is on the line"
        case .connectionLost: "check the network or serial adapter; the daemon reconnects by itself"
        case .system: "an operating-system error"
        }
    }

    public var description: String {
        let detail: String
        switch kind {
        case .exception(let code): detail = "Modbus exception \(code): \(message)"
        default: detail = message
        }
        return "\(operation): \(detail) (\(hint))"
    }
}
