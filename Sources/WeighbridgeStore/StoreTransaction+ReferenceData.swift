public import WeighbridgeCore

// The reference_data table: Defra's lists as last refreshed.
extension StoreTransaction {
    /// A cached reference list (Defra's EWC codes, container types, …) and when it was fetched.
    public func referenceData(list: String) throws(StoreError) -> (body: String, fetchedAt: Timestamp)? {
        try connection.rows(
            "SELECT body, fetched_at_ms FROM reference_data WHERE list = ?", [.text(list)],
            operation: "read reference data"
        ) {
            ($0.text(0), Timestamp(millisecondsSinceEpoch: $0.integer(1)))
        }.first
    }

    /// Caches a reference list.
    public func saveReferenceData(list: String, body: String) throws(StoreError) {
        try connection.run(
            """
            INSERT INTO reference_data (list, body, fetched_at_ms) VALUES (?, ?, ?)
            ON CONFLICT (list) DO UPDATE SET body = excluded.body, fetched_at_ms = excluded.fetched_at_ms
            """, [.text(list), .text(body), .integer(now.millisecondsSinceEpoch)], operation: "cache reference data")
    }
}
