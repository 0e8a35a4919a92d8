public import WeighbridgeCore

// The arrivals table: vehicles announced on a bridge.
extension StoreTransaction {
    /// The vehicles announced and not yet weighed.
    public func arrivalBoard() throws(StoreError) -> ArrivalBoard {
        let arrivals = try connection.rows("SELECT arrival FROM arrivals", operation: "read arrivals") {
            row throws(StoreError) in try StoredJSON.decode(Arrival.self, from: row.text(0), what: "arrival")
        }
        var pending: [String: [Arrival]] = [:]
        for arrival in arrivals.sorted(by: { $0.at < $1.at }) { pending[arrival.bridge, default: []].append(arrival) }
        return ArrivalBoard(pending: pending)
    }

    /// Replaces the stored arrivals with `board`.
    public func saveArrivalBoard(_ board: ArrivalBoard) throws(StoreError) {
        try connection.run("DELETE FROM arrivals", operation: "save arrivals")
        for arrival in board.pending.values.joined() {
            let subject: String
            switch arrival.subject {
            case .movement(let id): subject = "movement:\(id)"
            case .unidentifiedVehicle(let vehicle): subject = "vehicle:\(vehicle.normalised)"
            }
            try connection.run(
                "INSERT INTO arrivals (subject, bridge, arrival) VALUES (?, ?, ?)",
                [.text(subject), .text(arrival.bridge), .text(try StoredJSON.encode(arrival, what: "arrival"))],
                operation: "save arrivals")
        }
    }
}
