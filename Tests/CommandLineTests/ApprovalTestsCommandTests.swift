import Foundation
import TestSupport
import Testing

@Suite("weighbridged approval-tests, as a site runs it before asking Defra for production credentials")
struct ApprovalTestsCommandTests {
    @Test("against dwt-sandbox with --submit: twelve scenarios pass, C01 and H02 refused locally, evidence kept")
    func passesAgainstSandbox() async throws {
        let site = try await SiteHarness(profile: .defraReceipt)
        let evidence = site.directory + "/evidence"
        let result = try await run(
            "weighbridged", ["approval-tests", "--config", site.configuration, "--submit", "--evidence", evidence],
            environment: ["CREDENTIALS_DIRECTORY": ""])
        #expect(result.status == 0, "\(result.output)\(result.error)")
        let lines = result.output.split(separator: "\n").map(String.init)
        for scenario in ["R01", "R02", "R03", "R04", "R05", "R07", "C02", "B01", "P01", "H01", "H03", "X01"] {
            let line = lines.first { $0.hasPrefix(scenario + " ") } ?? ""
            #expect(line.contains(" Pass"), "\(scenario): \(line)")
        }
        for scenario in ["C01", "H02"] {
            let line = lines.first { $0.hasPrefix(scenario + " ") } ?? ""
            #expect(line.contains("refused locally: "), "\(scenario): \(line)")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: evidence).sorted()
        #expect(files.count == 16, "\(files)")
        #expect(files.contains("13-submission.json"), "\(files)")
        let submission =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: evidence + "/13-submission.json"))) as? [String: Any]
        #expect((submission?["response"] as? [String: Any])?["status"] as? Int == 200)
        #expect(submission?["sent_at"] is String && submission?["answered_at"] is String)
        // Nothing of the client secret reaches the evidence or the terminal.
        for file in files {
            let text = try String(contentsOfFile: evidence + "/" + file, encoding: .utf8)
            #expect(!text.contains("sandbox-client-secret") && !text.contains("Bearer"), "\(file)")
        }
        #expect(!result.output.contains("sandbox-client-secret"))
        let requests = try await site.sandboxRequests()
        #expect(requests.filter { $0.path == "/movements/receive" }.count == 12)
        #expect(requests.filter { $0.path == "/production-approval-tests" }.count == 1)
    }

    @Test("a chosen subset runs alone; an unknown scenario is refused by name; the brief profile has none")
    func choosingScenarios() async throws {
        let site = try await SiteHarness(profile: .defraReceipt)
        let subset = try await run(
            "weighbridged",
            [
                "approval-tests", "--config", site.configuration, "--scenarios", "r02,C01", "--evidence",
                site.directory + "/e",
            ])
        #expect(subset.status == 0, "\(subset.output)\(subset.error)")
        #expect(subset.output.split(separator: "\n").filter { $0.hasPrefix("R0") || $0.hasPrefix("C0") }.count == 2)
        #expect(subset.output.contains("stored (HTTP 201)"), "\(subset.output)")
        let unknown = try await run(
            "weighbridged", ["approval-tests", "--config", site.configuration, "--scenarios", "R06"])
        #expect(unknown.status != 0)
        #expect(unknown.error.contains("unknown scenario R06"), "\(unknown.error)")
        let brief = try await SiteHarness(profile: .brief)
        let refused = try await run("weighbridged", ["approval-tests", "--config", brief.configuration])
        #expect(refused.status == 78, "\(refused.error)")
        #expect(refused.error.contains("approval tests are for defra-receipt"), "\(refused.error)")
    }
}
