import Foundation
import Synchronization
public import WeighbridgeCore

/// The ASCII formats the simulator tells its deck in.
public enum SimulatedASCIIFormat: String, Sendable, Hashable, CaseIterable {
    /// Answers each SMA weight request (`<LF>W<CR>`) with a reply; anything else with `<LF>?<CR>`.
    case sma
    /// Sends Toledo continuous frames every `frameInterval`, without a checksum...
    case toledoContinuous = "toledo-continuous"
    /// ...or with one.
    case toledoContinuousChecksum = "toledo-continuous-checksum"
    /// Answers Dini READ with the standard string and PID by storing the weighing in its alibi
    /// memory (when stable and not below zero) and answering its id; anything else with ERR04.
    case dini
}

extension SimulatedASCIIFormat {
    /// Whether the indicator speaks only when asked.
    var isPolled: Bool { self == .sma || self == .dini }
}

/// A fault the ASCII simulator can inject into what it sends.
public enum ASCIIFault: String, Sendable, Hashable, CaseIterable {
    /// Send as a real indicator does.
    case none
    /// Send random 7-bit bytes instead of each frame.
    case garbage
    /// Send the first half of each frame only.
    case cut
    /// Send Toledo frames with a checksum that does not match (SMA has none: refused).
    case checksum
    /// Send each frame in pounds.
    case pounds
    /// Send nothing at all.
    case silence
    /// Answer every Dini PID with NO: nothing stored (SMA and Toledo have no alibi memory: refused).
    case refuseStore = "refuse-store"
}

/// Where the ASCII simulator speaks.
public enum ASCIISimulatorEndpoint: Sendable, Hashable {
    /// A serial device server's port on 127.0.0.1; port 0 picks a free one (see `port`).
    case tcp(port: Int)
    /// A tty, typically one end of a socat pty pair.
    case tty(device: String)
}

/// A simulated ASCII weighbridge indicator: it tells its deck in SMA replies, Toledo continuous
/// frames or Dini answers, made by `smaReply`, `toledoContinuousFrame`, `diniReading` and
/// `diniStored` from the manufacturers' descriptions,
/// over a pty or a TCP port, with faults injected on request.
public final class ASCIIIndicatorSimulator: Sendable {
    private struct Link: Sendable {
        var fault: ASCIIFault = .none
        var disconnectRequested = false
        /// Weighings stored in the alibi memory (Dini): the last one's progressive number.
        var alibiRecords = 0
    }

    public let format: SimulatedASCIIFormat
    public let endpoint: ASCIISimulatorEndpoint
    /// How often continuous frames are sent.
    public let frameInterval: Duration
    /// What the indicator shows: set it directly, or run vehicles on it.
    public let deck: SimulatedDeck
    private let link = Mutex(Link())
    private let thread = SimulatorThread()

    /// A simulator with an empty deck at zero, stable.
    public init(
        format: SimulatedASCIIFormat, division: Mass, endpoint: ASCIISimulatorEndpoint,
        frameInterval: Duration = .milliseconds(50)
    ) {
        self.format = format
        self.endpoint = endpoint
        self.frameInterval = frameInterval
        deck = SimulatedDeck(division: division, showsNet: false, showsTare: false, legalCounter: false)
    }

    /// Starts speaking on a thread of its own; returns once it is listening (or has the tty open).
    public func start() throws {
        try thread.start(name: "ascii-indicator-simulator") { [self] in serve() }
    }

    /// Stops and closes everything; returns once the thread has ended.
    public func stop() {
        thread.stop()
    }

    /// The TCP port it listens on (after `start`).
    public var port: Int { thread.port }

    /// Injects `fault` into everything sent until changed.
    public func inject(_ fault: ASCIIFault) throws {
        if fault == .checksum, format != .toledoContinuousChecksum {
            throw SimulatorError(message: "only toledo-continuous-checksum frames carry a checksum")
        }
        if fault == .refuseStore, format != .dini {
            throw SimulatorError(message: "only a dini indicator has an alibi memory to refuse")
        }
        link.withLock { $0.fault = fault }
    }

    /// How many weighings it has stored in its alibi memory (Dini): the last one's progressive number.
    public var alibiRecords: Int { link.withLock { $0.alibiRecords } }

    /// Drops every TCP connection once (the device server restarting).
    public func dropConnections() {
        link.withLock { $0.disconnectRequested = true }
    }

    // MARK: Speaking

    private func serve() {
        var listener: Int32 = -1
        var boundPort = 0
        var peers: Set<Int32> = []
        switch endpoint {
        case .tty(let device):
            let descriptor = open(device, O_RDWR | O_NOCTTY | O_NONBLOCK)
            guard descriptor >= 0 else {
                thread.failed("cannot open \(device): \(String(cString: strerror(errno)))")
                return
            }
            var options = termios()
            tcgetattr(descriptor, &options)
            cfmakeraw(&options)
            tcsetattr(descriptor, TCSANOW, &options)
            peers.insert(descriptor)
        case .tcp(let port):
            guard let (descriptor, port) = listen(port: port) else { return }
            (listener, boundPort) = (descriptor, port)
        }
        thread.listening(port: boundPort)
        var requests: [Int32: [UInt8]] = [:]
        var nextFrame = ContinuousClock.now
        while !thread.isStopping {
            deck.advance()
            if case .tcp = endpoint,
                link.withLock({ state in
                    defer { state.disconnectRequested = false }
                    return state.disconnectRequested
                })
            {
                peers.forEach { close($0) }
                peers.removeAll()
            }
            var descriptors = (listener >= 0 ? [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)] : [])
            descriptors += peers.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let untilFrame = ContinuousClock.now.duration(to: nextFrame)
            // Rounded up: a wait of less than a millisecond rounded down would spin.
            let wait =
                format.isPolled || untilFrame > .milliseconds(20)
                ? 20 : max(0, Int32((untilFrame / .milliseconds(1)).rounded(.up)))
            _ = poll(&descriptors, nfds_t(descriptors.count), wait)
            for descriptor in descriptors where descriptor.revents != 0 {
                if descriptor.fd == listener {
                    let peer = accept(listener, nil, nil)
                    if peer >= 0 { peers.insert(peer) }
                    continue
                }
                var buffer = [UInt8](repeating: 0, count: 256)
                let count = read(descriptor.fd, &buffer, buffer.count)
                guard count > 0 else {
                    // The peer closed, or the tty hung up (its pty pair is gone): nobody to speak to.
                    if count == 0 || (errno != EAGAIN && errno != EINTR) {
                        close(descriptor.fd)
                        peers.remove(descriptor.fd)
                    }
                    continue
                }
                // A continuous indicator ignores what it is sent.
                guard format.isPolled else { continue }
                requests[descriptor.fd, default: []] += buffer.prefix(count)
                answerRequests(&requests[descriptor.fd, default: []], to: descriptor.fd)
            }
            if !format.isPolled, ContinuousClock.now >= nextFrame {
                nextFrame = max(nextFrame + frameInterval, .now)
                let frame = spoilt(tell())
                for peer in peers { send(frame, to: peer) }
            }
        }
        peers.forEach { close($0) }
        if listener >= 0 { close(listener) }
    }

    /// Answers every whole request in `pending` (each ends at its CR; Dini's LF after it is
    /// dropped). SMA: `<LF>W<CR>` with the weight, anything else with `<LF>?<CR>` (the protocol's
    /// "unknown command"). Dini: READ with the weight, PID by storing the weighing, anything
    /// else with ERR04.
    private func answerRequests(_ pending: inout [UInt8], to peer: Int32) {
        while let end = pending.firstIndex(of: 0x0D) {
            let request = Array(pending[...end])
            pending.removeFirst(end + 1)
            switch format {
            case .sma:
                let start = request.lastIndex(of: 0x0A) ?? 0
                send(Array(request[start...]) == SMA.weightRequest ? spoilt(tell()) : [0x0A, 0x3F, 0x0D], to: peer)
            case .dini:
                switch String(decoding: request.filter { $0 != 0x0A && $0 != 0x0D }, as: UTF8.self) {
                case "READ": send(spoilt(tell()), to: peer)
                case "PID": send(spoilt(storeInAlibi()), to: peer)
                default: send(Array("ERR04\r\n".utf8), to: peer)
                }
            case .toledoContinuous, .toledoContinuousChecksum:
                break
            }
        }
    }

    /// Dini's PID: the weighing stored with the next id when stable and not below zero, and
    /// not refused by an injected fault; the answer says which.
    private func storeInAlibi() -> [UInt8] {
        let fault = link.withLock { $0.fault }
        let reading = deck.tell(faulty: fault != .none)
        let storable = fault != .refuseStore && reading.status.contains(.stable) && (reading.gross ?? .zero) >= .zero
        let id: String? =
            storable
            ? link.withLock { link in
                link.alibiRecords += 1
                let progressive = String(link.alibiRecords)
                return "00000-" + String(repeating: "0", count: max(0, 6 - progressive.count)) + progressive
            } : nil
        return diniStored(reading, id: id, division: deck.division, unit: fault == .pounds ? "lb" : "kg")
    }

    /// The deck's reading in the simulator's format, as a healthy indicator sends it.
    private func tell() -> [UInt8] {
        let fault = link.withLock { $0.fault }
        let reading = deck.tell(faulty: fault != .none)
        switch format {
        case .sma:
            return smaReply(reading, division: deck.division, unit: fault == .pounds ? "lb " : "kg ")
        case .dini:
            return diniReading(reading, division: deck.division, unit: fault == .pounds ? "lb" : "kg")
        case .toledoContinuous, .toledoContinuousChecksum:
            var frame = toledoContinuousFrame(
                reading, division: deck.division, checksum: format == .toledoContinuousChecksum)
            if fault == .pounds { frame[2] &= ~0x10 }  // status B bit 4 clear: pounds
            return frame
        }
    }

    /// `frame` as the injected fault spoils it.
    private func spoilt(_ frame: [UInt8]) -> [UInt8] {
        switch link.withLock({ $0.fault }) {
        case .none, .pounds, .refuseStore: return frame
        case .silence: return []
        case .cut: return Array(frame.prefix(frame.count / 2))
        case .checksum:
            var spoilt = frame
            spoilt[spoilt.count - 1] ^= 0x01
            return spoilt
        case .garbage:
            var generator = SystemRandomNumberGenerator()
            // Printable bytes only: never an STX or LF that would start a frame.
            return (0..<frame.count).map { _ in UInt8.random(in: 0x20...0x7E, using: &generator) }
        }
    }

    private func send(_ bytes: [UInt8], to peer: Int32) {
        guard !bytes.isEmpty else { return }
        _ = bytes.withUnsafeBytes { bytes in
            // A peer that has gone answers EPIPE, not a SIGPIPE that would end the simulator.
            if case .tcp = endpoint {
                Glibc.send(peer, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            } else {
                write(peer, bytes.baseAddress, bytes.count)
            }
        }
    }

    /// A socket listening on 127.0.0.1:`port`, and the port it got; nil (having said why) if none.
    private func listen(port: Int) -> (Int32, Int)? {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var reuse: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listener, pointer, length) == 0 && Glibc.listen(listener, 8) == 0
                    && getsockname(listener, pointer, &length) == 0
            }
        }
        guard listener >= 0, bound else {
            thread.failed("cannot listen on 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
            if listener >= 0 { close(listener) }
            return nil
        }
        return (listener, Int(UInt16(bigEndian: address.sin_port)))
    }
}
