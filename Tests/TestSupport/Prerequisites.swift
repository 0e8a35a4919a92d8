public import Foundation
public import Testing

/// The repository's root, from this file's place in it (Tests/TestSupport/).
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// What a test needs from the machine beyond what `swift build` gives it.
public enum Prerequisite: Sendable, CustomStringConvertible {
    /// Root: mounting a tmpfs, switching users.
    case root
    /// systemd-journald's binary, to start one standalone.
    case journald

    public var isMet: Bool {
        switch self {
        case .root: getuid() == 0
        case .journald: FileManager.default.isExecutableFile(atPath: "/lib/systemd/systemd-journald")
        }
    }

    public var description: String {
        switch self {
        case .root: "root (it mounts a tmpfs or switches users)"
        case .journald: "/lib/systemd/systemd-journald (Debian's systemd package; scripts/test installs it)"
        }
    }
}

/// A prerequisite that is not met, where the test may not be skipped.
public struct MissingPrerequisites: Error, CustomStringConvertible {
    public let missing: [Prerequisite]
    public var description: String {
        "CI=true, so this test may not be skipped, but it needs "
            + missing.map(\.description).joined(separator: " and ")
    }
}

/// True in CI (`CI=true`), where no test is skipped.
private let runningInCI = ProcessInfo.processInfo.environment["CI"] == "true"

extension Trait where Self == ConditionTrait {
    /// Runs the test only where every prerequisite is met. A developer's machine without them skips
    /// it, saying why; in CI the test fails instead, naming what was missing.
    public static func needs(_ prerequisites: Prerequisite..., sourceLocation: SourceLocation = #_sourceLocation)
        -> Self
    {
        .enabled(
            Comment(rawValue: "needs " + prerequisites.map(\.description).joined(separator: " and ")),
            sourceLocation: sourceLocation
        ) {
            let missing = prerequisites.filter { !$0.isMet }
            if missing.isEmpty { return true }
            if runningInCI { throw MissingPrerequisites(missing: missing) }
            return false
        }
    }
}

/// The interpreter of the project's virtual environment (.venv/, made by scripts/test from
/// scripts/requirements.txt), which has the Python test tools; never the system's.
public func projectPython() throws -> URL {
    let interpreter = repositoryRoot.appendingPathComponent(".venv/bin/python3")
    guard FileManager.default.isExecutableFile(atPath: interpreter.path) else {
        throw MissingTool(
            what: interpreter.path,
            remedy: "the Python test tools live in the project's virtual environment: run scripts/test once to make it")
    }
    return interpreter
}

/// A program a test runs that is not on this machine.
public struct MissingTool: Error, CustomStringConvertible {
    public let what: String
    public let remedy: String

    public var description: String { "\(what) is missing: \(remedy)" }
}

/// The program at `path`, or an error that names it and how to install it.
public func requireTool(_ path: String, package: String) throws -> URL {
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw MissingTool(what: path, remedy: "apt-get install \(package) (scripts/test installs it)")
    }
    return URL(fileURLWithPath: path)
}

/// A loopback address nobody else uses (127.x.y.z, at random): a server a test stops and later
/// starts again on the same port there cannot have its port taken meanwhile by a server another
/// test starts on 127.0.0.1.
public func privateLoopbackAddress() -> String {
    "127.\(Int.random(in: 1...254)).\(Int.random(in: 0...255)).\(Int.random(in: 1...254))"
}
