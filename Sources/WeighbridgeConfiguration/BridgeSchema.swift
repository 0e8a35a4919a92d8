import WeighbridgeCore

/// Reads one `[[bridge]]` and its `[bridge.registers]` (a preset's map with overrides, or a whole
/// generic map).
struct BridgeSchema {
    /// Baud rates a serial line can be set to (docs/indicators.md, "Transports": 1200–115200).
    static let baudRates: Set<Int> = [1_200, 2_400, 4_800, 9_600, 19_200, 38_400, 57_600, 115_200]

    func read(_ table: inout TableReader) -> BridgeConfiguration? {
        let name = table.requiredString("name")
        if let name, !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) {
            table.report(
                "name", "\"\(name)\" may use only letters, digits, \"-\" and \"_\" (it appears in logs and commands)")
        }
        let transportName = table.peekString("transport")
        let isASCII = transportName == "ascii"
        let poll = table.has("poll_ms") ? table.integer("poll_ms", in: 20...60_000) : 200
        let settle = table.has("settle_ms") ? table.integer("settle_ms", in: 0...60_000) : 2_000
        let responseTimeout =
            table.has("response_timeout_ms")
            ? table.integer("response_timeout_ms", in: 10...60_000) : (transportName == "rtu" ? 500 : 1_000)

        let division = readDivision(&table)
        let maximum = table.has("max_kg") ? table.mass("max_kg", unit: .kilograms) : nil
        if !table.has("max_kg") { table.report("max_kg", "is required (the bridge's maximum capacity, Max)") }
        if let division, let maximum {
            if maximum <= division || !maximum.isMultiple(of: division) {
                table.report("max_kg", "\(maximum) must be a whole multiple of the division \(division), above it")
            }
        }
        let indicator: BridgeIndicator? =
            isASCII ? readASCII(&table, poll: poll).map { .ascii($0) } : readModbus(&table).map { .modbus($0) }

        guard let name, let indicator, let poll, let settle, let responseTimeout, let division, let maximum else {
            return nil
        }
        return BridgeConfiguration(
            name: name, indicator: indicator, pollMilliseconds: poll, division: division, maximum: maximum,
            settleMilliseconds: settle, responseTimeoutMilliseconds: responseTimeout)
    }

    /// The Modbus keys: `transport = "tcp"` or `"rtu"`, the unit id, the register map and the bus timing.
    private func readModbus(_ table: inout TableReader) -> ModbusIndicator? {
        for key in ["format", "checksum", "weight_unit", "stale_ms", "dtr", "rts", "flow_control"] where table.has(key)
        {
            table.report(key, "is an ASCII indicator's setting; this bridge speaks Modbus")
        }
        let isSerial = table.peekString("transport") == "rtu"
        let transport = readTransport(&table)
        let unit = table.has("unit") ? table.integer("unit", in: 0...255) : 1
        if isSerial, let unit, !(1...247).contains(unit) {
            table.report("unit", "\(unit) is not a serial unit id; Modbus RTU unit ids are 1 to 247")
        }
        let preset = table.has("profile") ? table.choice("profile", as: IndicatorPreset.self) : .generic
        let byteTimeout = table.has("byte_timeout_ms") ? table.integer("byte_timeout_ms", in: 1...10_000) : nil
        let gap = table.has("gap_ms") ? table.integer("gap_ms", in: 0...10_000) : 10
        var registers: RegisterMap?
        if let preset, var registerTable = table.table("registers") {
            registers = RegisterSchema(preset: preset).read(&registerTable)
            registerTable.rejectUnknownKeys()
        }
        guard let transport, let unit, let preset, let registers, let gap,
            table.has("byte_timeout_ms") == (byteTimeout != nil)
        else { return nil }
        return ModbusIndicator(
            transport: transport, unit: unit, preset: preset, registers: registers,
            byteTimeoutMilliseconds: byteTimeout, gapMilliseconds: gap)
    }

    /// The ASCII keys: the format, the unit the indicator weighs in, the stale time, and a serial
    /// line (`device`, its character format, DTR, RTS and flow control, every one explicit) or a
    /// serial device server (`host`, `port`).
    private func readASCII(_ table: inout TableReader, poll: Int?) -> ASCIIIndicator? {
        _ = table.string("transport")
        for key in ["unit", "profile", "byte_timeout_ms", "gap_ms", "registers"] where table.has(key) {
            table.report(key, "is a Modbus setting; this bridge uses transport = \"ascii\"")
        }
        if table.peekString("format") != "generic", table.has("frame") {
            table.report("frame", "describes a generic format; this bridge's format has its own")
        }
        let format: ASCIIFormat?
        let formats = "\"sma\", \"toledo-continuous\", \"dini\" or \"generic\""
        switch table.requiredString("format", why: "the indicator's protocol: \(formats)") {
        case let polled? where polled == "sma" || polled == "dini":
            format = polled == "sma" ? .sma : .dini
            if table.has("checksum") { table.report("checksum", "only toledo-continuous frames carry a checksum") }
        case "toledo-continuous":
            format = table.has("checksum") ? table.boolean("checksum").map { .toledoContinuous(checksum: $0) } : nil
            if !table.has("checksum") {
                table.report(
                    "checksum",
                    "is required with format = \"toledo-continuous\": true when the terminal sends the checksum byte "
                        + "after CR, false when it does not")
            }
        case "generic":
            if table.has("checksum") { table.report("checksum", "only toledo-continuous frames carry a checksum") }
            if table.has("frame"), var frameTable = table.table("frame") {
                format = FrameSchema().read(&frameTable).map { .generic($0) }
                frameTable.rejectUnknownKeys()
            } else {
                table.report("frame", "is required with format = \"generic\": the [bridge.frame] that describes it")
                format = nil
            }
        case let other?:
            table.report("format", "\"\(other)\" is not one of \(formats)")
            format = nil
        case nil:
            format = nil
        }
        let weightUnit = table.has("weight_unit") ? table.choice("weight_unit", as: MassUnit.self) : .kilograms
        // Silence is measured against the stale time when the indicator talks unasked, against
        // response_timeout_ms when it is asked: each key only where it is used.
        let listened = format.map { $0.request == nil }
        if listened == false, table.has("stale_ms") {
            table.report(
                "stale_ms", "applies to an indicator that sends unasked; this one is asked: response_timeout_ms")
        }
        if listened == true, table.has("response_timeout_ms") {
            table.report(
                "response_timeout_ms", "applies to an indicator that is asked; this one sends unasked: stale_ms")
        }
        var stale = table.has("stale_ms") ? table.integer("stale_ms", in: 100...600_000) : 2_000
        if let limit = stale, let poll, limit <= 2 * poll {
            table.report("stale_ms", "\(limit) must be more than two poll intervals (poll_ms = \(poll))")
            stale = nil
        }
        let line: ASCIILine?
        if table.has("device") {
            for key in ["host", "port"] where table.has(key) {
                table.report(key, "is a device server's setting; this bridge is on a serial line (device)")
            }
            line = readSerialLine(&table).map { .serial($0) }
        } else if table.has("host") {
            for key in ["baud", "parity", "data_bits", "stop_bits", "dtr", "rts", "flow_control"] where table.has(key) {
                table.report(key, "is a serial line's setting; set it on the device server (this bridge uses host)")
            }
            let host = table.requiredString("host")
            let port =
                table.has("port")
                ? table.integer("port", in: 1...65_535)
                : {
                    table.report("port", "is required: the device server's TCP port for this line"); return nil
                }()
            line = host.flatMap { host in port.map { .tcp(host: host, port: $0) } }
        } else {
            table.report("device", "is required (a serial line) unless host and port name a serial device server")
            line = nil
        }
        guard let format, let weightUnit, let stale, let line else { return nil }
        return ASCIIIndicator(line: line, format: format, weightUnit: weightUnit, staleMilliseconds: stale)
    }

    /// A serial line's character format and control lines. DTR, RTS and flow control have no
    /// default: opening a port raises DTR, and an indicator that resets on it must be known.
    private func readSerialLine(_ table: inout TableReader) -> SerialLine? {
        let settings = readSerialSettings(&table, defaultParity: .none)
        let why = "(on or off): opening a port raises DTR and RTS, and some indicators reset on it"
        let dtr = table.has("dtr") ? table.choice("dtr", as: ControlLineLevel.self) : nil
        if !table.has("dtr") { table.report("dtr", "is required \(why)") }
        let flow = table.has("flow_control") ? table.choice("flow_control", as: FlowControl.self) : nil
        if !table.has("flow_control") {
            table.report("flow_control", "is required: \"none\", \"rts-cts\" or \"xon-xoff\", as the indicator is set")
        }
        // Under RTS/CTS flow control the line itself drives RTS.
        let rts: ControlLineLevel??
        if flow == .rtsCts {
            if table.has("rts") { table.report("rts", "is driven by flow_control = \"rts-cts\": leave it out") }
            rts = table.has("rts") ? nil : .some(nil)
        } else {
            rts = table.has("rts") ? table.choice("rts", as: ControlLineLevel.self).map { .some($0) } : nil
            if !table.has("rts") { table.report("rts", "is required \(why)") }
        }
        guard let settings, let dtr, let rts, let flow else { return nil }
        return SerialLine(settings: settings, dtr: dtr, rts: rts, flowControl: flow)
    }

    /// `device`, `baud`, `parity`, `data_bits` and `stop_bits`.
    private func readSerialSettings(_ table: inout TableReader, defaultParity: Parity) -> SerialSettings? {
        let device = table.requiredString("device", why: "the serial device")
        if let device, !device.hasPrefix("/") {
            table.report("device", "must be an absolute path such as /dev/ttyUSB0")
        }
        var baud = table.has("baud") ? table.integer("baud", in: 1_200...115_200) : 9_600
        if let rate = baud, !Self.baudRates.contains(rate) {
            table.report(
                "baud",
                "\(rate) is not a standard rate (\(Self.baudRates.sorted().map(String.init).joined(separator: ", ")))"
            )
            baud = nil
        }
        let parity = table.has("parity") ? table.choice("parity", as: Parity.self) : defaultParity
        let dataBits = table.has("data_bits") ? table.integer("data_bits", in: 7...8) : 8
        let stopBits = table.has("stop_bits") ? table.integer("stop_bits", in: 1...2) : 1
        guard let device, device.hasPrefix("/"), let baud, let parity, let dataBits, let stopBits else { return nil }
        return SerialSettings(device: device, baud: baud, parity: parity, dataBits: dataBits, stopBits: stopBits)
    }

    private func readTransport(_ table: inout TableReader) -> Transport? {
        guard table.has("transport") else {
            table.report("transport", "is required: \"tcp\" or \"rtu\" (Modbus), or \"ascii\"")
            return nil
        }
        switch table.string("transport") {
        case "tcp":
            for key in ["device", "baud", "parity", "data_bits", "stop_bits"] where table.has(key) {
                table.report(key, "is a serial setting; this bridge uses transport = \"tcp\"")
            }
            let host = table.requiredString("host", why: "the indicator's address for transport = \"tcp\"")
            let port = table.has("port") ? table.integer("port", in: 1...65_535) : 502
            guard let host, let port else { return nil }
            return .tcp(host: host, port: port)
        case "rtu":
            for key in ["host", "port"] where table.has(key) {
                table.report(key, "is a TCP setting; this bridge uses transport = \"rtu\"")
            }
            guard let settings = readSerialSettings(&table, defaultParity: .even) else { return nil }
            // Modbus RTU frames are 8 data bits (Modbus over serial line §2.5.1); 7 is ASCII mode.
            guard settings.dataBits == 8 else {
                table.report(
                    "data_bits", "Modbus RTU needs 8 data bits; 7 is Modbus ASCII, which libmodbus does not speak")
                return nil
            }
            return .rtu(settings)
        case let other?:
            table.report("transport", "\"\(other)\" is not one of \"tcp\", \"rtu\", \"ascii\"")
            return nil
        case nil:
            return nil
        }
    }

    private func readDivision(_ table: inout TableReader) -> Mass? {
        let inKilograms = table.has("division_kg")
        let inGrams = table.has("division_g")
        guard inKilograms != inGrams else {
            table.report(
                inKilograms ? "division_g" : "division_kg",
                inKilograms
                    ? "set division_kg or division_g, not both"
                    : "is required (the verification interval e, e.g. division_kg = 20)")
            return nil
        }
        guard
            let division = inKilograms
                ? table.mass("division_kg", unit: .kilograms)
                : table.mass("division_g", unit: .grams)
        else { return nil }
        guard division.grams > 0 else {
            table.report(inKilograms ? "division_kg" : "division_g", "must be more than zero")
            return nil
        }
        return division
    }
}

/// Reads `[bridge.registers]` over a preset.
struct RegisterSchema {
    let preset: IndicatorPreset

    func read(_ table: inout TableReader) -> RegisterMap? {
        var map = preset.registerMap ?? RegisterMap(function: .holdingRegisters, address: -1, count: 0)
        var valid = true
        if table.has("function") {
            switch table.integer("function", in: 3...4) {
            case 3?: map.function = .holdingRegisters
            case 4?: map.function = .inputRegisters
            default: valid = false
            }
        }
        if table.has("address") {
            if let address = table.integer("address", in: 0...65_535) { map.address = address } else { valid = false }
        } else if preset == .generic {
            table.report("address", "is required with profile = \"generic\" (the block's first wire address)")
            valid = false
        }
        if table.has("count") {
            if let count = table.integer("count", in: 1...125) { map.count = count } else { valid = false }
        } else if preset == .generic {
            table.report("count", "is required with profile = \"generic\" (registers in the block)")
            valid = false
        }
        for name in ["gross", "net", "tare"] where table.has(name) {
            let existing = name == "gross" ? map.gross : name == "net" ? map.net : map.tare
            guard let field = readWeightField(&table, name, over: existing) else {
                valid = false
                continue
            }
            switch name {
            case "gross": map.gross = field
            case "net": map.net = field
            default: map.tare = field
            }
        }
        if table.has("status") {
            if var inner = table.table("status") {
                var status = map.status ?? StatusField(offset: 0)
                if inner.has("offset"), let offset = inner.integer("offset", in: 0...124) {
                    status.offset = offset
                } else if !inner.has("offset") && map.status == nil {
                    inner.report("offset", "is required"); valid = false
                }
                if inner.has("type"), let type = inner.choice("type", as: RegisterValueType.self) { status.type = type }
                if inner.has("order"), let order = inner.choice("order", as: WordOrder.self) { status.order = order }
                inner.rejectUnknownKeys()
                map.status = status
            } else {
                valid = false
            }
        }
        let masks: [(String, WritableKeyPath<StatusField, UInt32>)] = [
            ("stable_mask", \.stableMask), ("motion_mask", \.motionMask), ("overload_mask", \.overloadMask),
            ("underload_mask", \.underloadMask), ("zero_mask", \.zeroMask), ("error_mask", \.errorMask),
            ("data_ok_mask", \.dataOKMask), ("preset_tare_mask", \.presetTareMask),
        ]
        for (key, path) in masks where table.has(key) {
            guard let mask = table.integer(key, in: 0...Int(UInt32.max)) else {
                valid = false
                continue
            }
            guard map.status != nil else {
                table.report(key, "needs a status field to apply to")
                valid = false
                continue
            }
            map.status![keyPath: path] = UInt32(mask)
        }
        if table.has("legal_id") {
            if var inner = table.table("legal_id") {
                var counter = map.legalCounter ?? LegalCounterField(offset: 0)
                if let offset = inner.integer("offset", in: 0...124) {
                    counter.offset = offset
                } else {
                    inner.report("offset", "is required"); valid = false
                }
                if inner.has("type"), let type = inner.choice("type", as: RegisterValueType.self) {
                    counter.type = type
                }
                if inner.has("order"), let order = inner.choice("order", as: WordOrder.self) { counter.order = order }
                inner.rejectUnknownKeys()
                map.legalCounter = counter
            } else {
                valid = false
            }
        }
        if table.has("print_address") || table.has("print_value") {
            let address = table.integer("print_address", in: 0...65_535)
            let value = table.integer("print_value", in: 0...65_535)
            if let address, let value {
                map.printCommand = PrintCommand(address: address, value: UInt16(value))
            } else {
                table.report("print_address", "print_address and print_value go together")
                valid = false
            }
        }
        guard valid else { return nil }
        let problems = map.validate()
        for problem in problems { table.report(problem.key, problem.message) }
        return problems.isEmpty ? map : nil
    }

    private func readWeightField(_ table: inout TableReader, _ name: String, over existing: WeightField?)
        -> WeightField?
    {
        guard var inner = table.table(name) else { return nil }
        defer { inner.rejectUnknownKeys() }
        var field = existing ?? WeightField(offset: 0, type: .int32)
        var valid = true
        if inner.has("offset") {
            if let offset = inner.integer("offset", in: 0...124) { field.offset = offset } else { valid = false }
        } else if existing == nil {
            inner.report("offset", "is required")
            valid = false
        }
        if inner.has("type") {
            if let type = inner.choice("type", as: RegisterValueType.self) { field.type = type } else { valid = false }
        }
        if inner.has("order") {
            if let order = inner.choice("order", as: WordOrder.self) { field.order = order } else { valid = false }
        }
        if inner.has("unit") {
            if let unit = inner.choice("unit", as: MassUnit.self) { field.unit = unit } else { valid = false }
        }
        if inner.has("sign_mask") {
            if let mask = inner.integer("sign_mask", in: 1...Int(UInt32.max)) {
                field.sign = .statusBit(mask: UInt32(mask))
            } else {
                valid = false
            }
        }
        let decimalKeys = ["decimals", "decimals_mask", "decimals_offset"].filter { inner.has($0) }
        if decimalKeys.count > 1 {
            inner.report(decimalKeys[1], "set only one of decimals, decimals_mask, decimals_offset")
            valid = false
        } else if let key = decimalKeys.first {
            switch key {
            case "decimals":
                if let places = inner.integer(key, in: 0...6) { field.decimals = .fixed(places) } else { valid = false }
            case "decimals_mask":
                if let mask = inner.integer(key, in: 1...Int(UInt32.max)) {
                    field.decimals = .statusBits(mask: UInt32(mask))
                } else {
                    valid = false
                }
            default:
                if let offset = inner.integer(key, in: 0...124) {
                    field.decimals = .register(offset: offset)
                } else {
                    valid = false
                }
            }
        }
        return valid ? field : nil
    }
}

/// Reads `[bridge.frame]`: a generic frame format's description (docs/indicators.md, "A generic
/// frame"). Byte strings are TOML strings of 7-bit ASCII, control bytes written `\u0002`, `\r`.
struct FrameSchema {
    func read(_ table: inout TableReader) -> GenericFrameFormat? {
        var valid = true
        func bytes(_ key: String) -> [UInt8]? {
            guard let text = table.string(key) else {
                valid = false
                return nil
            }
            guard text.isSevenBitASCII else {
                table.report(key, "must be 7-bit ASCII (write a control byte as \\u0002, \\r or \\n)")
                valid = false
                return nil
            }
            return Array(text.utf8)
        }
        let request = table.has("request") ? bytes("request") : nil
        let start = table.has("start") ? bytes("start") ?? [] : []
        let end = table.has("end") ? bytes("end") ?? [] : nil
        if end == nil {
            table.report("end", "is required: the bytes every frame ends with, such as \"\\r\\n\"")
            valid = false
        }
        let length = table.has("length") ? table.integer("length", in: 1...1_024) : nil
        if table.has("length"), length == nil { valid = false }
        let weight = field(&table, "weight")
        if !table.has("weight") {
            table.report("weight", "is required: { offset = …, length = … } of the weight's characters")
        }
        let decimals = table.has("decimals") ? table.integer("decimals", in: 0...6) : nil
        if table.has("decimals"), decimals == nil { valid = false }
        let unit = table.has("unit") ? field(&table, "unit") : nil
        if table.has("unit"), unit == nil { valid = false }
        var indications: [String: GenericFrameFormat.Indication] = [:]
        for name in ["negative", "stable", "motion", "overload", "underload", "zero", "net"] where table.has(name) {
            if let indication = indication(&table, name) { indications[name] = indication } else { valid = false }
        }
        guard valid, let end, let weight else { return nil }
        let format = GenericFrameFormat(
            request: request, start: start, end: end, length: length, weight: weight, impliedDecimals: decimals,
            unit: unit, negative: indications["negative"], stable: indications["stable"],
            motion: indications["motion"], overload: indications["overload"], underload: indications["underload"],
            zero: indications["zero"], net: indications["net"])
        let problems = format.problems()
        for problem in problems { table.report(problem.key, problem.message) }
        return problems.isEmpty ? format : nil
    }

    /// `{ offset = N, length = N }`.
    private func field(_ table: inout TableReader, _ key: String) -> GenericFrameFormat.Field? {
        guard table.has(key), var inner = table.table(key) else { return nil }
        defer { inner.rejectUnknownKeys() }
        let offset = inner.has("offset") ? inner.integer("offset", in: 0...1_023) : nil
        let length = inner.has("length") ? inner.integer("length", in: 1...64) : nil
        for required in ["offset", "length"] where !inner.has(required) { inner.report(required, "is required") }
        guard let offset, let length else { return nil }
        return GenericFrameFormat.Field(offset: offset, length: length)
    }

    /// `{ offset = N, value = "…" }` or `{ offset = N, mask = 0x08 }`.
    private func indication(_ table: inout TableReader, _ key: String) -> GenericFrameFormat.Indication? {
        guard var inner = table.table(key) else { return nil }
        defer { inner.rejectUnknownKeys() }
        let offset = inner.has("offset") ? inner.integer("offset", in: 0...1_023) : nil
        if !inner.has("offset") { inner.report("offset", "is required") }
        let test: GenericFrameFormat.Indication.Test?
        switch (inner.has("value"), inner.has("mask")) {
        case (true, false):
            let value = inner.string("value")
            if let value, value.isEmpty || !value.isSevenBitASCII {
                inner.report("value", "must be one or more 7-bit ASCII characters")
            }
            test = value.flatMap { $0.isEmpty || !$0.isSevenBitASCII ? nil : .equals(Array($0.utf8)) }
        case (false, true):
            test = inner.integer("mask", in: 1...255).map { .mask(UInt8($0)) }
        default:
            inner.report("value", "set one of value (the bytes) and mask (bits of one byte)")
            test = nil
        }
        guard let offset, let test else { return nil }
        return GenericFrameFormat.Indication(offset: offset, test: test)
    }
}

extension String {
    /// Whether every character is 7-bit ASCII, as the ASCII indicators' protocols are.
    fileprivate var isSevenBitASCII: Bool { unicodeScalars.allSatisfy { $0.value < 0x80 } }
}
