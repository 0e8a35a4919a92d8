/// Who took an action: the daemon's own rules, or an operator. Written one way wherever it is
/// recorded (decisions, weighing bindings, the audit log): `auto`, or
/// `operator:sam(uid=1001)`.
public enum Actor: Sendable, Hashable, Codable, CustomStringConvertible {
    case automatic
    case `operator`(OperatorIdentity)

    public var description: String {
        switch self {
        case .automatic: "auto"
        case .operator(let identity): "operator:\(identity)"
        }
    }
}

/// An operator as the kernel vouched for them on the control socket (SO_PEERCRED): the user
/// name and the uid it belongs to.
public struct OperatorIdentity: Sendable, Hashable, Codable, CustomStringConvertible {
    public var name: String
    /// Nil only for an operator read from a record written before the uid was kept with the name.
    public var uid: UInt32?

    public init(uid: UInt32?, name: String) {
        self.name = name
        self.uid = uid
    }

    /// `sam(uid=1001)`; `sam` when the uid was not recorded.
    public var description: String { uid.map { "\(name)(uid=\($0))" } ?? name }

    private enum CodingKeys: String, CodingKey {
        case name, uid
    }

    /// Reads `{"name": …, "uid": …}`, or the bare name that records written before the uid was
    /// kept carry (a movement's stored lifecycle, a queued report).
    public init(from decoder: any Decoder) throws {
        if let name = try? decoder.singleValueContainer().decode(String.self) {
            self.init(uid: nil, name: name)
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            uid: try container.decodeIfPresent(UInt32.self, forKey: .uid),
            name: try container.decode(String.self, forKey: .name))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encodeIfPresent(uid, forKey: .uid)
    }
}
