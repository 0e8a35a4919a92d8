import AsyncHTTPClient
import Foundation
import NIOCore
import WeighbridgeConfiguration
import WeighbridgeCore
import WeighbridgeDaemon
import WeighbridgeJournal
import WeighbridgeReporting
import WeighbridgeStore
import WeighbridgeTesting

/// The brief profile's settings for a sandbox at `url`, as the daemon would read them.
private func briefConfiguration(url: String, tokenFile: String, maxInFlight: Int) throws -> Configuration {
    try Configuration.parse(
        """
        [site]
        id = "SITE-BENCH"
        [api]
        profile = "brief"
        base_url = "\(url)"
        token_file = "\(tokenFile)"
        max_in_flight = \(maxInFlight)
        [[bridge]]
        name = "in"
        transport = "tcp"
        host = "127.0.0.1"
        profile = "laumas"
        division_kg = 20
        max_kg = 60000
        """, fileName: "bench.toml")
}

/// Queues `count` confirmations in a fresh store, then times the delivery service draining them
/// to the sandbox: outbox reads, requests, outcome commits and all.
func benchReporting(url: String, database: String, prefix: String, count: Int, maxInFlight: Int) async throws {
    let tokenFile = database + ".token"
    try SandboxToken.value.write(toFile: tokenFile, atomically: true, encoding: .utf8)
    let configuration = try briefConfiguration(url: url, tokenFile: tokenFile, maxInFlight: maxInFlight)
    let now: @Sendable () -> Timestamp = { Timestamp.now }
    let store = try Store(path: database, now: now())
    let reports = try (0..<count).map {
        try SampleMovements.confirmed("\(prefix)-\($0)", ticket: Int64($0) * 2 + 1, at: now())
    }
    try await store.write(at: now()) { transaction in
        for (lifecycle, report) in reports {
            try transaction.saveMovement(lifecycle, receipt: nil)
            _ = try transaction.enqueue(
                report, kind: .confirmation, idempotent: true, idempotencyKey: "\(report.movementID)/confirmation/1")
        }
    }
    let connection = try APIConnection(caFile: nil, timeoutSeconds: 10, maxConnections: maxInFlight)
    guard let settings = ReportingSettings(api: configuration.api, site: configuration.site, document: nil) else {
        preconditionFailure("the brief profile needs no receipt document")
    }
    let sender = try ReportSender(settings: settings, connection: connection, environment: [:], now: now)
    let delivery = DeliveryService(
        store: store, sender: sender,
        settings: DeliverySettings(
            maxInFlight: maxInFlight, backoff: Backoff(base: .milliseconds(100), cap: .seconds(1)),
            tracksReceiptDeadline: false),
        logger: Journal(destination: .standardError).logger(level: .warning), now: now)
    let start = ContinuousClock.now
    let elapsed = try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await delivery.run() }
        while try await store.read({ try $0.counts().outboxByState["done"] ?? 0 }) < count {
            try await Task.sleep(for: .milliseconds(50))
        }
        let elapsed = ContinuousClock.now - start
        delivery.stop()
        try await group.waitForAll()
        return elapsed
    }
    try await connection.shutdown()
    printRate(count: count, elapsed: elapsed)
}

/// The baseline: a minimal AsyncHTTPClient loop PUTting the same bodies, `maxInFlight` at a
/// time, with no store and no outbox.
func benchPlainHTTP(url: String, prefix: String, count: Int, maxInFlight: Int) async throws {
    let client = HTTPClient(eventLoopGroupProvider: .singleton)
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<maxInFlight {
            group.addTask {
                for index in stride(from: worker, to: count, by: maxInFlight) {
                    let id = "\(prefix)-\(index)"
                    var request = HTTPClientRequest(url: "\(url)/confirmations/\(id)")
                    request.method = .PUT
                    request.headers.add(name: "Authorization", value: "Bearer \(SandboxToken.value)")
                    request.headers.add(name: "Idempotency-Key", value: "\(id)/confirmation/1")
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(ByteBuffer(string: plainBody(id: id, ticket: index * 2 + 1)))
                    let response = try await client.execute(request, timeout: .seconds(10))
                    _ = try await response.body.collect(upTo: 1 << 20)
                    guard (200..<300).contains(Int(response.status.code)) else {
                        fail("baseline: HTTP \(response.status.code) for \(id)")
                    }
                }
            }
        }
        try await group.waitForAll()
    }
    let elapsed = ContinuousClock.now - start
    try await client.shutdown()
    printRate(count: count, elapsed: elapsed)
}

/// The brief's confirmation body, written by hand, as large as the daemon's.
private func plainBody(id: String, ticket: Int) -> String {
    """
    {"confirmed_by":"auto","declared_weight_kg":10000,"destination_jurisdiction":"england",\
    "deviation_percent":"0.00","high_risk":false,"movement_id":"\(id)","received_at":"2026-11-26T08:00:00.000Z",\
    "received_weight_kg":10000,"site_id":"SITE-BENCH","weighing":{"alibi_id":null,"bridge":"in",\
    "first_weighed_at":"2026-11-26T08:00:00.000Z","gross_kg":22000,"instrument_id":null,"net_kg":10000,\
    "second_weighed_at":"2026-11-26T08:00:00.000Z","tare_kg":12000,"tare_kind":"measured","ticket":\(ticket)}}
    """
}

private func printRate(count: Int, elapsed: Duration) {
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    print("rate=\(String(format: "%.1f", Double(count) / seconds))")
}

/// dwt-sandbox's default bearer token for the brief profile.
enum SandboxToken {
    static let value = "sandbox-brief-token"
}
