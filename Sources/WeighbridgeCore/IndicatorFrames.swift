// What the readers of an indicator's ASCII output (Toledo continuous, SMA) make of the bytes they
// receive: a frame, or a fault that says what was wrong with them.

/// Why bytes received are not a frame. A fault is never a weight.
public enum FrameFault: Error, Sendable, Hashable, CustomStringConvertible {
    /// The next frame began before this one ended: a frame cut short.
    case cutShort(received: Int)
    /// The byte where the frame must end is something else.
    case misplacedEnd(position: Int, byte: UInt8)
    /// A byte with its eighth bit set: the line is not set as the indicator sends (7-bit ASCII).
    case eighthBitSet(position: Int, byte: UInt8)
    /// The frame's checksum byte is not the one its bytes give.
    case badChecksum(expected: UInt8, received: UInt8)
    /// A field that is not written as the frame's description says.
    case malformedField(String, text: String, expected: String)
    /// A reply of a length the protocol does not have.
    case wrongLength(expected: Int, received: Int)
    /// A character a field does not take.
    case unknownCharacter(String, byte: UInt8)
    /// The indicator answered that it could not do what was asked.
    case refusedByIndicator(String)
    /// A well-formed answer that is not a weight a capture may take.
    case notAWeight(String)
    /// A status bit that the frame's description fixes has the other value.
    case badStatusByte(String, byte: UInt8)
    /// A unit this daemon does not weigh in (pounds, ounces, newtons): never converted.
    case unsupportedUnit(String)
    /// The decimal places given are finer than a gram in the unit.
    case finerThanAGram(String)
    /// Bytes between frames that are no frame.
    case noise(bytes: Int)
    /// The indicator weighs in another unit than the bridge is configured for.
    case wrongUnit(sent: MassUnit, configured: MassUnit)
    /// A weight that is not a multiple of the bridge's division: the indicator is set otherwise.
    case offDivisionGrid(weight: Mass, division: Mass)
    /// A capture the indicator did not store in its alibi memory as it was captured: not taken.
    case notStored(String)

    public var description: String {
        switch self {
        case .cutShort(let received):
            "a frame cut short: the next began after \(received) bytes"
        case .misplacedEnd(let position, let byte):
            "byte \(position) must be CR (0D), got \(byte.hexDigits)"
        case .eighthBitSet(let position, let byte):
            "byte \(position) is \(byte.hexDigits), with its eighth bit set: set the line to the indicator's "
                + "data bits and parity (these protocols are 7-bit ASCII, often 7 data bits, even parity)"
        case .badChecksum(let expected, let received):
            "checksum \(received.hexDigits), the frame's bytes give \(expected.hexDigits)"
        case .malformedField(let field, let text, let expected):
            "the \(field) field \"\(text)\" is not \(expected)"
        case .wrongLength(let expected, let received):
            "a reply of \(received) bytes; the protocol's are \(expected)"
        case .unknownCharacter(let field, let byte):
            "the \(field) field does not take \(byte.hexDigits)"
        case .refusedByIndicator(let why):
            "the indicator \(why)"
        case .notAWeight(let why):
            "not a weight: \(why)"
        case .badStatusByte(let name, let byte):
            "status byte \(name) \(byte.hexDigits) has a bit the frame fixes set the other way"
        case .unsupportedUnit(let unit):
            "the terminal weighs in \(unit); set it to kg, t or g"
        case .finerThanAGram(let text):
            "\(text) is finer than a gram"
        case .noise(let bytes):
            "\(bytes) bytes between frames that are no frame"
        case .wrongUnit(let sent, let configured):
            "the indicator sends \(sent.rawValue); the bridge is configured for \(configured.rawValue) (unit)"
        case .offDivisionGrid(let weight, let division):
            "\(weight) is not a multiple of the bridge's division \(division)"
        case .notStored(let why):
            "the indicator did not store the weighing in its alibi memory (\(why)): not captured, taken again "
                + "once it settles"
        }
    }
}

/// What the bytes read so far come to.
public enum FrameScan<Frame: Sendable & Hashable>: Sendable, Hashable {
    case frame(Frame)
    case fault(FrameFault)
}

extension FrameFault {
    /// Refuses a frame with a byte whose eighth bit is set: these protocols are 7-bit ASCII.
    static func requireSevenBits(_ frame: [UInt8]) throws(FrameFault) {
        if let index = frame.firstIndex(where: { $0 >= 0x80 }) {
            throw .eighthBitSet(position: index + 1, byte: frame[index])
        }
    }
}

extension Sequence<UInt8> {
    /// The bytes as a person reads a frame: printable ASCII as it is, a backslash doubled, CR, LF
    /// and TAB as `\r`, `\n`, `\t`, and every other byte as `\xHH` ("\x02*0   1234     0\r").
    public var escapedASCII: String {
        var text = ""
        for byte in self {
            switch byte {
            case 0x5C: text += "\\\\"
            case 0x0D: text += "\\r"
            case 0x0A: text += "\\n"
            case 0x09: text += "\\t"
            case 0x20...0x7E: text.unicodeScalars.append(Unicode.Scalar(byte))
            default: text += "\\x" + byte.hexDigits
            }
        }
        return text
    }
}
