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
        let isSerial = table.peekString("transport") == "rtu"
        let transport = readTransport(&table)
        let unit = table.has("unit") ? table.integer("unit", in: 0...255) : 1
        if isSerial, let unit, !(1...247).contains(unit) {
            table.report("unit", "\(unit) is not a serial unit id; Modbus RTU unit ids are 1 to 247")
        }
        let preset = table.has("profile") ? table.choice("profile", as: IndicatorPreset.self) : .generic
        let poll = table.has("poll_ms") ? table.integer("poll_ms", in: 20...60_000) : 200
        let settle = table.has("settle_ms") ? table.integer("settle_ms", in: 0...60_000) : 2_000
        let responseTimeout =
            table.has("response_timeout_ms")
            ? table.integer("response_timeout_ms", in: 10...60_000) : (isSerial ? 500 : 1_000)
        let byteTimeout = table.has("byte_timeout_ms") ? table.integer("byte_timeout_ms", in: 1...10_000) : nil
        let gap = table.has("gap_ms") ? table.integer("gap_ms", in: 0...10_000) : 10

        let division = readDivision(&table)
        let maximum = table.has("max_kg") ? table.mass("max_kg", unit: .kilograms) : nil
        if !table.has("max_kg") { table.report("max_kg", "is required (the bridge's maximum capacity, Max)") }
        if let division, let maximum {
            if maximum <= division || !maximum.isMultiple(of: division) {
                table.report("max_kg", "\(maximum) must be a whole multiple of the division \(division), above it")
            }
        }

        var registers: RegisterMap?
        if let preset, var registerTable = table.table("registers") {
            registers = RegisterSchema(preset: preset).read(&registerTable)
            registerTable.rejectUnknownKeys()
        }

        guard let name, let transport, let unit, let preset, let poll, let settle, let responseTimeout, let gap,
            let division, let maximum, let registers, table.has("byte_timeout_ms") == (byteTimeout != nil)
        else { return nil }
        return BridgeConfiguration(
            name: name, transport: transport, unit: unit, preset: preset, registers: registers, pollMilliseconds: poll,
            division: division, maximum: maximum, settleMilliseconds: settle,
            responseTimeoutMilliseconds: responseTimeout, byteTimeoutMilliseconds: byteTimeout, gapMilliseconds: gap)
    }

    private func readTransport(_ table: inout TableReader) -> Transport? {
        guard table.has("transport") else {
            table.report("transport", "is required: \"tcp\" or \"rtu\"")
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
            let device = table.requiredString("device", why: "the serial device for transport = \"rtu\"")
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
            let parity = table.has("parity") ? table.choice("parity", as: Parity.self) : .even
            var dataBits = table.has("data_bits") ? table.integer("data_bits", in: 7...8) : 8
            let stopBits = table.has("stop_bits") ? table.integer("stop_bits", in: 1...2) : 1
            // Modbus RTU frames are 8 data bits (Modbus over serial line §2.5.1); 7 is ASCII mode.
            if dataBits == 7 {
                table.report(
                    "data_bits", "Modbus RTU needs 8 data bits; 7 is Modbus ASCII, which libmodbus does not speak")
                dataBits = nil
            }
            guard let device, device.hasPrefix("/"), let baud, let parity, let dataBits, let stopBits else {
                return nil
            }
            return .rtu(
                SerialSettings(device: device, baud: baud, parity: parity, dataBits: dataBits, stopBits: stopBits))
        case let other?:
            table.report("transport", "\"\(other)\" is not one of \"tcp\", \"rtu\"")
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
