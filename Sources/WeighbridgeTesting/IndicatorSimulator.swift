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
    /// What the indicator shows, guarded for the server thread.
    private struct Deck: Sendable {
        var reading: IndicatorReading
        var fault: SimulatorFault = .none
        var scenario: VehicleScenario?
        var disconnectRequested = false
        /// Polls answered without a fault at an empty deck since the latest vehicle left...
        var answersAtZero = 0
        /// ...and before the latest vehicle drove on: what the daemon could arm the bridge from.
        var answersAtZeroBeforeVehicle = 0
    }

    public let map: RegisterMap
    public let division: Mass
    public let endpoint: SimulatorEndpoint
    private let deck: Mutex<Deck>
    private let stopRequested = Atomic<Bool>(false)
    private let boundPort = Atomic<Int>(0)
    private let finished = DispatchSemaphore(value: 0)
    private let startFailure = Mutex<String?>(nil)

    /// A simulator for `map`, starting with an empty deck at zero, stable.
    public init(map: RegisterMap, division: Mass, endpoint: SimulatorEndpoint) {
        self.map = map
        self.division = division
        self.endpoint = endpoint
        let empty = IndicatorReading(
            gross: .zero, net: map.net == nil ? nil : .zero, tare: map.tare == nil ? nil : .zero,
            status: [.stable, .centreOfZero], legalCounter: map.legalCounter == nil ? nil : 1)
        deck = Mutex(Deck(reading: empty))
    }

    /// Starts serving on a thread of its own; returns once it is listening.
    public func start() throws {
        let ready = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            serve(ready: ready)
            finished.signal()
        }
        thread.name = "indicator-simulator"
        thread.start()
        ready.wait()
        if let message = startFailure.withLock({ $0 }) {
            throw SimulatorError(message: message)
        }
    }

    /// Stops serving and closes every connection; returns once the server thread has ended.
    public func stop() {
        guard !stopRequested.exchange(true, ordering: .sequentiallyConsistent) else { return }
        finished.wait()
    }

    /// The TCP port it listens on (after `start`).
    public var port: Int { boundPort.load(ordering: .sequentiallyConsistent) }

    /// Shows `reading` from now on (cancels any scenario).
    public func show(_ reading: IndicatorReading) {
        deck.withLock {
            $0.reading = reading
            $0.scenario = nil
        }
    }

    /// Shows a gross weight with these flags (cancels any scenario).
    public func show(gross: Mass, status: IndicatorStatus = .stable) {
        deck.withLock {
            $0.reading.gross = gross
            $0.reading.net = map.net == nil ? nil : gross - ($0.reading.tare ?? .zero)
            $0.reading.status = gross.grams == 0 ? status.union(.centreOfZero) : status.subtracting(.centreOfZero)
            $0.scenario = nil
        }
    }

    /// Advances the legal counter, as pressing print does.
    public func print() {
        deck.withLock { $0.reading.legalCounter = ($0.reading.legalCounter ?? 0) &+ 1 }
    }

    /// Injects `fault` into every reply until changed.
    public func inject(_ fault: SimulatorFault) {
        deck.withLock { $0.fault = fault }
    }

    /// Drops every TCP connection once (the indicator rebooting, a switch port flapping).
    public func dropConnections() {
        deck.withLock { $0.disconnectRequested = true }
    }

    /// Runs a vehicle scenario on the deck from now on: its clock starts now, not at the next
    /// poll, so where a vehicle comes to rest between two polls is as random as on a real deck.
    public func run(_ scenario: VehicleScenario) {
        deck.withLock {
            $0.scenario = scenario
            $0.answersAtZeroBeforeVehicle = $0.answersAtZero
            $0.answersAtZero = 0
            advance(&$0)
        }
    }

    /// What the deck shows now.
    public var reading: IndicatorReading { deck.withLock { $0.reading } }

    /// Whether the running scenario has finished (or none runs).
    public var scenarioFinished: Bool { deck.withLock { $0.scenario?.isFinished ?? true } }

    /// How many polls were answered without a fault at an empty deck between the vehicle before
    /// the latest one and the latest.
    public var answersAtZeroBeforeVehicle: Int { deck.withLock { $0.answersAtZeroBeforeVehicle } }

    /// When polls were answered without a fault while the latest vehicle stood still, counted
    /// from when it came to rest (empty until one has).
    public var answersAtRest: [Duration] { deck.withLock { $0.scenario?.answersAtRest ?? [] } }

    /// When the latest vehicle came to rest on the deck, in microseconds since the Unix epoch
    /// (nil until one has): where a weigh-to-report latency starts.
    public var lastSettledMicroseconds: Int64? {
        guard let settled = deck.withLock({ $0.scenario?.settledAt }) else { return nil }
        let ago = settled.duration(to: .now)
        let wall = Date().timeIntervalSince1970
        return Int64(wall * 1_000_000) - ago.components.seconds * 1_000_000 - ago.components.attoseconds
            / 1_000_000_000_000
    }

    // MARK: Server

    private func serve(ready: DispatchSemaphore) {
        let context: OpaquePointer?
        switch endpoint {
        case .tcp(let port): context = modbus_new_tcp("127.0.0.1", Int32(port))
        case .rtu(let device, _): context = modbus_new_rtu(device, 115_200, CChar(UInt8(ascii: "N")), 8, 1)
        }
        guard let context else {
            startFailure.withLock { $0 = "cannot create a libmodbus context" }
            ready.signal()
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
            startFailure.withLock { $0 = "cannot allocate the register mapping" }
            ready.signal()
            return
        }
        defer { modbus_mapping_free(mapping) }

        switch endpoint {
        case .tcp:
            serveTCP(context, mapping, ready: ready)
        case .rtu(_, let unit):
            modbus_set_slave(context, Int32(unit))
            guard modbus_connect(context) == 0 else {
                startFailure.withLock { $0 = "cannot open the tty: \(String(cString: modbus_strerror(errno)))" }
                ready.signal()
                return
            }
            defer { modbus_close(context) }
            modbus_set_indication_timeout(context, 0, 20_000)
            ready.signal()
            var query = [UInt8](repeating: 0, count: Int(MODBUS_RTU_MAX_ADU_LENGTH))
            while !stopRequested.load(ordering: .sequentiallyConsistent) {
                advanceScenario()
                let length = modbus_receive(context, &query)
                guard length > 0 else { continue }
                answer(context, mapping, query: query, length: length, isRTU: true)
            }
        }
    }

    private func serveTCP(
        _ context: OpaquePointer, _ mapping: UnsafeMutablePointer<modbus_mapping_t>,
        ready: DispatchSemaphore
    ) {
        let listener = modbus_tcp_listen(context, 8)
        guard listener >= 0 else {
            startFailure.withLock { $0 = "cannot listen: \(String(cString: modbus_strerror(errno)))" }
            ready.signal()
            return
        }
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(listener, $0, &length) }
        }
        boundPort.store(Int(UInt16(bigEndian: address.sin_port)), ordering: .sequentiallyConsistent)
        ready.signal()

        var clients: Set<Int32> = []
        var query = [UInt8](repeating: 0, count: Int(MODBUS_TCP_MAX_ADU_LENGTH))
        while !stopRequested.load(ordering: .sequentiallyConsistent) {
            advanceScenario()
            if deck.withLock({ state in
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
        let (reading, fault) = deck.withLock {
            advance(&$0)
            if $0.fault == .none {
                $0.scenario?.noteAnswer(now: .now)
                if $0.reading.gross == .zero, $0.scenario?.isFinished ?? true { $0.answersAtZero += 1 }
            }
            return ($0.reading, $0.fault)
        }
        let headerLength = Int(modbus_get_header_length(context))
        let function = query[headerLength]
        // A print command: the indicator stores the weighing and advances its counter.
        if function == 0x06, let print = map.printCommand,
            Int(query[headerLength + 1]) << 8 | Int(query[headerLength + 2]) == print.address,
            UInt16(query[headerLength + 3]) << 8 | UInt16(query[headerLength + 4]) == print.value
        {
            self.print()
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
        deck.withLock { advance(&$0) }
    }

    /// Steps the running scenario, if any, to now; the caller holds the deck's lock.
    private func advance(_ state: inout Deck) {
        guard var scenario = state.scenario else { return }
        if let reading = scenario.step(now: .now, division: division, previous: state.reading) {
            state.reading = reading
        }
        state.scenario = scenario
    }
}

/// The simulator could not start.
public struct SimulatorError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { "simulator: \(message)" }
}
