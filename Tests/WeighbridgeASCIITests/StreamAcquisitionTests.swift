import Foundation
import TestSupport
import Testing
import WeighbridgeASCII
import WeighbridgeCore
import WeighbridgeTesting

/// How the simulated indicator is wired to the loop in a test.
enum Wiring: String, CaseIterable, CustomStringConvertible {
    case pty, tcp
    var description: String { rawValue }
}

/// A simulator speaking `format` and the line the loop reads it through, over a pty or TCP.
private struct Rig {
    let simulator: ASCIIIndicatorSimulator
    let line: ASCIILine
    /// Kept alive while the rig is used: dropping it kills socat.
    let pty: PtyPair?

    init(_ format: SimulatedASCIIFormat, over wiring: Wiring) async throws {
        switch wiring {
        case .pty:
            let pty = try await PtyPair()
            simulator = ASCIIIndicatorSimulator(
                format: format, division: division, endpoint: .tty(device: pty.simulatorSide))
            line = .serial(
                SerialLine(
                    settings: SerialSettings(
                        device: pty.daemonSide, baud: 9_600, parity: .even, dataBits: 7, stopBits: 1),
                    dtr: .on, rts: .off, flowControl: .none))
            self.pty = pty
        case .tcp:
            simulator = ASCIIIndicatorSimulator(format: format, division: division, endpoint: .tcp(port: 0))
            line = .tcp(host: "127.0.0.1", port: 0)
            pty = nil
        }
        try simulator.start()
    }

    /// The line, with the TCP port the simulator was given.
    var boundLine: ASCIILine {
        if case .tcp(let host, _) = line { return .tcp(host: host, port: simulator.port) }
        return line
    }
}

private let division = Mass(20, .kilograms)

private func settings(_ format: SimulatedASCIIFormat, unit: MassUnit = .kilograms) -> StreamAcquisitionSettings {
    let ascii: ASCIIFormat =
        switch format {
        case .sma: .sma
        case .toledoContinuous: .toledoContinuous(checksum: false)
        case .toledoContinuousChecksum: .toledoContinuous(checksum: true)
        case .dini: .dini
        }
    return settings(reading: ascii, unit: unit)
}

/// Polled every 100 ms, or frames every 50 ms taken with gaps of up to 200 ms: a line's pace, with
/// room for a test machine busy with the suites beside this one.
private func settings(reading format: ASCIIFormat, unit: MassUnit = .kilograms) -> StreamAcquisitionSettings {
    StreamAcquisitionSettings(
        name: "ascii", format: format, unit: unit, pollMilliseconds: 100, responseTimeoutMilliseconds: 300,
        staleMilliseconds: 500, division: division, maximum: Mass(60_000, .kilograms), settleMilliseconds: 600)
}

/// Runs the loop over `line` in a child task while `body` drives the simulator.
private func withAcquisition(
    _ settings: StreamAcquisitionSettings, line: ASCIILine, _ body: (EventLog) async throws -> Void
) async throws {
    let log = EventLog()
    let acquisition = StreamAcquisition(
        bridge: settings, stream: IndicatorStream(line: line),
        wallClock: { Timestamp(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1_000)) })
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await acquisition.run { log.append($0) } }
        defer { group.cancelAll() }
        try await body(log)
    }
}

/// What went wrong, as the loop reported it: every fault and failure's description.
private func problems(_ log: EventLog) -> [String] {
    log.events.compactMap { event in
        switch event {
        case .badReading(let error), .pollFailed(let error, _): error.description
        default: nil
        }
    }
}

@Suite("ASCII indicators: SMA and Toledo continuous over a pty and TCP, read into the capture rules", .serialized)
struct StreamAcquisitionTests {
    @Test(
        "a vehicle is captured once, with its frame kept as received",
        arguments: SimulatedASCIIFormat.allCases, Wiring.allCases)
    func capturesAVehicle(format: SimulatedASCIIFormat, wiring: Wiring) async throws {
        let rig = try await Rig(format, over: wiring)
        defer { rig.simulator.stop() }
        try await withAcquisition(settings(format), line: rig.boundLine) { log in
            try await waitFor("armed at zero", in: log) { $0.readings > 5 }
            rig.simulator.deck.run(VehicleScenario(weight: Mass(32_140, .kilograms), hold: .seconds(3), seed: 3))
            try await waitFor("the vehicle has left", in: log) { _ in rig.simulator.deck.scenarioFinished }
            let after = log.readings
            try await waitFor("readings after it left", in: log) { $0.readings > after + 3 }
            #expect(log.captures.map(\.capture.sample.weight) == [Mass(32_140, .kilograms)], "\(problems(log))")
            let raw = try #require(log.captures.first?.raw)
            guard case .frame(let bytes) = raw else {
                Issue.record("an ASCII capture keeps its frame, not \(raw)")
                return
            }
            var reader = ASCIIFrameReader(format: settings(format).format, unit: .kilograms, division: division)
            let weights = reader.receive(bytes).map { scan -> Mass? in
                if case .frame(let frame) = scan { frame.reading.weight } else { nil }
            }
            #expect(weights == [Mass(32_140, .kilograms)])
            #expect(problems(log).isEmpty)
            // Dini's capture is the weighing its alibi memory stored, with the id it gave.
            let legalID = log.captures.first?.capture.legalCounter
            #expect(legalID == (format == .dini ? 1 : nil))
            #expect(rig.simulator.alibiRecords == (format == .dini ? 1 : 0))
        }
    }

    @Test(
        "a fault on the line is reported as what it is and is never a weight",
        arguments: [
            (SimulatedASCIIFormat.toledoContinuous, ASCIIFault.garbage, "bytes between frames that are no frame"),
            (.toledoContinuous, .cut, "a frame cut short"),
            (.toledoContinuousChecksum, .checksum, "checksum"),
            (.toledoContinuous, .pounds, "the terminal weighs in lb"),
            (.toledoContinuous, .silence, "no complete frame for 500 ms"),
            (.sma, .garbage, "no reply within 300 ms"),
            (.sma, .cut, "a frame cut short"),
            (.sma, .pounds, "the terminal weighs in lb"),
            (.sma, .silence, "no reply within 300 ms"),
            (.dini, .garbage, "no reply within 300 ms"),
            (.dini, .pounds, "the terminal weighs in lb"),
            (.dini, .silence, "no reply within 300 ms"),
        ])
    func faultsAreNeverWeights(format: SimulatedASCIIFormat, fault: ASCIIFault, expected: String) async throws {
        let rig = try await Rig(format, over: .tcp)
        defer { rig.simulator.stop() }
        try await withAcquisition(settings(format), line: rig.boundLine) { log in
            try await waitFor("armed at zero", in: log) { $0.readings > 5 }
            try rig.simulator.inject(fault)
            rig.simulator.deck.show(gross: Mass(18_420, .kilograms))
            try await waitFor("the fault is reported", in: log) { problems($0).contains { $0.contains(expected) } }
            // Twice the settle time with the weight standing still: a capture now would be a fault's.
            try await Task.sleep(for: .milliseconds(1_200))
            #expect(log.captures.isEmpty)
            let readingsUnderFault = log.events.filter {
                if case .reading(let reading, _, _) = $0 { reading.weight == Mass(18_420, .kilograms) } else { false }
            }
            #expect(readingsUnderFault.isEmpty, "a spoilt frame was read as \(readingsUnderFault)")
        }
    }

    @Test("Dini: a weighing the alibi memory did not store is not captured; the standing load is, once stored")
    func diniStoreRefused() async throws {
        let rig = try await Rig(.dini, over: .tcp)
        defer { rig.simulator.stop() }
        try await withAcquisition(settings(.dini), line: rig.boundLine) { log in
            try await waitFor("armed at zero", in: log) { $0.readings > 5 }
            try rig.simulator.inject(.refuseStore)
            rig.simulator.deck.show(gross: Mass(18_420, .kilograms))
            try await waitFor("the refusal is reported", in: log) {
                problems($0).contains { $0.contains("did not store the weighing in its alibi memory (it answered NO") }
            }
            #expect(log.captures.isEmpty)
            try rig.simulator.inject(.none)
            try await waitFor("the capture once stored", in: log) { $0.captures.count == 1 }
            #expect(log.captures.first?.capture.sample.weight == Mass(18_420, .kilograms))
            #expect(log.captures.first?.capture.legalCounter == 1 && rig.simulator.alibiRecords == 1)
            #expect(
                log.captures.first?.raw == .frame(Array("PIDST,1,     18420kg,           0kg,00000-000001\r\n".utf8)))
        }
    }

    @Test(
        "a generic description reads a real indicator: SMA's replies and Dini's lines polled, Toledo's frames listened",
        arguments: [
            (SimulatedASCIIFormat.sma, smaDescribed), (.dini, lineDescribed), (.toledoContinuous, toledoDescribed),
        ])
    func genericCapture(simulated: SimulatedASCIIFormat, described: GenericFrameFormat) async throws {
        let rig = try await Rig(simulated, over: .tcp)
        defer { rig.simulator.stop() }
        try await withAcquisition(settings(reading: .generic(described)), line: rig.boundLine) { log in
            try await waitFor("armed at zero", in: log) { $0.readings > 5 }
            rig.simulator.deck.run(VehicleScenario(weight: Mass(26_480, .kilograms), hold: .seconds(3), seed: 9))
            try await waitFor("the vehicle has left", in: log) { _ in rig.simulator.deck.scenarioFinished }
            let after = log.readings
            try await waitFor("readings after it left", in: log) { $0.readings > after + 3 }
            #expect(log.captures.map(\.capture.sample.weight) == [Mass(26_480, .kilograms)], "\(problems(log))")
            #expect(problems(log).isEmpty)
        }
    }

    @Test("an indicator set to another unit than the bridge is a fault naming both, never a weight")
    func wrongUnitIsAFault() async throws {
        let rig = try await Rig(.toledoContinuous, over: .tcp)
        defer { rig.simulator.stop() }
        try await withAcquisition(settings(.toledoContinuous, unit: .tonnes), line: rig.boundLine) { log in
            try await waitFor("the unit is refused", in: log) { problems($0).contains { $0.contains("sends kg") } }
            #expect(log.readings == 0)
            #expect(problems(log).contains { $0.contains("configured for t") })
        }
    }

    @Test("a serial line unplugged and plugged back: the loop reports the loss, reopens it and captures again")
    func replugOverPty() async throws {
        let pty = try await PtyPair()
        var simulator = ASCIIIndicatorSimulator(
            format: .sma, division: division, endpoint: .tty(device: pty.simulatorSide))
        try simulator.start()
        defer { simulator.stop() }
        let line = ASCIILine.serial(
            SerialLine(
                settings: SerialSettings(device: pty.daemonSide, baud: 9_600, parity: .none, dataBits: 8, stopBits: 1),
                dtr: .on, rts: .on, flowControl: .none))
        try await withAcquisition(settings(.sma), line: line) { log in
            try await waitFor("armed at zero", in: log) { $0.readings > 5 }
            simulator.stop()
            try await pty.unplug()
            try await waitFor("the loss is reported", in: log) { $0.failures > 0 }
            try await pty.start()
            simulator = ASCIIIndicatorSimulator(
                format: .sma, division: division, endpoint: .tty(device: pty.simulatorSide))
            try simulator.start()
            let connections = log.connections
            try await waitFor("heard again", in: log, timeout: .seconds(20)) { $0.connections > connections }
            let before = log.readings
            try await waitFor("armed again", in: log) { $0.readings > before + 5 }
            simulator.deck.run(VehicleScenario(weight: Mass(12_000, .kilograms), hold: .seconds(3), seed: 5))
            try await waitFor("the capture after the re-plug", in: log, timeout: .seconds(15)) {
                $0.captures.count == 1
            }
            #expect(log.captures.first?.capture.sample.weight == Mass(12_000, .kilograms))
        }
    }
}
