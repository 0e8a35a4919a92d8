/// How an indicator is reached.
public enum Transport: Sendable, Hashable {
    case tcp(host: String, port: Int)
    case rtu(SerialSettings)
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
