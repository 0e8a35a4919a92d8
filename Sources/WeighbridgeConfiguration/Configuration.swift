internal import Glibc
public import WeighbridgeCore

/// The whole of `weighbridged.toml`, validated and typed. Every key is documented, with its
/// default, in `etc/weighbridged.toml`; docs/configuration.md ("The configuration file") is the schema.
public struct Configuration: Sendable, Hashable {
    public var site: SiteConfiguration
    public var store: StoreConfiguration
    public var control: ControlConfiguration
    public var policy: DecisionPolicy
    public var api: APIConfiguration
    public var bridges: [BridgeConfiguration]
    public var metrics: MetricsConfiguration
    public var log: LogConfiguration
}

/// `[site]`: who is receiving, as the reports name the site.
public struct SiteConfiguration: Sendable, Hashable {
    /// The site's identifier in the brief's API (`site_id`).
    public var id: String?
    /// The receiving site's name (Defra `receiver.siteName`).
    public var name: String?
    /// The environmental permit or exemption number (Defra `receiver.authorisationNumber`).
    public var permit: String?
    public var jurisdiction: Jurisdiction
    /// Full postal address (Defra `receipt.address.fullAddress`).
    public var address: String?
    public var postcode: String?
}

/// The UK nation whose regulator the site reports to.
public enum Jurisdiction: String, Sendable, Hashable, CaseIterable {
    case england, wales, scotland
    case northernIreland = "northern_ireland"
}

/// `[store]`.
public struct StoreConfiguration: Sendable, Hashable {
    /// The SQLite database file.
    public var path: String
}

/// `[control]`.
public struct ControlConfiguration: Sendable, Hashable {
    /// The Unix socket operators' tools connect to.
    public var socket: String
    /// The group allowed to use it (mode 0660).
    public var group: String
}

/// Which government contract reports go to (docs/api-profiles.md).
public enum APIProfile: String, Sendable, Hashable, CaseIterable {
    /// The contract described in the brief: PUT confirmations and discrepancies.
    case brief
    /// Defra's real Receipt of Waste API.
    case defraReceipt = "defra-receipt"
}

/// Production or the provider's test service.
public enum APIEnvironment: String, Sendable, Hashable, CaseIterable {
    case production, sandbox
}

extension SecretSource {
    /// What is wrong with how the secret is kept, if anything: a plain file that its group or
    /// others can read (it belongs to the service user alone). A credential systemd passes is
    /// systemd's to protect.
    public var exposure: String? {
        guard case .file(let path) = self else { return nil }
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }  // reading it names what is missing
        let mode = info.st_mode & 0o777
        guard mode & 0o077 != 0 else { return nil }
        return "\(path) can be read by its group or others (mode \(String(mode, radix: 8))): "
            + "chmod 600 it, owned by the service user"
    }
}

/// `[api]` and `[api.oauth]`.
public struct APIConfiguration: Sendable, Hashable {
    public var profile: APIProfile
    public var environment: APIEnvironment
    /// The base URL; defaults from profile and environment.
    public var baseURL: String
    /// The bearer token (`brief`).
    public var token: SecretSource
    /// A PEM bundle of extra certificate authorities to trust (a private sandbox); the system
    /// store is always used too, and verification is never switched off.
    public var caFile: String?
    public var timeoutSeconds: Int
    public var maxInFlight: Int
    public var backoffBaseMilliseconds: Int
    public var backoffCapMilliseconds: Int
    /// Only for `defra-receipt`.
    public var oauth: OAuthConfiguration?

    /// The default base URL of a profile in an environment (docs/api-profiles.md).
    public static func defaultBaseURL(profile: APIProfile, environment: APIEnvironment) -> String {
        switch (profile, environment) {
        case (.brief, .production): "https://tracking.defra.gov.uk/api/v2"
        case (.brief, .sandbox): "https://sandbox.tracking.defra.gov.uk"
        case (.defraReceipt, .production): "https://waste-tracking.api.defra.gov.uk"
        case (.defraReceipt, .sandbox): "https://waste-tracking.integration.api.defra.gov.uk"
        }
    }
}

/// `[api.oauth]`: Defra's Cognito client-credentials grant.
public struct OAuthConfiguration: Sendable, Hashable {
    public var tokenURL: String
    public var clientID: String
    public var clientSecret: SecretSource
    /// The receiving organisation's `apiCode` (a UUID).
    public var apiCode: String
}

/// One `[[bridge]]`: a weighbridge, its indicator and how it is read.
public struct BridgeConfiguration: Sendable, Hashable {
    public var name: String
    /// What the indicator speaks, and how it is reached.
    public var indicator: BridgeIndicator
    /// How often the indicator is asked (Modbus, SMA); for continuous output, the longest
    /// interval the indicator sends frames at.
    public var pollMilliseconds: Int
    public var division: Mass
    public var maximum: Mass
    public var settleMilliseconds: Int
    /// How long the indicator has to answer a request.
    public var responseTimeoutMilliseconds: Int

    public init(
        name: String, indicator: BridgeIndicator, pollMilliseconds: Int, division: Mass, maximum: Mass,
        settleMilliseconds: Int, responseTimeoutMilliseconds: Int
    ) {
        self.name = name
        self.indicator = indicator
        self.pollMilliseconds = pollMilliseconds
        self.division = division
        self.maximum = maximum
        self.settleMilliseconds = settleMilliseconds
        self.responseTimeoutMilliseconds = responseTimeoutMilliseconds
    }

    /// A Modbus bridge, for tests and tools: the daemon reads bridges from the file.
    public init(
        name: String, transport: Transport, unit: Int, preset: IndicatorPreset, registers: RegisterMap,
        pollMilliseconds: Int, division: Mass, maximum: Mass, settleMilliseconds: Int,
        responseTimeoutMilliseconds: Int, byteTimeoutMilliseconds: Int?, gapMilliseconds: Int
    ) {
        self.init(
            name: name,
            indicator: .modbus(
                ModbusIndicator(
                    transport: transport, unit: unit, preset: preset, registers: registers,
                    byteTimeoutMilliseconds: byteTimeoutMilliseconds, gapMilliseconds: gapMilliseconds)),
            pollMilliseconds: pollMilliseconds, division: division, maximum: maximum,
            settleMilliseconds: settleMilliseconds, responseTimeoutMilliseconds: responseTimeoutMilliseconds)
    }

    /// The Modbus indicator's settings; nil for an ASCII one.
    public var modbus: ModbusIndicator? {
        if case .modbus(let modbus) = indicator { modbus } else { nil }
    }

    /// "tcp 10.0.0.5:502", "rtu /dev/ttyUSB0 9600 8E1", "serial /dev/ttyS1 9600 7E1", for messages.
    public var linkLabel: String {
        switch indicator {
        case .modbus(let modbus): modbus.transport.label
        case .ascii(let ascii): ascii.line.label
        }
    }
}

/// What a bridge's indicator speaks.
public enum BridgeIndicator: Sendable, Hashable {
    case modbus(ModbusIndicator)
    case ascii(ASCIIIndicator)
}

/// A Modbus indicator (`transport = "tcp"` or `"rtu"`).
public struct ModbusIndicator: Sendable, Hashable {
    public var transport: Transport
    /// The Modbus unit (slave) id.
    public var unit: Int
    public var preset: IndicatorPreset
    public var registers: RegisterMap
    public var byteTimeoutMilliseconds: Int?
    /// Silence kept between requests on a bus (RTU 3.5-character interval and slow devices).
    public var gapMilliseconds: Int

    public init(
        transport: Transport, unit: Int, preset: IndicatorPreset, registers: RegisterMap,
        byteTimeoutMilliseconds: Int?, gapMilliseconds: Int
    ) {
        self.transport = transport
        self.unit = unit
        self.preset = preset
        self.registers = registers
        self.byteTimeoutMilliseconds = byteTimeoutMilliseconds
        self.gapMilliseconds = gapMilliseconds
    }
}

/// An ASCII indicator (`transport = "ascii"`): its line, its format, and the unit it weighs in.
public struct ASCIIIndicator: Sendable, Hashable {
    public var line: ASCIILine
    public var format: ASCIIFormat
    /// The unit the indicator is set to: a frame in another is a fault.
    public var weightUnit: MassUnit
    /// How long without a complete frame before the indicator is reported silent.
    public var staleMilliseconds: Int

    public init(line: ASCIILine, format: ASCIIFormat, weightUnit: MassUnit, staleMilliseconds: Int) {
        self.line = line
        self.format = format
        self.weightUnit = weightUnit
        self.staleMilliseconds = staleMilliseconds
    }
}

/// `[metrics]`: off unless one of the two is set.
public struct MetricsConfiguration: Sendable, Hashable {
    /// `host:port` on loopback for a Prometheus scrape.
    public var listen: String?
    /// A node-exporter textfile path.
    public var textfile: String?
}

/// `[log]`.
public struct LogConfiguration: Sendable, Hashable {
    /// The least severe level written.
    public var level: Severity
}

extension Configuration {
    /// What is wrong with how the configured secrets are kept (a file others can read), one
    /// sentence each; check-config prints them and the daemon logs them at every start.
    public var secretExposures: [String] {
        ([api.token] + (api.oauth.map { [$0.clientSecret] } ?? [])).compactMap(\.exposure)
    }
}
