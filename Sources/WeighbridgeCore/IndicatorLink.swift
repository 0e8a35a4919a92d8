/// How an indicator is reached.
public enum Transport: Sendable, Hashable {
    case tcp(host: String, port: Int)
    case rtu(SerialSettings)
}

extension Transport {
    /// "tcp 10.0.0.5:502" or "rtu /dev/ttyUSB0 9600 8E1", for messages.
    public var label: String {
        switch self {
        case .tcp(let host, let port): "tcp \(host):\(port)"
        case .rtu(let serial):
            "rtu \(serial.device) \(serial.baud) \(serial.dataBits)\(serial.parity.rawValue)\(serial.stopBits)"
        }
    }
}

/// RS-485/RS-232 line settings.
public struct SerialSettings: Sendable, Hashable {
    public var device: String
    public var baud: Int
    public var parity: Parity
    public var dataBits: Int
    public var stopBits: Int

    public init(device: String, baud: Int, parity: Parity, dataBits: Int, stopBits: Int) {
        self.device = device
        self.baud = baud
        self.parity = parity
        self.dataBits = dataBits
        self.stopBits = stopBits
    }
}

/// Serial parity.
public enum Parity: String, Sendable, Hashable, CaseIterable {
    case none = "N", even = "E", odd = "O"
}

/// How an ASCII indicator is reached: its own serial line, or a serial device server's TCP port
/// that carries the line's bytes unchanged.
public enum ASCIILine: Sendable, Hashable {
    case serial(SerialLine)
    case tcp(host: String, port: Int)
}

/// A serial line an ASCII indicator is wired to: the character format and the control lines,
/// every one set explicitly, because opening a port raises DTR and some indicators reset on it.
public struct SerialLine: Sendable, Hashable {
    public var settings: SerialSettings
    /// What DTR is held at once the line is open.
    public var dtr: ControlLineLevel
    /// What RTS is held at once the line is open; nil under RTS/CTS flow control, which drives it.
    public var rts: ControlLineLevel?
    public var flowControl: FlowControl

    public init(settings: SerialSettings, dtr: ControlLineLevel, rts: ControlLineLevel?, flowControl: FlowControl) {
        self.settings = settings
        self.dtr = dtr
        self.rts = rts
        self.flowControl = flowControl
    }
}

/// A modem control line's level.
public enum ControlLineLevel: String, Sendable, Hashable, CaseIterable {
    case on, off
}

/// How a serial line paces its sender.
public enum FlowControl: String, Sendable, Hashable, CaseIterable {
    case none
    /// Hardware: RTS/CTS.
    case rtsCts = "rts-cts"
    /// Software: XON/XOFF characters.
    case xonXoff = "xon-xoff"
}

extension ASCIILine {
    /// Whether this is a serial line of the daemon's own.
    public var isSerial: Bool { if case .serial = self { true } else { false } }

    /// The device path or the server's `host:port`: what two bridges cannot share.
    public var endpoint: String {
        switch self {
        case .serial(let line): line.settings.device
        case .tcp(let host, let port): "\(host):\(port)"
        }
    }

    /// "serial /dev/ttyUSB0 9600 7E1" or "tcp 10.0.0.7:4001", for messages.
    public var label: String {
        switch self {
        case .serial(let line):
            let settings = line.settings
            return "serial \(settings.device) \(settings.baud) \(settings.dataBits)\(settings.parity.rawValue)"
                + "\(settings.stopBits)"
        case .tcp(let host, let port): return "tcp \(host):\(port)"
        }
    }
}
