public import WeighbridgeCore

// Generic frame descriptions of formats whose own readers and simulators exist: the generic
// reader is tested against what those readers read, and against the simulator's bytes.

/// SMA's reply (ZM400 Service Manual, AWT35-501334, §7.1.2) as a generic description would give it.
public let smaDescribed = GenericFrameFormat(
    request: [0x0A, 0x57, 0x0D], start: [0x0A], end: [0x0D], length: 20,
    weight: .init(offset: 6, length: 10), impliedDecimals: nil, unit: .init(offset: 16, length: 3),
    stable: nil, motion: .init(offset: 4, test: .equals([0x4D])), overload: .init(offset: 1, test: .equals([0x4F])),
    underload: .init(offset: 1, test: .equals([0x55])), zero: .init(offset: 1, test: .equals([0x5A])),
    net: .init(offset: 3, test: .equals([0x4E])))

/// Toledo continuous (WILDCAT manual E15609900A, tables 6-8 to 6-11) in whole units: its status
/// bits as masks, the unit the bridge's own.
public let toledoDescribed = GenericFrameFormat(
    request: nil, start: [0x02], end: [0x0D], length: 17, weight: .init(offset: 4, length: 6), impliedDecimals: 0,
    unit: nil, negative: .init(offset: 2, test: .mask(0x02)), stable: nil, motion: .init(offset: 2, test: .mask(0x08)),
    overload: .init(offset: 2, test: .mask(0x04)), net: .init(offset: 2, test: .mask(0x01)))

/// Frames that follow one another with no start marker, each ending CR LF (Dini's standard string).
public let lineDescribed = GenericFrameFormat(
    request: Array("READ\r\n".utf8), start: [], end: [0x0D, 0x0A], length: nil, weight: .init(offset: 6, length: 8),
    impliedDecimals: nil, unit: .init(offset: 15, length: 2), stable: .init(offset: 0, test: .equals(Array("ST".utf8))),
    motion: nil)
