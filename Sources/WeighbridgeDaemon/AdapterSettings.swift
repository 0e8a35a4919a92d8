public import WeighbridgeASCII
public import WeighbridgeConfiguration
public import WeighbridgeModbus
public import WeighbridgeReporting

// The adapters' own settings, as the configuration gives them: the one place the TOML schema's
// types meet the adapters'.

extension ModbusLink.Settings {
    /// The link a Modbus bridge's configuration asks for.
    public init(bridge: BridgeConfiguration, modbus: ModbusIndicator) {
        self.init(
            transport: modbus.transport, responseTimeout: .milliseconds(bridge.responseTimeoutMilliseconds),
            byteTimeout: modbus.byteTimeoutMilliseconds.map { .milliseconds($0) },
            gap: .milliseconds(modbus.gapMilliseconds))
    }
}

extension AcquisitionSettings {
    /// The polling and capture rules a Modbus bridge's configuration asks for.
    public init(bridge: BridgeConfiguration, modbus: ModbusIndicator) {
        self.init(
            name: bridge.name, unit: modbus.unit, registers: modbus.registers,
            pollMilliseconds: bridge.pollMilliseconds,
            division: bridge.division, maximum: bridge.maximum, settleMilliseconds: bridge.settleMilliseconds)
    }
}

extension StreamAcquisitionSettings {
    /// The reading and capture rules an ASCII bridge's configuration asks for.
    public init(bridge: BridgeConfiguration, ascii: ASCIIIndicator) {
        self.init(
            name: bridge.name, format: ascii.format, unit: ascii.weightUnit, pollMilliseconds: bridge.pollMilliseconds,
            responseTimeoutMilliseconds: bridge.responseTimeoutMilliseconds,
            staleMilliseconds: ascii.staleMilliseconds, division: bridge.division, maximum: bridge.maximum,
            settleMilliseconds: bridge.settleMilliseconds)
    }
}

extension ReportingSettings {
    /// The reporting client `[api]` and `[site]` ask for; `document` builds Defra's receipts, and
    /// the `defra-receipt` profile has none without `[api.oauth]` (nil then).
    public init?(api: APIConfiguration, site: SiteConfiguration, document: DefraReceiptDocument?) {
        switch api.profile {
        case .brief:
            self.init(
                baseURL: api.baseURL,
                profile: .brief(
                    token: api.token, siteID: site.id, jurisdiction: site.jurisdiction.rawValue))
        case .defraReceipt:
            guard let oauth = api.oauth, let document else { return nil }
            self.init(
                baseURL: api.baseURL,
                profile: .defraReceipt(
                    tokenURL: oauth.tokenURL, clientID: oauth.clientID,
                    clientSecret: oauth.clientSecret,
                    document: document))
        }
    }
}
