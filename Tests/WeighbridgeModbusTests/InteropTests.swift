import Foundation
import TestSupport
import Testing
import WeighbridgeConfiguration
import WeighbridgeCore
import WeighbridgeDaemon
import WeighbridgeModbus
import WeighbridgeTesting

/// A pymodbus server (scripts/interop/pymodbus_indicator.py) presenting fixed register blocks.
private final class PymodbusPeer {
    private let process = Process()
    private let output = Pipe()

    init(arguments: [String]) async throws {
        process.executableURL = try projectPython()
        process.arguments =
            [repositoryRoot.appendingPathComponent("scripts/interop/pymodbus_indicator.py").path] + arguments
        process.standardOutput = output
        process.standardError = output
        try process.run()
        // Its first line says it is serving (or why it could not start); Python takes a while to
        // start, so the wait is on a thread of its own, not the tests' concurrency pool.
        let text = try await onOwnThread { [output] in
            var line = Data()
            while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty,
                byte != Data("\n".utf8)
            {
                line += byte
            }
            return String(decoding: line, as: UTF8.self)
        }
        guard text.hasPrefix("listening") else {
            throw Timeout(what: "pymodbus started (it said: \(text))")
        }
    }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// A TCP port nobody listens on right now.
private func freePort() throws -> Int {
    let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(socket, pointer, length)
            return getsockname(socket, pointer, &length)
        }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Every preset with a map, as unit 1, 2, … of one peer, each showing a different weight.
private let presets: [(unit: Int, map: RegisterMap, reading: IndicatorReading)] = IndicatorPreset.allCases
    .compactMap(\.registerMap).enumerated().map { index, presetMap in
        var map = presetMap
        if map.status?.stableMask == 0 && map.status?.motionMask == 0 { map.status?.stableMask = 1 }
        let gross = Mass(20_000 + 1_020 * Int64(index), .kilograms)
        let reading = IndicatorReading(
            gross: gross, net: map.net == nil ? nil : gross - Mass(9_000, .kilograms),
            tare: map.tare == nil ? nil : Mass(9_000, .kilograms), status: .stable,
            legalCounter: map.legalCounter == nil ? nil : 77)
        return (index + 1, map, reading)
    }

private func deviceArguments() -> [String] {
    presets.flatMap { preset in
        [
            "--device",
            "\(preset.unit):\(preset.map.address):"
                + preset.map.encode(preset.reading).map { String($0, radix: 16) }.joined(separator: ","),
        ]
    }
}

@Suite("Interop with an independent Modbus stack (pymodbus)", .serialized)
struct InteropTests {
    @Test("every preset decodes the same from pymodbus over TCP")
    func presetsOverTCP() async throws {
        let port = try freePort()
        let peer = try await PymodbusPeer(arguments: ["--tcp-port", String(port)] + deviceArguments())
        defer { withExtendedLifetime(peer) {} }
        let link = ModbusLink(
            settings: .init(
                transport: .tcp(host: "127.0.0.1", port: port),
                responseTimeout: .seconds(2), byteTimeout: nil, gap: .zero))
        for preset in presets {
            let registers = try await link.readBlock(unit: preset.unit, map: preset.map)
            #expect(try preset.map.decode(registers, division: Mass(20, .kilograms)) == preset.reading)
        }
    }

    @Test("several indicators on one RTU line: one link, requests serialised, each unit answers its own")
    func multidropOverRTU() async throws {
        let pty = try await PtyPair()
        let peer = try await PymodbusPeer(arguments: ["--rtu", pty.simulatorSide] + deviceArguments())
        defer { withExtendedLifetime(peer) {} }
        let link = ModbusLink(
            settings: .init(
                transport: serialTransport(pty.daemonSide), responseTimeout: .seconds(2),
                byteTimeout: nil, gap: .milliseconds(5)))
        // Concurrent polls of every unit through the one link, as one acquisition loop per bridge does.
        try await withThrowingTaskGroup(of: (Int, IndicatorReading).self) { group in
            for preset in presets {
                group.addTask {
                    let registers = try await link.readBlock(unit: preset.unit, map: preset.map)
                    return (preset.unit, try preset.map.decode(registers, division: Mass(20, .kilograms)))
                }
            }
            var decoded: [Int: IndicatorReading] = [:]
            for try await (unit, reading) in group { decoded[unit] = reading }
            for preset in presets { #expect(decoded[preset.unit] == preset.reading, "unit \(preset.unit)") }
        }
    }

    @Test("two bridges' acquisition loops share one RTU line and both keep polling")
    func twoLoopsShareOneLine() async throws {
        let pty = try await PtyPair()
        let peer = try await PymodbusPeer(arguments: ["--rtu", pty.simulatorSide] + deviceArguments())
        defer { withExtendedLifetime(peer) {} }
        let link = ModbusLink(
            settings: .init(
                transport: serialTransport(pty.daemonSide), responseTimeout: .seconds(2),
                byteTimeout: nil, gap: .milliseconds(2)))
        let logs = [EventLog(), EventLog()]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, preset) in presets.prefix(2).enumerated() {
                // A poll interval shorter than a poll takes: both loops are always behind.
                let bridge = bridge(
                    "bridge\(index)", map: preset.map, transport: serialTransport(pty.daemonSide),
                    unit: preset.unit, pollMilliseconds: 1)
                let acquisition = BridgeAcquisition(
                    bridge: AcquisitionSettings(bridge: bridge, modbus: try #require(bridge.modbus)), link: link,
                    clock: ContinuousClock(), wallClock: wallClock)
                group.addTask { try await acquisition.run { logs[index].append($0) } }
            }
            defer { group.cancelAll() }
            for log in logs {
                try await waitFor("both bridges are polled", in: log) { $0.readings >= 20 }
            }
            for log in logs { #expect(log.failures == 0) }
        }
    }
}
