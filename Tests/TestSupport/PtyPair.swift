import Foundation

/// A socat pty pair: two linked ttys, one for the simulator and one for the daemon, standing in
/// for an RS-485 line. Ptys ignore baud rate and parity, so any serial settings work.
public final class PtyPair {
    public let directory: String
    public let simulatorSide: String
    public let daemonSide: String
    private var process: Process?

    public init() async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pty-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        simulatorSide = directory + "/indicator"
        daemonSide = directory + "/daemon"
        try await start()
    }

    /// Starts socat and waits (with a deadline) until both links exist.
    public func start() async throws {
        let process = Process()
        process.executableURL = try requireTool("/usr/bin/socat", package: "socat")
        process.arguments = ["pty,raw,echo=0,link=\(simulatorSide)", "pty,raw,echo=0,link=\(daemonSide)"]
        try process.run()
        self.process = process
        try await waitUntil("socat created the ptys", timeout: .seconds(5)) {
            FileManager.default.fileExists(atPath: simulatorSide) && FileManager.default.fileExists(atPath: daemonSide)
        }
    }

    /// Kills socat: both ttys vanish, as when a USB adapter is unplugged.
    public func unplug() async throws {
        stopSocat()
        process = nil
        try await waitUntil("the ptys are gone", timeout: .seconds(5)) {
            !FileManager.default.fileExists(atPath: daemonSide)
        }
    }

    /// SIGKILL: socat started from a test process may inherit an ignored SIGTERM.
    private func stopSocat() {
        guard let process else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    deinit {
        stopSocat()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

public struct Timeout: Error, CustomStringConvertible {
    public let what: String
    public init(what: String) { self.what = what }
    public var description: String { "timed out waiting until \(what)" }
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes: a deadline, not a sleep.
public func waitUntil(_ what: String, timeout: Duration, _ condition: () throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try !condition() {
        guard ContinuousClock.now < deadline else { throw Timeout(what: what) }
        try await Task.sleep(for: .milliseconds(10))
    }
}
