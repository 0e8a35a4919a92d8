public import WeighbridgeCore
public import WeighbridgeJSON

/// The control socket's wire format (docs/configuration.md, "Control socket"): one JSON object
/// per line, `{"v":1,"id":…,"cmd":…, arguments…}`, answered by `{"v":1,"id":…,"ok":…}` or
/// `{"v":1,"id":…,"error":{"code":…,"message":…}}`.
public enum ControlProtocol {
    /// The protocol version this build speaks.
    public static let version = 1
    /// The longest request line accepted, newline excluded.
    public static let maximumLineLength = 65_536
    /// The longest string argument accepted (a reason, an id, a name), in characters; a
    /// movement id is held to 128 and a reason to 500 of them.
    public static let maximumArgumentLength = 500
    /// How many rows a listing (`movements`, `outbox`) returns when the request names no `limit`.
    public static let defaultListLimit = 100
    /// The most rows one listing returns: a year of movements is read a page at a time.
    public static let maximumListLimit = 1_000
}

/// Which page of a listing to return: at most `limit` rows, newest first, all older than the row
/// whose cursor is `before` (the `next_before` of the page above it), or the newest when nil.
public struct ListPage: Sendable, Hashable {
    public var limit: Int
    public var before: Int64?

    public init(limit: Int = ControlProtocol.defaultListLimit, before: Int64? = nil) {
        self.limit = limit
        self.before = before
    }

    /// Refuses a limit outside 1 to `maximumListLimit` and a cursor that is not positive.
    public func check() throws(ControlError) {
        guard (1...ControlProtocol.maximumListLimit).contains(limit) else {
            throw ControlError(.invalidArgument, "limit must be from 1 to \(ControlProtocol.maximumListLimit)")
        }
        if let before, before < 1 { throw ControlError(.invalidArgument, "before must be a positive integer") }
    }
}

/// A refusal with a stable code that scripts can rely on, and a message for people.
public struct ControlError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: Code
    public var message: String

    /// The stable error codes.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        case badRequest = "bad_request"
        case lineTooLong = "line_too_long"
        case unsupportedVersion = "unsupported_version"
        case unknownCommand = "unknown_command"
        case invalidArgument = "invalid_argument"
        case reasonRequired = "reason_required"
        case notFound = "not_found"
        case illegalTransition = "illegal_transition"
        case decisionRequired = "decision_required"
        case alreadyAttached = "already_attached"
        case ambiguousVehicle = "ambiguous_vehicle"
        /// The legal receipt could not be sent as it stands: supply its data first.
        case receiptDataMissing = "receipt_data_missing"
        case conflict
        case unavailable
        case internalError = "internal"
        /// The client could not read the daemon's reply: weighbridgectl and the daemon differ in
        /// version. Never sent by the daemon.
        case badReply = "bad_reply"
    }

    /// An error with its code and a message for the operator.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

extension ControlError.Code {
    /// The reply's code for a rule's refusal: the same word, case by case.
    public init(_ refusal: RefusalCode) {
        self =
            switch refusal {
            case .notFound: .notFound
            case .illegalTransition: .illegalTransition
            case .invalidArgument: .invalidArgument
            case .ambiguousVehicle: .ambiguousVehicle
            case .alreadyAttached: .alreadyAttached
            case .decisionRequired: .decisionRequired
            case .reasonRequired: .reasonRequired
            case .receiptDataMissing: .receiptDataMissing
            case .conflict: .conflict
            }
    }
}

/// Who an `arrive` or `depart` is for.
public enum ArrivalTargetArgument: Sendable, Hashable {
    case movement(String)
    case vehicle(VehicleRegistration)

    /// The target from a movement id or a registration as typed: exactly one of them.
    public init(movement: String?, vehicle: String?) throws(ControlError) {
        switch (movement, try vehicle.map { text throws(ControlError) in try VehicleRegistration(argument: text) }) {
        case (let id?, nil): self = .movement(id)
        case (nil, let vehicle?): self = .vehicle(vehicle)
        default: throw ControlError(.invalidArgument, "give exactly one of movement and vehicle")
        }
    }
}

extension VehicleRegistration {
    /// A registration as typed for the argument `name`, or the refusal naming it.
    public init(argument text: String, name: String = "vehicle") throws(ControlError) {
        guard let vehicle = VehicleRegistration(text) else {
            throw ControlError(.invalidArgument, "\(name) \"\(text)\" is not a vehicle registration")
        }
        self = vehicle
    }
}

extension Timestamp {
    /// A time as typed for the argument `name`, RFC 3339, or the refusal naming it.
    public init(argument text: String, name: String) throws(ControlError) {
        guard let time = Timestamp(rfc3339: text) else {
            throw ControlError(.invalidArgument, "\(name) \"\(text)\" is not an RFC 3339 time (2026-11-25T08:00:00Z)")
        }
        self = time
    }
}

extension Mass {
    /// A weight as typed for the argument `name`, in kg unless it says otherwise.
    public init(argument text: String, name: String) throws(ControlError) {
        do {
            self = try Mass(parsing: text, defaultUnit: .kilograms)
        } catch {
            throw ControlError(.invalidArgument, "\(name): \(error)")
        }
    }
}

extension EWCCode {
    /// An EWC code as typed for the argument `name`.
    public init(argument text: String, name: String) throws(ControlError) {
        do {
            self = try EWCCode(parsing: text)
        } catch {
            throw ControlError(.invalidArgument, "\(name): \(error)")
        }
    }
}

extension Movement {
    /// Refuses a `wasteTrackingId` typed for the argument `name` that is not as Defra issues them.
    public static func check(wasteTrackingID id: String, argument name: String) throws(ControlError) {
        do {
            try check(wasteTrackingID: id)
        } catch {
            throw ControlError(.invalidArgument, "\(name): \(error)")
        }
    }
}

extension MovementState {
    /// A state as a listing's `state` argument names it.
    public init(argument text: String) throws(ControlError) {
        guard let state = MovementState(rawValue: text) else {
            throw ControlError(
                .invalidArgument,
                "state must be one of " + MovementState.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self = state
    }
}

extension OutboxState {
    /// A state as a listing's `state` argument names it.
    public init(argument text: String) throws(ControlError) {
        guard let state = OutboxState(rawValue: text) else {
            throw ControlError(
                .invalidArgument, "state must be one of " + OutboxState.allCases.map(\.rawValue).joined(separator: ", ")
            )
        }
        self = state
    }
}

/// A movement as `expect` carries it: the brief's movement representation plus receipt data.
public struct ExpectArguments: Sendable, Hashable {
    public var movement: Movement
    /// The `receipt` object as compact JSON, passed through to the reporting profile.
    public var receipt: String?

    /// A movement in the brief's representation, from wherever it came (a movement file, or the
    /// brief's `GET /movements/{id}`), checked as `expect` checks it. `refusingUnknownFields` is
    /// for what a person wrote: a misspelt field is refused rather than left out.
    public init(decoding fields: [String: JSONValue], refusingUnknownFields: Bool = false) throws(ControlError) {
        var arguments = Arguments(fields: fields, alreadyRead: [])
        do {
            self = try arguments.expectArguments()
            if refusingUnknownFields { try arguments.rejectUnused() }
        } catch let error as ControlError {
            throw error
        } catch {
            throw ControlError(.invalidArgument, "\(error)")
        }
    }

    init(movement: Movement, receipt: String?) {
        self.movement = movement
        self.receipt = receipt
    }
}

/// Which outbox entries `retry` is for.
public enum RetryTarget: Sendable, Hashable {
    case entry(Int64)
    case all
}

/// The commands' names on the wire, one word each.
public enum CommandName: String, Sendable, Hashable {
    case status
    case bridges
    case weight
    case expect
    case arrive
    case depart
    case movements
    case show
    case confirm
    case discrepancy
    case reject
    case hold
    case release
    case attach
    case correct
    case tareSet = "tare-set"
    case tareList = "tare-list"
    case tareExpire = "tare-expire"
    case outbox
    case retry
    case park
    case resolve
    case auditVerify = "audit-verify"
    case tail
}

/// Every command of the CLI contract, with its arguments checked and typed.
public enum ControlCommand: Sendable, Hashable {
    case status
    case bridges
    case weight(bridge: String?)
    case expect(ExpectArguments)
    /// `trackingID`: the carrier's `wasteTrackingId`, typed or scanned at the gate.
    case arrive(bridge: String, target: ArrivalTargetArgument, trackingID: String?)
    case depart(target: ArrivalTargetArgument)
    case movements(state: MovementState?, page: ListPage)
    case show(movement: String)
    case confirm(movement: String, reason: String)
    case discrepancy(movement: String, reason: String)
    case reject(movement: String, reason: String)
    case hold(movement: String, reason: String)
    case release(movement: String, reason: String)
    case attach(ticket: Int64, movement: String, reason: String)
    /// New receipt data (Defra's `receipt` object, compact JSON) for a movement.
    case correct(movement: String, receipt: String, reason: String)
    case tareSet(vehicle: VehicleRegistration, tare: Mass, expiresAt: Timestamp, reason: String)
    case tareList
    case tareExpire(vehicle: VehicleRegistration, reason: String)
    case outbox(state: OutboxState?, page: ListPage)
    case retry(RetryTarget, reason: String)
    case park(entry: Int64, reason: String)
    case resolve(entry: Int64, trackingID: String?, reason: String)
    case auditVerify
    case tail

    /// Whether it changes state (and so needs a reason and is audited with the operator).
    public var changesState: Bool {
        switch self {
        case .status, .bridges, .weight, .movements, .show, .tareList, .outbox, .auditVerify, .tail: false
        default: true
        }
    }
}

/// One decoded request line.
public struct ControlRequest: Sendable, Hashable {
    /// The client's correlation id, echoed back (a number or a string; absent is allowed).
    public var id: JSONValue?
    public var command: ControlCommand

    /// A request for `command`, answered under `id`.
    public init(id: JSONValue?, command: ControlCommand) {
        self.id = id
        self.command = command
    }

    /// Decodes one line (without its newline). Every way it can be wrong gives a `ControlError`
    /// with the request id when one could be read, so the reply can still be correlated.
    public static func decode(_ line: some Collection<UInt8>) -> Result<ControlRequest, RequestFailure> {
        guard line.count <= ControlProtocol.maximumLineLength else {
            return .failure(
                RequestFailure(
                    id: nil,
                    error: ControlError(
                        .lineTooLong, "request longer than \(ControlProtocol.maximumLineLength) bytes")))
        }
        let value: JSONValue
        do {
            value = try JSONValue(parsing: line)
        } catch {
            return .failure(RequestFailure(id: nil, error: ControlError(.badRequest, error.description)))
        }
        guard case .object(let fields) = value else {
            return .failure(RequestFailure(id: nil, error: ControlError(.badRequest, "a request is a JSON object")))
        }
        let id = fields["id"]
        if let id {
            switch id {
            case .number, .string: break
            default:
                return .failure(
                    RequestFailure(id: nil, error: ControlError(.badRequest, "id must be a number or a string")))
            }
        }
        do {
            var arguments = Arguments(fields: fields)
            guard arguments.integer("v") == Int64(ControlProtocol.version) else {
                throw ControlError(
                    .unsupportedVersion, "this daemon speaks protocol version \(ControlProtocol.version)")
            }
            let command = try arguments.command()
            try arguments.rejectUnused()
            return .success(ControlRequest(id: id, command: command))
        } catch let error as ControlError {
            return .failure(RequestFailure(id: id, error: error))
        } catch {
            return .failure(RequestFailure(id: id, error: ControlError(.internalError, "\(error)")))
        }
    }
}

/// A request that could not be decoded, with the id to answer it under (if it had one).
public struct RequestFailure: Error, Sendable, Hashable {
    public var id: JSONValue?
    public var error: ControlError
}

/// Reads a request's fields by name, checking types, and notices fields nobody asked for.
private struct Arguments {
    let fields: [String: JSONValue]
    private var used: Set<String>

    /// A request's fields, of which the envelope (`v`, `id`, `cmd`) is read by the caller.
    init(fields: [String: JSONValue], alreadyRead: Set<String> = ["v", "id", "cmd"]) {
        self.fields = fields
        self.used = alreadyRead
    }

    mutating func value(_ name: String) -> JSONValue? {
        used.insert(name)
        if case .null? = fields[name] { return nil }
        return fields[name]
    }

    /// A string argument. Every one comes from outside and may reach the journal, a terminal or
    /// an HTTP header: control characters are refused, and so is more than
    /// `ControlProtocol.maximumArgumentLength` characters.
    mutating func string(_ name: String) throws -> String? {
        guard let value = value(name) else { return nil }
        guard case .string(let text) = value else { throw ControlError(.invalidArgument, "\(name) must be a string") }
        guard !text.containsControlCharacters else {
            throw ControlError(.invalidArgument, "\(name) holds control characters")
        }
        guard text.count <= ControlProtocol.maximumArgumentLength else {
            throw ControlError(
                .invalidArgument, "\(name) is longer than \(ControlProtocol.maximumArgumentLength) characters")
        }
        return text
    }

    mutating func requiredString(_ name: String) throws -> String {
        guard let text = try string(name), !text.trimmingWhitespace.isEmpty else {
            throw ControlError(.invalidArgument, "\(name) is required")
        }
        return text
    }

    mutating func integer(_ name: String) -> Int64? {
        guard case .number(let text)? = value(name) else { return nil }
        return Int64(text)
    }

    mutating func requiredInteger(_ name: String) throws -> Int64 {
        guard let number = integer(name) else { throw ControlError(.invalidArgument, "\(name) must be an integer") }
        return number
    }

    mutating func reason() throws -> String {
        guard let reason = try string("reason"), !reason.trimmingWhitespace.isEmpty else {
            throw ControlError(.reasonRequired, "this command changes state: give a --reason")
        }
        guard reason.count <= 500 else { throw ControlError(.invalidArgument, "reason is longer than 500 characters") }
        return reason
    }

    mutating func vehicle(_ name: String) throws -> VehicleRegistration? {
        guard let text = try string(name) else { return nil }
        return try VehicleRegistration(argument: text, name: name)
    }

    mutating func timestamp(_ name: String) throws -> Timestamp? {
        try string(name).map { try Timestamp(argument: $0, name: name) }
    }

    mutating func mass(_ name: String) throws -> Mass? {
        let text: String
        switch value(name) {
        case nil: return nil
        case .number(let number)?: text = number
        case .string(let written)?: text = written
        case let other?: throw ControlError(.invalidArgument, "\(name) must be a number, not \(other.kind)")
        }
        return try Mass(argument: text, name: name)
    }

    func rejectUnused() throws {
        if let unknown = fields.keys.sorted().first(where: { !used.contains($0) }) {
            throw ControlError(.invalidArgument, "unknown argument \"\(unknown)\"")
        }
    }

    /// A listing's `limit` (1 to `maximumListLimit`, `defaultListLimit` when absent) and `before`.
    private mutating func listPage() throws -> ListPage {
        let limit = try optionalInteger("limit") ?? Int64(ControlProtocol.defaultListLimit)
        guard let fitting = Int(exactly: limit) else {
            throw ControlError(.invalidArgument, "limit must be from 1 to \(ControlProtocol.maximumListLimit)")
        }
        let page = ListPage(limit: fitting, before: try optionalInteger("before"))
        try page.check()
        return page
    }

    /// An integer argument that may be absent, but is refused when present as anything else.
    private mutating func optionalInteger(_ name: String) throws -> Int64? {
        guard value(name) != nil else { return nil }
        return try requiredInteger(name)
    }

    /// `movement` or `vehicle`, exactly one.
    private mutating func arrivalTarget() throws -> ArrivalTargetArgument {
        try ArrivalTargetArgument(movement: try string("movement"), vehicle: try string("vehicle"))
    }

    mutating func command() throws -> ControlCommand {
        guard case .string(let text)? = value("cmd") else { throw ControlError(.badRequest, "cmd must be a string") }
        guard let name = CommandName(rawValue: text) else {
            throw ControlError(.unknownCommand, "unknown command \"\(text)\"")
        }
        switch name {
        case .status: return .status
        case .bridges: return .bridges
        case .weight: return .weight(bridge: try string("bridge"))
        case .expect: return .expect(try expectArguments())
        case .arrive:
            let bridge = try requiredString("bridge")
            let target = try arrivalTarget()
            return .arrive(bridge: bridge, target: target, trackingID: try wasteTrackingID("tracking_id"))
        case .depart:
            return .depart(target: try arrivalTarget())
        case .movements:
            let page = try listPage()
            return .movements(state: try string("state").map { try MovementState(argument: $0) }, page: page)
        case .show: return .show(movement: try requiredString("movement"))
        case .confirm: return .confirm(movement: try requiredString("movement"), reason: try reason())
        case .discrepancy: return .discrepancy(movement: try requiredString("movement"), reason: try reason())
        case .reject: return .reject(movement: try requiredString("movement"), reason: try reason())
        case .hold: return .hold(movement: try requiredString("movement"), reason: try reason())
        case .release: return .release(movement: try requiredString("movement"), reason: try reason())
        case .attach:
            return .attach(
                ticket: try requiredInteger("ticket"), movement: try requiredString("movement"),
                reason: try reason())
        case .correct:
            let movement = try requiredString("movement")
            guard case .object(let fields)? = value("receipt") else {
                throw ControlError(.invalidArgument, "receipt must be an object (Defra's receipt data)")
            }
            return .correct(movement: movement, receipt: JSONValue.object(fields).serialized, reason: try reason())
        case .tareSet:
            guard let vehicle = try self.vehicle("vehicle"), let tare = try mass("tare_kg"), tare.grams > 0 else {
                throw ControlError(.invalidArgument, "vehicle and a positive tare_kg are required")
            }
            guard let expires = try timestamp("expires_at") else {
                throw ControlError(.invalidArgument, "expires_at is required (a stored tare always expires)")
            }
            return .tareSet(vehicle: vehicle, tare: tare, expiresAt: expires, reason: try reason())
        case .tareList: return .tareList
        case .tareExpire:
            guard let vehicle = try self.vehicle("vehicle") else {
                throw ControlError(.invalidArgument, "vehicle is required")
            }
            return .tareExpire(vehicle: vehicle, reason: try reason())
        case .outbox:
            let page = try listPage()
            return .outbox(state: try string("state").map { try OutboxState(argument: $0) }, page: page)
        case .retry:
            if case .bool(true)? = value("all") { return .retry(.all, reason: try reason()) }
            return .retry(.entry(try requiredInteger("entry")), reason: try reason())
        case .park: return .park(entry: try requiredInteger("entry"), reason: try reason())
        case .resolve:
            let entry = try requiredInteger("entry")
            let trackingID = try string("tracking_id")
            let resend: Bool = if case .bool(true)? = value("resend") { true } else { false }
            guard (trackingID != nil) != resend else {
                throw ControlError(.invalidArgument, "give exactly one of tracking_id and resend")
            }
            return .resolve(entry: entry, trackingID: trackingID, reason: try reason())
        case .auditVerify: return .auditVerify
        case .tail: return .tail
        }
    }

    /// A `wasteTrackingId` argument, checked as Defra issues them.
    private mutating func wasteTrackingID(_ name: String) throws -> String? {
        guard let id = try string(name) else { return nil }
        try Movement.check(wasteTrackingID: id, argument: name)
        return id
    }

    /// `expect`: the brief's movement representation (`movement_id`, `declared_weight_kg`,
    /// `ewc_codes`, `vehicle_registration`, `carrier`, `prenotified_at`) plus `receipt` and the
    /// carrier's `waste_tracking_id`.
    mutating func expectArguments() throws -> ExpectArguments {
        let id = try requiredString("movement_id")
        guard let declared = try mass("declared_weight_kg") else {
            throw ControlError(.invalidArgument, "declared_weight_kg is required")
        }
        guard case .array(let codeValues)? = value("ewc_codes"), !codeValues.isEmpty else {
            throw ControlError(.invalidArgument, "ewc_codes must be a non-empty array of strings")
        }
        var codes: [EWCCode] = []
        for codeValue in codeValues {
            guard case .string(let text) = codeValue else {
                throw ControlError(.invalidArgument, "ewc_codes must be a non-empty array of strings")
            }
            codes.append(try EWCCode(argument: text, name: "ewc_codes"))
        }
        let vehicle = try self.vehicle("vehicle_registration")
        let carrier = try string("carrier")
        let prenotified = try timestamp("prenotified_at")
        let trackingID = try wasteTrackingID("waste_tracking_id")
        var receipt: String?
        switch value("receipt") {
        case nil: receipt = nil
        case .object(let fields)?: receipt = JSONValue.object(fields).serialized
        case let other?: throw ControlError(.invalidArgument, "receipt must be an object, not \(other.kind)")
        }
        // The brief's representation has more fields than the daemon uses; accept them.
        for ignored in ["origin", "destination_site_id", "destination_jurisdiction"] { _ = value(ignored) }
        do {
            let movement = try Movement(
                id: id, declared: declared, ewcCodes: codes, vehicle: vehicle, carrier: carrier,
                prenotifiedAt: prenotified, wasteTrackingID: trackingID)
            return ExpectArguments(movement: movement, receipt: receipt)
        } catch {
            throw ControlError(.invalidArgument, error.description)
        }
    }
}

/// One reply line.
public enum ControlResponse: Sendable, Hashable {
    case ok(id: JSONValue?, JSONValue)
    case error(id: JSONValue?, ControlError)

    /// The reply as one line of JSON, newline included.
    public var line: String {
        var fields: [String: JSONValue] = ["v": .integer(ControlProtocol.version)]
        switch self {
        case .ok(let id, let result):
            fields["id"] = id ?? .null
            fields["ok"] = result
        case .error(let id, let error):
            fields["id"] = id ?? .null
            fields["error"] = .object(["code": .string(error.code.rawValue), "message": .string(error.message)])
        }
        return JSONValue.object(fields).serialized + "\n"
    }

    /// Reads a reply line (the client's side).
    public init(line: some Collection<UInt8>) throws {
        guard case .object(let fields) = try JSONValue(parsing: line), fields["v"] == .integer(ControlProtocol.version)
        else { throw ControlError(.badReply, "not a protocol \(ControlProtocol.version) reply") }
        let id = fields["id"].flatMap { $0 == .null ? nil : $0 }
        if let result = fields["ok"] {
            self = .ok(id: id, result)
        } else if case .object(let error)? = fields["error"], case .string(let code)? = error["code"],
            case .string(let message)? = error["message"]
        {
            self = .error(id: id, ControlError(ControlError.Code(rawValue: code) ?? .internalError, message))
        } else {
            throw ControlError(.badReply, "a reply has either ok or error")
        }
    }
}
