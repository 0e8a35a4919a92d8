import BlockingExecution
internal import CModbus
import Foundation
import Synchronization
public import WeighbridgeCore

/// The one owner of a libmodbus context: created and connected in one place, closed and freed in
/// `deinit`. Not `Sendable`: only its `ModbusLink` touches it, on the link's own executor.
final class ModbusContext {
    private let handle: OpaquePointer

    init(transport: Transport, responseTimeout: Duration, byteTimeout: Duration?, name: String) throws(ModbusError) {
        let created: OpaquePointer?
        switch transport {
        case .tcp(let host, let port):
            created = modbus_new_tcp_pi(host, String(port))
        case .rtu(let serial):
            created = modbus_new_rtu(
                serial.device, Int32(serial.baud), CChar(serial.parity.rawValue.utf8.first!),
                Int32(serial.dataBits), Int32(serial.stopBits))
        }
        guard let created else { throw ModbusError(errno: errno, operation: "create context for \(name)") }
        handle = created
        // The daemon reconnects with its own backoff; libmodbus's recovery would hide outages.
        modbus_set_error_recovery(handle, MODBUS_ERROR_RECOVERY_NONE)
        let (seconds, microseconds) = responseTimeout.secondsAndMicroseconds
        modbus_set_response_timeout(handle, seconds, microseconds)
        if let byteTimeout {
            let (byteSeconds, byteMicroseconds) = byteTimeout.secondsAndMicroseconds
            modbus_set_byte_timeout(handle, byteSeconds, byteMicroseconds)
        }
        guard modbus_connect(handle) == 0 else {
            // Every stored property is set, so `deinit` runs and frees the context.
            let error = ModbusError(errno: errno, operation: "connect to \(name)")
            throw ModbusError(kind: .connectionLost, operation: error.operation, message: error.message)
        }
        if case .tcp = transport {
            // Notice a silently dead peer (a switched-off indicator) between polls, too.
            var enabled: Int32 = 1
            setsockopt(
                modbus_get_socket(handle), SOL_SOCKET, SO_KEEPALIVE, &enabled, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    deinit {
        modbus_close(handle)
        modbus_free(handle)
    }

    func setUnit(_ unit: Int, operation: () -> String) throws(ModbusError) {
        guard modbus_set_slave(handle, Int32(unit)) == 0 else {
            throw ModbusError(errno: errno, operation: operation())
        }
    }

    func readRegisters(function: ModbusReadFunction, address: Int, count: Int, operation: () -> String)
        throws(ModbusError) -> [UInt16]
    {
        var registers = [UInt16](repeating: 0, count: count)
        let read = registers.withUnsafeMutableBufferPointer { buffer in
            switch function {
            case .holdingRegisters: modbus_read_registers(handle, Int32(address), Int32(count), buffer.baseAddress)
            case .inputRegisters: modbus_read_input_registers(handle, Int32(address), Int32(count), buffer.baseAddress)
            }
        }
        guard read == Int32(count) else {
            let code = errno
            if read >= 0 {
                throw ModbusError(kind: .badReply, operation: operation(), message: "short reply (\(read))")
            }
            throw ModbusError(errno: code, operation: operation())
        }
        return registers
    }

    func writeRegister(address: Int, value: UInt16, operation: () -> String) throws(ModbusError) {
        guard modbus_write_register(handle, Int32(address), value) == 1 else {
            throw ModbusError(errno: errno, operation: operation())
        }
    }

    /// Function 0x11, Report Server ID: the device's own identification bytes.
    func reportServerID(operation: () -> String) throws(ModbusError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBufferPointer { modbus_report_slave_id(handle, 256, $0.baseAddress) }
        guard count >= 0 else { throw ModbusError(errno: errno, operation: operation()) }
        return Array(buffer.prefix(Int(min(count, 256))))
    }

    func flush() {
        modbus_flush(handle)
    }
}

@available(*, unavailable)
extension ModbusContext: Sendable {}

/// One physical link: a TCP connection to one indicator, or one serial line that several
/// indicators may share. Requests on a link are serialised on its own executor, with the
/// configured silence between them. It connects on first use and after any error that loses the
/// link; it never retries by itself (the acquisition loop owns the backoff).
public actor ModbusLink {
    /// How the link is reached and paced.
    public struct Settings: Sendable, Hashable {
        public var transport: Transport
        public var responseTimeout: Duration
        public var byteTimeout: Duration?
        /// Silence kept between the end of one exchange and the next request: libmodbus does
        /// not enforce the RTU 3.5-character interval, and slow indicators need more.
        public var gap: Duration

        public init(transport: Transport, responseTimeout: Duration, byteTimeout: Duration?, gap: Duration) {
            self.transport = transport
            self.responseTimeout = responseTimeout
            self.byteTimeout = byteTimeout
            self.gap = gap
        }
    }

    public nonisolated let settings: Settings
    private let executor: BlockingSerialExecutor
    private var context: ModbusContext?
    private var lastExchange: ContinuousClock.Instant?

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// The link's executor as its acquisition loops' preferred task executor.
    nonisolated var taskExecutor: any TaskExecutor { executor }

    /// A link that connects on first use.
    public init(settings: Settings) {
        self.settings = settings
        self.executor = BlockingSerialExecutor(label: "weighbridged.modbus")
    }

    /// "tcp 127.0.0.1:502" or "rtu /dev/ttyUSB0 9600 8E1", for messages.
    public nonisolated var name: String { settings.transport.label }

    /// How many acquisition loops poll through this link (several bridges on one serial line),
    /// counted before each one first waits for the link: a loop that is behind schedule and never
    /// suspends would otherwise keep the link from a loop still waiting to start.
    nonisolated let pollers = Atomic<Int>(0)

    /// Waits until `deadline` on the link's own queue, and wakes there: polling keeps its pace
    /// whatever else holds the shared concurrency pool. Cancellation ends the wait at once.
    func sleep(until deadline: ContinuousClock.Instant) async throws {
        let wait = LinkWait()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                guard wait.begin(continuation) else { return }
                executor.schedule(after: ContinuousClock.now.duration(to: deadline)) { wait.end(throwing: nil) }
            }
        } onCancel: {
            wait.end(throwing: CancellationError())
        }
    }

    /// Whether a connection is open now.
    public var isConnected: Bool { context != nil }

    /// Reads a register map's block from `unit` in one request.
    public func readBlock(unit: Int, map: RegisterMap) throws(ModbusError) -> [UInt16] {
        let operation = {
            "read \(map.count) registers at \(map.address) (FC 0\(map.function.rawValue)) from unit \(unit) on \(self.name)"
        }
        return try exchange(unit: unit, operation: operation) { context throws(ModbusError) in
            try context.readRegisters(
                function: map.function, address: map.address, count: map.count, operation: operation)
        }
    }

    /// Writes one holding register (function 06), e.g. an indicator's print command.
    public func writeRegister(unit: Int, address: Int, value: UInt16) throws(ModbusError) {
        let operation = { "write \(value) to register \(address) (FC 06) of unit \(unit) on \(self.name)" }
        try exchange(unit: unit, operation: operation) { context throws(ModbusError) in
            try context.writeRegister(address: address, value: value, operation: operation)
        }
    }

    /// The device's identification (Report Server ID), as recorded; nil if the device
    /// does not implement the function. Read again after every reconnect.
    public func identify(unit: Int) throws(ModbusError) -> String? {
        let operation = { "identify unit \(unit) on \(self.name)" }
        do {
            // Devices that lack the function may stay silent: that must not cost the connection.
            let bytes = try exchange(unit: unit, operation: operation, keepLinkOnTimeout: true) {
                context throws(ModbusError) in
                try context.reportServerID(operation: operation)
            }
            return ServerIdentification(bytes: bytes).recorded
        } catch  where error.kind == .exception(1) {
            return nil
        }
    }

    /// One request; `operation` describes it, and is built only when it fails.
    private func exchange<Result>(
        unit: Int, operation: () -> String, keepLinkOnTimeout: Bool = false,
        _ body: (ModbusContext) throws(ModbusError) -> Result
    ) throws(ModbusError) -> Result {
        waitForGap()
        let context = try connected()
        defer { lastExchange = .now }
        do {
            try context.setUnit(unit, operation: operation)
            return try body(context)
        } catch {
            let isTCP: Bool = if case .tcp = settings.transport { true } else { false }
            if error.requiresReconnect || (isTCP && error.kind == .timeout && !keepLinkOnTimeout) {
                // A TCP stream that timed out may deliver the late reply to the next request.
                self.context = nil
            } else {
                // Discard whatever is left of a bad or late reply; the next request still waits
                // out the gap (waitForGap) before it speaks.
                context.flush()
            }
            throw error
        }
    }

    private func connected() throws(ModbusError) -> ModbusContext {
        if let context { return context }
        let created = try ModbusContext(
            transport: settings.transport, responseTimeout: settings.responseTimeout,
            byteTimeout: settings.byteTimeout, name: name)
        context = created
        return created
    }

    private func waitForGap() {
        guard settings.gap > .zero, let lastExchange else { return }
        let wait = lastExchange + settings.gap - .now
        if wait > .zero { Thread.sleep(forTimeInterval: wait.seconds) }
    }
}

extension Duration {
    var secondsAndMicroseconds: (UInt32, UInt32) {
        let (seconds, attoseconds) = components
        return (UInt32(clamping: seconds), UInt32(clamping: attoseconds / 1_000_000_000_000))
    }

    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// One sleeping loop's continuation, resumed exactly once: by its timer or by cancellation,
/// whichever comes first (cancellation may even come before the wait began).
private final class LinkWait: Sendable {
    private enum State {
        case idle
        case waiting(CheckedContinuation<Void, any Error>)
        case ended
    }

    private let state = Mutex(State.idle)

    /// Stores the continuation; false (having resumed it) if the wait was already cancelled.
    func begin(_ continuation: CheckedContinuation<Void, any Error>) -> Bool {
        let cancelled = state.withLock { state -> Bool in
            guard case .idle = state else { return true }
            state = .waiting(continuation)
            return false
        }
        if cancelled { continuation.resume(throwing: CancellationError()) }
        return !cancelled
    }

    /// Resumes the wait (with `error`, if any) unless it has ended already.
    func end(throwing error: (any Error)?) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            defer { state = .ended }
            if case .waiting(let continuation) = state { return continuation }
            return nil
        }
        if let error { continuation?.resume(throwing: error) } else { continuation?.resume() }
    }
}
