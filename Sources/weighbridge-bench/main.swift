// Benchmarks for scripts/bench, each printing "key=value" lines like its C baseline.
//
//   weighbridge-bench store DATABASE COUNT   record COUNT captures, one transaction each
//   weighbridge-bench modbus PORT COUNT      poll a simulator COUNT times through the acquisition loop
//   weighbridge-bench reporting URL DATABASE PREFIX COUNT   drain COUNT queued reports to a sandbox
//   weighbridge-bench plain-http URL PREFIX COUNT           PUT the same bodies with a bare HTTP client
//   weighbridge-bench ascii TTY COUNT        read COUNT Toledo continuous frames as the ASCII loop does
//   weighbridge-bench ascii-feed TTY COUNT   write COUNT such frames as fast as the tty takes them
//
// BENCH_IN_FLIGHT sets the requests in flight of both reporting sides (default 4, the daemon's).

import Foundation
import Synchronization
import WeighbridgeConfiguration
import WeighbridgeCore
import WeighbridgeDaemon
import WeighbridgeModbus
import WeighbridgeStore

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(2)
}

func report(count: Int, elapsed: Duration, latencies: [Duration]) {
    let sorted = latencies.sorted()
    func microseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
    }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    print(
        "rate=\(String(format: "%.1f", Double(count) / seconds)) p50_us=\(microseconds(sorted[count / 2])) "
            + "p99_us=\(microseconds(sorted[count * 99 / 100]))")
}

let arguments = CommandLine.arguments.dropFirst()
let inFlight = Int(ProcessInfo.processInfo.environment["BENCH_IN_FLIGHT"] ?? "4") ?? 0
guard inFlight >= 1 else { fail("BENCH_IN_FLIGHT must be a whole number of requests, 1 or more") }
switch arguments.first {
case "store":
    guard arguments.count == 3, let count = Int(arguments[arguments.startIndex + 2]), count > 0 else {
        fail("usage: weighbridge-bench store DATABASE COUNT")
    }
    let now = { Timestamp.now }
    let store = try Store(path: arguments[arguments.startIndex + 1], now: now())
    let clock = ContinuousClock()
    var latencies: [Duration] = []
    latencies.reserveCapacity(count)
    let start = clock.now
    for index in 0..<count {
        let began = clock.now
        let evidence = WeighingEvidence(
            bridge: "in", weight: Mass(grams: 22_000_000 + Int64(index)), division: Mass(20, .kilograms),
            weighedAt: now(), status: .stable, legalID: UInt32(index), instrumentID: "bench",
            raw: .registers([0x0800, 0, 0x55F0, 0, 0x2EE0]), route: .unannounced)
        _ = try await store.write(at: evidence.weighedAt) { try $0.recordWeighing(evidence) }
        latencies.append(clock.now - began)
    }
    report(count: count, elapsed: clock.now - start, latencies: latencies)
case "modbus":
    guard arguments.count == 3, let port = Int(arguments[arguments.startIndex + 1]),
        let count = Int(arguments[arguments.startIndex + 2]), count > 0
    else { fail("usage: weighbridge-bench modbus PORT COUNT") }
    await benchModbus(port: port, count: count)
case "reporting":
    guard arguments.count == 5, let count = Int(arguments[arguments.startIndex + 4]), count > 0 else {
        fail("usage: weighbridge-bench reporting URL DATABASE PREFIX COUNT")
    }
    let values = Array(arguments)
    try await benchReporting(
        url: values[1], database: values[2], prefix: values[3], count: count, maxInFlight: inFlight)
case "plain-http":
    guard arguments.count == 4, let count = Int(arguments[arguments.startIndex + 3]), count > 0 else {
        fail("usage: weighbridge-bench plain-http URL PREFIX COUNT")
    }
    let values = Array(arguments)
    try await benchPlainHTTP(url: values[1], prefix: values[2], count: count, maxInFlight: inFlight)
case "ascii", "ascii-feed":
    guard arguments.count == 3, let count = Int(arguments[arguments.startIndex + 2]), count > 0 else {
        fail("usage: weighbridge-bench \(arguments.first!) TTY COUNT")
    }
    let device = arguments[arguments.startIndex + 1]
    if arguments.first == "ascii" {
        await benchASCII(device: device, count: count)
    } else {
        feedASCII(device: device, count: count)
    }
default:
    fail(
        "usage: weighbridge-bench (store DATABASE COUNT | modbus PORT COUNT | reporting URL DATABASE PREFIX COUNT "
            + "| plain-http URL PREFIX COUNT | ascii TTY COUNT | ascii-feed TTY COUNT)")
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
        + Double(usage.ru_stime.tv_usec) / 1e6
}

/// Polls the simulator `count` times through the daemon's own acquisition loop at full speed
/// (no poll interval): decode, capture rules and all.
func benchModbus(port: Int, count: Int) async {
    // The daemon's own loop at full speed (no poll interval): decode, capture rules and all.
    let modbus = ModbusIndicator(
        transport: .tcp(host: "127.0.0.1", port: port), unit: 1, preset: .laumas,
        registers: IndicatorPreset.laumas.registerMap!, byteTimeoutMilliseconds: nil, gapMilliseconds: 0)
    let bridge = BridgeConfiguration(
        name: "bench", indicator: .modbus(modbus), pollMilliseconds: 0, division: Mass(20, .kilograms),
        maximum: Mass(60_000, .kilograms), settleMilliseconds: 2_000, responseTimeoutMilliseconds: 1_000)
    let link = ModbusLink(settings: ModbusLink.Settings(bridge: bridge, modbus: modbus))
    let acquisition = BridgeAcquisition(
        bridge: AcquisitionSettings(bridge: bridge, modbus: modbus), link: link, clock: ContinuousClock()
    ) {
        Timestamp(millisecondsSinceEpoch: 0)
    }
    let readings = ReadingCount()
    let cpuBefore = cpuSeconds()
    let start = ContinuousClock.now
    try? await acquisition.run { event in
        if case .reading = event, readings.value.add(1, ordering: .relaxed).newValue >= count {
            throw CancellationError()
        }
        if case .pollFailed(let error, _) = event { fail("\(error)") }
    }
    let elapsed = ContinuousClock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    print(
        "rate=\(String(format: "%.1f", Double(count) / seconds)) "
            + "cpu_ms_per_1000=\(String(format: "%.1f", (cpuSeconds() - cpuBefore) * 1e6 / Double(count)))")
}

/// Readings seen so far, shared with the loop's handler.
final class ReadingCount: Sendable {
    let value = Atomic<Int>(0)
}
