public import WeighbridgeCore

// The frames an ASCII indicator sends for a reading, written as the readers' sources give them
// (WeighbridgeCore's ToledoContinuous.swift and SMA.swift name the documents): what the simulator
// tells, so that the daemon's readers are tested against bytes made independently of them.

/// Mettler Toledo continuous output for `reading`, in kilograms with as many decimal places as
/// `division` needs (at most three): STX, status A, B and C, six digits of the displayed weight
/// (the net when there is one, else the gross), six of the tare, CR, and the checksum if asked.
public func toledoContinuousFrame(_ reading: IndicatorReading, division: Mass, checksum: Bool) -> [UInt8] {
    let places = decimalPlaces(division)
    // Status A: bit 5 set, bits 3–4 01 (steps of 1), bits 0–2 the point (2 whole, 3–5 one to three places).
    let a: UInt8 = 0x20 | 0x08 | UInt8(places + 2)
    let shown = reading.net ?? reading.gross ?? .zero
    var b: UInt8 = 0x20 | 0x10  // bit 5 set; bit 4 kilograms
    if reading.net != nil { b |= 0x01 }
    if shown.grams < 0 { b |= 0x02 }
    if !reading.status.isDisjoint(with: [.overload, .underload]) { b |= 0x04 }
    if !reading.status.contains(.stable) { b |= 0x08 }
    if reading.status.contains(.error) { b |= 0x40 }
    let c: UInt8 = 0x20  // kilograms or pounds, as status B says
    var frame: [UInt8] = [0x02, a, b, c]
    frame += sixDigits(abs(shown.grams), places: places) + sixDigits(abs((reading.tare ?? .zero).grams), places: places)
    frame.append(0x0D)
    if checksum {
        let sum = frame.reduce(0) { ($0 + Int($1)) & 0x7F }
        frame.append(UInt8((128 - sum) & 0x7F))
    }
    return frame
}

/// A weight as six right-aligned digits with no point (status A says where it goes).
private func sixDigits(_ grams: Int64, places: Int) -> [UInt8] {
    var scale: Int64 = 1_000
    for _ in 0..<places { scale /= 10 }
    let text = String(grams / scale)
    return Array((String(repeating: " ", count: max(0, 6 - text.count)) + text).utf8.suffix(6))
}

/// The SMA reply for `reading`, in kilograms with as many decimal places as `division` needs:
/// LF, the status, range 1, G or N, M or a space, a space, ten characters of weight, "kg ", CR.
public func smaReply(_ reading: IndicatorReading, division: Mass, unit: String = "kg ") -> [UInt8] {
    let status: Character =
        if reading.status.contains(.overload) { "O" } else if reading.status.contains(.underload) {
            "U"
        } else if reading.status.contains(.error) {
            "E"
        } else if reading.status.contains(.centreOfZero) { "Z" } else { " " }
    let weight = padded(reading.net ?? reading.gross ?? .zero, division: division, to: 10)
    let text =
        "\n\(status)1\(reading.net != nil ? "N" : "G")\(reading.status.contains(.stable) ? " " : "M") "
        + weight.suffix(10) + unit.prefix(3) + "\r"
    return Array(text.utf8)
}

/// The Dini standard string for `reading` (the answer to READ): status, GS or NT, the weight in
/// eight characters padded with spaces, the unit, CR LF.
public func diniReading(_ reading: IndicatorReading, division: Mass, unit: String = "kg") -> [UInt8] {
    let shown = reading.net ?? reading.gross ?? .zero
    return Array(
        "\(diniStatus(reading.status)),\(reading.net != nil ? "NT" : "GS"),\(padded(shown, division: division, to: 8)),\(unit)\r\n"
            .utf8)
}

/// The Dini answer to PID for `reading`: stored with `id` (`XXXXX-YYYYYY`), or `NO`.
public func diniStored(_ reading: IndicatorReading, id: String?, division: Mass, unit: String = "kg") -> [UInt8] {
    let gross = padded(reading.gross ?? .zero, division: division, to: 10)
    let tare = padded(reading.tare ?? .zero, division: division, to: 10)
    return Array("PID\(diniStatus(reading.status)),1,\(gross)\(unit),  \(tare)\(unit),\(id ?? "NO")\r\n".utf8)
}

private func diniStatus(_ status: IndicatorStatus) -> String {
    if status.contains(.overload) { return "OL" }
    if status.contains(.underload) { return "UL" }
    return status.contains(.stable) ? "ST" : "US"
}

/// A weight in kilograms with the decimal places the division needs, right-aligned in `width`.
private func padded(_ weight: Mass, division: Mass, to width: Int) -> String {
    let places = decimalPlaces(division)
    var number = weight.formatted(in: .kilograms)
    if places > 0, !number.contains(".") { number += "." + String(repeating: "0", count: places) }
    return String(repeating: " ", count: max(0, width - number.count)) + number
}

/// How many decimal places of a kilogram `division` needs (at most three).
private func decimalPlaces(_ division: Mass) -> Int {
    division.grams % 1_000 == 0 ? 0 : division.grams % 100 == 0 ? 1 : division.grams % 10 == 0 ? 2 : 3
}
