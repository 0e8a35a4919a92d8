/// Who acts through the control socket, as the kernel vouches for them (SO_PEERCRED).
public struct OperatorIdentity: Sendable, Hashable, CustomStringConvertible {
    public var uid: UInt32
    public var name: String

    /// An operator from their uid and user name.
    public init(uid: UInt32, name: String) {
        self.uid = uid
        self.name = name
    }

    /// "operator:sam(uid=1001)", as the audit log records them.
    public var description: String { "operator:\(name)(uid=\(uid))" }
}
