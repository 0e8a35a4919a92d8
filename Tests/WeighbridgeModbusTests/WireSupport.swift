import Foundation
import Synchronization
import TestSupport
import Testing
import WeighbridgeConfiguration
import WeighbridgeCore
import WeighbridgeModbus
import WeighbridgeTesting

/// A socat pty pair: two linked ttys, one for the simulator and one for the daemon, standing in
/// for an RS-485 line. Ptys ignore baud rate and parity, so any serial settings work.
final class PtyPair {
    let directory: String
    let simulatorSide: String
    let daemonSide: String
    private var process: Process?

    init() async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pty-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        simulatorSide = directory + "/indicator"
        daemonSide = directory + "/daemon"
        try await start()
    }

    /// Starts socat and waits (with a deadline) until both links exist.
    func start() async throws {
        let process = Process()
        process.executableURL = try requireTool("/usr/bin/socat", package: "socat")
        process.arguments = ["pty,raw,echo=0,link=\(simulatorSide)", "pty,raw,echo=0,link=\(daemonSide)"]
        try process.run()
        self.process = process
        try await waitUntil("socat created the ptys", timeout: .seconds(5)) {
            FileManager.default.fileExists(atPath: simulatorSide) && FileManager.default.fileExists(atPath: daemonSide)
        }
    }

    /// Kills socat: both ttys vanish, as when a USB adapter is unplugged.
    func unplug() async throws {
        stopSocat()
        process = nil
        try await waitUntil("the ptys are gone", timeout: .seconds(5)) {
            !FileManager.default.fileExists(atPath: daemonSide)
        }
    }

    /// SIGKILL: socat started from a test process may inherit an ignored SIGTERM.
    private func stopSocat() {
        guard let process else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    deinit {
        stopSocat()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

struct Timeout: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting until \(what)" }
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes: a deadline, not a sleep.
func waitUntil(_ what: String, timeout: Duration, _ condition: () throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try !condition() {
        guard ContinuousClock.now < deadline else { throw Timeout(what: what) }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// A bridge configuration for `map` reached over `transport`.
func bridge(
    _ name: String = "test", map: RegisterMap, transport: Transport, unit: Int = 1,
    division: Mass = Mass(20, .kilograms), settleMilliseconds: Int = 600, pollMilliseconds: Int = 50
)
    -> BridgeConfiguration
{
    BridgeConfiguration(
        name: name, transport: transport, unit: unit, preset: .generic, registers: map,
        pollMilliseconds: pollMilliseconds, division: division, maximum: Mass(60_000, .kilograms),
        settleMilliseconds: settleMilliseconds, responseTimeoutMilliseconds: 1_000,
        byteTimeoutMilliseconds: nil, gapMilliseconds: 2)
}

func serialTransport(_ device: String) -> Transport {
    .rtu(SerialSettings(device: device, baud: 19_200, parity: .even, dataBits: 8, stopBits: 1))
}

/// Collects acquisition events from a loop running in a child task.
///
/// Not an actor: the loop appends from its own thread without waiting for the test's
/// concurrency pool, which other tests may be holding, so a busy test runner cannot stall the
/// polls (and stretch or restart settle windows) the way it would stall an actor hop.
final class EventLog: Sendable {
    private let recorded = Mutex<[AcquisitionEvent]>([])

    var events: [AcquisitionEvent] { recorded.withLock { $0 } }

    func append(_ event: AcquisitionEvent) { recorded.withLock { $0.append(event) } }

    var captures: [CapturedWeighing] {
        events.compactMap { if case .captured(let capture) = $0 { capture } else { nil } }
    }

    var failures: Int { events.filter { if case .pollFailed = $0 { true } else { false } }.count }
    var connections: Int { events.filter { if case .connected = $0 { true } else { false } }.count }
    var readings: Int { events.filter { if case .reading = $0 { true } else { false } }.count }
}

/// Waits (with a deadline) for `condition` on the log.
func waitFor(
    _ what: String, in log: EventLog, timeout: Duration = .seconds(10),
    _ condition: (EventLog) -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition(log) {
        guard ContinuousClock.now < deadline else { throw Timeout(what: what) }
        try await Task.sleep(for: .milliseconds(10))
    }
}

let wallClock: @Sendable () -> Timestamp = {
    Timestamp(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1_000))
}
