import Foundation
import TestSupport
import Testing

/// The fuzzers' committed corpora and every crash they ever found, replayed through the same
/// parsers in the normal build: what once broke a parser stays a test.
@Suite("fuzz corpora and past crashes, replayed")
struct FuzzCorpusTests {
    @Test(
        "every committed input of each fuzz target ends in a value or its typed error",
        arguments: [
            "configuration", "control", "registers", "toledo", "sma", "dini", "generic",
        ])
    func replay(target: String) async throws {
        let fuzz = repositoryRoot.appendingPathComponent("Tests/Fuzz")
        var paths = [fuzz.appendingPathComponent("corpus/\(target)").path]
        let crashes = fuzz.appendingPathComponent("crashes/\(target)").path
        if FileManager.default.fileExists(atPath: crashes) { paths.append(crashes) }
        let inputs = try paths.map { try FileManager.default.contentsOfDirectory(atPath: $0).count }.reduce(0, +)
        #expect(inputs > 0, "no committed inputs for \(target)")

        let result = try await run("weighbridge-fuzz", [target] + paths)
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output == "replayed \(inputs) inputs through \(target)\n")
    }

    @Test("an unknown target is refused with usage: the replayer cannot pass by doing nothing")
    func unknownTarget() async throws {
        let result = try await run("weighbridge-fuzz", ["no-such-target", "/dev/null"])
        #expect(result.status == 2)
        #expect(result.error.contains("usage: weighbridge-fuzz configuration|control|registers"))
    }
}
