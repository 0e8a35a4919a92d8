import ArgumentParser
import Foundation
import WeighbridgeASCII
import WeighbridgeConfiguration
import WeighbridgeCore
import WeighbridgeModbus

/// `weighbridged probe`: the commissioning tool. Connects to one indicator, reads one snapshot
/// (a register block, or an ASCII indicator's frames), and prints what the daemon would make of
/// it, or what failed and what to check.
struct Probe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Read one snapshot from a bridge's indicator and print the decoded weight, flags and registers or frames.")

    @OptionGroup var options: ConfigOption

    @Option(help: "The [[bridge]] name to probe.")
    var bridge: String

    @Flag(help: "Print JSON for scripts.")
    var json = false

    /// What one probe found, printed as text or JSON.
    struct Report: Encodable {
        var bridge: String
        var link: String
        /// The Modbus unit id; nil for an ASCII indicator.
        var unit: Int?
        /// The ASCII format; nil for a Modbus indicator.
        var format: String?
        var instrument: String?
        var gross: String?
        var net: String?
        var tare: String?
        var flags: [String]
        var legalID: UInt32?
        var registers: [String]
        /// The bytes an ASCII indicator sent, escaped, newest last.
        var received: String?
        /// What was wrong with the frames received, in order.
        var faults: [String]
        /// What the line could not be set to (no modem lines to hold DTR or RTS).
        var notes: [String]
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
        let report =
            switch target.indicator {
            case .modbus(let modbus): await probe(target, modbus)
            case .ascii(let ascii): await probe(target, ascii)
            }
        print(json ? try report.json() : report.text)
        if report.error != nil { throw ExitCode(69) }  // EX_UNAVAILABLE
    }
}

extension Probe {
    private func probe(_ target: BridgeConfiguration, _ modbus: ModbusIndicator) async -> Report {
        let link = ModbusLink(settings: ModbusLink.Settings(bridge: target, modbus: modbus))
        var report = Report(
            bridge: target.name, link: link.name, unit: modbus.unit, flags: [], registers: [], faults: [], notes: [])
        do {
            let registers = try await link.readBlock(unit: modbus.unit, map: modbus.registers)
            report.instrument = try? await link.identify(unit: modbus.unit)
            report.registers = registers.enumerated().map {
                String(format: "%d=0x%04X", modbus.registers.address + $0.offset, $0.element)
            }
            report.show(try modbus.registers.decode(registers, division: target.division))
        } catch let error as ModbusError {
            report.error = error.description
        } catch let error as ReadingError {
            report.error = "registers read, but they are not a reading: \(error)"
        } catch {
            report.error = "\(error)"
        }
        return report
    }

    /// Asks a polled indicator once, or listens to one that sends unasked until three frames
    /// (or faults) have come or the stale time passes.
    private func probe(_ target: BridgeConfiguration, _ ascii: ASCIIIndicator) async -> Report {
        let stream = IndicatorStream(line: ascii.line)
        var report = Report(
            bridge: target.name, link: stream.name, format: ascii.format.name, flags: [], registers: [], faults: [],
            notes: [])
        var reader = ASCIIFrameReader(format: ascii.format, unit: ascii.weightUnit, division: target.division)
        var received: [UInt8] = []
        var newest: ASCIIFrame?
        do {
            report.notes = try await stream.open()
            let wait: Int
            if let request = ascii.format.request {
                try await stream.write(request, timeout: .milliseconds(target.responseTimeoutMilliseconds))
                wait = target.responseTimeoutMilliseconds
            } else {
                wait = ascii.staleMilliseconds
            }
            let deadline = ContinuousClock.now + .milliseconds(wait)
            var scans = 0
            while ContinuousClock.now < deadline, scans < (ascii.format.request == nil ? 3 : 1) {
                let bytes = try await stream.read(until: deadline)
                received += bytes
                for scan in reader.receive(bytes) {
                    scans += 1
                    switch scan {
                    case .frame(let frame): newest = frame
                    case .fault(let fault): report.faults.append(fault.description)
                    }
                }
            }
        } catch {
            report.error = "\(error) (\(error.hint))"
        }
        await stream.close()
        report.received = received.suffix(3 * 20).escapedASCII
        if let newest {
            report.show(newest.reading)
        } else if report.error == nil {
            report.error =
                received.isEmpty
                ? "nothing received within \(ascii.format.request == nil ? ascii.staleMilliseconds : target.responseTimeoutMilliseconds) ms"
                : "bytes received, but no frame the daemon can take"
        }
        return report
    }
}

extension Probe.Report {
    /// Fills in what a reading shows.
    mutating func show(_ reading: IndicatorReading) {
        gross = reading.gross.map { $0.formatted(in: .kilograms) + " kg" }
        net = reading.net.map { $0.formatted(in: .kilograms) + " kg" }
        tare = reading.tare.map { $0.formatted(in: .kilograms) + " kg" }
        flags = reading.status.names
        legalID = reading.legalCounter
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    var text: String {
        var lines = ["bridge      \(bridge) (\(unit.map { "unit \($0)" } ?? format ?? "") on \(link))"]
        if let received { lines.append("received    \"\(received)\"") }
        lines += notes.map { "note        \($0)" } + faults.map { "fault       \($0)" }
        if let error { return (lines + ["error       \(error)"]).joined(separator: "\n") }
        if unit != nil { lines.append("instrument  \(instrument ?? "(does not report an identity)")") }
        if let gross { lines.append("gross       \(gross)") }
        if let net { lines.append("net         \(net)") }
        if let tare { lines.append("tare        \(tare)") }
        lines.append("flags       \(flags.isEmpty ? "(none: in motion)" : flags.joined(separator: " "))")
        if let legalID { lines.append("legal id    \(legalID)") }
        if !registers.isEmpty { lines.append("registers   \(registers.joined(separator: " "))") }
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
