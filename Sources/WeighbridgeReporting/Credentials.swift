internal import Foundation
internal import NIOCore
internal import NIOHTTP1
public import WeighbridgeCore

/// Reads a secret from where the configuration says it is. The value never appears in an error.
public enum SecretReader {
    /// The secret, trimmed of surrounding whitespace; `environment` supplies
    /// `CREDENTIALS_DIRECTORY` (systemd `LoadCredential=`).
    public static func read(_ source: SecretSource, environment: [String: String]) throws(CredentialError) -> String {
        let path: String
        switch source {
        case .file(let file):
            path = file
        case .credential(let name):
            guard let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty else {
                throw CredentialError(
                    "\(source) needs $CREDENTIALS_DIRECTORY (systemd LoadCredential=); set token_file to use a plain file"
                )
            }
            path = directory + "/" + name
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else { throw CredentialError("cannot read \(source) at \(path)") }
        let secret = text.trimmingWhitespace
        guard !secret.isEmpty else {
            guard case .credential(let name) = source else { throw CredentialError("\(source) at \(path) is empty") }
            // The unit's empty SetCredential= default: the file LoadCredential= names is missing.
            throw CredentialError(
                "\(source) is empty: put the secret in the file the unit's LoadCredential=\(name): names "
                    + "(/etc/weighbridged/credentials/\(name) in the packaged unit), mode 0600")
        }
        return secret
    }
}

/// A secret or a token could not be had.
public struct CredentialError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Supplies the bearer token for each request, and a fresh one after a 401.
protocol TokenSource: Sendable {
    /// The token to send, or why there is none (the request is then not sent).
    func token() async throws(CredentialError) -> String
    /// Forgets `token`, so that the next call fetches or reads a new one.
    func invalidate(_ token: String) async
}

/// The `brief` profile's bearer token: a systemd credential or file, read again after a 401 in
/// case it was rotated.
actor StaticToken: TokenSource {
    private let source: SecretSource
    private let environment: [String: String]
    private var cached: String?

    init(source: SecretSource, environment: [String: String]) {
        self.source = source
        self.environment = environment
    }

    func token() throws(CredentialError) -> String {
        if let cached { return cached }
        let fresh = try SecretReader.read(source, environment: environment)
        cached = fresh
        return fresh
    }

    func invalidate(_ token: String) {
        if cached == token { cached = nil }
    }
}

/// Defra's OAuth 2.0 client-credentials grant (Cognito): the client id and secret as HTTP Basic,
/// `grant_type=client_credentials` as a form. The token is cached until a minute before it
/// expires, never longer than the four hours the API accepts, and dropped on a 401.
actor OAuthToken: TokenSource {
    static let margin: Int64 = 60
    static let longestLifetime: Int64 = 4 * 3600

    private let connection: APIConnection
    private let tokenURL: String
    private let clientID: String
    private let clientSecret: String
    private let now: @Sendable () -> Timestamp
    private var cached: (token: String, expiresAt: Timestamp)?

    init(
        connection: APIConnection, tokenURL: String, clientID: String, clientSecret: String,
        now: @escaping @Sendable () -> Timestamp
    ) {
        self.connection = connection
        self.tokenURL = tokenURL
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.now = now
    }

    func token() async throws(CredentialError) -> String {
        if let cached, now() < cached.expiresAt { return cached.token }
        let basic = Data("\(formEncoded(clientID)):\(formEncoded(clientSecret))".utf8).base64EncodedString()
        let request = APIRequest(
            method: .POST, url: tokenURL,
            headers: [("Authorization", "Basic \(basic)"), ("Content-Type", "application/x-www-form-urlencoded")],
            body: Array("grant_type=client_credentials".utf8))
        let fetchedAt = now()
        switch await connection.perform(request) {
        case .failed(let attempt):
            throw CredentialError("token endpoint: \(attempt)")
        case .answered(let status, _, let body):
            guard status == 200 else { throw CredentialError("token endpoint answered HTTP \(status)") }
            guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
                let token = object["access_token"] as? String, !token.isEmpty
            else { throw CredentialError("token endpoint answered without an access_token") }
            let lifetime = min((object["expires_in"] as? NSNumber)?.int64Value ?? 3600, Self.longestLifetime)
            cached = (token, fetchedAt.adding(seconds: max(lifetime - Self.margin, 0)))
            return token
        }
    }

    func invalidate(_ token: String) {
        if cached?.token == token { cached = nil }
    }

    /// RFC 6749 §2.3.1: the id and secret are form-encoded before Basic encoding.
    private func formEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
