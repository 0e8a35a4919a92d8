import WeighbridgeCore

extension Configuration {
    /// The effective configuration as TOML, every default filled in. Secrets are never in the
    /// configuration, only where to find them, so nothing here can leak one.
    public func rendered() -> String {
        var lines: [String] = []
        func section(_ name: String, _ entries: [(String, String?)]) {
            lines.append("[\(name)]")
            for (key, value) in entries {
                if let value { lines.append("\(key) = \(value)") }
            }
            lines.append("")
        }
        section(
            "site",
            [
                ("id", site.id.map(quoted)), ("name", site.name.map(quoted)),
                ("permit", site.permit.map(quoted)), ("jurisdiction", quoted(site.jurisdiction.rawValue)),
                ("address", site.address.map(quoted)), ("postcode", site.postcode.map(quoted)),
            ])
        section("store", [("path", quoted(store.path))])
        section("control", [("socket", quoted(control.socket)), ("group", quoted(control.group))])
        section(
            "policy",
            [
                ("tolerance_percent", policy.tolerance.description),
                (
                    "high_risk_ewc",
                    "[" + policy.highRisk.codes.sorted().map { quoted($0.spaced) }.joined(separator: ", ") + "]"
                ),
                ("prenotification_threshold_kg", policy.highRisk.threshold.formatted(in: .kilograms)),
                ("prenotification_hours", String(policy.highRisk.noticeSeconds / 3_600)),
                ("min_weight_divisions", String(policy.minimumWeightDivisions)),
                ("auto_confirm", String(policy.autoConfirm)),
                ("arrival_expiry_minutes", String(policy.arrivalExpiry.components.seconds / 60)),
            ])
        section(
            "api",
            [
                ("profile", quoted(api.profile.rawValue)), ("environment", quoted(api.environment.rawValue)),
                ("base_url", quoted(api.baseURL)),
                secretEntry(api.token, credential: "token_credential", file: "token_file"),
                ("ca_file", api.caFile.map(quoted)), ("timeout_seconds", String(api.timeoutSeconds)),
                ("max_in_flight", String(api.maxInFlight)), ("backoff_base_ms", String(api.backoffBaseMilliseconds)),
                ("backoff_cap_ms", String(api.backoffCapMilliseconds)),
            ])
        if let oauth = api.oauth {
            section(
                "api.oauth",
                [
                    ("token_url", quoted(oauth.tokenURL)), ("client_id", quoted(oauth.clientID)),
                    secretEntry(oauth.clientSecret, credential: "client_secret_credential", file: "client_secret_file"),
                    ("api_code", quoted(oauth.apiCode)),
                ])
        }
        for bridge in bridges {
            lines.append("[[bridge]]")
            var entries: [(String, String?)] = [("name", quoted(bridge.name))]
            let common: [(String, String?)] = [
                ("poll_ms", String(bridge.pollMilliseconds)),
                ("division_kg", bridge.division.formatted(in: .kilograms)),
                ("max_kg", bridge.maximum.formatted(in: .kilograms)), ("settle_ms", String(bridge.settleMilliseconds)),
            ]
            let responseTimeout: (String, String?) = ("response_timeout_ms", String(bridge.responseTimeoutMilliseconds))
            switch bridge.indicator {
            case .modbus(let modbus):
                switch modbus.transport {
                case .tcp(let host, let port):
                    entries += [("transport", quoted("tcp")), ("host", quoted(host)), ("port", String(port))]
                case .rtu(let serial):
                    entries += [("transport", quoted("rtu"))] + serialEntries(serial)
                }
                entries +=
                    [("unit", String(modbus.unit)), ("profile", quoted(modbus.preset.rawValue))] + common
                    + [responseTimeout]
                entries += [
                    ("byte_timeout_ms", modbus.byteTimeoutMilliseconds.map { String($0) }),
                    ("gap_ms", String(modbus.gapMilliseconds)),
                ]
                for (key, value) in entries { if let value { lines.append("\(key) = \(value)") } }
                lines.append("")
                lines.append("[bridge.registers]")
                lines += registerLines(modbus.registers)
            case .ascii(let ascii):
                entries.append(("transport", quoted("ascii")))
                switch ascii.format {
                case .sma: entries.append(("format", quoted("sma")))
                case .dini: entries.append(("format", quoted("dini")))
                case .generic: entries.append(("format", quoted("generic")))
                case .toledoContinuous(let checksum):
                    entries += [("format", quoted("toledo-continuous")), ("checksum", String(checksum))]
                }
                switch ascii.line {
                case .serial(let line):
                    entries +=
                        serialEntries(line.settings) + [
                            ("dtr", quoted(line.dtr.rawValue)), ("rts", line.rts.map { quoted($0.rawValue) }),
                            ("flow_control", quoted(line.flowControl.rawValue)),
                        ]
                case .tcp(let host, let port):
                    entries += [("host", quoted(host)), ("port", String(port))]
                }
                // A listened indicator's silence is timed by stale_ms, an asked one's by the response timeout.
                let silence: (String, String?) =
                    ascii.format.request == nil ? ("stale_ms", String(ascii.staleMilliseconds)) : responseTimeout
                entries += [("weight_unit", quoted(ascii.weightUnit.rawValue)), silence] + common
                for (key, value) in entries { if let value { lines.append("\(key) = \(value)") } }
                if case .generic(let frame) = ascii.format {
                    lines += ["", "[bridge.frame]"] + frameLines(frame)
                }
            }
            lines.append("")
        }
        var metricsEntries: [(String, String?)] = [
            ("listen", metrics.listen.map(quoted)),
            ("textfile", metrics.textfile.map(quoted)),
        ]
        if metrics.listen == nil && metrics.textfile == nil { metricsEntries = [] }
        section("metrics", metricsEntries)
        section("log", [("level", quoted(log.level.name))])
        return lines.joined(separator: "\n")
    }

    private func secretEntry(_ source: SecretSource, credential: String, file: String) -> (String, String?) {
        switch source {
        case .credential(let name): (credential, quoted(name))
        case .file(let path): (file, quoted(path))
        }
    }

    private func registerLines(_ map: RegisterMap) -> [String] {
        var lines = ["function = \(map.function.rawValue)", "address = \(map.address)", "count = \(map.count)"]
        for (name, field) in [("gross", map.gross), ("net", map.net), ("tare", map.tare)] {
            guard let field else { continue }
            var parts = [
                "offset = \(field.offset)", "type = \(quoted(field.type.rawValue))",
                "order = \(quoted(field.order.rawValue))", "unit = \(quoted(field.unit.rawValue))",
            ]
            switch field.decimals {
            case .fixed(let places): parts.append("decimals = \(places)")
            case .statusBits(let mask): parts.append("decimals_mask = \(hex(mask))")
            case .register(let offset): parts.append("decimals_offset = \(offset)")
            }
            if case .statusBit(let mask) = field.sign { parts.append("sign_mask = \(hex(mask))") }
            lines.append("\(name) = { \(parts.joined(separator: ", ")) }")
        }
        if let status = map.status {
            lines.append(
                "status = { offset = \(status.offset), type = \(quoted(status.type.rawValue)), "
                    + "order = \(quoted(status.order.rawValue)) }")
            let masks: [(String, UInt32)] = [
                ("stable_mask", status.stableMask), ("motion_mask", status.motionMask),
                ("overload_mask", status.overloadMask), ("underload_mask", status.underloadMask),
                ("zero_mask", status.zeroMask), ("error_mask", status.errorMask), ("data_ok_mask", status.dataOKMask),
                ("preset_tare_mask", status.presetTareMask),
            ]
            for (key, mask) in masks where mask != 0 { lines.append("\(key) = \(hex(mask))") }
        }
        if let counter = map.legalCounter {
            lines.append(
                "legal_id = { offset = \(counter.offset), type = \(quoted(counter.type.rawValue)), "
                    + "order = \(quoted(counter.order.rawValue)) }")
        }
        if let print = map.printCommand {
            lines.append("print_address = \(print.address)")
            lines.append("print_value = \(print.value)")
        }
        return lines
    }
}

/// A TOML basic string (the JSON escaping is valid TOML).
private func quoted(_ text: String) -> String { text.quotedForJSON }

private func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16, uppercase: true) }

extension Severity {
    /// The `log.level` name.
    var name: String {
        switch self {
        case .error: "error"
        case .warning: "warning"
        case .notice: "notice"
        case .info: "info"
        case .debug: "debug"
        }
    }
}

/// A serial line's keys, as `[[bridge]]` takes them.
private func serialEntries(_ serial: SerialSettings) -> [(String, String?)] {
    [
        ("device", quoted(serial.device)), ("baud", String(serial.baud)), ("parity", quoted(serial.parity.rawValue)),
        ("data_bits", String(serial.dataBits)), ("stop_bits", String(serial.stopBits)),
    ]
}

/// A generic frame's description, as `[bridge.frame]` takes it.
private func frameLines(_ frame: GenericFrameFormat) -> [String] {
    func text(_ bytes: [UInt8]) -> String { quoted(String(decoding: bytes, as: UTF8.self)) }
    func field(_ field: GenericFrameFormat.Field) -> String { "{ offset = \(field.offset), length = \(field.length) }" }
    func indication(_ indication: GenericFrameFormat.Indication) -> String {
        switch indication.test {
        case .equals(let value): "{ offset = \(indication.offset), value = \(text(value)) }"
        case .mask(let mask): "{ offset = \(indication.offset), mask = \(mask) }"
        }
    }
    let entries: [(String, String?)] = [
        ("request", frame.request.map(text)), ("start", frame.start.isEmpty ? nil : text(frame.start)),
        ("end", text(frame.end)), ("length", frame.length.map { String($0) }), ("weight", field(frame.weight)),
        ("decimals", frame.impliedDecimals.map { String($0) }), ("unit", frame.unit.map(field)),
        ("negative", frame.negative.map(indication)), ("stable", frame.stable.map(indication)),
        ("motion", frame.motion.map(indication)), ("overload", frame.overload.map(indication)),
        ("underload", frame.underload.map(indication)), ("zero", frame.zero.map(indication)),
        ("net", frame.net.map(indication)),
    ]
    return entries.compactMap { key, value in value.map { "\(key) = \($0)" } }
}
