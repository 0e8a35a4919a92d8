// Benchmarks for scripts/bench, each printing "rate=… p50_us=… p99_us=…" like its C baseline.
//
//   weighbridge-bench store DATABASE COUNT   record COUNT captures, one transaction each

import Foundation
import WeighbridgeCore
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
switch arguments.first {
case "store":
    guard arguments.count == 3, let count = Int(arguments[arguments.startIndex + 2]), count > 0 else {
        fail("usage: weighbridge-bench store DATABASE COUNT")
    }
    let now = { Timestamp(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1_000)) }
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
            rawRegisters: [0x0800, 0, 0x55F0, 0, 0x2EE0], route: .unannounced)
        _ = try await store.write(at: evidence.weighedAt) { try $0.recordWeighing(evidence) }
        latencies.append(clock.now - began)
    }
    report(count: count, elapsed: clock.now - start, latencies: latencies)
default:
    fail("usage: weighbridge-bench store DATABASE COUNT")
}
