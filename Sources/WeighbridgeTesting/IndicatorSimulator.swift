internal import CModbus
import Foundation
import Synchronization
public import WeighbridgeCore

/// A fault the simulator can inject into its replies.
public enum SimulatorFault: String, Sendable, Hashable, CaseIterable {
    /// Answer normally.
    case none
    /// Read requests and say nothing.
    case noReply = "no-reply"
    /// Answer with random bytes.
    case garbage
    /// Answer with a well-formed RTU frame whose CRC is wrong.
    case badCRC = "crc"
    /// Answer with Modbus exception 4 (server device failure).
    case exception
}

/// Where the simulator listens.
public enum SimulatorEndpoint: Sendable, Hashable {
    /// Modbus TCP on 127.0.0.1; port 0 picks a free one (see `port`).
    case tcp(port: Int)
    /// Modbus RTU on a tty, typically one end of a socat pty pair.
    case rtu(device: String, unit: Int)
}

/// A simulated weighbridge indicator: a real libmodbus server that presents a register map, so
/// the daemon's Modbus stack is tested byte for byte against a real peer. Its deck can be set
/// directly, or driven by `VehicleScenario`s with ramp, jitter and motion; faults can be injected.
public final class IndicatorSimulator: Sendable {
    /// What the server thread shares with the test, beside the deck.
    private struct Link: Sendable {
        var fault: SimulatorFault = .none
        var disconnectRequested = false
    }

    public let map: RegisterMap
    public let endpoint: SimulatorEndpoint
    /// What the indicator shows: set it directly, or run vehicles on it.
    public let deck: SimulatedDeck
    private let link = Mutex(Link())
    private let thread = SimulatorThread()

    /// A simulator for `map`, starting with an empty deck at zero, stable.
    public init(map: RegisterMap, division: Mass, endpoint: SimulatorEndpoint) {
        self.map = map
        self.endpoint = endpoint
        deck = SimulatedDeck(
            division: division, showsNet: map.net != nil, showsTare: map.tare != nil,
            legalCounter: map.legalCounter != nil)
    }

    /// Starts serving on a thread of its own; returns once it is listening.
    public func start() throws {
        try thread.start(name: "indicator-simulator") { [self] in serve() }
    }

    /// Stops serving and closes every connection; returns once the server thread has ended.
    public func stop() {
        thread.stop()
    }

    /// The TCP port it listens on (after `start`).
    public var port: Int { thread.port }

    /// Shows `reading` from now on (cancels any scenario).
    public func show(_ reading: IndicatorReading) { deck.show(reading) }

    /// Shows a gross weight with these flags (cancels any scenario).
    public func show(gross: Mass, status: IndicatorStatus = .stable) { deck.show(gross: gross, status: status) }

    /// Advances the legal counter, as pressing print does.
    public func print() { deck.print() }

    /// Runs a vehicle scenario on the deck from now on.
    public func run(_ scenario: VehicleScenario) { deck.run(scenario) }

    /// What the deck shows now.
    public var reading: IndicatorReading { deck.reading }

    /// Whether the running scenario has finished (or none runs).
    public var scenarioFinished: Bool { deck.scenarioFinished }

    /// Injects `fault` into every reply until changed.
    public func inject(_ fault: SimulatorFault) {
        link.withLock { $0.fault = fault }
    }

    /// Drops every TCP connection once (the indicator rebooting, a switch port flapping).
    public func dropConnections() {
        link.withLock { $0.disconnectRequested = true }
    }

    // MARK: Server

    private func serve() {
        let context: OpaquePointer?
        switch endpoint {
        case .tcp(let port): context = modbus_new_tcp("127.0.0.1", Int32(port))
        case .rtu(let device, _): context = modbus_new_rtu(device, 115_200, CChar(UInt8(ascii: "N")), 8, 1)
        }
        guard let context else {
            thread.failed("cannot create a libmodbus context")
            return
        }
        defer { modbus_free(context) }
        let lowest = min(map.address, map.printCommand?.address ?? map.address)
        let highest = max(map.address + map.count, (map.printCommand?.address ?? 0) + 1)
        guard
            let mapping = modbus_mapping_new_start_address(
                0, 0, 0, 0, UInt32(lowest), UInt32(highest - lowest),
                UInt32(map.address), UInt32(map.count))
        else {
            thread.failed("cannot allocate the register mapping")
            return
        }
        defer { modbus_mapping_free(mapping) }

        switch endpoint {
        case .tcp:
            serveTCP(context, mapping)
        case .rtu(_, let unit):
            modbus_set_slave(context, Int32(unit))
            guard modbus_connect(context) == 0 else {
                thread.failed("cannot open the tty: \(String(cString: modbus_strerror(errno)))")
                return
            }
            defer { modbus_close(context) }
            modbus_set_indication_timeout(context, 0, 20_000)
            thread.listening()
            var query = [UInt8](repeating: 0, count: Int(MODBUS_RTU_MAX_ADU_LENGTH))
            while !thread.isStopping {
                advanceScenario()
                let length = modbus_receive(context, &query)
                guard length > 0 else { continue }
                answer(context, mapping, query: query, length: length, isRTU: true)
            }
        }
    }

    private func serveTCP(_ context: OpaquePointer, _ mapping: UnsafeMutablePointer<modbus_mapping_t>) {
        let listener = modbus_tcp_listen(context, 8)
        guard listener >= 0 else {
            thread.failed("cannot listen: \(String(cString: modbus_strerror(errno)))")
            return
        }
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(listener, $0, &length) }
        }
        thread.listening(port: Int(UInt16(bigEndian: address.sin_port)))

        var clients: Set<Int32> = []
        var query = [UInt8](repeating: 0, count: Int(MODBUS_TCP_MAX_ADU_LENGTH))
        while !thread.isStopping {
            advanceScenario()
            if link.withLock({ state in
                defer { state.disconnectRequested = false }; return state.disconnectRequested
            }) {
                clients.forEach { close($0) }
                clients.removeAll()
            }
            var descriptors = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            descriptors += clients.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            guard poll(&descriptors, nfds_t(descriptors.count), 20) > 0 else { continue }
            for descriptor in descriptors where descriptor.revents != 0 {
                if descriptor.fd == listener {
                    let client = accept(listener, nil, nil)
                    if client >= 0 { clients.insert(client) }
                    continue
                }
                modbus_set_socket(context, descriptor.fd)
                let received = modbus_receive(context, &query)
                if received <= 0 {
                    if received < 0 {
                        close(descriptor.fd)
                        clients.remove(descriptor.fd)
                    }
                    continue
                }
                answer(context, mapping, query: query, length: received, isRTU: false)
            }
        }
        clients.forEach { close($0) }
        close(listener)
    }

    private func answer(
        _ context: OpaquePointer, _ mapping: UnsafeMutablePointer<modbus_mapping_t>, query: [UInt8],
        length: Int32, isRTU: Bool
    ) {
        // A real indicator answers with what its deck shows now, not at this loop's last turn
        // (up to one 20 ms wait ago).
        let fault = link.withLock { $0.fault }
        let reading = deck.tell(faulty: fault != .none)
        let headerLength = Int(modbus_get_header_length(context))
        let function = query[headerLength]
        // A print command: the indicator stores the weighing and advances its counter.
        if function == 0x06, let print = map.printCommand,
            Int(query[headerLength + 1]) << 8 | Int(query[headerLength + 2]) == print.address,
            UInt16(query[headerLength + 3]) << 8 | UInt16(query[headerLength + 4]) == print.value
        {
            deck.print()
        }
        let registers = map.encode(reading)
        let holding = mapping.pointee.tab_registers
        let input = mapping.pointee.tab_input_registers
        for (index, value) in registers.enumerated() {
            input?[index] = value
            holding?[map.address - Int(mapping.pointee.start_registers) + index] = value
        }
        let socket = modbus_get_socket(context)
        switch fault {
        case .none:
            modbus_reply(context, query, length, mapping)
        case .noReply:
            break
        case .exception:
            modbus_reply_exception(context, query, UInt32(MODBUS_EXCEPTION_SLAVE_OR_SERVER_FAILURE))
        case .garbage:
            var generator = SystemRandomNumberGenerator()
            let bytes = (0..<9).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = write(socket, bytes, bytes.count)
        case .badCRC:
            guard isRTU else {
                modbus_reply(context, query, length, mapping)
                return
            }
            // A read reply for the first register with a CRC that cannot match.
            let frame: [UInt8] = [query[0], function, 2, 0x12, 0x34, 0x00, 0x00]
            _ = write(socket, frame, frame.count)
        }
    }

    private func advanceScenario() {
        deck.advance()
    }
}

/// The simulator could not start.
public struct SimulatorError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { "simulator: \(message)" }
}
