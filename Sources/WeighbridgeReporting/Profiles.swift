internal import Foundation
internal import NIOHTTP1
public import WeighbridgeCore
internal import WeighbridgeJSON

/// What a profile needs, besides the report, to write its request.
public struct ReportFacts: Sendable, Hashable {
    public var movement: Movement
    /// The movement's `receipt` object (JSON text), if any.
    public var receipt: String?
    /// The stored weighings of the report's net, for instrument and alibi ids.
    public var gross: RecordedWeighing?
    public var tare: RecordedWeighing?

    public init(movement: Movement, receipt: String?, gross: RecordedWeighing?, tare: RecordedWeighing?) {
        self.movement = movement
        self.receipt = receipt
        self.gross = gross
        self.tare = tare
    }
}

/// How one contract turns a report into a request, and the answer back into our terms.
protocol ReportProfile: Sendable {
    /// The request for `entry`, without authorisation; throws when the report cannot be sent as
    /// it stands (it is parked with the problems, and nothing goes out).
    func request(for entry: OutgoingReport, facts: ReportFacts) throws(ReceiptProblems) -> APIRequest
    /// The answer to a request, reduced to what the rules judge.
    func interpret(status: Int, headers: HTTPHeaders, body: [UInt8], sent: APIRequest) -> InterpretedAnswer
    /// A request safe to repeat that shows whether the API is answering again, for a profile
    /// whose reports are not safe to repeat (so that no report is the one to find out); nil when
    /// every report is safe to repeat.
    var healthCheck: APIRequest? { get }
}

/// An answer with what it carried besides its verdict.
struct InterpretedAnswer: Sendable {
    var answer: DeliveryAttempt.Answer
    /// Defra's `validation.warnings`, one line each.
    var warnings: [String] = []
    /// Defra's service-charge expiry header, when present.
    var serviceChargeExpiry: Timestamp?
}

/// The brief's API: `PUT /confirmations/{id}` and `PUT /discrepancies/{id}`, snake_case bodies,
/// an `Idempotency-Key` header on every write.
struct BriefProfile: ReportProfile {
    var baseURL: String
    var siteID: String?
    var jurisdiction: String
    /// Every report is an idempotent PUT: the next report itself shows whether the API is back.
    var healthCheck: APIRequest? { nil }

    func request(for entry: OutgoingReport, facts: ReportFacts) throws(ReceiptProblems) -> APIRequest {
        let report = entry.report
        let net = report.net
        let weighing = JSONValue.object([
            "ticket": .integer(net.gross.ticket),
            "bridge": .string(net.gross.bridge),
            "gross_kg": kilograms(net.gross.weight),
            "tare_kg": kilograms(net.tare),
            "net_kg": kilograms(net.net),
            "tare_kind": .string(net.tareKind.rawValue),
            "first_weighed_at": .string(net.firstWeighedAt.rfc3339),
            "second_weighed_at": .string(net.secondWeighedAt.rfc3339),
            "instrument_id": facts.gross?.evidence.instrumentID.map(JSONValue.string) ?? .null,
            "alibi_id": facts.gross?.evidence.legalID.map { JSONValue.integer($0) } ?? .null,
        ])
        var body: [String: JSONValue] = [
            "movement_id": .string(report.movementID),
            "received_weight_kg": kilograms(net.net),
            "declared_weight_kg": kilograms(report.assessment.deviation.declared),
            "deviation_percent": .string(withoutPlusSign(report.assessment.deviation.percentText())),
            "weighing": weighing,
            "site_id": siteID.map(JSONValue.string) ?? .null,
            "destination_jurisdiction": .string(jurisdiction),
            "high_risk": .bool(report.assessment.highRisk.isHighRisk),
        ]
        let path: String
        switch report.kind {
        case .confirmation:
            path = "confirmations"
            body["received_at"] = .string(net.firstWeighedAt.rfc3339)
            body["confirmed_by"] = .string(report.by.briefForm)
        case .discrepancy(let reason, let note):
            path = "discrepancies"
            body["reason"] = .string(reason.rawValue)
            body["note"] = .string(note)
            body["raised_at"] = .string(report.at.rfc3339)
            body["raised_by"] = .string(report.by.briefForm)
        }
        return APIRequest(
            method: .PUT, url: "\(baseURL)/\(path)/\(percentEncoded(report.movementID))",
            headers: [("Idempotency-Key", entry.idempotencyKey)], body: Array(JSONValue.object(body).serialized.utf8))
    }

    func interpret(status: Int, headers: HTTPHeaders, body: [UInt8], sent: APIRequest) -> InterpretedAnswer {
        let parsed = try? JSONValue(parsing: body)
        var matches = false
        if status == 409, let stored = parsed?.field("stored"),
            let ours = sent.body.flatMap({ try? JSONValue(parsing: $0) })
        {
            matches = stored == ours
        }
        return InterpretedAnswer(
            answer: DeliveryAttempt.Answer(
                status: status, retryAfter: retryAfter(headers), detail: errorDetail(parsed, body: body),
                conflictMatchesOurs: matches))
    }
}

/// Defra's Receipt of Waste API: `POST /movements/receive` (not idempotent; the answer's
/// `wasteTrackingId` is kept), and `PUT /movements/{wasteTrackingId}/receive` for corrections and
/// for the receipt of a movement the carrier already created.
struct DefraReceiptProfile: ReportProfile {
    var baseURL: String
    var document: DefraReceiptDocument

    /// The shortest of Defra's reference lists: it crosses the same gateway and token check as a
    /// receipt, and stores nothing.
    var healthCheck: APIRequest? {
        APIRequest(method: .GET, url: "\(baseURL)/reference-data/container-types", headers: [], body: nil)
    }

    func request(for entry: OutgoingReport, facts: ReportFacts) throws(ReceiptProblems) -> APIRequest {
        let net = entry.report.net
        let body = try document.body(
            movement: facts.movement, receipt: facts.receipt, net: net.net, receivedAt: net.firstWeighedAt,
            reference: String(net.gross.ticket), idempotencyKey: entry.idempotencyKey)
        let url: String
        let method: HTTPMethod
        switch entry.kind {
        case .correction:
            guard let trackingID = entry.serverID else {
                throw ReceiptProblems(["correction: the receipt has no wasteTrackingId to correct"])
            }
            (method, url) = (.PUT, "\(baseURL)/movements/\(percentEncoded(trackingID))/receive")
        case .carrierReceipt:
            // The record it was queued for (moved only after a 404, with the movement's id).
            guard let trackingID = entry.serverID else {
                throw ReceiptProblems(["receipt: the report names no carrier's wasteTrackingId to complete"])
            }
            (method, url) = (.PUT, "\(baseURL)/movements/\(percentEncoded(trackingID))/receive")
        case .receipt, .confirmation, .discrepancy:
            (method, url) = (.POST, "\(baseURL)/movements/receive")
        }
        return APIRequest(method: method, url: url, headers: [], body: Array(body.serialized.utf8))
    }

    func interpret(status: Int, headers: HTTPHeaders, body: [UInt8], sent: APIRequest) -> InterpretedAnswer {
        let parsed = try? JSONValue(parsing: body)
        var trackingID: String?
        if case .string(let id)? = parsed?.field("wasteTrackingId") { trackingID = id }
        var detail = errorDetail(parsed, body: body)
        if sent.method == .PUT, status == 404 {
            // The one answer an operator must act on by checking an id: say which and how.
            let id = sent.url.split(separator: "/").dropLast().last.map(String.init) ?? "?"
            detail =
                "Defra holds no movement with wasteTrackingId \(id). If it is the carrier's id, check it against the "
                + "paperwork or scanned code; if it was mistyped, give the right one (`weighbridgectl expect` with "
                + "--tracking-id, or waste_tracking_id in the file) and `weighbridgectl retry` the report. It is "
                + "never sent as a new receipt without an operator"
        }
        var warnings: [String] = []
        if case .array(let list)? = parsed?.field("validation")?.field("warnings") {
            warnings = list.map(describeValidation)
        }
        let expiry =
            (headers.first(name: "x-dwt-service-charge-expiry-date")
            ?? headers.first(name: "service-charge-expiry-date")).flatMap { Timestamp(rfc3339: $0) }
        return InterpretedAnswer(
            answer: DeliveryAttempt.Answer(
                status: status, retryAfter: retryAfter(headers), detail: detail, serverID: trackingID),
            warnings: warnings, serviceChargeExpiry: expiry)
    }
}

private func kilograms(_ mass: Mass) -> JSONValue { .number(mass.formatted(in: .kilograms)) }

/// A signed percentage without its "+": "5.00", "-3.20".
private func withoutPlusSign(_ percent: String) -> String {
    percent.first == "+" ? String(percent.dropFirst()) : percent
}

/// `segment` as one URL path segment: every byte but RFC 3986's unreserved ones percent-encoded.
func percentEncoded(_ segment: String) -> String {
    let hex = Array("0123456789ABCDEF".unicodeScalars)
    var encoded = ""
    for byte in segment.utf8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            encoded.unicodeScalars.append(Unicode.Scalar(byte))
        default:
            encoded.unicodeScalars.append("%")
            encoded.unicodeScalars.append(hex[Int(byte >> 4)])
            encoded.unicodeScalars.append(hex[Int(byte & 0x0F)])
        }
    }
    return encoded
}

/// `Retry-After` as delta-seconds or an HTTP-date (RFC 9110 §10.2.3).
func retryAfter(_ headers: HTTPHeaders, now: Date = Date()) -> Duration? {
    guard let value = headers.first(name: "Retry-After")?.trimmingWhitespace, !value.isEmpty else { return nil }
    if value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
        // Delta-seconds too large for an Int64 is still a request to wait a long time: the
        // delivery rules hold it to their ceiling.
        return .seconds(Int64(value) ?? .max)
    }
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "GMT")
    formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
    guard let date = formatter.date(from: value) else { return nil }
    return .seconds(max(0, Int64(date.timeIntervalSince(now).rounded(.up))))
}

/// The server's error list (Defra's `validation.errors`) or message, short enough to keep.
private func errorDetail(_ parsed: JSONValue?, body: [UInt8]) -> String {
    if case .array(let errors)? = parsed?.field("validation")?.field("errors") {
        return errors.map(describeValidation).joined(separator: "; ")
    }
    if case .string(let message)? = parsed?.field("message") { return message }
    if case .string(let message)? = parsed?.field("error") { return message }
    return String(decoding: body.prefix(300), as: UTF8.self)
}

private func describeValidation(_ item: JSONValue) -> String {
    let text = { (name: String) -> String in
        if case .string(let value)? = item.field(name) { return value }
        return ""
    }
    return "\(text("key")) \(text("errorType")): \(text("message"))"
}

extension Actor {
    /// The brief's `confirmed_by` and `raised_by`: `auto` or `operator:<name>`
    /// (docs/api-profiles.md); the uid stays in the site's own records.
    var briefForm: String {
        switch self {
        case .automatic: "auto"
        case .operator(let identity): "operator:\(identity.name)"
        }
    }
}
