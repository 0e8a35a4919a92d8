import Foundation
import Testing
import WeighbridgeCore
import WeighbridgeStore

let t0 = Timestamp(rfc3339: "2026-11-25T08:00:00Z")!

/// A fresh directory for one test's database, removed when the test ends.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path =
            FileManager.default.temporaryDirectory.appendingPathComponent("weighbridged-store-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Opens the store at `path` again once an earlier `Store` on it in this process is gone: its
/// lock goes with its last reference, which the executor that ran its last job may hold for a
/// moment after the caller resumed.
func reopen(_ path: String, now: Timestamp = t0) async throws -> Store {
    let deadline = ContinuousClock.now + .seconds(5)
    while true {
        do {
            return try Store(path: path, now: now)
        } catch {
            guard error.code == .busy, ContinuousClock.now < deadline else { throw error }
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// Runs a command line tool (the sqlite3 CLI, socat, …) and returns its status and output.
@discardableResult
func shell(_ executable: String, _ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String)
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    let stdin = Pipe()
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try stdin.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Runs SQL with the sqlite3 command-line tool, as someone tampering with the file would.
@discardableResult
func sqlite3(_ database: String, _ sql: String) throws -> String {
    let result = try shell("/usr/bin/sqlite3", [database], input: sql)
    #expect(result.status == 0, "sqlite3 failed: \(result.output)")
    return result.output
}

func evidence(_ kilograms: Int64, bridge: String = "in", route: WeighingRoute = .unannounced, at time: Timestamp = t0)
    -> WeighingEvidence
{
    WeighingEvidence(
        bridge: bridge, weight: Mass(kilograms, .kilograms), division: Mass(20, .kilograms),
        weighedAt: time, status: [.stable], legalID: 41, instrumentID: "LAUMAS W100 SN123",
        raw: .registers([0x0800, 0x0000, 0x55F0, 0x0000, 0x2EE0]), route: route)
}

func movement(_ id: String, declaredKg: Int64 = 10_000, vehicle: String? = "AB12CDE") throws -> MovementLifecycle {
    MovementLifecycle(
        movement: try Movement(
            id: id, declared: Mass(declaredKg, .kilograms),
            ewcCodes: [EWCCode(parsing: "20 03 01")],
            vehicle: vehicle.flatMap(VehicleRegistration.init)))
}

/// A report as the lifecycle would produce it for a simple confirmed movement.
func confirmation(_ id: String) throws -> Report {
    var lifecycle = try movement(id)
    let context = DecisionContext(policy: .standard, reportsDiscrepancies: true, now: t0)
    _ = try lifecycle.receive(.arrived(bridge: "in", at: t0), context: context)
    _ = try lifecycle.receive(
        .weighed(
            Weighing(
                ticket: 1, bridge: "in", weight: Mass(22_000, .kilograms),
                division: Mass(20, .kilograms), time: t0)), context: context)
    let actions = try lifecycle.receive(
        .weighed(
            Weighing(
                ticket: 2, bridge: "in", weight: Mass(12_000, .kilograms),
                division: Mass(20, .kilograms), time: t0)), context: context)
    for case .report(let report) in actions { return report }
    throw StoreError(code: .other, operation: "test fixture", message: "no report")
}

extension AuditVerification {
    var isIntact: Bool {
        if case .intact = self { return true }
        return false
    }
}
