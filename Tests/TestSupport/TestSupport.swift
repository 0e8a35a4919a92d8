public import Foundation

/// Runs blocking work (a child process and its pipes) on a new thread, off the concurrency pool,
/// so that a test waiting on a process never starves the tasks running beside it (among them,
/// in-process servers that the process may be talking to).
public func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

/// Runs a program to completion: its exit status, standard output and standard error.
///
/// Standard error goes to a file, not a second pipe: reading one pipe to its end while the
/// program fills the other (a daemon logging to stderr) would leave both waiting for ever.
public func runToCompletion(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) throws
    -> (status: Int32, output: String, error: String)
{
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let output = Pipe()
    let errorPath = FileManager.default.temporaryDirectory.appendingPathComponent("stderr-\(UUID().uuidString)").path
    guard FileManager.default.createFile(atPath: errorPath, contents: nil),
        let error = FileHandle(forWritingAtPath: errorPath)
    else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: errorPath]) }
    defer { try? FileManager.default.removeItem(atPath: errorPath) }
    process.standardOutput = output
    process.standardError = error
    try process.run()
    try error.close()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let errorData = FileManager.default.contents(atPath: errorPath) ?? Data()
    return (
        process.terminationStatus, String(decoding: outputData, as: UTF8.self),
        String(decoding: errorData, as: UTF8.self)
    )
}

/// Runs `body` with a systemd-journald listening: the one already running, or (systemd is not
/// PID 1 here) one started standalone and killed after. A lock file keeps it to one such test at
/// a time across every test target. Needs root.
public func withStandaloneJournald(_ body: () async throws -> Void) async throws {
    let lock = open("/tmp/weighbridged-journald-test.lock", O_CREAT | O_RDWR, 0o600)
    defer { close(lock) }
    while flock(lock, LOCK_EX | LOCK_NB) != 0 { try await Task.sleep(for: .milliseconds(50)) }
    defer { flock(lock, LOCK_UN) }
    let running =
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.contains { entry in
            (try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8))?.hasPrefix("systemd-journal") == true
        } ?? false
    var journald: Process?
    if !running {
        unlink("/run/systemd/journal/socket")  // left by a journald that was killed
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/lib/systemd/systemd-journald")
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        journald = process
        let deadline = ContinuousClock.now + .seconds(10)
        while !FileManager.default.fileExists(atPath: "/run/systemd/journal/socket") {
            guard ContinuousClock.now < deadline else { throw POSIXError(.ETIMEDOUT) }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
    defer {
        if let journald {
            kill(journald.processIdentifier, SIGKILL)
            journald.waitUntilExit()
        }
    }
    try await body()
}

/// `journalctl -o json MATCH…`: the matching entries, each a dictionary of its fields.
public func journalEntries(_ matches: [String]) throws -> [[String: Any]] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/journalctl")
    process.arguments = ["-o", "json", "--no-pager"] + matches
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
        try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }
}

/// The name of this process's group, for a control socket the test's own user may connect to.
public var currentGroupName: String {
    guard let group = getgrgid(getgid()), let name = group.pointee.gr_name else { return "root" }
    return String(cString: name)
}
