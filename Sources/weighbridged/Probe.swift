import ArgumentParser
import Foundation
import WeighbridgeConfiguration
import WeighbridgeCore
import WeighbridgeModbus

/// `weighbridged probe`: the commissioning tool. Connects to one indicator, reads one snapshot,
/// and prints what the daemon would make of it, or what failed and what to check.
struct Probe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read one snapshot from a bridge's indicator and print the decoded weight, flags and registers.")

    @OptionGroup var options: ConfigOption

    @Option(help: "The [[bridge]] name to probe.")
    var bridge: String

    @Flag(help: "Print JSON for scripts.")
    var json = false

    /// What one probe found, printed as text or JSON.
    struct Report: Encodable {
        var bridge: String
        var link: String
        var unit: Int
        var instrument: String?
        var gross: String?
        var net: String?
        var tare: String?
        var flags: [String]
        var legalID: UInt32?
        var registers: [String]
        var error: String?
    }

    func run() async throws {
        let configuration = try options.load()
        guard let target = configuration.bridges.first(where: { $0.name == bridge }) else {
            let names = configuration.bridges.map(\.name).joined(separator: ", ")
            FileHandle.standardError.write(
                Data("no bridge \"\(bridge)\" in \(options.path) (bridges: \(names))\n".utf8))
            throw ExitCode(ConfigurationError.exitStatus)
        }
        let link = ModbusLink(settings: ModbusLink.Settings(bridge: target))
        var report = Report(bridge: target.name, link: link.name, unit: target.unit, flags: [], registers: [])
        do {
            let registers = try await link.readBlock(unit: target.unit, map: target.registers)
            report.instrument = try? await link.identify(unit: target.unit)
            report.registers = registers.enumerated().map {
                String(format: "%d=0x%04X", target.registers.address + $0.offset, $0.element)
            }
            let reading = try target.registers.decode(registers, division: target.division)
            report.gross = reading.gross.map { $0.formatted(in: .kilograms) + " kg" }
            report.net = reading.net.map { $0.formatted(in: .kilograms) + " kg" }
            report.tare = reading.tare.map { $0.formatted(in: .kilograms) + " kg" }
            report.flags = reading.status.names
            report.legalID = reading.legalCounter
        } catch let error as ModbusError {
            report.error = error.description
        } catch let error as ReadingError {
            report.error = "registers read, but they are not a reading: \(error)"
        }
        print(json ? try report.json() : report.text)
        if report.error != nil { throw ExitCode(69) }  // EX_UNAVAILABLE
    }
}

extension Probe.Report {
    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    var text: String {
        var lines = ["bridge      \(bridge) (unit \(unit) on \(link))"]
        if let error { return (lines + ["error       \(error)"]).joined(separator: "\n") }
        lines.append("instrument  \(instrument ?? "(does not report an identity)")")
        if let gross { lines.append("gross       \(gross)") }
        if let net { lines.append("net         \(net)") }
        if let tare { lines.append("tare        \(tare)") }
        lines.append("flags       \(flags.isEmpty ? "(none: in motion)" : flags.joined(separator: " "))")
        if let legalID { lines.append("legal id    \(legalID)") }
        lines.append("registers   \(registers.joined(separator: " "))")
        return lines.joined(separator: "\n")
    }
}

extension IndicatorStatus {
    /// Flag names for people and scripts.
    var names: [String] {
        let all: [(IndicatorStatus, String)] = [
            (.stable, "stable"), (.overload, "overload"), (.underload, "underload"),
            (.centreOfZero, "centre_of_zero"), (.error, "error"), (.presetTare, "preset_tare"),
        ]
        return all.filter { contains($0.0) }.map(\.1)
    }
}
