internal import Crypto
import Foundation
public import WeighbridgeCore

/// One entry for the append-only audit log: a weighing, a decision, an override, a report
/// attempt, a configuration loaded at start-up.
public struct AuditEvent: Sendable, Hashable {
    /// What happened.
    public var kind: AuditKind
    /// Who, as written: an `Actor`'s one written form (older entries keep the form of their day,
    /// which the hash chain covers).
    public var actor: String
    /// What it concerns: a movement id, a ticket, a report id.
    public var subject: String
    /// The facts, as flat key/value pairs (stored as canonical JSON, keys sorted).
    public var detail: [String: String]

    /// An entry to append: `kind`, done by `actor`, about `subject`.
    public init(kind: AuditKind, by actor: Actor, subject: String, detail: [String: String] = [:]) {
        self.init(kind: kind, recordedActor: actor.description, subject: subject, detail: detail)
    }

    /// An entry as the log holds it.
    init(kind: AuditKind, recordedActor: String, subject: String, detail: [String: String]) {
        self.kind = kind
        self.actor = recordedActor
        self.subject = subject
        self.detail = detail
    }
}

/// A stored audit entry.
public struct AuditEntry: Sendable, Hashable {
    public var sequence: Int64
    public var at: Timestamp
    public var event: AuditEvent
}

/// The audit log's hashing rules: each entry's SHA-256 covers the previous entry's hash and the
/// entry's canonical bytes, so editing, deleting or inserting any entry breaks every later link.
enum AuditChain {
    /// The "previous hash" of the first entry.
    static let genesis = [UInt8](repeating: 0, count: 32)

    /// The canonical detail JSON: keys sorted by their UTF-8 bytes, no whitespace, only `"`,
    /// `\\` and control characters escaped. Written by hand rather than with JSONEncoder, whose
    /// output may change between Foundation versions: the bytes are hashed, and entries written
    /// today must still verify in ten years.
    static func canonicalDetail(_ detail: [String: String]) -> String {
        let pairs = detail.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
        return "{" + pairs.map { $0.key.quotedForJSON + ":" + $0.value.quotedForJSON }.joined(separator: ",") + "}"
    }

    /// SHA-256 over the previous hash and each field, length-prefixed so that no two different
    /// entries share bytes.
    static func hash(
        previous: [UInt8], sequence: Int64, at: Timestamp, kind: String, actor: String,
        subject: String, detail: String
    ) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: previous)
        for field in [String(sequence), String(at.millisecondsSinceEpoch), kind, actor, subject, detail] {
            let bytes = Array(field.utf8)
            withUnsafeBytes(of: UInt64(bytes.count).bigEndian) { hasher.update(bufferPointer: $0) }
            hasher.update(data: bytes)
        }
        return Array(hasher.finalize())
    }
}

extension Array where Element == UInt8 {
    var hexadecimal: String { map { String(format: "%02x", $0) }.joined() }
}
