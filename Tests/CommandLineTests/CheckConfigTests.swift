import Foundation
import Testing

/// The built executables sit beside the test bundle in the build directory.
let productsDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// Runs a built product to completion and returns its status, standard output and standard error.
func run(_ product: String, _ arguments: [String], environment: [String: String] = [:]) throws
    -> (status: Int32, output: String, error: String)
{
    let process = Process()
    process.executableURL = productsDirectory.appendingPathComponent(product)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let output = Pipe()
    let error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (
        process.terminationStatus, String(decoding: outputData, as: UTF8.self),
        String(decoding: errorData, as: UTF8.self)
    )
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
    func shippedExampleIsValid() throws {
        let result = try run(
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

    @Test("WEIGHBRIDGED_CONFIG names the file when --config is not given")
    func environmentOverride() throws {
        let path = repositoryRoot.appendingPathComponent("etc/demo.toml").path
        let result = try run("weighbridged", ["check-config"], environment: ["WEIGHBRIDGED_CONFIG": path])
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
        ])
    func errorsExit78(target: String, replacement: String, expected: String) throws {
        let path = try writeVariant(of: "weighbridged.toml", replacing: target, with: replacement)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try run("weighbridged", ["check-config", "--config", path])
        #expect(result.status == 78)
        #expect(result.error.contains(path + ":"))
        #expect(result.error.contains(expected), "\(result.error)")
        #expect(result.output.isEmpty)
    }

    @Test("a missing file exits 78 and says so")
    func missingFile() throws {
        let result = try run("weighbridged", ["check-config", "--config", "/nonexistent/weighbridged.toml"])
        #expect(result.status == 78)
        #expect(result.error.contains("/nonexistent/weighbridged.toml: cannot read the file"))
    }
}
