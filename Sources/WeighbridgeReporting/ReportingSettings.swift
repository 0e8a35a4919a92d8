public import WeighbridgeCore

/// What the reporting client is told: where the API is, and the profile it speaks with the
/// credentials it needs. The application layer builds it from the configuration.
public struct ReportingSettings: Sendable {
    /// The contract the reports are sent under, with what it needs.
    public enum Profile: Sendable {
        /// The brief's API: a bearer token; the site's id and jurisdiction go in every body.
        case brief(token: SecretSource, siteID: String?, jurisdiction: String)
        /// Defra's Receipt API: OAuth client credentials, and the builder of receipt bodies.
        case defraReceipt(
            tokenURL: String, clientID: String, clientSecret: SecretSource, document: DefraReceiptDocument)
    }

    /// The base URL every request's path is appended to.
    public var baseURL: String
    public var profile: Profile

    public init(baseURL: String, profile: Profile) {
        self.baseURL = baseURL
        self.profile = profile
    }
}

/// One report as the API is to receive it: what it says, the request it becomes, the key that
/// makes a repeat of it recognisable, and whether resending it is safe.
public struct OutgoingReport: Sendable, Hashable {
    public var report: Report
    public var kind: OutboxKind
    public var idempotencyKey: String
    /// Whether sending it twice leaves the API as sending it once (a PUT).
    public var idempotent: Bool
    /// The API's id of the record this report completes or corrects (its `wasteTrackingId`).
    public var serverID: String?

    public init(report: Report, kind: OutboxKind, idempotencyKey: String, idempotent: Bool, serverID: String?) {
        self.report = report
        self.kind = kind
        self.idempotencyKey = idempotencyKey
        self.idempotent = idempotent
        self.serverID = serverID
    }
}
