import Foundation
public import WeighbridgeCore

/// The named operations of one write transaction. Everything done through one value commits
/// together or not at all; callers never see SQL, so another backend can stand behind it.
public struct StoreTransaction {
    let connection: SQLiteConnection
    let heads: Heads
    /// The time the caller stamps this transaction's records with.
    public let now: Timestamp

    /// The next ticket number and the audit chain's head, remembered between transactions so a
    /// capture does not read them back each time. The store forgets them when a transaction
    /// rolls back.
    final class Heads {
        var nextTicket: Int64?
        var audit: (sequence: Int64, hash: [UInt8])?

        func forget() {
            nextTicket = nil
            audit = nil
        }
    }
}

extension StoreTransaction {
    /// The single integer `sql` selects (a COUNT), 0 when it selects no row.
    func count(_ sql: String, _ values: [SQLValue], what: String) throws(StoreError) -> Int {
        Int(try connection.rows(sql, values, operation: "count \(what)") { $0.integer(0) }.first ?? 0)
    }

    /// Counts for monitoring: weighings, decisions by outcome, outbox entries by state, and when
    /// the oldest entry not yet done was queued.
    public func counts() throws(StoreError) -> StoreCounts {
        let weighings = try connection.rows("SELECT COUNT(*) FROM weighings", [], operation: "count") { $0.integer(0) }
        let decisions = try connection.rows(
            "SELECT outcome, COUNT(*) FROM decisions GROUP BY outcome", [], operation: "count"
        ) { ($0.text(0), $0.integer(1)) }
        let outbox = try connection.rows(
            "SELECT state, COUNT(*), MIN(created_at_ms) FROM outbox GROUP BY state", [], operation: "count"
        ) { ($0.text(0), $0.integer(1), $0.integer(2)) }
        let waiting = outbox.filter { $0.0 != OutboxState.done.rawValue }.map(\.2).min()
        return StoreCounts(
            weighings: weighings.first ?? 0, decisionsByOutcome: Dictionary(uniqueKeysWithValues: decisions),
            outboxByState: Dictionary(uniqueKeysWithValues: outbox.map { ($0.0, $0.1) }),
            oldestWaitingSince: waiting.map(Timestamp.init(millisecondsSinceEpoch:)))
    }
}

@available(*, unavailable)
extension StoreTransaction: Sendable {}

/// JSON for the few columns that hold a domain value whole (a lifecycle, a report).
enum StoredJSON {
    /// One of each, made once: making a coder costs about as much as using it on a small value.
    private static let encoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()
    private static let decoder = JSONDecoder()

    static func encode(_ value: some Encodable, what: String) throws(StoreError) -> String {
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw StoreError(code: .other, operation: "encode \(what)", message: "\(error)")
        }
    }

    static func decode<Value: Decodable>(_ type: Value.Type, from text: String, what: String) throws(StoreError)
        -> Value
    {
        do {
            return try decoder.decode(type, from: Data(text.utf8))
        } catch {
            throw StoreError(code: .corrupt, operation: "decode \(what)", message: "\(error)")
        }
    }
}

extension WeighingRoute {
    /// The route column and its detail.
    var stored: (String, String?) {
        switch self {
        case .movement(let id): ("movement", id)
        case .unidentifiedVehicle(let vehicle): ("unidentified_vehicle", vehicle.normalised)
        case .unannounced: ("unannounced", nil)
        case .ambiguous(let arrivals): ("ambiguous", try? StoredJSON.encode(arrivals, what: "candidates"))
        case .expired(let arrivals): ("expired", try? StoredJSON.encode(arrivals, what: "expired arrivals"))
        }
    }

    init(stored route: String, detail: String?) throws(StoreError) {
        switch (route, detail) {
        case ("movement", let id?): self = .movement(id)
        case ("unidentified_vehicle", let text?):
            guard let vehicle = VehicleRegistration(text) else { fallthrough }
            self = .unidentifiedVehicle(vehicle)
        case ("unannounced", _): self = .unannounced
        case ("ambiguous", let json?):
            self = .ambiguous(try StoredJSON.decode([Arrival].self, from: json, what: "candidates"))
        case ("expired", let json?):
            self = .expired(try StoredJSON.decode([Arrival].self, from: json, what: "expired arrivals"))
        default:
            throw StoreError(code: .corrupt, operation: "read weighing", message: "unknown route \(route)")
        }
    }
}

extension Array where Element == UInt16 {
    /// Registers as Modbus puts them on the wire: each big-endian.
    var bigEndianBytes: [UInt8] { flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } }
}

extension Array where Element == UInt8 {
    var registersFromBigEndian: [UInt16] {
        stride(from: 0, to: count - 1, by: 2).map { UInt16(self[$0]) << 8 | UInt16(self[$0 + 1]) }
    }
}
