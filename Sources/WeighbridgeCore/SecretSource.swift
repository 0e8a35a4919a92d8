/// Where a secret comes from. The secret itself is never in the configuration.
public enum SecretSource: Sendable, Hashable, CustomStringConvertible {
    /// A file name under `$CREDENTIALS_DIRECTORY` (systemd `LoadCredential=`).
    case credential(String)
    /// A file readable only by the service user.
    case file(String)

    public var description: String {
        switch self {
        case .credential(let name): "credential \(name)"
        case .file(let path): "file \(path)"
        }
    }
}
