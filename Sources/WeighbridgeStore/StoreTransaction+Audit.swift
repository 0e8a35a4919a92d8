import Foundation
internal import WeighbridgeCore

// The audit log: the hash-chained record of everything that happened.
extension StoreTransaction {
    /// Appends an entry to the hash-chained audit log.
    @discardableResult
    public func appendAudit(_ event: AuditEvent) throws(StoreError) -> AuditEntry {
        var last = heads.audit
        if last == nil {
            last = try connection.rows(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                operation: "read audit head"
            ) { (sequence: $0.integer(0), hash: $0.blob(1)) }.first
        }
        let sequence = (last?.sequence ?? 0) + 1
        let previous = last?.hash ?? AuditChain.genesis
        let detail = AuditChain.canonicalDetail(event.detail)
        let hash = AuditChain.hash(
            previous: previous, sequence: sequence, at: now, kind: event.kind.rawValue,
            actor: event.actor, subject: event.subject, detail: detail)
        try connection.run(
            "INSERT INTO audit (seq, at_ms, kind, actor, subject, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                .integer(sequence), .integer(now.millisecondsSinceEpoch), .text(event.kind.rawValue),
                .text(event.actor),
                .text(event.subject), .text(detail), .blob(previous), .blob(hash),
            ],
            operation: "append audit")
        heads.audit = (sequence, hash)
        return AuditEntry(sequence: sequence, at: now, event: event)
    }

    /// The sequence number of the newest audit entry (0 when the log is empty).
    public func auditHeadSequence() throws(StoreError) -> Int64 {
        try connection.rows("SELECT COALESCE(MAX(seq), 0) FROM audit", operation: "read audit head") { $0.integer(0) }[
            0]
    }

    /// Whether a weighing already belongs to a visit.
    public func isBound(ticket: Int64) throws(StoreError) -> Bool {
        try !connection.rows(
            "SELECT 1 FROM weighing_bindings WHERE ticket = ?", [.integer(ticket)],
            operation: "read binding"
        ) { _ in true }.isEmpty
    }

    /// Audit entries after `sequence`, oldest first (for `audit` listings and `tail`).
    public func auditEntries(after sequence: Int64 = 0, limit: Int = 1_000) throws(StoreError) -> [AuditEntry] {
        try connection.rows(
            "SELECT seq, at_ms, kind, actor, subject, detail FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
            [.integer(sequence), .integer(Int64(limit))], operation: "read audit"
        ) { row throws(StoreError) in
            let detail = (try? JSONDecoder().decode([String: String].self, from: Data(row.text(5).utf8))) ?? [:]
            guard let kind = AuditKind(rawValue: row.text(2)) else {
                throw StoreError(
                    code: .newerSchema, operation: "read audit",
                    message:
                        "entry \(row.integer(0)) is a \(row.text(2).debugDescription), which this version does not know"
                )
            }
            return AuditEntry(
                sequence: row.integer(0), at: Timestamp(millisecondsSinceEpoch: row.integer(1)),
                event: AuditEvent(kind: kind, recordedActor: row.text(3), subject: row.text(4), detail: detail))
        }
    }
}
