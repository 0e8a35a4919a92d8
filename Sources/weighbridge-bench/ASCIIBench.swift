import Foundation
import WeighbridgeASCII
import WeighbridgeCore
import WeighbridgeTesting

/// The frame both sides of `scripts/bench ascii` read: Toledo continuous with its checksum,
/// 18 bytes, 23 140 kg gross, stable.
let benchFrame = toledoContinuousFrame(
    IndicatorReading(gross: Mass(23_140, .kilograms), net: nil, tare: .zero, status: .stable, legalCounter: nil),
    division: Mass(20, .kilograms), checksum: true)

/// Opens `device` as the daemon does, says "ready", then reads and parses frames as the
/// acquisition loop does (the stream's reads, the bridge's reader with its unit and division
/// checks) until `count` frames have been read, timed from the first byte.
func benchASCII(device: String, count: Int) async {
    let stream = IndicatorStream(
        line: .serial(
            SerialLine(
                settings: SerialSettings(device: device, baud: 115_200, parity: .none, dataBits: 8, stopBits: 1),
                dtr: .on, rts: .on, flowControl: .none)))
    do {
        try await stream.open()
    } catch {
        fail("\(error)")
    }
    FileHandle.standardOutput.write(Data("ready\n".utf8))
    var reader = ASCIIFrameReader(
        format: .toledoContinuous(checksum: true), unit: .kilograms, division: Mass(20, .kilograms))
    var frames = 0
    var cpuBefore = 0.0
    var start: ContinuousClock.Instant?
    while frames < count {
        let bytes: [UInt8]
        do {
            bytes = try await stream.read(until: .now + .seconds(10))
        } catch {
            fail("\(error)")
        }
        guard !bytes.isEmpty else { fail("no bytes for 10 s after \(frames) frames") }
        if start == nil {
            start = .now
            cpuBefore = cpuSeconds()
        }
        for scan in reader.receive(bytes) {
            guard case .frame = scan else { fail("not a frame: \(scan)") }
            frames += 1
        }
    }
    let elapsed = ContinuousClock.now - (start ?? .now)
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let result =
        "rate=\(String(format: "%.1f", Double(count) / seconds)) "
        + "cpu_ms_per_1000=\(String(format: "%.1f", (cpuSeconds() - cpuBefore) * 1e6 / Double(count)))\n"
    FileHandle.standardOutput.write(Data(result.utf8))
}

/// Writes `count` copies of `benchFrame` to `device` as fast as it takes them.
func feedASCII(device: String, count: Int) {
    let descriptor = open(device, O_WRONLY | O_NOCTTY)
    guard descriptor >= 0 else { fail("open \(device): \(String(cString: strerror(errno)))") }
    var options = termios()
    tcgetattr(descriptor, &options)
    cfmakeraw(&options)
    tcsetattr(descriptor, TCSANOW, &options)
    let batch = Array([[UInt8]](repeating: benchFrame, count: 256).joined())
    var left = count
    while left > 0 {
        let frames = min(left, 256)
        let bytes = batch.prefix(frames * benchFrame.count)
        var sent = 0
        while sent < bytes.count {
            let written = bytes.dropFirst(sent).withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard written > 0 else { fail("write \(device): \(String(cString: strerror(errno)))") }
            sent += written
        }
        left -= frames
    }
    close(descriptor)
}
