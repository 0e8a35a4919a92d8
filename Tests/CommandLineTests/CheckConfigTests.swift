import Foundation
import TestSupport
import Testing

/// The built executables sit beside the test bundle in the build directory.
let productsDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()

/// Runs a built product to completion and returns its status, standard output and standard error.
/// It waits on a thread of its own: a test blocking the concurrency pool (two threads on this
/// machine) stalls every test beside it, the timing-sensitive capture tests among them.
func run(_ product: String, _ arguments: [String], environment: [String: String] = [:]) async throws
    -> (status: Int32, output: String, error: String)
{
    try await onOwnThread {
        try runToCompletion(productsDirectory.appendingPathComponent(product), arguments, environment: environment)
    }
}

@Suite("weighbridged check-config, as an operator runs it")
struct CheckConfigTests {
    private func writeVariant(of name: String, replacing target: String, with replacement: String) throws -> String {
        let original = try String(contentsOf: repositoryRoot.appendingPathComponent("etc/\(name)"), encoding: .utf8)
        #expect(original.contains(target), "the example no longer contains \(target)")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("check-\(UUID().uuidString).toml").path
        try original.replacingOccurrences(of: target, with: replacement).write(
            toFile: path, atomically: true,
            encoding: .utf8)
        return path
    }

    @Test("the shipped example is valid: exit 0 and the effective configuration on stdout")
    func shippedExampleIsValid() async throws {
        let result = try await run(
            "weighbridged",
            [
                "check-config", "--config",
                repositoryRoot.appendingPathComponent(
                    "etc/weighbridged.toml"
                ).path,
            ])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("[api]\nprofile = \"defra-receipt\""))
        #expect(result.output.contains("tolerance_percent = 5"))
    }

    @Test("check-config warns on a secret file its group or others can read, and not on one kept 0600")
    func warnsOnReadableSecret() async throws {
        let secret = FileManager.default.temporaryDirectory.appendingPathComponent("token-\(UUID().uuidString)").path
        try "sandbox-brief-token".write(toFile: secret, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: secret) }
        let path = try writeVariant(
            of: "demo.toml", replacing: "token_file = \"/tmp/weighbridged-demo/dwt-token\"",
            with: "token_file = \"\(secret)\"")
        defer { try? FileManager.default.removeItem(atPath: path) }
        for (mode, warned) in [(0o644, true), (0o640, true), (0o600, false)] {
            #expect(chmod(secret, mode_t(mode)) == 0)
            let result = try await run("weighbridged", ["check-config", "--config", path])
            #expect(result.status == 0, "\(result.error)")
            #expect(result.error.contains("warning: \(secret) can be read by its group or others") == warned, "\(mode)")
            #expect(!result.error.contains("sandbox-brief-token") && !result.output.contains("sandbox-brief-token"))
        }
    }

    @Test("--version prints Package.swift's version and the commit, the same for the daemon and the CLI")
    func version() async throws {
        let manifest = try String(contentsOf: repositoryRoot.appendingPathComponent("Package.swift"), encoding: .utf8)
        let declared = try #require(manifest.firstMatch(of: /\nlet version = "([0-9.]+)"\n/)?.1)
        let daemon = try await run("weighbridged", ["--version"])
        let cli = try await run("weighbridgectl", ["--version"])
        #expect(daemon.status == 0 && cli.status == 0)
        #expect(daemon.output.hasPrefix("\(declared) (commit "), "\(daemon.output)")
        #expect(daemon.output.hasSuffix(")\n") && cli.output == daemon.output, "\(cli.output)")
    }

    @Test("WEIGHBRIDGED_CONFIG names the file when --config is not given")
    func environmentOverride() async throws {
        let path = repositoryRoot.appendingPathComponent("etc/demo.toml").path
        let result = try await run("weighbridged", ["check-config"], environment: ["WEIGHBRIDGED_CONFIG": path])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.hasPrefix("# \(path): valid"))
    }

    @Test(
        "errors exit 78 (EX_CONFIG) and name file, line and key",
        arguments: [
            ("tolerance_percent = 5", "tolerence_percent = 5", "policy.tolerence_percent: unknown key"),
            ("profile = \"defra-receipt\"", "# profile removed", "api.profile: is required"),
            (
                "net = { offset = 2, type = \"int32\" }", "net = { offset = 1, type = \"int32\" }",
                "bridge[1].registers.net.offset: net overlaps gross"
            ),
            // Found by fuzzing: toml++ aborted the process on a header without a key.
            ("[site]", "[#site]", ":12: TOML syntax: a table header must start with a key"),
        ])
    func errorsExit78(target: String, replacement: String, expected: String) async throws {
        let path = try writeVariant(of: "weighbridged.toml", replacing: target, with: replacement)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try await run("weighbridged", ["check-config", "--config", path])
        #expect(result.status == 78)
        #expect(result.error.contains(path + ":"))
        #expect(result.error.contains(expected), "\(result.error)")
        #expect(result.output.isEmpty)
    }

    @Test("a missing file exits 78 and says so")
    func missingFile() async throws {
        let result = try await run("weighbridged", ["check-config", "--config", "/nonexistent/weighbridged.toml"])
        #expect(result.status == 78)
        #expect(result.error.contains("/nonexistent/weighbridged.toml: cannot read the file"))
    }
}

@Suite("weighbridge-sim and weighbridged probe, as a commissioning engineer runs them")
struct ProbeTests {
    /// Starts weighbridge-sim on a free port and returns it with the port it printed.
    private func startSimulator() async throws -> (Process, Pipe, Int) {
        let process = Process()
        process.executableURL = productsDirectory.appendingPathComponent("weighbridge-sim")
        process.arguments = ["--tcp-port", "0"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let text = try await onOwnThread {
            var line = Data()
            while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty,
                byte != Data("\n".utf8)
            {
                line += byte
            }
            return String(decoding: line, as: UTF8.self)
        }
        let port = try #require(Int(text.split(separator: ":").last ?? ""), "sim said: \(text)")
        return (process, input, port)
    }

    private func configuration(port: Int) throws -> String {
        let demo = try String(contentsOf: repositoryRoot.appendingPathComponent("etc/demo.toml"), encoding: .utf8)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("probe-\(UUID().uuidString).toml").path
        try demo.replacingOccurrences(of: "port = 15020", with: "port = \(port)")
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("probe prints the decoded weight, flags and raw registers of a live indicator")
    func probeLiveIndicator() async throws {
        let (simulator, input, port) = try await startSimulator()
        defer {
            // End of input ends the simulator (a signal may be ignored by processes a test spawns).
            try? input.fileHandleForWriting.close()
            simulator.waitUntilExit()
        }
        input.fileHandleForWriting.write(Data("show 32140\n".utf8))
        let path = try configuration(port: port)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var result = try await run("weighbridged", ["probe", "--config", path, "--bridge", "inbound"])
        // The sim applies "show" asynchronously to this probe: retry briefly until it shows.
        let deadline = Date().addingTimeInterval(5)
        while !result.output.contains("32140 kg"), Date() < deadline {
            result = try await run("weighbridged", ["probe", "--config", path, "--bridge", "inbound"])
        }
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("gross       32140 kg"))
        #expect(result.output.contains("flags       stable"))
        #expect(result.output.contains("registers   6=0x0800 7=0x0000 8=0x7D8C"))
        let json = try await run("weighbridged", ["probe", "--config", path, "--bridge", "inbound", "--json"])
        let decoded = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        #expect(decoded?["gross"] as? String == "32140 kg")
    }

    @Test("probe of an unreachable indicator says what failed and what to check, exit 69")
    func probeUnreachable() async throws {
        let path = try configuration(port: 1)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try await run("weighbridged", ["probe", "--config", path, "--bridge", "inbound"])
        #expect(result.status == 69)
        #expect(result.output.contains("connect to tcp 127.0.0.1:1"))
        #expect(result.output.contains("check the network"))
        let unknown = try await run("weighbridged", ["probe", "--config", path, "--bridge", "nope"])
        #expect(unknown.status == 78)
        #expect(unknown.error.contains("no bridge \"nope\""))
    }
}
