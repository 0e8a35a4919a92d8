public import WeighbridgeConfiguration
public import WeighbridgeModbus
public import WeighbridgeReporting

// The adapters' own settings, as the configuration gives them: the one place the TOML schema's
// types meet the adapters'.

extension ModbusLink.Settings {
    /// The link a bridge's configuration asks for.
    public init(bridge: BridgeConfiguration) {
        self.init(
            transport: bridge.transport, responseTimeout: .milliseconds(bridge.responseTimeoutMilliseconds),
            byteTimeout: bridge.byteTimeoutMilliseconds.map { .milliseconds($0) },
            gap: .milliseconds(bridge.gapMilliseconds))
    }
}

extension AcquisitionSettings {
    /// The polling and capture rules a bridge's configuration asks for.
    public init(bridge: BridgeConfiguration) {
        self.init(
            name: bridge.name, unit: bridge.unit, registers: bridge.registers,
            pollMilliseconds: bridge.pollMilliseconds,
            division: bridge.division, maximum: bridge.maximum, settleMilliseconds: bridge.settleMilliseconds)
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
