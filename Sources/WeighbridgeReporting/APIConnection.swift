internal import AsyncHTTPClient
internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix
internal import NIOSSL
internal import WeighbridgeCore

#if canImport(Glibc)
    internal import Glibc
#else
    internal import Darwin
#endif

/// One HTTP request as the profiles build it.
struct APIRequest: Sendable {
    var method: HTTPMethod
    var url: String
    var headers: [(String, String)]
    var body: [UInt8]?
}

/// What came back: an answer, or a failure already sorted into "never sent" and "sent, no answer".
enum APIExchange: Sendable {
    case answered(status: Int, headers: HTTPHeaders, body: [UInt8])
    case failed(DeliveryAttempt)
}

/// The daemon's HTTP client: certificate verification always on (with extra trusted authorities
/// from `api.ca_file`), a timeout on every request, a limit on every response body, and no
/// redirects (a government API that redirects a write is not one to follow blindly).
public final class APIConnection: Sendable {
    /// The largest response body read; anything longer is cut off and reported as such.
    static let responseLimit = 1 << 20

    let client: HTTPClient
    let timeout: TimeAmount

    /// A connection pool with `caFile`'s authorities trusted besides the system's.
    public init(caFile: String?, timeoutSeconds: Int, maxConnections: Int) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        if let caFile {
            tls.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(caFile))]
        }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(10), read: .seconds(Int64(timeoutSeconds))))
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(1, maxConnections)
        configuration.httpVersion = .http1Only
        client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
        timeout = .seconds(Int64(timeoutSeconds))
    }

    /// Closes every connection; call once, before the process ends.
    public func shutdown() async throws {
        try await client.shutdown()
    }

    func perform(_ request: APIRequest) async -> APIExchange {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = request.method
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if let body = request.body {
            outgoing.body = .bytes(ByteBuffer(bytes: body))
            outgoing.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        }
        outgoing.headers.replaceOrAdd(name: "Accept", value: "application/json")
        outgoing.headers.replaceOrAdd(name: "User-Agent", value: "weighbridged")
        let response: HTTPClientResponse
        do {
            response = try await client.execute(outgoing, timeout: timeout)
        } catch {
            return .failed(Self.classify(error))
        }
        do {
            let body = try await response.body.collect(upTo: Self.responseLimit)
            return .answered(status: Int(response.status.code), headers: response.headers, body: Array(buffer: body))
        } catch {
            // The status arrived, so the server did receive the request; only its body is lost.
            return .answered(status: Int(response.status.code), headers: response.headers, body: [])
        }
    }

    /// Sorts a transport error by whether the request can have reached the server. Only errors
    /// that happen before a single byte is written count as "not sent"; anything else may have
    /// arrived, which is what makes a non-idempotent POST `unknown`.
    static func classify(_ error: any Error) -> DeliveryAttempt {
        if let clientError = error as? HTTPClientError {
            switch clientError {
            case .connectTimeout, .tlsHandshakeTimeout, .invalidURL, .emptyHost, .emptyScheme,
                .getConnectionFromPoolTimeout, .alreadyShutdown:
                return .notSent(String(describing: clientError))
            default:
                return .noAnswer(String(describing: clientError))
            }
        }
        if error is NIOConnectionError || error is NIOSSLError || error is BoringSSLError {
            return .notSent(String(describing: error))
        }
        if let ioError = error as? IOError, [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH].contains(ioError.errnoCode) {
            return .notSent(String(describing: ioError))
        }
        return .noAnswer(String(describing: error))
    }
}
