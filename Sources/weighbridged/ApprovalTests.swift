import ArgumentParser
import Foundation
import WeighbridgeConfiguration
import WeighbridgeControlProtocol
import WeighbridgeCore
import WeighbridgeDaemon
import WeighbridgeJSON
import WeighbridgeReporting

/// `weighbridged approval-tests`: sends Defra's production approval scenarios from this site's
/// configuration to the configured (test) API, keeps every request and answer as evidence, and
/// with `--submit` asks Defra's verdict (docs/defra/approval-tests.md).
struct ApprovalTests: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approval-tests",
        abstract: "Run Defra's production approval scenarios against the configured test API.",
        discussion: """
            Builds one receipt per scenario with the site's apiCode, receiver and permit, checks it as a \
            real receipt is checked, and sends it. C01 and H02 are receipts Defra must refuse: the daemon \
            refuses them itself, and that refusal is their evidence. Refuses to run against Defra's \
            production host. Exits 0 when every scenario is shown as Defra asks, 1 otherwise.
            """)

    @OptionGroup var options: ConfigOption

    @Option(
        help:
            "Scenarios to run, comma-separated (default: all of R01,R02,R03,R04,R05,R07,C01,C02,B01,P01,H01,H02,H03,X01)."
    )
    var scenarios: String?

    @Flag(help: "Submit the wasteTrackingIds to POST /production-approval-tests and print Defra's verdicts.")
    var submit = false

    @Option(
        help:
            "Directory for the evidence: every request and answer as JSON, with times (default: ./approval-evidence-TIME)."
    )
    var evidence: String?

    func run() async throws {
        let configuration = try options.load()
        let chosen = try chosenScenarios()
        guard configuration.api.profile == .defraReceipt, let oauth = configuration.api.oauth else {
            fail(
                "\(options.path): api.profile is \(configuration.api.profile.rawValue): approval tests are for defra-receipt"
            )
        }
        let now: @Sendable () -> Timestamp = { Timestamp.now }
        let document = Daemon.receiptDocument(
            site: configuration.site, apiCode: oauth.apiCode, catalogue: ReferenceCatalogueCache(.seed()))
        let api = configuration.api
        guard api.environment != .production else {
            fail(
                "\(options.path): api.environment is production: approval tests run against Defra's external test environment (\"sandbox\") or a local sandbox"
            )
        }
        let connection: APIConnection
        do {
            connection = try APIConnection(caFile: api.caFile, timeoutSeconds: api.timeoutSeconds, maxConnections: 1)
        } catch {
            fail("\(options.path): api.ca_file \(api.caFile ?? ""): \(error)")
        }
        let runner: ApprovalTestRun
        do {
            let settings = ReportingSettings(
                baseURL: api.baseURL,
                profile: .defraReceipt(
                    tokenURL: oauth.tokenURL, clientID: oauth.clientID,
                    clientSecret: oauth.clientSecret,
                    document: document))
            let sender = try ReportSender(
                settings: settings, connection: connection, environment: ProcessInfo.processInfo.environment, now: now)
            runner = try ApprovalTestRun(document: document, sender: sender, baseURL: api.baseURL, now: now)
        } catch {
            try? await connection.shutdown()
            fail("\(options.path): \(error)")
        }
        let directory = evidence ?? "approval-evidence-" + now().rfc3339.filter { $0.isNumber }.prefix(14)
        let writer: EvidenceWriter
        do {
            writer = try EvidenceWriter(directory: directory)
        } catch {
            try? await connection.shutdown()
            fail("cannot create the evidence directory \(directory): \(error)")
        }
        let (outcomes, submission) = await runner.run(chosen, submit: submit) { writer.write($0) }
        try? await connection.shutdown()
        for outcome in outcomes {
            if case .refusedLocally(let problems) = outcome.result {
                writer.writeRefusal(outcome.scenario, problems: problems, at: now())
            }
        }
        writer.writeSummary(outcomes, submitted: submission != nil, at: now())
        print(Self.table(outcomes, submitted: submit))
        let stored = outcomes.contains { $0.trackingID != nil }
        if submit, let submission, submission.status != 200 {
            print(
                "submission answered \(submission.status.map(String.init) ?? "nothing"): \(submission.responseBody?.serialized ?? submission.failure ?? "")"
            )
        } else if submit, !stored {
            print("nothing submitted: no scenario stored a receipt")
        }
        print("evidence: \(directory)")
        if writer.failures > 0 { print("warning: \(writer.failures) evidence file(s) could not be written") }
        guard outcomes.allSatisfy(\.succeeded), !submit || !stored || submission?.status == 200 else {
            throw ExitCode(1)
        }
    }

    private func chosenScenarios() throws -> [ApprovalScenario] {
        guard let scenarios else { return ApprovalScenario.allCases }
        var chosen: [ApprovalScenario] = []
        for name in scenarios.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).uppercased() }) {
            guard let scenario = ApprovalScenario(rawValue: name) else {
                throw ValidationError(
                    "unknown scenario \(name): one of \(ApprovalScenario.allCases.map(\.rawValue).joined(separator: ","))"
                )
            }
            if !chosen.contains(scenario) { chosen.append(scenario) }
        }
        return chosen
    }

    private func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("weighbridged approval-tests: \(message)\n".utf8))
        Foundation.exit(ConfigurationError.exitStatus)
    }

    /// One line per scenario: its id and name, the tracking id, and how it ended.
    static func table(_ outcomes: [ApprovalOutcome], submitted: Bool) -> String {
        var lines = [pad("scenario", 9) + pad("", 44) + pad("wasteTrackingId", 17) + "result"]
        for outcome in outcomes {
            let result: String
            switch outcome.result {
            case .refusedLocally(let problems): result = "refused locally: " + problems.joined(separator: "; ")
            case .notBuilt(let problems): result = "NOT SENT: " + problems.joined(separator: "; ")
            case .failed(let reason): result = "NO ANSWER: \(reason)"
            case .answered(let status, let id, let detail):
                let said = detail.isEmpty ? "" : " (the API says: \(detail))"
                if let verdict = outcome.verdict {
                    result = verdict.status + (verdict.message.isEmpty ? "" : ": \(verdict.message)") + said
                } else if id != nil {
                    result = (submitted ? "stored (HTTP \(status)), no verdict" : "stored (HTTP \(status))") + said
                } else {
                    result = "REFUSED (HTTP \(status))\(said)"
                }
            }
            lines.append(
                pad(outcome.scenario.rawValue, 9) + pad(outcome.scenario.title, 44)
                    + pad(outcome.trackingID ?? "-", 17) + result)
        }
        return lines.joined(separator: "\n")
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}

/// Writes an approval run's evidence: one JSON file per exchange, numbered in order.
final class EvidenceWriter: @unchecked Sendable {
    let directory: String
    private let lock = NSLock()
    private var sequence = 0
    private(set) var failures = 0

    init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func write(_ exchange: ApprovalExchange) {
        save(exchange.scenario?.rawValue ?? "submission", exchange.json)
    }

    func writeRefusal(_ scenario: ApprovalScenario, problems: [String], at time: Timestamp) {
        save(
            "\(scenario.rawValue)-refused-locally",
            .object([
                "scenario": .string(scenario.rawValue), "refused_locally": .bool(true),
                "problems": .array(problems.map(JSONValue.string)), "at": .string(time.rfc3339),
                "receipt_data": (try? JSONValue(parsing: Array(scenario.receipt.utf8))) ?? .string(scenario.receipt),
            ]))
    }

    func writeSummary(_ outcomes: [ApprovalOutcome], submitted: Bool, at time: Timestamp) {
        save(
            "summary",
            .object([
                "at": .string(time.rfc3339), "submitted": .bool(submitted),
                "scenarios": .array(
                    outcomes.map { outcome in
                        .object([
                            "scenario": .string(outcome.scenario.rawValue),
                            "waste_tracking_id": outcome.trackingID.map(JSONValue.string) ?? .null,
                            "verdict": outcome.verdict.map { .string($0.status) } ?? .null,
                            "shown": .bool(outcome.succeeded),
                        ])
                    }),
            ]))
    }

    private func save(_ name: String, _ value: JSONValue) {
        let number = lock.withLock {
            sequence += 1
            return sequence
        }
        let path = "\(directory)/\(String(format: "%02d", number))-\(name).json"
        do {
            try Data((value.serialized + "\n").utf8).write(to: URL(fileURLWithPath: path))
        } catch {
            lock.withLock { failures += 1 }
            FileHandle.standardError.write(Data("cannot write \(path): \(error)\n".utf8))
        }
    }
}
