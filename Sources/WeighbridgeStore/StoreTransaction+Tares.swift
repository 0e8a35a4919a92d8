public import WeighbridgeCore

// The stored_tares table: vehicles' stored tares and their expiry.
extension StoreTransaction {
    /// Sets (or replaces) a vehicle's stored tare: an operator's override, audited once with
    /// their reason and the tare.
    public func setStoredTare(_ tare: StoredTare, by actor: Actor, reason: String) throws(StoreError) {
        try connection.run(
            """
            INSERT INTO stored_tares (vehicle, tare_g, set_at_ms, expires_at_ms, set_by) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (vehicle) DO UPDATE SET tare_g = excluded.tare_g, set_at_ms = excluded.set_at_ms,
                expires_at_ms = excluded.expires_at_ms, set_by = excluded.set_by
            """,
            [
                .text(tare.vehicle.normalised), .integer(tare.tare.grams), .integer(tare.setAt.millisecondsSinceEpoch),
                .integer(tare.expiresAt.millisecondsSinceEpoch), .text(actor.description),
            ],
            operation: "set stored tare of \(tare.vehicle)")
        try appendAudit(
            AuditEvent(
                kind: .override, by: actor, subject: tare.vehicle.normalised,
                detail: [
                    "action": "tare-set", "reason": reason, "tare_g": String(tare.tare.grams),
                    "expires_at": tare.expiresAt.rfc3339,
                ]))
    }

    /// Ends a stored tare's validity now: an operator's override, audited once with their reason.
    public func expireStoredTare(vehicle: VehicleRegistration, by actor: Actor, reason: String) throws(StoreError) {
        try connection.run(
            "UPDATE stored_tares SET expires_at_ms = MIN(expires_at_ms, ?) WHERE vehicle = ?",
            [.integer(now.millisecondsSinceEpoch), .text(vehicle.normalised)],
            operation: "expire stored tare of \(vehicle)")
        try appendAudit(
            AuditEvent(
                kind: .override, by: actor, subject: vehicle.normalised,
                detail: ["action": "tare-expire", "reason": reason]))
    }

    /// A vehicle's stored tare, valid or not.
    public func storedTare(vehicle: VehicleRegistration) throws(StoreError) -> StoredTare? {
        try storedTares(where: "vehicle = ?", [.text(vehicle.normalised)]).first
    }

    /// Every stored tare.
    public func storedTares() throws(StoreError) -> [StoredTare] {
        try storedTares(where: "1", [])
    }

    private func storedTares(where condition: String, _ values: [SQLValue]) throws(StoreError) -> [StoredTare] {
        try connection.rows(
            "SELECT vehicle, tare_g, set_at_ms, expires_at_ms FROM stored_tares WHERE \(condition) ORDER BY vehicle",
            values, operation: "read stored tares"
        ) { row throws(StoreError) in
            guard let vehicle = VehicleRegistration(row.text(0)) else {
                throw StoreError(code: .corrupt, operation: "read stored tares", message: "bad registration")
            }
            return StoredTare(
                vehicle: vehicle, tare: Mass(grams: row.integer(1)),
                setAt: Timestamp(millisecondsSinceEpoch: row.integer(2)),
                expiresAt: Timestamp(millisecondsSinceEpoch: row.integer(3)))
        }
    }
}
