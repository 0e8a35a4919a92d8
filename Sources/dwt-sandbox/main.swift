import ArgumentParser
import DWTSandbox
import Foundation

/// `dwt-sandbox`: the stand-in DWT API for the demo and end-to-end tests, on loopback.
/// Prints `listening URL` once ready, then serves until it is killed (SIGINT, SIGTERM).
@main
struct DWTSandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dwt-sandbox",
        abstract: "A loopback stand-in of the brief's API and Defra's Receipt API, with fault injection.",
        discussion: """
            Controls, as HTTP on the same port: POST /__sandbox/faults {"faults":[{"status":503,"retry_after":2},
            {"drop":"after"},{"latency_ms":200}]}, POST /__sandbox/expire-tokens, POST /__sandbox/payment
            {"required":true}, POST /__sandbox/movements {…brief movement…}, POST /__sandbox/carrier-movements \
            {"wasteTrackingId":"…"}, GET /__sandbox/summary, GET /__sandbox/requests. Also serves \
            POST /production-approval-tests, judged as Defra judges it.
            """)

    @Option(help: "The address to listen on (loopback only).") var host = "127.0.0.1"
    @Option(help: "The port; 0 picks a free one.") var port = 0
    @Option(help: "A PEM certificate: serve HTTPS.") var tlsCertificate: String?
    @Option(help: "The PEM private key of --tls-certificate.") var tlsKey: String?
    @Option(help: "The brief profile's bearer token.") var briefToken = SandboxSettings().briefToken
    @Option(help: "The OAuth client id the token endpoint accepts.") var clientID = SandboxSettings().clientID
    @Option(help: "The OAuth client secret the token endpoint accepts.") var clientSecret = SandboxSettings()
        .clientSecret
    @Option(help: "Seconds an issued OAuth token stays valid.") var tokenLifetime = SandboxSettings()
        .tokenLifetimeSeconds
    @Option(help: "Milliseconds every API request (not the token endpoint) waits before it is handled, like a WAN.")
    var latencyMs = SandboxSettings().latencyMilliseconds

    func validate() throws {
        guard ["127.0.0.1", "::1", "localhost"].contains(host) else {
            throw ValidationError("--host must be a loopback address: the sandbox is for tests and demos")
        }
        guard latencyMs >= 0 else { throw ValidationError("--latency-ms must not be negative") }
        guard (tlsCertificate == nil) == (tlsKey == nil) else {
            throw ValidationError("--tls-certificate and --tls-key go together")
        }
    }

    func run() async throws {
        var settings = SandboxSettings()
        settings.briefToken = briefToken
        settings.clientID = clientID
        settings.clientSecret = clientSecret
        settings.tokenLifetimeSeconds = tokenLifetime
        settings.latencyMilliseconds = latencyMs
        let sandbox = try await DWTSandbox.start(
            host: host, port: port, settings: settings, tlsCertificate: tlsCertificate, tlsKey: tlsKey)
        FileHandle.standardOutput.write(Data("listening \(sandbox.baseURL)\n".utf8))
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}
