import Foundation
import WeighbridgeCore

extension Configuration {
    /// The default configuration path (docs/configuration.md, "Command line").
    public static let defaultPath = "/etc/weighbridged/weighbridged.toml"

    /// Reads and validates a configuration file. Every problem is collected and thrown together.
    public static func load(path: String) throws(ConfigurationError) -> Configuration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(problems: [
                ConfigurationProblem(
                    file: path, key: nil, line: nil,
                    message: "cannot read the file: \(error.localizedDescription)")
            ])
        }
        return try parse(text, fileName: path)
    }

    /// Validates configuration text; `fileName` is used in messages.
    public static func parse(_ text: String, fileName: String) throws(ConfigurationError) -> Configuration {
        let document = try TOMLDocument(text: text, fileName: fileName)
        let log = ProblemLog(document: document)
        var root = TableReader(path: "", table: document.root, log: log)
        let configuration = ConfigurationSchema(log: log).read(&root)
        root.rejectUnknownKeys()
        guard log.problems.isEmpty, let configuration else {
            throw ConfigurationError(problems: log.problems)
        }
        return configuration
    }
}

/// The schema of docs/configuration.md, read key by key. Each reader returns nil when its part is unusable,
/// having reported why; reading continues so that one run reports every problem.
private struct ConfigurationSchema {
    let log: ProblemLog

    func read(_ root: inout TableReader) -> Configuration? {
        let api = section(&root, "api") { readAPI(&$0) }
        let profile = root.table("api")?.peekString("profile").flatMap(APIProfile.init(rawValue:))
        let site = section(&root, "site") { readSite(&$0, profile: profile) }
        let store = section(&root, "store") { table in
            StoreConfiguration(
                path: table.requiredNonEmpty("path", default: "/var/lib/weighbridged/weighbridged.sqlite"))
        }
        let control = section(&root, "control") { table in
            ControlConfiguration(
                socket: table.requiredNonEmpty("socket", default: "/run/weighbridged/control.sock"),
                group: table.requiredNonEmpty("group", default: "weighbridge"))
        }
        let policy = section(&root, "policy") { readPolicy(&$0) }
        let metrics = section(&root, "metrics") { readMetrics(&$0) }
        let logging = section(&root, "log") { table in
            LogConfiguration(level: table.choice("level", as: LogLevelName.self)?.severity ?? .info)
        }
        let bridges = readBridges(&root)

        guard let site, let store, let control, let policy, let api, let metrics, let logging, let bridges else {
            return nil
        }
        return Configuration(
            site: site, store: store, control: control, policy: policy, api: api, bridges: bridges,
            metrics: metrics, log: logging)
    }

    private func section<Value>(_ root: inout TableReader, _ key: String, _ read: (inout TableReader) -> Value?)
        -> Value?
    {
        guard var table = root.table(key) else { return nil }
        defer { table.rejectUnknownKeys() }
        return read(&table)
    }

    private func readSite(_ table: inout TableReader, profile: APIProfile?) -> SiteConfiguration? {
        let id = table.string("id")
        let name = table.string("name")
        let permit = table.string("permit")
        let address = table.string("address")
        let postcode = table.string("postcode")
        let jurisdiction = table.has("jurisdiction") ? table.choice("jurisdiction", as: Jurisdiction.self) : .england
        switch profile {
        case .brief:
            if id == nil { table.report("id", "is required with api.profile = \"brief\" (it is the reports' site_id)") }
        case .defraReceipt:
            for (key, value, field) in [
                ("name", name, "receiver.siteName"), ("permit", permit, "receiver.authorisationNumber"),
                ("address", address, "receipt.address.fullAddress"),
                ("postcode", postcode, "receipt.address.postcode"),
            ] where value == nil {
                table.report(key, "is required with api.profile = \"defra-receipt\" (Defra's \(field))")
            }
        case nil:
            break
        }
        guard let jurisdiction else { return nil }
        return SiteConfiguration(
            id: id, name: name, permit: permit, jurisdiction: jurisdiction, address: address,
            postcode: postcode)
    }

    private func readPolicy(_ table: inout TableReader) -> DecisionPolicy? {
        var policy = DecisionPolicy.standard
        var valid = true
        if let text = table.decimalText("tolerance_percent") {
            if let tolerance = Percentage(parsing: text), tolerance <= Percentage(100) {
                policy.tolerance = tolerance
            } else {
                table.report(
                    "tolerance_percent", "\"\(text)\" must be a percentage from 0 to 100 with at most 4 decimals")
                valid = false
            }
        }
        if let codes = table.stringArray("high_risk_ewc") {
            var parsed: Set<EWCCode> = []
            for code in codes {
                do { parsed.insert(try EWCCode(parsing: code)) } catch {
                    table.report("high_risk_ewc", error.description)
                    valid = false
                }
            }
            policy.highRisk.codes = parsed
        }
        if table.has("prenotification_threshold_kg") {
            if let threshold = table.mass("prenotification_threshold_kg", unit: .kilograms) {
                policy.highRisk.threshold = threshold
            } else {
                valid = false
            }
        }
        if table.has("prenotification_hours") {
            if let hours = table.integer("prenotification_hours", in: 0...8_760) {
                policy.highRisk.noticeSeconds = Int64(hours) * 3_600
            } else {
                valid = false
            }
        }
        if table.has("min_weight_divisions") {
            if let divisions = table.integer("min_weight_divisions", in: 1...10_000) {
                policy.minimumWeightDivisions = Int64(divisions)
            } else {
                valid = false
            }
        }
        if table.has("auto_confirm") {
            if let flag = table.boolean("auto_confirm") { policy.autoConfirm = flag } else { valid = false }
        }
        if table.has("arrival_expiry_minutes") {
            if let minutes = table.integer("arrival_expiry_minutes", in: 1...1_440) {
                policy.arrivalExpiry = .seconds(Int64(minutes) * 60)
            } else {
                valid = false
            }
        }
        return valid ? policy : nil
    }

    private func readAPI(_ table: inout TableReader) -> APIConfiguration? {
        if !table.has("profile") {
            table.report(
                "profile",
                "is required: \"brief\" or \"defra-receipt\" (there is no default, because "
                    + "reporting to the wrong government contract must not happen silently)")
        }
        let profile = table.choice("profile", as: APIProfile.self)
        let environment = table.has("environment") ? table.choice("environment", as: APIEnvironment.self) : .sandbox
        let baseURL = Self.secureURL(table.string("base_url"), key: "base_url", in: &table)
        let caFile = table.string("ca_file")
        let token = secret(
            &table, credentialKey: "token_credential", fileKey: "token_file", defaultCredential: "dwt-token")
        let timeout = table.has("timeout_seconds") ? table.integer("timeout_seconds", in: 1...600) : 60
        let inFlight = table.has("max_in_flight") ? table.integer("max_in_flight", in: 1...64) : 4
        let base = table.has("backoff_base_ms") ? table.integer("backoff_base_ms", in: 10...600_000) : 1_000
        let cap = table.has("backoff_cap_ms") ? table.integer("backoff_cap_ms", in: 10...86_400_000) : 300_000
        if let base, let cap, cap < base { table.report("backoff_cap_ms", "\(cap) is below backoff_base_ms \(base)") }

        var oauth: OAuthConfiguration?
        var oauthValid = true
        if profile == nil { _ = table.has("oauth") }  // not "unknown": the missing profile is the problem
        if let profile, table.has("oauth") || profile == .defraReceipt, var oauthTable = table.table("oauth") {
            defer { oauthTable.rejectUnknownKeys() }
            if profile == .brief {
                oauthTable.report(nil, "[api.oauth] is only used with api.profile = \"defra-receipt\"")
                oauthValid = false
            } else {
                // The client secret travels to it, as HTTP Basic.
                let tokenURL = Self.secureURL(
                    oauthTable.requiredString("token_url", why: "Defra's Cognito token endpoint"), key: "token_url",
                    in: &oauthTable)
                let clientID = oauthTable.requiredString("client_id")
                let apiCode = oauthTable.requiredString("api_code", why: "the organisation's apiCode UUID")
                if let apiCode, UUID(uuidString: apiCode) == nil {
                    oauthTable.report("api_code", "is not a UUID")
                    oauthValid = false
                }
                let clientSecret = secret(
                    &oauthTable, credentialKey: "client_secret_credential",
                    fileKey: "client_secret_file", defaultCredential: "dwt-client-secret")
                if let tokenURL, let clientID, let apiCode, let clientSecret {
                    oauth = OAuthConfiguration(
                        tokenURL: tokenURL, clientID: clientID, clientSecret: clientSecret,
                        apiCode: apiCode)
                } else {
                    oauthValid = false
                }
            }
        }
        guard let profile, let environment, let token, let timeout, let inFlight, let base, let cap, cap >= base,
            oauthValid,
            baseURL != nil || !table.has("base_url")
        else { return nil }
        return APIConfiguration(
            profile: profile, environment: environment,
            baseURL: baseURL ?? APIConfiguration.defaultBaseURL(profile: profile, environment: environment),
            token: token, caFile: caFile, timeoutSeconds: timeout, maxInFlight: inFlight,
            backoffBaseMilliseconds: base, backoffCapMilliseconds: cap, oauth: oauth)
    }

    /// `url` if it is one reports and secrets may go to, else nil with the problem reported.
    private static func secureURL(_ url: String?, key: String, in table: inout TableReader) -> String? {
        guard let url else { return nil }
        guard isAcceptableBaseURL(url) else {
            table.report(
                key,
                "\"\(url)\" must be an https:// URL (plain http:// only to a loopback host, such as the local "
                    + "dwt-sandbox)")
            return nil
        }
        return url
    }

    /// Reports and secrets go over TLS; plain HTTP is only for a stand-in on this machine.
    private static func isAcceptableBaseURL(_ url: String) -> Bool {
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty else {
            return false
        }
        switch components.scheme {
        case "https": return true
        case "http": return isLoopback(host)
        default: return false
        }
    }

    /// `localhost`, `::1`, or an IPv4 address in 127.0.0.0/8: all of it is this machine's loopback.
    private static func isLoopback(_ host: String) -> Bool {
        if ["localhost", "::1", "[::1]"].contains(host) { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false).map { UInt8($0) }
        return octets.count == 4 && !octets.contains(nil) && octets[0] == 127
    }

    /// A secret named by a systemd credential or a file, never written in the configuration.
    private func secret(_ table: inout TableReader, credentialKey: String, fileKey: String, defaultCredential: String)
        -> SecretSource?
    {
        let credential = table.string(credentialKey)
        let file = table.string(fileKey)
        switch (credential, file) {
        case (.some, .some):
            table.report(fileKey, "set either \(credentialKey) or \(fileKey), not both")
            return nil
        case (.some(let name), nil):
            guard !name.isEmpty, !name.contains("/") else {
                table.report(credentialKey, "must be a credential name (a file name without \"/\")")
                return nil
            }
            return .credential(name)
        case (nil, .some(let path)):
            guard path.hasPrefix("/") else {
                table.report(fileKey, "must be an absolute path")
                return nil
            }
            return .file(path)
        case (nil, nil):
            return table.has(credentialKey) || table.has(fileKey) ? nil : .credential(defaultCredential)
        }
    }

    private func readMetrics(_ table: inout TableReader) -> MetricsConfiguration? {
        let listen = table.string("listen")
        let textfile = table.string("textfile")
        if let listen {
            let parts = listen.split(separator: ":")
            guard parts.count == 2, let port = Int(parts[1]), (1...65_535).contains(port) else {
                table.report("listen", "\"\(listen)\" must be host:port, e.g. \"127.0.0.1:9464\"")
                return nil
            }
            guard Self.isLoopback(String(parts[0])) else {
                // Off the box, metrics are node-exporter's to serve (the textfile); the endpoint
                // has no authentication.
                table.report(
                    "listen",
                    "\"\(listen)\" must be a loopback address (127.0.0.0/8 or localhost); "
                        + "use textfile for node-exporter to publish further")
                return nil
            }
        }
        if let textfile, !textfile.hasPrefix("/") {
            table.report("textfile", "must be an absolute path")
            return nil
        }
        return MetricsConfiguration(listen: listen, textfile: textfile)
    }

    private func readBridges(_ root: inout TableReader) -> [BridgeConfiguration]? {
        let tables = root.tables("bridge")
        guard !tables.isEmpty else {
            if root.has("bridge") { return nil }
            root.report("bridge", "at least one [[bridge]] is required")
            return nil
        }
        var bridges: [BridgeConfiguration] = []
        var valid = true
        var names: Set<String> = []
        // An ASCII indicator's frames carry no address: its line is its own. Modbus bridges may
        // share a serial line with each other, never with an ASCII one.
        var asciiLines: [String: String] = [:]
        var modbusDevices: Set<String> = []
        for var table in tables {
            defer { table.rejectUnknownKeys() }
            guard let bridge = BridgeSchema().read(&table) else {
                valid = false
                continue
            }
            if !names.insert(bridge.name).inserted {
                table.report("name", "bridge name \"\(bridge.name)\" is used twice")
                valid = false
            }
            switch bridge.indicator {
            case .ascii(let ascii):
                let endpoint = ascii.line.endpoint
                if let other = asciiLines[endpoint] ?? (modbusDevices.contains(endpoint) ? "a Modbus bridge" : nil) {
                    table.report(
                        ascii.line.isSerial ? "device" : "port",
                        "\(endpoint) is read by \(other); an ASCII indicator's line is its own")
                    valid = false
                }
                asciiLines[endpoint] = asciiLines[endpoint] ?? "bridge \"\(bridge.name)\""
            case .modbus(let modbus):
                if case .rtu(let serial) = modbus.transport {
                    if let ascii = asciiLines[serial.device] {
                        table.report("device", "\(serial.device) is \(ascii)'s, an ASCII indicator's line of its own")
                        valid = false
                    }
                    modbusDevices.insert(serial.device)
                }
            }
            bridges.append(bridge)
        }
        return valid ? bridges : nil
    }
}

/// `log.level` names.
private enum LogLevelName: String, CaseIterable {
    case debug, info, notice, warning, error

    var severity: Severity {
        switch self {
        case .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        }
    }
}

extension TableReader {
    mutating func requiredNonEmpty(_ key: String, default defaultValue: String) -> String {
        guard has(key) else { return defaultValue }
        return requiredString(key) ?? defaultValue
    }
}
