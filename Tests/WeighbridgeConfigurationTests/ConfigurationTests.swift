import Foundation
import Testing
import WeighbridgeConfiguration
import WeighbridgeCore

/// The repository's `etc/` folder, found from this file's location.
private let etc = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("etc")

private let minimal = """
    [site]
    id = "SITE-1"

    [api]
    profile = "brief"

    [[bridge]]
    name = "in"
    transport = "tcp"
    host = "127.0.0.1"
    profile = "laumas"
    division_kg = 20
    max_kg = 60000
    """

private func problems(_ text: String) -> [ConfigurationProblem] {
    do {
        _ = try Configuration.parse(text, fileName: "test.toml")
        return []
    } catch {
        return error.problems
    }
}

@Suite("Configuration: validation with file, key and line")
struct ConfigurationTests {
    @Test("a misspelt key is an error naming the key and its line, never a silent default")
    func misspeltKey() {
        let found = problems(minimal + "\n[policy]\ntolerence_percent = 2\n")
        #expect(found.count == 1)
        #expect(found.first?.key == "policy.tolerence_percent")
        #expect(found.first?.line == 15)
        #expect(found.first?.description.hasPrefix("test.toml:15: policy.tolerence_percent: unknown key") == true)
    }

    @Test(
        "api.base_url: https anywhere, plain http only to this machine's loopback (all of 127.0.0.0/8)",
        arguments: [
            ("https://api.example.gov.uk", true), ("http://127.0.0.1:8080", true), ("http://127.42.7.9:8080", true),
            ("http://localhost:1", true), ("http://[::1]:1", true), ("http://128.0.0.1", false),
            ("http://127.0.0.1.example.com", false), ("http://127.0.0.256", false), ("ftp://127.0.0.1", false),
        ])
    func baseURLTransport(url: String, accepted: Bool) {
        let found = problems(
            minimal.replacingOccurrences(of: "profile = \"brief\"", with: "profile = \"brief\"\nbase_url = \"\(url)\""))
        #expect(found.contains { $0.key == "api.base_url" } == !accepted, "\(found)")
    }

    @Test("a missing api.profile is an error: there is no default contract")
    func missingProfile() {
        let text = minimal.replacingOccurrences(of: "profile = \"brief\"", with: "environment = \"sandbox\"")
        let found = problems(text)
        #expect(found.map(\.key) == ["api.profile"])
        #expect(found.first?.message.contains("is required") == true)
        #expect(found.first?.line == 4)
    }

    @Test("overlapping register fields are an error naming the field")
    func overlappingRegisters() {
        let text =
            minimal + """

                [bridge.registers]
                gross = { offset = 1, type = "int32" }
                net = { offset = 2, type = "int32" }
                """
        let found = problems(text)
        #expect(found.count == 1)
        #expect(found.first?.key == "bridge[0].registers.net.offset")
        #expect(found.first?.message == "net overlaps gross (offsets 2–3 and 1–2)")
        #expect(found.first?.line == 16)
    }

    @Test("a field outside the block, a block over 125 registers and no stable bit are each named")
    func impossibleRegisterMaps() {
        let text =
            minimal.replacingOccurrences(of: "profile = \"laumas\"", with: "profile = \"generic\"") + """

                [bridge.registers]
                address = 0
                count = 4
                gross = { offset = 3, type = "int32" }
                status = { offset = 0 }
                """
        let keys = Set(problems(text).map(\.key))
        #expect(keys == ["bridge[0].registers.gross.offset", "bridge[0].registers.stable_mask"])
        let tooBig = minimal + "\n[bridge.registers]\ncount = 126\n"
        #expect(problems(tooBig).map(\.key) == ["bridge[0].registers.count"])
    }

    @Test("wrong types and bad enum values name the key")
    func wrongTypes() {
        let text =
            minimal + """

                [policy]
                tolerance_percent = "five"
                auto_confirm = "yes"
                high_risk_ewc = ["16 06 05", "16-06-05"]
                min_weight_divisions = 0
                [log]
                level = "loud"
                """
        let keys = problems(text).map(\.key)
        #expect(
            Set(keys) == [
                "policy.tolerance_percent", "policy.auto_confirm", "policy.high_risk_ewc",
                "policy.min_weight_divisions", "log.level",
            ])
    }

    @Test("transport settings must match the transport")
    func transportSettings() {
        let serial = minimal.replacingOccurrences(
            of: "transport = \"tcp\"\nhost = \"127.0.0.1\"",
            with: "transport = \"rtu\"\nhost = \"127.0.0.1\"\nbaud = 9601\nunit = 0")
        let keys = Set(problems(serial).map(\.key))
        #expect(keys == ["bridge[0].host", "bridge[0].device", "bridge[0].baud", "bridge[0].unit"])
    }

    @Test("defra-receipt needs the receiver's details and [api.oauth]")
    func defraRequirements() {
        let text = minimal.replacingOccurrences(of: "profile = \"brief\"", with: "profile = \"defra-receipt\"")
        let keys = Set(problems(text).map(\.key))
        #expect(
            keys.isSuperset(of: [
                "site.name", "site.permit", "site.address", "site.postcode",
                "api.oauth.token_url", "api.oauth.client_id", "api.oauth.api_code",
            ]))
    }

    @Test(
        "api.oauth.token_url carries the client secret: https, or plain http only to loopback",
        arguments: [
            ("https://auth.example.gov.uk/oauth2/token", true), ("http://127.0.0.1:8080/oauth2/token", true),
            ("http://auth.example.com/oauth2/token", false), ("ftp://127.0.0.1/token", false),
        ])
    func tokenURLTransport(url: String, accepted: Bool) {
        let text =
            minimal.replacingOccurrences(of: "profile = \"brief\"", with: "profile = \"defra-receipt\"")
                + """

                [api.oauth]
                token_url = "\(url)"
                client_id = "weighbridged"
                api_code = "ba6eb330-4f7f-11eb-a2fb-67c34e9ac07c"
                """
        let found = problems(text)
        #expect(found.contains { $0.key == "api.oauth.token_url" } == !accepted, "\(found)")
    }

    @Test(
        "metrics.listen is loopback only: the endpoint has no authentication",
        arguments: [
            ("127.0.0.1:9464", true), ("localhost:9464", true), ("0.0.0.0:9464", false), ("10.0.0.5:9464", false),
        ])
    func metricsListenIsLoopback(listen: String, accepted: Bool) {
        let found = problems(minimal + "\n[metrics]\nlisten = \"\(listen)\"\n")
        #expect(found.contains { $0.key == "metrics.listen" } == !accepted, "\(found)")
    }

    @Test("a secret pasted under a wrong key is reported without its value")
    func secretsNeverEchoed() {
        let found = problems(
            minimal.replacingOccurrences(
                of: "profile = \"brief\"",
                with: "profile = \"brief\"\ntoken = \"s3cr3t-bearer\""))
        #expect(found.map(\.key) == ["api.token"])
        #expect(!found.description.contains("s3cr3t"))
    }

    @Test("TOML syntax errors carry the parser's line")
    func syntaxError() {
        let found = problems("[site]\nid = \"x\"\nbad = = 1\n")
        #expect(found.first?.line == 3)
    }

    @Test("a header without a key is an error with its line, not an abort; other brackets are not headers")
    func headersWithoutKeys() {
        // Valid: '[' followed by no key inside strings (four closing quotes included), comments and
        // a multi-line array, CRLF line ends, and a byte order mark.
        let tricky =
            "\u{FEFF}[site]\r\nid = \"SITE-1\"\r\nname = \"\"\"a\n[# not a header\n\"\"\"\"  # [=\n"
            + "address = '''\n[é\n'''\n# [#\n[api]\nprofile = \"brief\"\n"
            + "[[bridge]]\nname = \"in\"\ntransport = \"tcp\"\nhost = \"127.0.0.1\"\nprofile = \"laumas\"\n"
            + "division_kg = 20\nmax_kg = 60000\n"
        #expect(problems(tricky).isEmpty, "\(problems(tricky))")
        let arrays = problems(tricky + "extra = [\n  [1],\n  [\"[#\"],\n]\n")
        #expect(arrays.first?.message.contains("table header") == false, "\(arrays)")
        for header in ["[#site]", "[=", "[ ,a]", "[é]", "[[ #bridge]]"] {
            let found = problems(tricky + header + "\n")
            #expect(found.first?.line == 19, "\(header): \(found)")
            #expect(found.first?.message.contains("a table header must start with a key") == true, "\(header)")
        }
    }

    @Test("defaults fill in and the tolerance keeps its decimals exactly")
    func defaults() throws {
        let configuration = try Configuration.parse(minimal + "\n[policy]\ntolerance_percent = 2.5\n", fileName: "t")
        #expect(configuration.policy.tolerance == Percentage(tenThousandths: 25_000))
        #expect(configuration.store.path == "/var/lib/weighbridged/weighbridged.sqlite")
        #expect(configuration.control.socket == "/run/weighbridged/control.sock")
        #expect(configuration.api.baseURL == "https://sandbox.tracking.defra.gov.uk")
        #expect(configuration.api.token == .credential("dwt-token"))
        let bridge = try #require(configuration.bridges.first)
        let modbus = try #require(bridge.modbus)
        #expect(modbus.transport == .tcp(host: "127.0.0.1", port: 502))
        #expect(bridge.responseTimeoutMilliseconds == 1_000)
        #expect(modbus.registers == IndicatorPreset.laumas.registerMap)
        #expect(bridge.division == Mass(20, .kilograms))
    }

    @Test("the rendered configuration reads back to the same values")
    func renderRoundTrip() throws {
        let configuration = try Configuration.load(path: etc.appendingPathComponent("weighbridged.toml").path)
        let again = try Configuration.parse(configuration.rendered(), fileName: "rendered")
        #expect(again == configuration)
    }

    @Test("every shipped configuration is valid", arguments: ["weighbridged.toml", "demo.toml"])
    func shippedConfigurations(name: String) throws {
        _ = try Configuration.load(path: etc.appendingPathComponent(name).path)
    }

    @Test("every preset's map is valid, except that pavone-jbx8 needs its status bits set on site")
    func presetsValidate() {
        for preset in IndicatorPreset.allCases {
            let problems = preset.registerMap?.validate() ?? []
            if preset == .pavoneJBX8 {
                #expect(problems.map(\.key) == ["stable_mask"])
            } else {
                #expect(problems.isEmpty, "\(preset): \(problems)")
            }
        }
    }
}
