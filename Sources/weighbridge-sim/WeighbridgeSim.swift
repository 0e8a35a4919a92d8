import ArgumentParser
import Foundation
import WeighbridgeConfiguration
import WeighbridgeCore
import WeighbridgeTesting

/// `weighbridge-sim`: a simulated weighbridge indicator speaking real Modbus TCP or RTU
/// (libmodbus), or with `--ascii` an ASCII protocol (SMA or Toledo continuous) over TCP (as a
/// serial device server) or a tty, driven by a script file and/or commands on standard input,
/// one per line:
///
///     show 32140 [stable|motion|overload|underload|error]   show a weight (kg) with a status
///     vehicle 32140 [HOLD_MS [RAMP_MS]]   a vehicle drives on over RAMP_MS (500), stands still
///                                HOLD_MS (3000), drives off
///     wait MS                    pause the script
///     wait-empty                 wait until the running vehicle has left
///     settled                    answer "ok settled US": when the latest vehicle came to rest,
///                                in microseconds since the Unix epoch
///     answers-at-rest            answer "ok answers-at-rest MS…": when polls were answered
///                                without a fault while the latest vehicle stood still, in
///                                milliseconds after it came to rest
///     answers-at-zero            answer "ok answers-at-zero N": how many polls were answered
///                                without a fault at the empty deck before the latest vehicle
///     print                      advance the legal (alibi) counter
///     fault none|no-reply|garbage|crc|exception      (Modbus)
///     fault none|garbage|cut|checksum|pounds|silence (ASCII)
///     drop                       drop every TCP connection once
///     quit
@main
struct WeighbridgeSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weighbridge-sim",
        abstract: "A simulated weighbridge indicator (Modbus TCP or RTU, or ASCII) for tests and the demo.")

    @Option(
        help: "Serve Modbus TCP (or, with --ascii, the ASCII format) on 127.0.0.1 at this port (0 picks a free one).")
    var tcpPort: Int?

    @Option(help: "Serve Modbus RTU on this tty (e.g. one end of a socat pty pair).")
    var rtu: String?

    @Option(help: "Speak this ASCII format instead of Modbus: sma, toledo-continuous, toledo-continuous-checksum.")
    var ascii: String?

    @Option(help: "With --ascii, speak on this tty (e.g. one end of a socat pty pair).")
    var tty: String?

    @Option(help: "The Modbus unit id to answer as on RTU.")
    var unit: Int = 1

    @Option(help: "Present this preset's register map (default laumas).")
    var profile: String?

    @Option(help: "Take the register map and division of a bridge from this configuration file...")
    var config: String?

    @Option(help: "...naming the bridge.")
    var bridge: String?

    @Option(help: "The division in kg, when not taken from a configuration.")
    var divisionKg: String = "20"

    @Option(help: "Seed for the vehicles' jitter, so a run plays the same every time.")
    var seed: UInt64 = 1

    @Option(help: "Run the commands in this file first.")
    var script: String?

    func validate() throws {
        if let ascii, SimulatedASCIIFormat(rawValue: ascii) == nil {
            throw ValidationError(
                "--ascii must be one of " + SimulatedASCIIFormat.allCases.map(\.rawValue).joined(separator: ", "))
        }
        if ascii == nil {
            guard (tcpPort == nil) != (rtu == nil), tty == nil else {
                throw ValidationError("give exactly one of --tcp-port and --rtu (--tty goes with --ascii)")
            }
        } else {
            guard (tcpPort == nil) != (tty == nil), rtu == nil else {
                throw ValidationError("with --ascii, give exactly one of --tcp-port and --tty")
            }
        }
        guard (config == nil) == (bridge == nil) else { throw ValidationError("--config and --bridge go together") }
    }

    func run() throws {
        if let ascii = ascii.flatMap(SimulatedASCIIFormat.init(rawValue:)) {
            let simulator = ASCIIIndicatorSimulator(
                format: ascii, division: try Mass(parsing: divisionKg, defaultUnit: .kilograms),
                endpoint: tty.map { .tty(device: $0) } ?? .tcp(port: tcpPort!))
            try simulator.start()
            switch simulator.endpoint {
            case .tcp: emit("listening tcp 127.0.0.1:\(simulator.port)")
            case .tty(let device): emit("speaking \(ascii.rawValue) on \(device)")
            }
            try interpret(
                ScriptInterpreter(
                    deck: simulator.deck, seed: seed,
                    inject: { name in
                        guard let fault = ASCIIFault(rawValue: name) else {
                            throw CommandError("fault " + ASCIIFault.allCases.map(\.rawValue).joined(separator: "|"))
                        }
                        try simulator.inject(fault)
                    }, drop: simulator.dropConnections))
            return simulator.stop()
        }
        let (map, division) = try registerMap()
        let endpoint: SimulatorEndpoint = if let tcpPort { .tcp(port: tcpPort) } else { .rtu(device: rtu!, unit: unit) }
        let simulator = IndicatorSimulator(map: map, division: division, endpoint: endpoint)
        try simulator.start()
        switch endpoint {
        case .tcp: emit("listening tcp 127.0.0.1:\(simulator.port)")
        case .rtu(let device, let unit): emit("listening rtu \(device) unit \(unit)")
        }
        try interpret(
            ScriptInterpreter(
                deck: simulator.deck, seed: seed,
                inject: { name in
                    guard let fault = SimulatorFault(rawValue: name) else {
                        throw CommandError("fault " + SimulatorFault.allCases.map(\.rawValue).joined(separator: "|"))
                    }
                    simulator.inject(fault)
                }, drop: simulator.dropConnections))
        simulator.stop()
    }

    /// Runs the script file, then standard input, until either says quit or input ends.
    private func interpret(_ interpreter: ScriptInterpreter) throws {
        var interpreter = interpreter
        if let script {
            for line in try String(contentsOfFile: script, encoding: .utf8).split(separator: "\n") {
                guard interpreter.execute(String(line)) else { return }
            }
        }
        while let line = readLine() {
            guard interpreter.execute(line) else { break }
        }
    }

    private func registerMap() throws -> (RegisterMap, Mass) {
        if let config, let bridge {
            let configuration = try Configuration.load(path: config)
            guard let found = configuration.bridges.first(where: { $0.name == bridge }) else {
                throw ValidationError("no bridge \"\(bridge)\" in \(config)")
            }
            guard let modbus = found.modbus else {
                throw ValidationError("bridge \"\(bridge)\" in \(config) is an ASCII bridge: use --ascii")
            }
            return (modbus.registers, found.division)
        }
        let name = profile ?? "laumas"
        guard let preset = IndicatorPreset(rawValue: name), var map = preset.registerMap else {
            throw ValidationError(
                "--profile must be a preset with a map: "
                    + IndicatorPreset.allCases.filter { $0 != .generic }.map(\.rawValue).joined(separator: ", "))
        }
        if preset == .pavoneJBX8 { map.status?.stableMask = 1 }
        return (map, try Mass(parsing: divisionKg, defaultUnit: .kilograms))
    }
}

/// Prints one line and flushes, so a test reading the pipe sees it at once.
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Executes simulator commands; answers "ok …" or "error: …" to each.
struct ScriptInterpreter {
    let deck: SimulatedDeck
    var seed: UInt64
    /// Injects the fault named, or says which faults there are.
    let inject: (String) throws -> Void
    /// Drops every TCP connection once.
    let drop: () -> Void

    var division: Mass { deck.division }

    /// Runs one command; false for `quit`.
    mutating func execute(_ line: String) -> Bool {
        let words =
            line.split(separator: "#", maxSplits: 1).first.map { $0.split(separator: " ").map(String.init) } ?? []
        guard let command = words.first else { return true }
        do {
            switch command {
            case "show":
                let weight = try mass(words, 1)
                let status: IndicatorStatus =
                    switch words.count > 2 ? words[2] : "stable" {
                    case "stable": .stable
                    case "motion": []
                    case "overload": [.stable, .overload]
                    case "underload": [.stable, .underload]
                    case "error": [.stable, .error]
                    default: throw CommandError("status must be stable, motion, overload, underload or error")
                    }
                deck.show(gross: weight, status: status)
            case "vehicle":
                let hold = words.count > 2 ? Int(words[2]) : 3_000
                let ramp = words.count > 3 ? Int(words[3]) : 500
                guard let hold, let ramp, hold > 0, ramp > 0 else {
                    throw CommandError("vehicle KG [HOLD_MS [RAMP_MS]]: times are positive milliseconds")
                }
                seed &+= 1
                deck.run(
                    VehicleScenario(
                        weight: try mass(words, 1), ramp: .milliseconds(ramp), hold: .milliseconds(hold), seed: seed))
            case "wait":
                guard words.count == 2, let milliseconds = UInt32(words[1]) else { throw CommandError("wait MS") }
                usleep(milliseconds * 1_000)
            case "wait-empty":
                while !deck.scenarioFinished { usleep(10_000) }
            case "settled":
                guard let microseconds = deck.lastSettledMicroseconds else {
                    throw CommandError("no vehicle has come to rest yet")
                }
                emit("ok settled \(microseconds)")
                return true
            case "answers-at-rest":
                let answers = deck.answersAtRest.map { String($0.wholeMilliseconds) }
                emit((["ok", "answers-at-rest"] + answers).joined(separator: " "))
                return true
            case "answers-at-zero":
                emit("ok answers-at-zero \(deck.answersAtZeroBeforeVehicle)")
                return true
            case "print":
                deck.print()
            case "fault":
                guard words.count == 2 else { throw CommandError("fault NAME") }
                try inject(words[1])
            case "drop":
                drop()
            case "quit":
                emit("ok quit")
                return false
            default:
                throw CommandError("unknown command \"\(command)\"")
            }
            emit("ok \(line)")
        } catch {
            emit("error: \(error)")
        }
        return true
    }

    private func mass(_ words: [String], _ index: Int) throws -> Mass {
        guard words.count > index else { throw CommandError("a weight in kg is required") }
        let mass = try Mass(parsing: words[index], defaultUnit: .kilograms)
        guard mass.isMultiple(of: division) else {
            throw CommandError("\(mass) is not a multiple of the division \(division)")
        }
        return mass
    }
}

struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
