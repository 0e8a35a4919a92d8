/// What an indicator answers to Modbus "Report Server ID" (function 17): a device-specific id, a
/// run indicator (0x00 off, 0xFF on) and device-specific data, usually text such as a model and
/// firmware version. Recorded with every weighing as evidence of which instrument weighed it.
public struct ServerIdentification: Sendable, Hashable {
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// As recorded: the printable characters (others as `.`), then every byte in hex, so that the
    /// record is exact whatever the device sends: `..LMB3.1.6 [B4FF4C4D42332E312E36]`.
    public var recorded: String {
        let printable = String(
            decoding: bytes.map { (0x20...0x7E).contains($0) ? $0 : UInt8(ascii: ".") }, as: UTF8.self)
        return "\(printable) [\(bytes.map(\.hexDigits).joined())]"
    }

    /// The identification a `recorded` text holds, read from its hex; nil for other text.
    public init?(recorded text: String) {
        guard text.hasSuffix("]"), let open = text.lastIndex(of: "[") else { return nil }
        let digits = Array(text[text.index(after: open)..<text.index(before: text.endIndex)].utf8)
        guard digits.count.isMultiple(of: 2) else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16) else {
                return nil
            }
            bytes.append(byte)
        }
        self.init(bytes: bytes)
    }

    /// For people. With the usual one-byte id, the run indicator and printable text after them:
    /// `LMB3.1.6 (id B4, running)`; any other answer as its printable characters and hex.
    public var readable: String {
        guard bytes.count > 2, bytes[1] == 0x00 || bytes[1] == 0xFF,
            bytes[2...].allSatisfy({ (0x20...0x7E).contains($0) })
        else { return recorded }
        let text = String(decoding: bytes[2...], as: UTF8.self)
        return "\(text) (id \(bytes[0].hexDigits), \(bytes[1] == 0xFF ? "running" : "stopped"))"
    }
}

extension UInt8 {
    /// Two uppercase hex digits: "0D", "B4".
    var hexDigits: String {
        let digits = String(self, radix: 16, uppercase: true)
        return self < 0x10 ? "0" + digits : digits
    }
}
