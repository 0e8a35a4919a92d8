internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix
internal import NIOSSL
public import WeighbridgeJSON

#if canImport(Glibc)
    internal import Glibc
#endif

/// A loopback stand-in for both reporting APIs: the brief's (`PUT /confirmations/{id}`,
/// `PUT /discrepancies/{id}`, `GET /movements/{id}`) and Defra's Receipt API (`POST
/// /movements/receive`, `PUT /movements/{id}/receive`, reference data, an OAuth token endpoint,
/// `POST /production-approval-tests`),
/// with Defra's validation rules, fault injection, a record of every request and a duplicate count.
///
/// Tests drive it in-process through this type; the `dwt-sandbox` executable exposes the same
/// controls as admin endpoints under `/__sandbox/` (see `SandboxServer.handleAdmin`).
public final class DWTSandbox: Sendable {
    let state: SandboxState
    private let channel: any Channel
    /// The port it listens on (127.0.0.1).
    public let port: Int
    /// `http://127.0.0.1:PORT` or `https://…` with TLS.
    public let baseURL: String

    /// Starts listening on `host:port` (0 picks a free port); TLS when a certificate and key
    /// (PEM files) are given.
    public static func start(
        host: String = "127.0.0.1", port: Int = 0, settings: SandboxSettings = SandboxSettings(),
        tlsCertificate: String? = nil, tlsKey: String? = nil
    ) async throws -> DWTSandbox {
        let state = SandboxState(settings: settings)
        var sslContext: NIOSSLContext?
        if let tlsCertificate, let tlsKey {
            let configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(tlsCertificate).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: tlsKey, format: .pem)))
            sslContext = try NIOSSLContext(configuration: configuration)
        }
        let tls = sslContext
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(SandboxHandler(state: state))
                }
            }
            .bind(host: host, port: port).get()
        let boundPort = channel.localAddress?.port ?? port
        return DWTSandbox(
            state: state, channel: channel, port: boundPort,
            baseURL: "\(tls == nil ? "http" : "https")://\(host):\(boundPort)")
    }

    private init(state: SandboxState, channel: any Channel, port: Int, baseURL: String) {
        self.state = state
        self.channel = channel
        self.port = port
        self.baseURL = baseURL
    }

    /// Queues faults for the next API requests, one each, in order; with `path`, only for requests
    /// to that path (say, the report a test is about, not a background reference-data refresh).
    public func inject(_ faults: [SandboxFault], path: String? = nil) { state.inject(faults.map { ($0, path) }) }
    /// Drops faults not yet applied.
    public func clearFaults() { state.clearFaults() }
    /// Makes every issued OAuth token invalid (the next request gets 401).
    public func expireTokens() { state.expireTokens() }
    /// While true, every Defra write is answered 402 Payment Required.
    public func setPaymentRequired(_ required: Bool) { state.setPaymentRequired(required) }
    /// A movement for the brief's `GET /movements/{id}`.
    public func addMovement(id: String, body: JSONValue) { state.addMovement(id: id, body: body) }
    /// A Defra record the carrier created, under `trackingID`, for the receipt's PUT to complete.
    public func addCarrierMovement(trackingID: String) { state.addCarrierMovement(trackingID: trackingID) }
    /// Every request received so far (admin requests excluded).
    public var requests: [RecordedRequest] { state.requests }
    /// Writes that created a second record of something already recorded.
    public var duplicates: Int { state.duplicates }
    /// The most API requests it was ever handling at once.
    public var maxConcurrentRequests: Int { state.maxConcurrent }
    /// Counts: confirmations, discrepancies, receipts, duplicates, requests, max_concurrent, and
    /// in_progress (requests being handled now, a slow one included).
    public var summary: JSONValue { state.summary }

    /// Stops listening.
    public func shutdown() async throws {
        try await channel.close()
    }
}

/// Reads one whole request, then answers it (or applies a fault).
final class SandboxHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let state: SandboxState
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    /// When the request being answered had arrived whole, in microseconds since the Unix epoch.
    private var receivedAt: Int64 = 0

    init(state: SandboxState) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
        case .body(var buffer):
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            guard let head else { return }
            self.head = nil
            receivedAt = Self.wallClockMicroseconds()
            handle(head: head, body: body, context: context)
        }
    }

    private func handle(head: HTTPRequestHead, body: [UInt8], context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        if path.hasPrefix("/__sandbox/") {
            respond(
                handleAdmin(method: head.method, path: path, body: body), keepAlive: head.isKeepAlive, context: context)
            return
        }
        if path == "/oauth2/token" {
            let basic = head.headers.first(name: "Authorization").flatMap { value -> String? in
                value.hasPrefix("Basic ") ? String(value.dropFirst(6)) : nil
            }
            respond(
                state.issueToken(basic: basic, form: String(decoding: body, as: UTF8.self)),
                keepAlive: head.isKeepAlive,
                context: context)
            return
        }
        let fault = state.takeFault(path: path)
        state.requestStarted()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        // Another request on this connection may arrive while this one waits out its latency.
        let arrived = receivedAt
        let apply = { [self] in
            let context = loopBound.value
            receivedAt = arrived
            defer { state.requestFinished() }
            switch fault {
            case .status(let status, let retryAfter)?:
                var headers: [(String, String)] = []
                if let retryAfter { headers.append(("Retry-After", retryAfter)) }
                record(head: head, path: path, body: body, status: status, duplicate: false)
                respond(
                    SandboxState.Response(
                        status: status, headers: headers,
                        body: .object(["statusCode": .integer(status), "error": .string("injected fault")])),
                    keepAlive: head.isKeepAlive, context: context)
            case .dropBeforeProcessing?:
                record(head: head, path: path, body: body, status: nil, duplicate: false)
                context.close(promise: nil)
            case .dropAfterProcessing?:
                _ = route(head: head, path: path, body: body)
                context.close(promise: nil)
            case .statusAfterProcessing(let status)?:
                _ = route(head: head, path: path, body: body)
                respond(
                    SandboxState.Response(
                        status: status,
                        body: .object(["statusCode": .integer(status), "error": .string("injected gateway fault")])),
                    keepAlive: head.isKeepAlive, context: context)
            case .latency?, nil:
                respond(route(head: head, path: path, body: body), keepAlive: head.isKeepAlive, context: context)
            }
        }
        var delay = state.settings.latencyMilliseconds
        if case .latency(let milliseconds)? = fault { delay += milliseconds }
        if delay > 0 {
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(delay))) { apply() }
        } else {
            apply()
        }
    }

    /// Answers an API request and records it.
    private func route(head: HTTPRequestHead, path: String, body: [UInt8]) -> SandboxState.Response {
        let segments = path.split(separator: "/").map(String.init)
        let bearer = head.headers.first(name: "Authorization").flatMap { value -> String? in
            value.hasPrefix("Bearer ") ? String(value.dropFirst(7)) : nil
        }
        let parsed = try? JSONValue(parsing: body)
        var duplicate = false
        let response: SandboxState.Response
        let method = head.method
        let first = segments.first ?? ""
        if method == .GET, segments.count == 2, first == "movements" {
            response = bearer == state.settings.briefToken ? state.briefMovement(id: segments[1]) : unauthorised()
        } else if method == .PUT, segments.count == 2, first == "confirmations" || first == "discrepancies" {
            if bearer != state.settings.briefToken {
                response = unauthorised()
            } else if let parsed {
                (response, duplicate) = state.briefWrite(
                    kind: first == "confirmations" ? "confirmation" : "discrepancy", id: segments[1],
                    key: head.headers.first(name: "Idempotency-Key"), body: parsed)
            } else {
                response = malformed()
            }
        } else if method == .POST, segments == ["movements", "receive"] {
            if !state.isValidOAuthToken(bearer) {
                response = unauthorised()
            } else if let refusal = state.paymentCheck() {
                response = refusal
            } else if let parsed {
                (response, duplicate) = state.receive(body: parsed)
            } else {
                response = malformed()
            }
        } else if method == .PUT, segments.count == 3, first == "movements", segments[2] == "receive" {
            if !state.isValidOAuthToken(bearer) {
                response = unauthorised()
            } else if let refusal = state.paymentCheck() {
                response = refusal
            } else if let parsed {
                response = state.correct(id: segments[1], body: parsed)
            } else {
                response = malformed()
            }
        } else if method == .POST, segments == ["production-approval-tests"] {
            response = state.isValidOAuthToken(bearer) ? state.approvalTests(body: parsed) : unauthorised()
        } else if method == .GET, segments.count == 2, first == "reference-data" {
            response = state.isValidOAuthToken(bearer) ? state.referenceList(segments[1]) : unauthorised()
        } else {
            response = SandboxState.Response(status: 404, body: .object(["error": .string("no such endpoint")]))
        }
        record(head: head, path: path, body: body, status: response.status, duplicate: duplicate)
        return response
    }

    private func unauthorised() -> SandboxState.Response {
        SandboxState.Response(
            status: 401,
            body: .object([
                "statusCode": .integer(401), "error": .string("Unauthorized"), "message": .string("Invalid token"),
            ]))
    }

    private func malformed() -> SandboxState.Response {
        SandboxState.Response(
            status: 400,
            body: .object([
                "validation": .object([
                    "errors": .array([
                        .object([
                            "key": .string(""), "errorType": .string("InvalidFormat"),
                            "message": .string("the body is not JSON"),
                        ])
                    ])
                ])
            ]))
    }

    private func record(head: HTTPRequestHead, path: String, body: [UInt8], status: Int?, duplicate: Bool) {
        state.record(
            RecordedRequest(
                method: head.method.rawValue, path: path, idempotencyKey: head.headers.first(name: "Idempotency-Key"),
                body: String(decoding: body, as: UTF8.self), status: status, duplicate: duplicate,
                receivedAt: receivedAt))
    }

    private static func wallClockMicroseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1_000
    }

    /// `/__sandbox/faults` (POST `{"faults":[…]}`), `/__sandbox/expire-tokens` (POST),
    /// `/__sandbox/payment` (POST `{"required":bool}`), `/__sandbox/movements` (POST a brief
    /// movement), `/__sandbox/carrier-movements` (POST `{"wasteTrackingId":…}`, a Defra record the
    /// carrier created), `/__sandbox/summary` and `/__sandbox/requests` (GET).
    private func handleAdmin(method: HTTPMethod, path: String, body: [UInt8]) -> SandboxState.Response {
        let parsed = try? JSONValue(parsing: body)
        switch (method, path) {
        case (.GET, "/__sandbox/summary"):
            return SandboxState.Response(status: 200, body: state.summary)
        case (.GET, "/__sandbox/requests"):
            return SandboxState.Response(
                status: 200,
                body: .array(
                    state.requests.map { request in
                        .object([
                            "method": .string(request.method), "path": .string(request.path),
                            "idempotency_key": request.idempotencyKey.map(JSONValue.string) ?? .null,
                            "body": .string(request.body), "status": request.status.map { .integer($0) } ?? .null,
                            "duplicate": .bool(request.duplicate), "received_at_us": .integer(request.receivedAt),
                        ])
                    }))
        case (.POST, "/__sandbox/faults"):
            guard case .array(let list)? = parsed?.field("faults") else {
                return adminError("expected {\"faults\":[…]}")
            }
            var faults: [(fault: SandboxFault, path: String?)] = []
            for item in list {
                guard let fault = Self.fault(from: item) else { return adminError("unknown fault \(item.serialized)") }
                var path: String?
                if case .string(let only)? = item.field("path") { path = only }
                faults.append((fault, path))
            }
            state.inject(faults)
            return SandboxState.Response(status: 200, body: .object(["queued": .integer(faults.count)]))
        case (.POST, "/__sandbox/clear-faults"):
            state.clearFaults()
            return SandboxState.Response(status: 200, body: .object([:]))
        case (.POST, "/__sandbox/expire-tokens"):
            state.expireTokens()
            return SandboxState.Response(status: 200, body: .object([:]))
        case (.POST, "/__sandbox/payment"):
            guard case .bool(let required)? = parsed?.field("required") else {
                return adminError("expected {\"required\":true|false}")
            }
            state.setPaymentRequired(required)
            return SandboxState.Response(status: 200, body: .object([:]))
        case (.POST, "/__sandbox/carrier-movements"):
            guard case .string(let id)? = parsed?.field("wasteTrackingId") else {
                return adminError("expected {\"wasteTrackingId\":\"…\"}")
            }
            state.addCarrierMovement(trackingID: id)
            return SandboxState.Response(status: 200, body: .object([:]))
        case (.POST, "/__sandbox/movements"):
            guard case .string(let id)? = parsed?.field("movement_id"), let parsed else {
                return adminError("expected a movement with movement_id")
            }
            state.addMovement(id: id, body: parsed)
            return SandboxState.Response(status: 200, body: .object([:]))
        default:
            return SandboxState.Response(status: 404, body: .object(["error": .string("no such admin endpoint")]))
        }
    }

    /// `{"status":503,"retry_after":2}` (`retry_after` a number, or a string sent as it is),
    /// `{"status":504,"after_processing":true}`, `{"drop":"after"|"before"}`, `{"latency_ms":200}`,
    /// each with an optional `"path"` (only requests to that path take it).
    static func fault(from item: JSONValue) -> SandboxFault? {
        if case .number(let text)? = item.field("status"), let status = Int(text) {
            if case .bool(true)? = item.field("after_processing") { return .statusAfterProcessing(status) }
            switch item.field("retry_after") {
            case .number(let seconds)?, .string(let seconds)?: return .status(status, retryAfter: seconds)
            default: return .status(status, retryAfter: nil)
            }
        }
        if case .string(let when)? = item.field("drop") {
            return when == "before" ? .dropBeforeProcessing : .dropAfterProcessing
        }
        if case .number(let text)? = item.field("latency_ms"), let milliseconds = Int(text) {
            return .latency(milliseconds: milliseconds)
        }
        return nil
    }

    private func adminError(_ message: String) -> SandboxState.Response {
        SandboxState.Response(status: 400, body: .object(["error": .string(message)]))
    }

    private func respond(_ response: SandboxState.Response, keepAlive: Bool, context: ChannelHandlerContext) {
        let bytes = response.body.map { Array($0.serialized.utf8) } ?? []
        var headers = HTTPHeaders(response.headers)
        headers.add(name: "Content-Length", value: String(bytes.count))
        if !bytes.isEmpty { headers.add(name: "Content-Type", value: "application/json") }
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let status = HTTPResponseStatus(statusCode: response.status)
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if !bytes.isEmpty {
            context.write(
                wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: bytes)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
