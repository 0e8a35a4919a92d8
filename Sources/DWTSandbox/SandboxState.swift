internal import DefraReferenceSeed
internal import Synchronization
internal import WeighbridgeJSON

/// A fault the sandbox applies to the next API request (token and admin requests are exempt).
public enum SandboxFault: Sendable, Hashable {
    /// Answer with this status (and `Retry-After`, sent as given, however malformed) without
    /// looking at the request.
    case status(Int, retryAfter: String?)
    /// Process the request (store what it carries), then answer this status instead of the real
    /// answer: a gateway that timed out (504) or failed (502) after the backend committed.
    case statusAfterProcessing(Int)
    /// Read the whole request, process it, then close the connection without answering: the
    /// client cannot know whether it arrived (it did).
    case dropAfterProcessing
    /// Read the whole request, then close the connection without processing it.
    case dropBeforeProcessing
    /// Wait this long before handling the request normally.
    case latency(milliseconds: Int)
}

/// One request the sandbox received, as tests inspect them.
public struct RecordedRequest: Sendable, Hashable {
    public var method: String
    public var path: String
    public var idempotencyKey: String?
    public var body: String
    /// The status answered, or nil when the connection was dropped.
    public var status: Int?
    /// Whether this write created a second record of something already recorded.
    public var duplicate: Bool
    /// When the request had arrived whole, in microseconds since the Unix epoch.
    public var receivedAt: Int64
}

/// The sandbox's settings.
public struct SandboxSettings: Sendable, Hashable {
    /// The `brief` profile's bearer token.
    public var briefToken = "sandbox-brief-token"
    /// The OAuth client the token endpoint accepts.
    public var clientID = "weighbridged"
    public var clientSecret = "sandbox-client-secret"
    /// How long an issued OAuth token stays valid.
    public var tokenLifetimeSeconds = 3600
    /// Sent as `x-dwt-service-charge-expiry-date` on Defra answers.
    public var serviceChargeExpiry = "2027-11-30T00:00:00Z"
    /// How long every API request waits before it is handled, like a round trip over a WAN.
    public var latencyMilliseconds = 0

    /// The defaults.
    public init() {}
}

/// Everything the sandbox holds: records, tokens, faults, the request log.
final class SandboxState: Sendable {
    struct Response: Sendable {
        var status: Int
        var headers: [(String, String)] = []
        var body: JSONValue?
    }

    private struct Storage {
        var faults: [(fault: SandboxFault, path: String?)] = []
        var requests: [RecordedRequest] = []
        /// brief: "confirmation/ID" or "discrepancy/ID" → (key, body).
        var briefRecords: [String: (key: String?, body: JSONValue)] = [:]
        /// defra: wasteTrackingId → body; and our idempotency reference → ids created with it.
        var receipts: [String: JSONValue] = [:]
        var receiptsByReference: [String: [String]] = [:]
        /// Receipt ids by the weighing ticket they carry (`yourUniqueReference`).
        var receiptsByTicket: [String: [String]] = [:]
        var movements: [String: JSONValue] = [:]
        /// token → issued at (seconds since start).
        var tokens: [String: Double] = [:]
        var tokenCounter = 0
        var trackingCounter = 0
        var approvalSubmissions = 0
        var paymentRequired = false
        var duplicates = 0
        var concurrent = 0
        var maxConcurrent = 0
    }

    let settings: SandboxSettings
    private let storage = Mutex(Storage())
    private let clock = ContinuousClock()
    private let started: ContinuousClock.Instant

    init(settings: SandboxSettings) {
        self.settings = settings
        started = clock.now
    }

    // MARK: Control (tests and the admin endpoints)

    func inject(_ faults: [(fault: SandboxFault, path: String?)]) { storage.withLock { $0.faults += faults } }
    func clearFaults() { storage.withLock { $0.faults.removeAll() } }
    func expireTokens() { storage.withLock { $0.tokens.removeAll() } }
    func setPaymentRequired(_ required: Bool) { storage.withLock { $0.paymentRequired = required } }
    func addMovement(id: String, body: JSONValue) { storage.withLock { $0.movements[id] = body } }
    /// A record the carrier created in Defra's service (as its own API would), for the receiver's
    /// `PUT /movements/{id}/receive` to complete.
    func addCarrierMovement(trackingID: String) {
        storage.withLock { $0.receipts[trackingID] = .object(["createdBy": .string("carrier")]) }
    }
    var requests: [RecordedRequest] { storage.withLock { $0.requests } }
    var duplicates: Int { storage.withLock { $0.duplicates } }
    /// The most API requests ever being handled at once.
    var maxConcurrent: Int { storage.withLock { $0.maxConcurrent } }

    func requestStarted() {
        storage.withLock { storage in
            storage.concurrent += 1
            storage.maxConcurrent = max(storage.maxConcurrent, storage.concurrent)
        }
    }

    func requestFinished() { storage.withLock { $0.concurrent -= 1 } }

    /// Counts of what was recorded.
    var summary: JSONValue {
        storage.withLock { storage in
            let confirmations = storage.briefRecords.keys.filter { $0.hasPrefix("confirmation/") }.count
            return .object([
                "confirmations": .integer(confirmations),
                "discrepancies": .integer(storage.briefRecords.count - confirmations),
                "receipts": .integer(storage.receipts.count),
                "duplicates": .integer(storage.duplicates),
                "requests": .integer(storage.requests.count),
                "max_concurrent": .integer(storage.maxConcurrent),
                "in_progress": .integer(storage.concurrent),
            ])
        }
    }

    /// The first queued fault meant for `path` (or for any request), taken off the queue.
    func takeFault(path: String) -> SandboxFault? {
        storage.withLock { storage in
            guard let index = storage.faults.firstIndex(where: { $0.path == nil || $0.path == path }) else {
                return nil
            }
            return storage.faults.remove(at: index).fault
        }
    }

    func record(_ request: RecordedRequest) { storage.withLock { $0.requests.append(request) } }

    // MARK: Authentication

    private var secondsSinceStart: Double {
        let elapsed = clock.now - started
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    func issueToken(basic: String?, form: String) -> Response {
        let expected = "\(settings.clientID):\(settings.clientSecret)"
        guard let basic, decodeBase64(basic) == expected else {
            return Response(status: 401, body: .object(["error": .string("invalid_client")]))
        }
        guard form.split(separator: "&").contains("grant_type=client_credentials") else {
            return Response(status: 400, body: .object(["error": .string("unsupported_grant_type")]))
        }
        let token = storage.withLock { storage -> String in
            storage.tokenCounter += 1
            let token = "sandbox-token-\(storage.tokenCounter)"
            storage.tokens[token] = secondsSinceStart
            return token
        }
        return Response(
            status: 200,
            body: .object([
                "access_token": .string(token), "token_type": .string("Bearer"),
                "expires_in": .integer(settings.tokenLifetimeSeconds),
            ]))
    }

    func isValidOAuthToken(_ bearer: String?) -> Bool {
        guard let bearer else { return false }
        let now = secondsSinceStart
        return storage.withLock { storage in
            guard let issued = storage.tokens[bearer] else { return false }
            return now - issued < Double(settings.tokenLifetimeSeconds)
        }
    }

    // MARK: brief

    func briefMovement(id: String) -> Response {
        guard let movement = storage.withLock({ $0.movements[id] }) else {
            return Response(status: 404, body: .object(["error": .string("no such movement")]))
        }
        return Response(status: 200, body: movement)
    }

    /// `PUT /confirmations/{id}` and `PUT /discrepancies/{id}`: idempotent by movement; a write
    /// with another key than the stored record's is a 409 carrying what is stored, and counts as
    /// a duplicate (the same decision reported twice). A Discrepancy and then a confirmation of
    /// one movement are two decisions, two records.
    func briefWrite(kind: String, id: String, key: String?, body: JSONValue) -> (Response, duplicate: Bool) {
        var problems: [String] = []
        if case .string(let bodyID)? = body.field("movement_id"), bodyID == id {
        } else {
            problems.append("movement_id must match the path")
        }
        for field in ["received_weight_kg", "declared_weight_kg", "deviation_percent", "weighing", "high_risk"]
        where body.field(field) == nil {
            problems.append("\(field) is required")
        }
        if key == nil { problems.append("Idempotency-Key header is required") }
        guard problems.isEmpty else {
            return (
                Response(
                    status: 400,
                    body: .object(["error": .string("bad request"), "errors": .array(problems.map(JSONValue.string))])),
                false
            )
        }
        return storage.withLock { storage in
            let recordKey = "\(kind)/\(id)"
            if let existing = storage.briefRecords[recordKey] {
                // The same key again is a replay; another key finds the record taken, and is told
                // what is stored so that the client can see whether it is its own.
                if existing.key == key { return (Response(status: 200), false) }
                // The same decision reported again under another key is what a regulator counts
                // as a second report, though the record stands once: a duplicate.
                storage.duplicates += 1
                return (
                    Response(
                        status: 409, body: .object(["error": .string("already recorded"), "stored": existing.body])),
                    true
                )
            }
            storage.briefRecords[recordKey] = (key, body)
            return (Response(status: 201), false)
        }
    }

    // MARK: defra-receipt

    func paymentCheck() -> Response? {
        guard storage.withLock({ $0.paymentRequired }) else { return nil }
        return Response(
            status: 402,
            body: .object([
                "statusCode": .integer(402), "error": .string("Payment Required"),
                "message": .string(
                    "Payment for the service is required before the organisation can submit or update waste receipt records."
                ),
            ]))
    }

    /// `POST /movements/receive`: validates, mints a new id every time (the real API is not
    /// idempotent), and counts a receipt for a ticket (`yourUniqueReference`) or an idempotency
    /// reference already received as a duplicate.
    func receive(body: JSONValue) -> (Response, duplicate: Bool) {
        let result = DefraRules.validate(body)
        guard result.errors.isEmpty else { return (validationFailure(result.errors), false) }
        let reference = DefraRules.idempotencyReference(body)
        let ticket: String? = if case .string(let text)? = body.field("yourUniqueReference") { text } else { nil }
        return storage.withLock { storage in
            storage.trackingCounter += 1
            let id = "SBX" + String(storage.trackingCounter, radix: 36).uppercased()
            storage.receipts[id] = body
            // Two legal receipts for one load: the same weighing ticket (or the same idempotency
            // reference) received twice.
            var duplicate = false
            if let reference {
                duplicate = !(storage.receiptsByReference[reference] ?? []).isEmpty
                storage.receiptsByReference[reference, default: []].append(id)
            }
            if let ticket {
                duplicate = duplicate || !(storage.receiptsByTicket[ticket] ?? []).isEmpty
                storage.receiptsByTicket[ticket, default: []].append(id)
            }
            if duplicate { storage.duplicates += 1 }
            var answer: [String: JSONValue] = ["wasteTrackingId": .string(id)]
            if !result.warnings.isEmpty { answer["validation"] = .object(["warnings": .array(result.warnings)]) }
            return (
                Response(
                    status: 201, headers: [("x-dwt-service-charge-expiry-date", settings.serviceChargeExpiry)],
                    body: .object(answer)),
                duplicate
            )
        }
    }

    /// `PUT /movements/{id}/receive`: full replacement of an existing record.
    func correct(id: String, body: JSONValue) -> Response {
        let result = DefraRules.validate(body)
        guard result.errors.isEmpty else { return validationFailure(result.errors) }
        return storage.withLock { storage in
            guard storage.receipts[id] != nil else {
                return Response(
                    status: 404,
                    body: .object([
                        "statusCode": .integer(404), "error": .string("Not Found"),
                        "message": .string("Movement not found"),
                    ]))
            }
            storage.receipts[id] = body
            return Response(
                status: 200, headers: [("x-dwt-service-charge-expiry-date", settings.serviceChargeExpiry)],
                body: .object([:]))
        }
    }

    /// `POST /production-approval-tests`: judges each scenario on the receipt stored under its id.
    func approvalTests(body: JSONValue?) -> Response {
        storage.withLock { storage in
            storage.approvalSubmissions += 1
            return ApprovalJudge.submit(body, receipts: storage.receipts, submission: storage.approvalSubmissions)
        }
    }

    func referenceList(_ name: String) -> Response {
        guard let text = SeedLists.all[name], let list = try? JSONValue(parsing: Array(text.utf8)) else {
            return Response(status: 404, body: .object(["error": .string("no such list")]))
        }
        return Response(status: 200, body: list)
    }

    private func validationFailure(_ errors: [JSONValue]) -> Response {
        Response(status: 400, body: .object(["validation": .object(["errors": .array(errors)])]))
    }

    private func decodeBase64(_ text: String) -> String? {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var bytes: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for character in text.utf8 where character != UInt8(ascii: "=") {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            buffer = buffer << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                bytes.append(UInt8((buffer >> UInt32(bits)) & 0xFF))
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
