import DWTSandbox
import Foundation
import ServiceLifecycle
import TestSupport
import Testing
import WeighbridgeConfiguration
import WeighbridgeControlProtocol
import WeighbridgeCore
import WeighbridgeDaemon
import WeighbridgeJSON
import WeighbridgeStore
import WeighbridgeTesting

/// The daemon exactly as `weighbridged` runs it (`Daemon.assemble`, one ServiceGroup), in this
/// process, against the simulated indicator over Modbus TCP and the sandbox.
@Suite("the assembled daemon")
struct AssembledDaemonTests {
    @Test("runs as one ServiceGroup: a vehicle weighed in and out is confirmed to the API, and it stops on request")
    func weighsAndReportsThenStops() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("daemon-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try SandboxSettings().briefToken.write(toFile: directory + "/token", atomically: true, encoding: .utf8)
        let sandbox = try await DWTSandbox.start()
        let map = try #require(IndicatorPreset.laumas.registerMap)
        let simulator = IndicatorSimulator(map: map, division: Mass(20, .kilograms), endpoint: .tcp(port: 0))
        try simulator.start()
        defer { simulator.stop() }
        let configuration = try Configuration.parse(
            """
            [site]
            id = "SITE-1"
            [store]
            path = "\(directory)/db.sqlite"
            [control]
            socket = "\(directory)/control.sock"
            group = "\(currentGroupName)"
            [api]
            profile = "brief"
            base_url = "\(sandbox.baseURL)"
            token_file = "\(directory)/token"
            [[bridge]]
            name = "in"
            transport = "tcp"
            host = "127.0.0.1"
            port = \(simulator.port)
            profile = "laumas"
            poll_ms = 50
            settle_ms = 500
            division_kg = 20
            max_kg = 60000
            """, fileName: "daemon.toml")
        let log = CapturedLog()
        // The wall clock is the one given to assemble: an instant years from today, standing still.
        let wallClock = try #require(Timestamp(rfc3339: "2031-03-14T09:26:53.589Z"))
        let daemon = try await Daemon.assemble(
            configuration, configurationPath: "daemon.toml", environment: [:], logger: log.logger(level: .debug),
            now: { wallClock })
        let group = daemon.serviceGroup(signals: [])
        let running = Task { try await group.run() }

        let movement = try Movement(
            id: "ASM-1", declared: Mass(10_000, .kilograms), ewcCodes: [EWCCode(parsing: "20 03 01")],
            vehicle: VehicleRegistration("AB12CDE"))
        let identity = OperatorIdentity(uid: getuid(), name: "test")
        _ = try await daemon.desk.expect(movement, receipt: nil, by: .operator(identity))
        for (weighing, kilograms) in [(1, 22_000), (2, 12_000)] as [(Int, Int64)] {
            // The daemon captures only a vehicle that drives onto a deck it has seen empty.
            try await eventually("bridge in armed before weighing \(weighing)") {
                let bridges = try await daemon.control.execute(.bridges, by: identity)
                guard case .array(let list) = bridges, list.count == 1 else { return false }
                return list[0].field("phase") == .string("armed")
            }
            _ = try await daemon.desk.arrive(bridge: "in", target: .movement("ASM-1"), by: .operator(identity))
            simulator.run(VehicleScenario(weight: Mass(kilograms, .kilograms), ramp: .milliseconds(200)))
            try await eventually("weighing \(weighing) of ASM-1 recorded") {
                try await daemon.store.read { try $0.weighings(ofMovement: "ASM-1").count } == weighing
            }
            try await eventually("the deck empty again after weighing \(weighing)") { simulator.scenarioFinished }
        }
        try await eventually("the confirmation of ASM-1 accepted by the API") {
            try await daemon.store.read { try $0.outboxEntries(ofMovement: "ASM-1") }.map(\.state) == [.done]
        }
        #expect(sandbox.requests.filter { $0.path == "/confirmations/ASM-1" }.map(\.method) == ["PUT"])
        // Every time recorded and reported is the given clock's, none the machine's.
        let recorded = try await daemon.store.read { transaction in
            (
                weighed: try transaction.weighings(ofMovement: "ASM-1").map(\.evidence.weighedAt),
                decided: try transaction.decisions(ofMovement: "ASM-1").map(\.decidedAt),
                queued: try transaction.outboxEntries(ofMovement: "ASM-1").map(\.createdAt)
            )
        }
        #expect(recorded.weighed == [wallClock, wallClock] && recorded.decided == [wallClock], "\(recorded)")
        #expect(recorded.queued == [wallClock], "\(recorded)")
        let sent = sandbox.requests.first { $0.path == "/confirmations/ASM-1" }?.body ?? ""
        #expect(sent.contains(#""second_weighed_at":"2031-03-14T09:26:53.589Z""#), "\(sent)")
        #expect(FileManager.default.fileExists(atPath: directory + "/control.sock"), "the control socket is served")
        let status = try await daemon.control.execute(.status, by: identity)
        guard case .string(let summary)? = status.field("summary") else {
            Issue.record("status has no summary: \(status)")
            return
        }
        #expect(summary.hasPrefix("1 bridge: in "), "the live view behind the control commands: \(summary)")
        #expect(status.field("outbox_pending") == .integer(0))

        await group.triggerGracefulShutdown()
        try await running.value
        #expect(!FileManager.default.fileExists(atPath: directory + "/control.sock"), "the socket file is removed")
        // One logger for the daemon and the libraries it hands it to: the capture's line carries
        // its fields as metadata, and the service group's own lines arrive beside it.
        let captures = log.lines.filter { $0.message.hasPrefix("captured ") }
        #expect(captures.count == 2, "\(log.lines.map(\.message))")
        #expect(captures.allSatisfy { $0.metadata["MOVEMENT_ID"] == "ASM-1" && $0.metadata["BRIDGE"] == "in" })
        #expect(log.lines.contains { $0.source == "ServiceLifecycle" }, "\(Set(log.lines.map(\.source)))")
        try await sandbox.shutdown()
    }
}

/// Waits until `condition` holds, polling every 20 ms; fails naming `what` after 20 s.
private func eventually(_ what: String, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(20)
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out waiting for \(what)")
    throw CancellationError()
}
