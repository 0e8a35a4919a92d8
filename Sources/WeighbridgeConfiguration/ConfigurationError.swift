/// One thing wrong with a configuration file, located as precisely as the format allows.
public struct ConfigurationProblem: Sendable, Hashable, CustomStringConvertible {
    /// The file it is in.
    public var file: String
    /// The key path, e.g. `bridge[0].registers.gross.offset`; nil for file-level problems.
    public var key: String?
    /// The line the key (or its table) is on, when known.
    public var line: Int?
    /// What is wrong and what to do. Never contains a value that could be a secret.
    public var message: String

    /// `weighbridged.toml:12: bridge[0].registers.gross.offset: gross overlaps net …`
    public var description: String {
        var location = file
        if let line { location += ":\(line)" }
        if let key { location += ": \(key)" }
        return "\(location): \(message)"
    }
}

/// A configuration that cannot be used; every problem found, not only the first.
/// `weighbridged` exits with status 78 (EX_CONFIG) on it.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var problems: [ConfigurationProblem]

    /// The sysexits.h status for a configuration error.
    public static let exitStatus: Int32 = 78

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
