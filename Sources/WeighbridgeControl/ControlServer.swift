import Foundation
import NIOCore
import NIOPosix
import Synchronization
public import WeighbridgeControlProtocol
public import WeighbridgeCore
public import WeighbridgeJSON

/// What the control socket's commands mean. The server carries lines, limits and the kernel's
/// word on who is connected; the handler, which the application layer provides, carries out
/// each command.
public protocol ControlHandler: Sendable {
    /// Carries out `command` for `identity`: the reply's result, or the refusal to answer with.
    func execute(_ command: ControlCommand, by identity: OperatorIdentity) async throws(ControlError) -> JSONValue
    /// The sequence number of the newest audit entry now: a follower is sent what comes after it.
    func auditHead() async throws -> Int64
    /// Audit entries recorded after `sequence`, oldest first and at most `limit`, as a follower
    /// is sent them.
    func auditEntries(after sequence: Int64, limit: Int) async throws -> [AuditEntryView]
}

/// The control socket: a Unix stream socket, mode 0660 with the configured group, speaking the
/// newline-JSON protocol. Each connection is identified by its peer credentials (SO_PEERCRED),
/// bounded in line length, idle time and number, and served independently: one bad client
/// never affects another.
public struct ControlServer: Sendable {
    /// Where and how the socket is offered.
    public struct Settings: Sendable, Hashable {
        public var path: String
        /// The group that may connect (the socket is 0660); nil keeps the process's group.
        public var group: String?
        /// A connection that sends no complete line for this long is closed.
        public var idleTimeout: Duration
        /// The longest the server waits in all for the rest of a line begun, however its bytes
        /// trickle in (a client sending one byte every few seconds is never idle); `tail`
        /// followers too. Time spent on the lines before it is not waiting.
        public var lineDeadline: Duration
        /// Connections served at once; more are told so and closed.
        public var maximumConnections: Int

        public init(
            path: String, group: String?, idleTimeout: Duration = .seconds(30), lineDeadline: Duration = .seconds(10),
            maximumConnections: Int = 64
        ) {
            self.path = path
            self.group = group
            self.idleTimeout = idleTimeout
            self.lineDeadline = lineDeadline
            self.maximumConnections = maximumConnections
        }
    }

    public let settings: Settings
    public let handler: any ControlHandler

    /// A server whose commands `handler` carries out.
    public init(settings: Settings, handler: some ControlHandler) {
        self.settings = settings
        self.handler = handler
    }

    /// Binds the socket, then serves until the task is cancelled; the socket file is removed
    /// when it ends. `ready` is called once the socket accepts connections.
    public func run(ready: @Sendable () -> Void = {}) async throws {
        let groupID = try settings.group.map(Self.groupID)
        let idle = TimeAmount(settings.idleTimeout)
        let lineDeadline = TimeAmount(settings.lineDeadline)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 32)
            .bind(unixDomainSocketPath: settings.path, cleanupExistingSocketFile: true) { channel in
                Self.peerCredentials(of: channel).flatMapThrowing { credentials in
                    // Idle means neither a request nor a reply for the timeout: a client that is
                    // being answered is never cut off, one that sends half a line and waits is.
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: idle))
                    try channel.pipeline.syncOperations.addHandler(LineDeadline(limit: lineDeadline))
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(LineFrameDecoder(maximumLength: ControlProtocol.maximumLineLength)))
                    try channel.pipeline.syncOperations.addHandler(CloseWhenIdle(), name: CloseWhenIdle.name)
                    return (
                        credentials, try NIOAsyncChannel<LineFrame, ByteBuffer>(wrappingChannelSynchronously: channel)
                    )
                }
            }
        defer { unlink(settings.path) }
        // 0660 and the operators' group: "the control socket is not world-writable".
        guard chmod(settings.path, 0o660) == 0, groupID.map({ chown(settings.path, uid_t.max, $0) == 0 }) ?? true else {
            let code = errno
            try? await server.channel.close()
            throw ControlServerError(
                message: "cannot set the mode or group of \(settings.path): \(String(cString: strerror(code)))")
        }
        ready()
        let connections = ConnectionCount()
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { inbound in
                for try await (credentials, connection) in inbound {
                    guard connections.open(limit: settings.maximumConnections) else {
                        group.addTask { await Self.refuse(connection) }
                        continue
                    }
                    group.addTask {
                        defer { connections.close() }
                        await serve(connection, identity: credentials)
                    }
                }
            }
        }
    }

    private func serve(_ connection: NIOAsyncChannel<LineFrame, ByteBuffer>, identity: OperatorIdentity) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                for try await frame in inbound {
                    switch frame {
                    case .tooLong:
                        let error = ControlError(
                            .lineTooLong, "request longer than \(ControlProtocol.maximumLineLength) bytes")
                        try await outbound.write(ByteBuffer(string: ControlResponse.error(id: nil, error).line))
                        return
                    case .line(let bytes):
                        let reply: ControlResponse
                        switch ControlRequest.decode(bytes.readableBytesView) {
                        case .failure(let failure):
                            reply = .error(id: failure.id, failure.error)
                        case .success(let request):
                            if case .tail = request.command {
                                // A follower may wait long for the next event: no idle limit.
                                try await connection.channel.pipeline.removeHandler(name: CloseWhenIdle.name)
                                try await tail(request, outbound, channel: connection.channel)
                                return
                            }
                            do {
                                reply = .ok(id: request.id, try await handler.execute(request.command, by: identity))
                            } catch let error as ControlError {
                                reply = .error(id: request.id, error)
                            }
                        }
                        try await outbound.write(ByteBuffer(string: reply.line))
                    }
                }
            }
        } catch {
            // The client went away or misbehaved; its connection is closed, nothing else changes.
        }
    }

    /// Streams audit events (every weighing, decision, override, report attempt) as they are
    /// recorded, until the client disconnects or the server stops.
    private func tail(
        _ request: ControlRequest, _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        channel: any Channel
    ) async throws {
        var last = try await handler.auditHead()
        try await outbound.write(ByteBuffer(string: ControlResponse.ok(id: request.id, TailReply.following.json).line))
        // A follower that hangs up closes the channel: stop polling then, not at the next event.
        while !Task.isCancelled, channel.isActive {
            for entry in try await handler.auditEntries(after: last, limit: 500) {
                try await outbound.write(
                    ByteBuffer(string: ControlResponse.ok(id: request.id, TailReply.entry(entry).json).line))
                last = entry.sequence
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    private static func refuse(_ connection: NIOAsyncChannel<LineFrame, ByteBuffer>) async {
        try? await connection.executeThenClose { _, outbound in
            let error = ControlError(.unavailable, "too many control connections; try again")
            try await outbound.write(ByteBuffer(string: ControlResponse.error(id: nil, error).line))
        }
    }

    /// The connecting process's uid, as the kernel reports it, and its user name.
    private static func peerCredentials(of channel: any Channel) -> EventLoopFuture<OperatorIdentity> {
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeFailedFuture(ControlServerError(message: "no peer credentials"))
        }
        let future: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(
            level: .socket, name: NIOBSDSocket.Option(rawValue: SO_PEERCRED))
        return future.map { credentials in
            OperatorIdentity(uid: credentials.uid, name: userName(credentials.uid))
        }
    }

    static func userName(_ uid: uid_t) -> String {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4_096)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, let result,
            let name = result.pointee.pw_name
        else { return "uid\(uid)" }
        return String(cString: name)
    }

    static func groupID(_ name: String) throws -> gid_t {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 4_096)
        guard getgrnam_r(name, &entry, &buffer, buffer.count, &result) == 0, let result else {
            throw ControlServerError(message: "no group \"\(name)\" (control.group); create it or name another")
        }
        return result.pointee.gr_gid
    }
}

/// The control socket could not be offered.
public struct ControlServerError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { "control socket: \(message)" }
}

/// `struct ucred` of socket(7), which Glibc's Swift module does not export (it needs _GNU_SOURCE).
private struct PeerCredentials {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// Open connections, for the limit.
private final class ConnectionCount: Sendable {
    private let count = Mutex(0)

    func open(limit: Int) -> Bool {
        count.withLock { value in
            guard value < limit else { return false }
            value += 1
            return true
        }
    }

    func close() { count.withLock { $0 -= 1 } }
}

/// A request line, or the news that one was longer than the limit.
enum LineFrame: Sendable {
    case line(ByteBuffer)
    case tooLong
}

/// Splits the byte stream at newlines, refusing to buffer more than `maximumLength` bytes of
/// one line (the connection is then answered `line_too_long` and closed).
struct LineFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = LineFrame
    let maximumLength: Int

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - buffer.readerIndex
            guard length <= maximumLength, var line = buffer.readSlice(length: length) else {
                context.fireChannelRead(wrapInboundOut(.tooLong))
                buffer.clear()
                return .needMoreData
            }
            buffer.moveReaderIndex(forwardBy: 1)
            if line.readableBytesView.last == UInt8(ascii: "\r") {
                line = line.getSlice(at: line.readerIndex, length: length - 1)!
            }
            context.fireChannelRead(wrapInboundOut(.line(line)))
            return .continue
        }
        if buffer.readableBytes > maximumLength {
            context.fireChannelRead(wrapInboundOut(.tooLong))
            buffer.clear()
        }
        return .needMoreData
    }
}

/// Closes a connection whose line is not complete after `limit` of waiting for it: the idle
/// timeout is reset by every byte, so a client trickling bytes would otherwise hold its slot for
/// ever. Only the time the server waits for the client counts, from when it asks for more bytes
/// with part of a line in hand until bytes arrive: while the server is busy with the lines before
/// it (and so reads nothing), the rest of a line may already be waiting in the socket.
final class LineDeadline: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let limit: TimeAmount
    /// What is left of the current line's allowance; nil when no part of a line is pending.
    private var remaining: TimeAmount?
    /// The wait in progress: when it started, and the close it will do.
    private var waiting: (since: NIODeadline, close: Scheduled<Void>)?

    init(limit: TimeAmount) { self.limit = limit }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let view = unwrapInboundIn(data).readableBytesView
        let waited = waiting.map { NIODeadline.now() - $0.since } ?? .zero
        waiting?.close.cancel()
        waiting = nil
        if let lastNewline = view.lastIndex(of: UInt8(ascii: "\n")) {
            // A line ended: bytes after it start the next line with a whole allowance.
            remaining = lastNewline + 1 < view.endIndex ? limit : nil
        } else if !view.isEmpty {
            remaining = (remaining ?? limit) - waited
        }
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        if let remaining, waiting == nil {
            let channel = context.channel
            waiting = (
                .now(), context.eventLoop.scheduleTask(in: max(remaining, .zero)) { channel.close(promise: nil) }
            )
        }
        context.read()
    }

    func channelInactive(context: ChannelHandlerContext) {
        waiting?.close.cancel()
        waiting = nil
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension LineDeadline: Sendable {}

/// Closes a connection that has been silent for the idle timeout (slow or stuck clients).
final class CloseWhenIdle: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = LineFrame
    static let name = "close-when-idle"

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
