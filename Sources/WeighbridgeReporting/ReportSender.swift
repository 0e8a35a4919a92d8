internal import NIOHTTP1
public import WeighbridgeCore

/// What one delivery attempt came to.
public struct SendOutcome: Sendable, Hashable {
    public var verdict: DeliveryVerdict
    /// The HTTP status, when the server answered.
    public var status: Int?
    /// Warnings the API returned with an acceptance.
    public var warnings: [String]
    /// When the organisation's Defra service charge runs out, if the answer said.
    public var serviceChargeExpiry: Timestamp?
    /// The body of the request sent, when one was.
    public var sentBody: String?
}

/// Sends one report through the configured profile: builds and checks the request, adds the
/// bearer token, refreshes the token once on a 401, and classifies what happened.
public struct ReportSender: Sendable {
    private let connection: APIConnection
    private let tokens: any TokenSource
    private let profile: any ReportProfile
    private let baseURL: String

    /// A sender for the profile `settings` name. Secrets are read from `environment`'s
    /// `CREDENTIALS_DIRECTORY` or their files, now, so a missing secret stops start-up rather than
    /// the first report.
    public init(
        settings: ReportingSettings, connection: APIConnection, environment: [String: String],
        now: @escaping @Sendable () -> Timestamp
    ) throws(CredentialError) {
        self.connection = connection
        baseURL = settings.baseURL
        switch settings.profile {
        case .brief(let token, let siteID, let jurisdiction):
            _ = try SecretReader.read(token, environment: environment)
            tokens = StaticToken(source: token, environment: environment)
            profile = BriefProfile(baseURL: settings.baseURL, siteID: siteID, jurisdiction: jurisdiction)
        case .defraReceipt(let tokenURL, let clientID, let clientSecret, let document):
            tokens = OAuthToken(
                connection: connection, tokenURL: tokenURL, clientID: clientID,
                clientSecret: try SecretReader.read(clientSecret, environment: environment), now: now)
            profile = DefraReceiptProfile(baseURL: settings.baseURL, document: document)
        }
    }

    /// One attempt at `report` (two requests at most, when a refused token is refreshed).
    public func send(_ report: OutgoingReport, facts: ReportFacts) async -> SendOutcome {
        let request: APIRequest
        do {
            request = try profile.request(for: report, facts: facts)
        } catch {
            return SendOutcome(
                verdict: .park("not sent, refused locally: \(error)"), status: nil, warnings: [],
                serviceChargeExpiry: nil)
        }
        let exchange: APIExchange
        let refreshed: Bool
        do {
            (exchange, refreshed) = try await authorisedExchange(request)
        } catch {
            return SendOutcome(
                verdict: DeliveryRules.classify(
                    .notSent(error.description), idempotent: report.idempotent, tokenRefreshed: false),
                status: nil, warnings: [], serviceChargeExpiry: nil)
        }
        let sentBody = request.body.map { String(decoding: $0, as: UTF8.self) }
        switch exchange {
        case .failed(let attempt):
            return SendOutcome(
                verdict: DeliveryRules.classify(attempt, idempotent: report.idempotent, tokenRefreshed: refreshed),
                status: nil, warnings: [], serviceChargeExpiry: nil, sentBody: sentBody)
        case .answered(let status, let headers, let body):
            let interpreted = profile.interpret(status: status, headers: headers, body: body, sent: request)
            return SendOutcome(
                verdict: DeliveryRules.classify(
                    .answered(interpreted.answer), idempotent: report.idempotent, tokenRefreshed: refreshed),
                status: status, warnings: interpreted.warnings, serviceChargeExpiry: interpreted.serviceChargeExpiry,
                sentBody: sentBody)
        }
    }

    /// Sends `request` with the bearer token; on a 401, drops the token and tries once more with
    /// a fresh one (`refreshed` says it did).
    private func authorisedExchange(_ request: APIRequest) async throws(CredentialError) -> (
        exchange: APIExchange, refreshed: Bool
    ) {
        var refreshed = false
        while true {
            let token = try await tokens.token()
            var authorised = request
            authorised.headers.append(("Authorization", "Bearer \(token)"))
            let exchange = await connection.perform(authorised)
            guard case .answered(401, _, _) = exchange, !refreshed else { return (exchange, refreshed) }
            await tokens.invalidate(token)
            refreshed = true
        }
    }

    /// Asks the API something safe to repeat, after a pause, before a report that is not safe to
    /// repeat goes out: nil when it answered 2xx (or the profile needs no such check, its reports
    /// being safe to repeat), otherwise what went wrong.
    public func checkAPIAnswers() async -> String? {
        guard let check = profile.healthCheck else { return nil }
        do {
            switch try await authorisedExchange(check).exchange {
            // The API answers: a refusal of this GET says nothing about the POST's path.
            case .answered(let status, _, _) where (200..<500).contains(status) && status != 429: return nil
            case .answered(let status, _, _): return "health check answered HTTP \(status)"
            case .failed(let attempt): return "health check failed: \(attempt)"
            }
        } catch {
            return "health check: \(error)"
        }
    }

    /// One request outside the outbox (an approval run's test receipts), with the bearer token:
    /// the answer's status and body, or why none came.
    func exchange(_ request: APIRequest) async -> (status: Int?, body: [UInt8], failure: String?) {
        do {
            switch try await authorisedExchange(request).exchange {
            case .answered(let status, _, let body): return (status, body, nil)
            case .failed(let attempt): return (nil, [], "\(attempt)")
            }
        } catch {
            return (nil, [], error.description)
        }
    }

    /// What the brief's `GET /movements/{id}` said of a movement.
    public enum MovementLookup: Sendable {
        /// The movement's representation, as the API gave it.
        case found([UInt8])
        case notFound
        /// No usable answer: why.
        case failed(String)
    }

    /// The brief's `GET /movements/{id}`: the movement a scanned container id names.
    public func lookUpMovement(id: String) async -> MovementLookup {
        let request = APIRequest(
            method: .GET, url: "\(baseURL)/movements/\(percentEncoded(id))", headers: [], body: nil)
        do {
            switch try await authorisedExchange(request).exchange {
            case .answered(200, _, let body): return .found(body)
            case .answered(404, _, _): return .notFound
            case .answered(let status, _, _): return .failed("HTTP \(status)")
            case .failed(.notSent(let reason)): return .failed("not sent: \(reason)")
            case .failed(.noAnswer(let reason)): return .failed("no answer: \(reason)")
            case .failed(.answered(let answer)): return .failed("HTTP \(answer.status)")
            }
        } catch {
            return .failed(error.description)
        }
    }

    /// One of Defra's reference lists (`GET /reference-data/{list}`) as the API serves it.
    public func referenceList(_ list: String) async throws(ReferenceDataError) -> String {
        let request = APIRequest(method: .GET, url: "\(baseURL)/reference-data/\(list)", headers: [], body: nil)
        let exchange: APIExchange
        do {
            exchange = try await authorisedExchange(request).exchange
        } catch {
            throw ReferenceDataError(list: list, reason: error.description)
        }
        switch exchange {
        case .failed(let attempt):
            throw ReferenceDataError(list: list, reason: "\(attempt)")
        case .answered(200, _, let body):
            return String(decoding: body, as: UTF8.self)
        case .answered(let status, _, _):
            throw ReferenceDataError(list: list, reason: "HTTP \(status)")
        }
    }
}
