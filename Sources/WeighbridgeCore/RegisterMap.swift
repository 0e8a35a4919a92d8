/// Which Modbus read function a register map uses.
public enum ModbusReadFunction: Int, Sendable, Hashable {
    /// 0x03, read holding registers (4xxxx in manuals).
    case holdingRegisters = 3
    /// 0x04, read input registers (3xxxx in manuals).
    case inputRegisters = 4
}

/// How a value is laid out in registers.
public enum RegisterValueType: String, Sendable, Hashable, CaseIterable {
    case int16, uint16, int32, uint32, float32

    /// How many 16-bit registers a value of this type occupies.
    public var registerCount: Int {
        switch self {
        case .int16, .uint16: 1
        case .int32, .uint32, .float32: 2
        }
    }
}

/// The byte order of a 32-bit value across two registers, naming the bytes of the big-endian
/// value `ABCD`: `ABCD` is high word first (Modbus convention), `CDAB` low word first, `BADC`
/// and `DCBA` the byte-swapped variants some devices use.
public enum WordOrder: String, Sendable, Hashable, CaseIterable {
    case abcd = "ABCD"
    case cdab = "CDAB"
    case badc = "BADC"
    case dcba = "DCBA"
}

/// How a weight's sign is carried.
public enum SignConvention: Sendable, Hashable {
    /// The value is a signed type (or unsigned and never negative).
    case twosComplement
    /// The value is a magnitude; this status bit set means negative.
    case statusBit(mask: UInt32)
}

/// Where a weight's decimal places come from.
public enum DecimalsSource: Sendable, Hashable {
    /// A fixed number of decimals.
    case fixed(Int)
    /// The decimals count is encoded in these status bits (shifted down to their lowest set bit).
    case statusBits(mask: UInt32)
    /// The decimals count is the value of the register at this block offset.
    case register(offset: Int)
}

/// One weight (gross, net or tare) in a register block.
public struct WeightField: Sendable, Hashable {
    /// Offset of the first register within the block.
    public var offset: Int
    public var type: RegisterValueType
    public var order: WordOrder
    public var sign: SignConvention
    public var decimals: DecimalsSource
    /// The unit the indicator counts in, before decimals.
    public var unit: MassUnit

    public init(
        offset: Int, type: RegisterValueType, order: WordOrder = .abcd, sign: SignConvention = .twosComplement,
        decimals: DecimalsSource = .fixed(0), unit: MassUnit = .kilograms
    ) {
        self.offset = offset
        self.type = type
        self.order = order
        self.sign = sign
        self.decimals = decimals
        self.unit = unit
    }

    /// The block offsets it occupies.
    public var registers: Range<Int> { offset..<offset + type.registerCount }
}

/// The status word and what its bits mean. A mask of zero means the device has no such bit.
public struct StatusField: Sendable, Hashable {
    public var offset: Int
    /// `uint16` or `uint32` (two registers, high word first unless `order` says otherwise).
    public var type: RegisterValueType
    public var order: WordOrder
    public var stableMask: UInt32 = 0
    public var motionMask: UInt32 = 0
    public var overloadMask: UInt32 = 0
    public var underloadMask: UInt32 = 0
    public var zeroMask: UInt32 = 0
    public var errorMask: UInt32 = 0
    /// Set means data is good; clear is treated as an error (Flintec's "data OK").
    public var dataOKMask: UInt32 = 0
    public var presetTareMask: UInt32 = 0

    /// A status field at `offset` with no bits assigned yet.
    public init(offset: Int, type: RegisterValueType = .uint16, order: WordOrder = .abcd) {
        self.offset = offset
        self.type = type
        self.order = order
    }

    /// The block offsets it occupies.
    public var registers: Range<Int> { offset..<offset + type.registerCount }
}

/// The indicator's consecutive legal (print/alibi/ticket) counter and how to trigger a print.
public struct LegalCounterField: Sendable, Hashable {
    public var offset: Int
    public var type: RegisterValueType
    public var order: WordOrder

    public init(offset: Int, type: RegisterValueType = .uint32, order: WordOrder = .abcd) {
        self.offset = offset
        self.type = type
        self.order = order
    }

    /// The block offsets it occupies.
    public var registers: Range<Int> { offset..<offset + type.registerCount }
}

/// A register write that makes the indicator store the weighing in its own legal memory.
public struct PrintCommand: Sendable, Hashable {
    /// Absolute wire address (0-based) of the command register.
    public var address: Int
    /// The value to write (function 06).
    public var value: UInt16

    public init(address: Int, value: UInt16) {
        self.address = address
        self.value = value
    }
}

/// How to read one consistent snapshot of an indicator: one contiguous block, and where in it each
/// value lives. Addresses are 0-based wire addresses (manual register 40001 is wire address 0).
public struct RegisterMap: Sendable, Hashable {
    public var function: ModbusReadFunction
    /// Wire address of the first register of the block.
    public var address: Int
    /// Registers in the block.
    public var count: Int
    public var gross: WeightField?
    public var net: WeightField?
    public var tare: WeightField?
    public var status: StatusField?
    public var legalCounter: LegalCounterField?
    public var printCommand: PrintCommand?

    /// `validate()` says whether the map can work.
    public init(
        function: ModbusReadFunction, address: Int, count: Int, gross: WeightField? = nil,
        net: WeightField? = nil, tare: WeightField? = nil, status: StatusField? = nil,
        legalCounter: LegalCounterField? = nil, printCommand: PrintCommand? = nil
    ) {
        self.function = function
        self.address = address
        self.count = count
        self.gross = gross
        self.net = net
        self.tare = tare
        self.status = status
        self.legalCounter = legalCounter
        self.printCommand = printCommand
    }

    /// Every field with the name the configuration uses for it, in a fixed order.
    public var namedRanges: [(name: String, registers: Range<Int>)] {
        var result: [(String, Range<Int>)] = []
        if let gross { result.append(("gross", gross.registers)) }
        if let net { result.append(("net", net.registers)) }
        if let tare { result.append(("tare", tare.registers)) }
        if let status { result.append(("status", status.registers)) }
        if let legalCounter { result.append(("legal_id", legalCounter.registers)) }
        for (name, field) in [("gross", gross), ("net", net), ("tare", tare)] {
            if case .register(let offset) = field?.decimals { result.append(("\(name).decimals", offset..<offset + 1)) }
        }
        return result
    }

    /// The problems that make this map impossible, each naming the configuration key at fault.
    /// An empty list means the map can be read.
    public func validate() -> [RegisterMapProblem] {
        var problems: [RegisterMapProblem] = []
        // Modbus application protocol §6.3/6.4: at most 125 registers in one read.
        if !(1...125).contains(count) {
            problems.append(.init(key: "count", message: "block count \(count) must be 1 to 125 registers"))
        }
        if !(0...65_535).contains(address) || address + count > 65_536 {
            problems.append(.init(key: "address", message: "block \(address)+\(count) is outside addresses 0 to 65535"))
        }
        if gross == nil && net == nil {
            problems.append(.init(key: "gross", message: "the map has neither a gross nor a net weight"))
        }
        let ranges = namedRanges
        for (name, registers) in ranges where registers.lowerBound < 0 || registers.upperBound > count {
            problems.append(
                .init(
                    key: "\(name).offset",
                    message: "\(name) occupies offsets \(registers.lowerBound)–\(registers.upperBound - 1) "
                        + "but the block has offsets 0–\(count - 1)"))
        }
        for (index, first) in ranges.enumerated() {
            for second in ranges[(index + 1)...] where first.registers.overlaps(second.registers) {
                problems.append(
                    .init(
                        key: "\(second.name).offset",
                        message: "\(second.name) overlaps \(first.name) (offsets "
                            + "\(second.registers.lowerBound)–\(second.registers.upperBound - 1) and "
                            + "\(first.registers.lowerBound)–\(first.registers.upperBound - 1))"))
            }
        }
        if let status {
            if ![.uint16, .uint32].contains(status.type) {
                problems.append(.init(key: "status.type", message: "status must be uint16 or uint32"))
            }
            if status.stableMask == 0 && status.motionMask == 0 {
                problems.append(
                    .init(
                        key: "stable_mask",
                        message: "no stable_mask or motion_mask: a weight can never be certified stable"))
            }
        } else {
            problems.append(.init(key: "status", message: "the map has no status register; stability cannot be read"))
        }
        for (name, field) in [("gross", gross), ("net", net), ("tare", tare)] {
            guard let field else { continue }
            if case .statusBit = field.sign, [.int16, .int32, .float32].contains(field.type) {
                problems.append(
                    .init(
                        key: "\(name).type", message: "\(name) has a sign bit but a signed type; use uint16 or uint32"))
            }
            if case .fixed(let places) = field.decimals, !(0...6).contains(places) {
                problems.append(.init(key: "\(name).decimals", message: "\(name) decimals \(places) must be 0 to 6"))
            }
        }
        if let legalCounter, ![.uint16, .uint32].contains(legalCounter.type) {
            problems.append(.init(key: "legal_id.type", message: "legal_id must be uint16 or uint32"))
        }
        if printCommand != nil && legalCounter == nil {
            problems.append(
                .init(
                    key: "print_address",
                    message: "a print command needs a legal_id counter to confirm the print"))
        }
        return problems
    }
}

/// One reason a register map cannot work, naming the key (relative to `[bridge.registers]`).
public struct RegisterMapProblem: Sendable, Hashable, CustomStringConvertible {
    public var key: String
    public var message: String
    public var description: String { message }
}
