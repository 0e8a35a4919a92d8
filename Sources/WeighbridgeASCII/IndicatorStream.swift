import BlockingExecution
import Glibc
public import WeighbridgeCore

/// The one owner of an open serial line or TCP connection's descriptor: opened in one place and
/// closed in `deinit`. Not `Sendable`: only its `IndicatorStream` touches it, on the stream's
/// own executor.
final class StreamDescriptor {
    let descriptor: Int32
    /// What opening could not set: said once per open, never a reason to refuse the line.
    private(set) var notes: [String] = []

    init(line: ASCIILine, connectTimeout: Duration, name: String) throws(StreamError) {
        switch line {
        case .serial(let serial): descriptor = try Self.openSerial(serial, name: name)
        case .tcp(let host, let port):
            descriptor = try Self.connect(host: host, port: port, timeout: connectTimeout, name: name)
        }
        // Every stored property is set: if this throws, `deinit` closes the descriptor.
        if case .serial(let serial) = line { notes = try Self.setControlLines(descriptor, serial, name: name) }
    }

    deinit {
        Glibc.close(descriptor)
    }

    /// Opens the tty raw, with the line's character format and flow control, without making it
    /// the daemon's controlling terminal, and without dropping DTR when it is closed (HUPCL off).
    private static func openSerial(_ line: SerialLine, name: String) throws(StreamError) -> Int32 {
        let settings = line.settings
        let descriptor = Glibc.open(settings.device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw StreamError(errno: errno, operation: "open \(name)") }
        var options = termios()
        guard tcgetattr(descriptor, &options) == 0 else {
            let error = StreamError(errno: errno, operation: "read the line settings of \(name)")
            Glibc.close(descriptor)
            throw error
        }
        cfmakeraw(&options)
        let cleared: [tcflag_t] = [
            tcflag_t(CSIZE), tcflag_t(PARENB), tcflag_t(PARODD), tcflag_t(CSTOPB), tcflag_t(HUPCL), tcflag_t(CRTSCTS),
        ]
        var control = options.c_cflag & ~cleared.reduce(0, |)
        control |= tcflag_t(CLOCAL) | tcflag_t(CREAD)
        control |= settings.dataBits == 7 ? tcflag_t(CS7) : tcflag_t(CS8)
        switch settings.parity {
        case .none: break
        case .even: control |= tcflag_t(PARENB)
        case .odd: control |= tcflag_t(PARENB) | tcflag_t(PARODD)
        }
        if settings.stopBits == 2 { control |= tcflag_t(CSTOPB) }
        var input = options.c_iflag & ~(tcflag_t(IXON) | tcflag_t(IXOFF) | tcflag_t(IXANY) | tcflag_t(IGNPAR))
        // A byte with a parity error arrives as NUL, which no frame takes: SMA and Dini frames carry
        // no checksum, and a corrupted digit must not be read as a weight.
        if settings.parity != .none { input |= tcflag_t(INPCK) }
        switch line.flowControl {
        case .none: break
        case .rtsCts: control |= tcflag_t(CRTSCTS)
        case .xonXoff: input |= tcflag_t(IXON) | tcflag_t(IXOFF)
        }
        options.c_cflag = control
        options.c_iflag = input
        let speed = Self.speed(settings.baud)
        guard cfsetispeed(&options, speed) == 0, cfsetospeed(&options, speed) == 0,
            tcsetattr(descriptor, TCSANOW, &options) == 0
        else {
            let error = StreamError(errno: errno, operation: "set \(name)")
            Glibc.close(descriptor)
            throw error
        }
        // What the indicator sent before the line was set is in some other format: gone.
        tcflush(descriptor, TCIFLUSH)
        return descriptor
    }

    /// Holds DTR and RTS at the configured levels (RTS is the line's under RTS/CTS). A device with
    /// no modem lines (a pty, some USB adapters) cannot: that is noted, not refused.
    private static func setControlLines(_ descriptor: Int32, _ line: SerialLine, name: String) throws(StreamError)
        -> [String]
    {
        var lines: [(String, Int32, ControlLineLevel)] = [("DTR", TIOCM_DTR, line.dtr)]
        if let rts = line.rts { lines.append(("RTS", TIOCM_RTS, rts)) }
        var notes: [String] = []
        for (label, bit, level) in lines {
            var bits = bit
            let request = level == .on ? TIOCMBIS : TIOCMBIC
            guard ioctl(descriptor, UInt(request), &bits) == 0 else {
                let code = errno
                guard code == ENOTTY || code == EINVAL else {
                    throw StreamError(errno: code, operation: "set \(label) \(level.rawValue) on \(name)")
                }
                notes.append("\(name) has no modem control lines: \(label) cannot be set \(level.rawValue)")
                continue
            }
        }
        return notes
    }

    /// The termios speed for a standard rate (the configuration allows no other).
    private static func speed(_ baud: Int) -> speed_t {
        switch baud {
        case 1_200: speed_t(B1200)
        case 2_400: speed_t(B2400)
        case 4_800: speed_t(B4800)
        case 19_200: speed_t(B19200)
        case 38_400: speed_t(B38400)
        case 57_600: speed_t(B57600)
        case 115_200: speed_t(B115200)
        default: speed_t(B9600)
        }
    }

    /// Connects to a serial device server within `timeout`, trying each address the host resolves
    /// to in turn, with keepalive so a switched-off server is noticed between frames too.
    private static func connect(host: String, port: Int, timeout: Duration, name: String) throws(StreamError)
        -> Int32
    {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var found: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &found)
        guard status == 0, found != nil else {
            throw StreamError(
                kind: .connectionLost, operation: "resolve \(name)", message: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(found) }
        var failure = StreamError(kind: .connectionLost, operation: "connect to \(name)", message: "no address")
        var address = found
        while let candidate = address {
            address = candidate.pointee.ai_next
            do {
                return try connect(to: candidate.pointee, timeout: timeout, name: name)
            } catch {
                failure = error
            }
        }
        throw failure
    }

    private static func connect(to address: addrinfo, timeout: Duration, name: String) throws(StreamError) -> Int32 {
        let descriptor = socket(address.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw StreamError(errno: errno, operation: "open a socket for \(name)") }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        if Glibc.connect(descriptor, address.ai_addr, address.ai_addrlen) != 0 {
            var code = errno
            if code == EINPROGRESS {
                var waiting = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                let ready = poll(&waiting, 1, Int32(clamping: timeout.wholeMillisecondsRoundedUp))
                var length = socklen_t(MemoryLayout<Int32>.size)
                switch ready {
                case 0: code = ETIMEDOUT
                case 1...: code = getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &code, &length) == 0 ? code : errno
                default: code = errno
                }
            }
            if code != 0 {
                Glibc.close(descriptor)
                throw StreamError(errno: code, operation: "connect to \(name)")
            }
        }
        var enabled: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_KEEPALIVE, &enabled, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &enabled, socklen_t(MemoryLayout<Int32>.size))
        return descriptor
    }
}

@available(*, unavailable)
extension StreamDescriptor: Sendable {}

/// The byte stream to one ASCII indicator: its serial line, or a serial device server's TCP
/// port. Reads and writes are blocking calls on the stream's own executor, bounded in time and
/// ended early by cancellation. It opens when asked and never retries by itself (the
/// acquisition loop owns the backoff).
public actor IndicatorStream {
    public nonisolated let line: ASCIILine
    /// How long a TCP connect may take.
    public nonisolated let connectTimeout: Duration
    private let executor: BlockingSerialExecutor
    private var descriptor: StreamDescriptor?

    /// The longest one blocking wait lasts before it looks for cancellation again.
    private static let cancellationSlice = Duration.milliseconds(100)

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// The stream's executor as its acquisition loop's preferred task executor.
    nonisolated var taskExecutor: any TaskExecutor { executor }

    /// A stream that opens when asked.
    public init(line: ASCIILine, connectTimeout: Duration = .seconds(3)) {
        self.line = line
        self.connectTimeout = connectTimeout
        self.executor = BlockingSerialExecutor(label: "weighbridged.ascii")
    }

    /// "serial /dev/ttyUSB0 9600 7E1" or "tcp 10.0.0.7:4001", for messages.
    public nonisolated var name: String { line.label }

    /// Whether the line is open now.
    public var isOpen: Bool { descriptor != nil }

    /// Opens the line (closing any open one first); returns what it could not set, one sentence each.
    @discardableResult
    public func open() throws(StreamError) -> [String] {
        descriptor = nil
        let opened = try StreamDescriptor(line: line, connectTimeout: connectTimeout, name: name)
        descriptor = opened
        return opened.notes
    }

    /// Closes the line; the next `open` opens it again.
    public func close() {
        descriptor = nil
    }

    /// Sends `bytes` whole, or fails (closing the line) if it cannot within `timeout`.
    public func write(_ bytes: [UInt8], timeout: Duration) throws(StreamError) {
        let descriptor = try opened(for: "write to")
        let deadline = ContinuousClock.now + timeout
        var sent = 0
        while sent < bytes.count {
            let written = bytes[sent...].withUnsafeBytes { bytes in
                // A socket whose peer has gone answers EPIPE, not a SIGPIPE that would end the process.
                line.isSerial
                    ? Glibc.write(descriptor, bytes.baseAddress, bytes.count)
                    : send(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            }
            if written > 0 {
                sent += written
                continue
            }
            let code = errno
            guard written < 0, code == EAGAIN || code == EINTR else {
                throw lost(StreamError(errno: code, operation: "write to \(name)"))
            }
            guard ContinuousClock.now < deadline else {
                throw lost(
                    StreamError(kind: .timeout, operation: "write to \(name)", message: "the line takes no bytes"))
            }
            var waiting = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            _ = poll(&waiting, 1, 10)
        }
    }

    /// Waits until bytes arrive, `deadline` passes or (when `cancellable`) the task is cancelled,
    /// and returns what arrived (nothing at the deadline or on cancellation). A line that is gone
    /// fails, closed. An exchange that must end whatever happens (storing a weighing in the
    /// indicator's memory) is not cancellable: it is bounded by its deadline alone.
    public func read(until deadline: ContinuousClock.Instant, cancellable: Bool = true) throws(StreamError) -> [UInt8] {
        let descriptor = try opened(for: "read from")
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while !cancellable || !Task.isCancelled {
            let left = ContinuousClock.now.duration(to: deadline)
            var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            // Rounded up: a wait of less than a millisecond rounded down would be a busy loop.
            let wait = max(.zero, min(left, Self.cancellationSlice)).wholeMillisecondsRoundedUp
            let ready = poll(&waiting, 1, Int32(clamping: wait))
            if ready < 0, errno != EINTR { throw lost(StreamError(errno: errno, operation: "wait for \(name)")) }
            if ready > 0 {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
                if count > 0 { return Array(buffer.prefix(count)) }
                let code = errno
                if count == 0 {
                    // The peer closed the connection, or the tty hung up (its device went away).
                    throw lost(StreamError(kind: .connectionLost, operation: "read from \(name)", message: "closed"))
                }
                if code != EAGAIN && code != EINTR {
                    throw lost(StreamError(errno: code, operation: "read from \(name)"))
                }
            }
            if left <= .zero { break }
        }
        return []
    }

    private func opened(for action: String) throws(StreamError) -> Int32 {
        guard let descriptor else {
            throw StreamError(kind: .connectionLost, operation: "\(action) \(name)", message: "not open")
        }
        return descriptor.descriptor
    }

    /// Closes the line when `error` means it is gone, and hands the error back.
    private func lost(_ error: StreamError) -> StreamError {
        if error.requiresReopen { descriptor = nil }
        return error
    }
}

extension Duration {
    /// Whole milliseconds, a part of one counting as one.
    var wholeMillisecondsRoundedUp: Int64 {
        let (seconds, attoseconds) = components
        let attosecondsPerMillisecond: Int64 = 1_000_000_000_000_000
        return seconds * 1_000 + (attoseconds + attosecondsPerMillisecond - 1) / attosecondsPerMillisecond
    }
}
