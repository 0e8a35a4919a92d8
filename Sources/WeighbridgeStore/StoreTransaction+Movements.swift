public import WeighbridgeCore

// The movements table: each expected movement and its lifecycle.
extension StoreTransaction {
    /// Inserts or replaces a movement's stored state.
    public func saveMovement(_ lifecycle: MovementLifecycle, receipt: String?) throws(StoreError) {
        let json = try StoredJSON.encode(lifecycle, what: "movement \(lifecycle.movement.id)")
        try connection.run(
            """
            INSERT INTO movements (id, state, vehicle, lifecycle, receipt, created_at_ms, updated_at_ms)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET state = excluded.state, vehicle = excluded.vehicle,
                lifecycle = excluded.lifecycle, receipt = excluded.receipt, updated_at_ms = excluded.updated_at_ms
            """,
            [
                .text(lifecycle.movement.id), .text(lifecycle.state.rawValue),
                .optional(lifecycle.movement.vehicle?.normalised), .text(json), .optional(receipt),
                .integer(now.millisecondsSinceEpoch), .integer(now.millisecondsSinceEpoch),
            ],
            operation: "save movement \(lifecycle.movement.id)")
    }

    /// A movement by id.
    public func movement(id: String) throws(StoreError) -> StoredMovement? {
        try movements(where: "id = ?", [.text(id)]).first
    }

    /// A movement's declared facts and its `receipt` object, without the rest of its lifecycle:
    /// what a report's request needs, at a fraction of the cost of reading the whole movement.
    public func declaredMovement(id: String) throws(StoreError) -> (movement: Movement, receipt: String?)? {
        try connection.rows(
            "SELECT json_extract(lifecycle, '$.movement'), receipt FROM movements WHERE id = ?", [.text(id)],
            operation: "read movement \(id)"
        ) { row throws(StoreError) in
            (try StoredJSON.decode(Movement.self, from: row.text(0), what: "movement \(id)"), row.optionalText(1))
        }.first
    }

    /// Movements, optionally only those in `state`, oldest first.
    public func movements(state: MovementState? = nil) throws(StoreError) -> [StoredMovement] {
        guard let state else { return try movements(where: "1", []) }
        return try movements(where: "state = ?", [.text(state.rawValue)])
    }

    /// One page of movements, optionally only in `state`, newest first: at most `limit`, all
    /// registered before the one whose cursor is `before` (the newest when nil).
    public func movements(state: MovementState?, before: Int64?, limit: Int) throws(StoreError)
        -> ListedPage<StoredMovement>
    {
        var condition = "rowid < ?"
        var values: [SQLValue] = [.integer(before ?? Int64.max)]
        if let state {
            condition += " AND state = ?"
            values.append(.text(state.rawValue))
        }
        values.append(.integer(Int64(limit) + 1))
        let rows = try movementRows(where: condition, values, then: "ORDER BY rowid DESC LIMIT ?")
        return ListedPage(rows: rows.map { ($0.cursor, $0.movement) }, limit: limit)
    }

    /// How many movements are in `state`, without reading them.
    public func movementCount(state: MovementState) throws(StoreError) -> Int {
        try count("SELECT count(*) FROM movements WHERE state = ?", [.text(state.rawValue)], what: "movements")
    }

    /// Movements still waiting for a vehicle or a weighing: the candidates for `arrive --vehicle`.
    public func openMovements(vehicle: VehicleRegistration) throws(StoreError) -> [Movement] {
        try movements(
            where: "vehicle = ? AND state IN ('expected', 'arrived', 'weighing')", [.text(vehicle.normalised)]
        )
        .map(\.lifecycle.movement)
    }

    private func movements(where condition: String, _ values: [SQLValue]) throws(StoreError) -> [StoredMovement] {
        try movementRows(where: condition, values, then: "ORDER BY created_at_ms, id").map(\.movement)
    }

    /// Movements with their rowids (a listing's cursor), `then` ordering and limiting them.
    private func movementRows(where condition: String, _ values: [SQLValue], then ordering: String)
        throws(StoreError) -> [(cursor: Int64, movement: StoredMovement)]
    {
        try connection.rows(
            "SELECT id, lifecycle, receipt, created_at_ms, updated_at_ms, rowid FROM movements WHERE \(condition) "
                + ordering, values, operation: "read movements"
        ) { row throws(StoreError) in
            (
                cursor: row.integer(5),
                movement: StoredMovement(
                    lifecycle: try StoredJSON.decode(
                        MovementLifecycle.self, from: row.text(1), what: "movement \(row.text(0))"),
                    receipt: row.optionalText(2), createdAt: Timestamp(millisecondsSinceEpoch: row.integer(3)),
                    updatedAt: Timestamp(millisecondsSinceEpoch: row.integer(4)))
            )
        }
    }
}
