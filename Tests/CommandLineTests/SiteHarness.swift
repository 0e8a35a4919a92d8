import Foundation
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A child process with line-by-line access to its standard output.
final class Child: @unchecked Sendable {
    let process = Process()
    let input = Pipe()
    let output = Pipe()

    /// Runs a built product.
    convenience init(
        _ product: String, _ arguments: [String], environment: [String: String] = [:], errorTo: String? = nil
    ) throws {
        try self.init(
            executable: productsDirectory.appendingPathComponent(product), arguments, environment: environment,
            errorTo: errorTo)
    }

    /// Runs the program at `executable`.
    init(
        executable: URL, _ arguments: [String], environment: [String: String] = [:], errorTo: String? = nil
    ) throws {
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = input
        process.standardOutput = output
        if let errorTo {
            if !FileManager.default.fileExists(atPath: errorTo) {
                _ = FileManager.default.createFile(atPath: errorTo, contents: nil)
            }
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorTo))
        }
        try process.run()
    }

    /// The next line of standard output (empty at end of output).
    func readLine() throws -> String {
        var line = Data()
        while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) {
            line += byte
        }
        return String(decoding: line, as: UTF8.self)
    }

    func send(_ line: String) {
        input.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

    /// SIGKILL and reap: processes a test spawns may inherit an ignored SIGTERM.
    func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// A whole site on loopback from the built binaries: weighbridge-sim, dwt-sandbox and
/// weighbridged, with weighbridgectl to drive it, as an operator's gatehouse would run them.
final class SiteHarness: @unchecked Sendable {
    enum Profile: String { case brief, defraReceipt = "defra-receipt" }

    /// What the simulated indicator speaks, and how the daemon reaches it.
    enum Indicator {
        /// Modbus TCP, the laumas map.
        case modbus
        /// An ASCII format (weighbridge-sim's name for it: sma, toledo-continuous,
        /// toledo-continuous-checksum, dini), over a pty pair or TCP; read as that format, or as
        /// `format = "generic"` with `frame`, a [bridge.frame] table's keys, when one is given.
        case ascii(format: String, overPty: Bool, frame: String? = nil)
    }

    let directory: String
    let profile: Profile
    let simulator: Child
    private(set) var sandbox: Child
    let sandboxPort: Int
    var sandboxURL: String { "http://127.0.0.1:\(sandboxPort)" }
    private(set) var daemon: Child?
    var socket: String { directory + "/control.sock" }
    var configuration: String { directory + "/weighbridged.toml" }
    var daemonLog: String { directory + "/daemon.log" }

    /// Starts the simulator and the sandbox and writes the configuration (with `extra` TOML
    /// tables at its end); `start()` runs the daemon.
    /// The directory the store lives in: `directory`, or a subdirectory of it (for a test to mount
    /// a file system of its own there).
    let storeDirectory: String
    /// The serial line an ASCII indicator is on, kept for as long as the site runs.
    private let pty: PtyPair?

    init(profile: Profile, indicator: Indicator = .modbus, extra: String = "", storeSubdirectory: String? = nil)
        async throws
    {
        self.profile = profile
        let directory = "/tmp/wb-e2e-\(UUID().uuidString.prefix(8))"
        self.directory = directory
        storeDirectory = storeSubdirectory.map { directory + "/" + $0 } ?? directory
        try FileManager.default.createDirectory(atPath: storeDirectory, withIntermediateDirectories: true)
        var simulatorArguments = ["--division-kg", "2"]
        var pty: PtyPair?
        if case .ascii(let format, let overPty, _) = indicator {
            simulatorArguments += ["--ascii", format]
            if overPty {
                let pair = try await PtyPair()
                simulatorArguments += ["--tty", pair.simulatorSide]
                pty = pair
            }
        }
        self.pty = pty
        let simulator = try Child("weighbridge-sim", simulatorArguments + (pty == nil ? ["--tcp-port", "0"] : []))
        self.simulator = simulator
        let simLine = try await onOwnThread { try simulator.readLine() }
        let simPort = Int(simLine.split(separator: ":").last ?? "")
        #expect(simPort != nil || pty != nil, "sim said: \(simLine)")
        let bridge: String
        let frameTable = if case .ascii(_, _, let frame?) = indicator { "[bridge.frame]\n" + frame } else { "" }
        switch indicator {
        case .modbus:
            bridge = """
                transport = "tcp"
                host = "127.0.0.1"
                port = \(simPort ?? 0)
                profile = "laumas"
                """
        case .ascii(let format, _, let frame):
            let frames =
                frame != nil
                ? "format = \"generic\""
                : format.hasPrefix("toledo-continuous")
                    ? "format = \"toledo-continuous\"\nchecksum = \(format.hasSuffix("-checksum"))"
                    : "format = \"\(format)\""
            let line =
                pty.map { "device = \"\($0.daemonSide)\"\ndtr = \"on\"\nrts = \"on\"\nflow_control = \"none\"" }
                ?? "host = \"127.0.0.1\"\nport = \(simPort ?? 0)"
            bridge = "transport = \"ascii\"\n\(frames)\n\(line)"
        }
        let sandbox = try Child("dwt-sandbox", ["--port", "0"])
        self.sandbox = sandbox
        let sandboxLine = try await onOwnThread { try sandbox.readLine() }
        sandboxPort = try #require(
            Int(sandboxLine.split(separator: ":").last ?? ""), "sandbox said: \(sandboxLine)")
        try "sandbox-brief-token".write(toFile: directory + "/token", atomically: true, encoding: .utf8)
        try "sandbox-client-secret".write(toFile: directory + "/secret", atomically: true, encoding: .utf8)
        let pacing = """
            timeout_seconds = 5
            backoff_base_ms = 100
            backoff_cap_ms = 1000
            """
        let api =
            profile == .brief
            ? """
            [api]
            profile = "brief"
            base_url = "\(sandboxURL)"
            token_file = "\(directory)/token"
            \(pacing)
            """
            : """
            [api]
            profile = "defra-receipt"
            base_url = "\(sandboxURL)"
            \(pacing)
            [api.oauth]
            token_url = "\(sandboxURL)/oauth2/token"
            client_id = "weighbridged"
            client_secret_file = "\(directory)/secret"
            api_code = "ba6eb330-4f7f-11eb-a2fb-67c34e9ac07c"
            """
        try """
        [site]
        id = "SITE-E2E"
        name = "End-to-end Recovery Facility"
        permit = "EPR/AB1234CD"
        jurisdiction = "england"
        address = "1 Test Road, Testtown"
        postcode = "TE1 1ST"
        [store]
        path = "\(storeDirectory)/weighbridged.sqlite"
        [control]
        socket = "\(directory)/control.sock"
        group = "\(currentGroupName)"
        \(api)
        [[bridge]]
        name = "inbound"
        \(bridge)
        # Polled every 100 ms (ASCII frames every 50 ms taken with gaps of up to 200 ms): a window
        # survives a gap a test machine busy with the other suites can make; a vehicle drives on
        # only once the bridge is armed again (drive).
        poll_ms = 100
        division_kg = 2
        max_kg = 60000
        settle_ms = 400
        \(frameTable)
        \(extra)
        """.write(toFile: configuration, atomically: true, encoding: .utf8)
    }

    deinit {
        daemon?.kill()
        simulator.kill()
        sandbox.kill()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Starts (or restarts) the daemon and waits until its control socket answers.
    func start(environment: [String: String] = [:]) async throws {
        // Through python3, which restores the default SIGTERM/SIGINT handling: children of the
        // test runner may inherit them ignored or blocked, and systemd never starts a service so.
        let daemon = try Child(
            executable: try projectPython(),
            [
                "-c",
                "import os, signal, sys; signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT}); "
                    + "signal.signal(signal.SIGTERM, signal.SIG_DFL); signal.signal(signal.SIGINT, signal.SIG_DFL); "
                    + "os.execv(sys.argv[1], sys.argv[1:])",
                productsDirectory.appendingPathComponent("weighbridged").path, "--config", configuration,
            ], environment: environment, errorTo: daemonLog)
        self.daemon = daemon
        // Up when its socket answers and its bridge is armed.
        try await waitUntilArmed(within: .seconds(20), "the daemon did not come up with its bridge armed")
    }

    /// Waits (with a deadline) until the bridge is armed: the deck has read zero for the zero
    /// dwell, so the next vehicle is captured (one driven on earlier would not be), as at a
    /// gatehouse the next vehicle comes after the deck has been seen empty.
    func waitUntilArmed(within limit: Duration = .seconds(10), _ failure: String = "the bridge was not armed again")
        async throws
    {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline, daemon?.process.isRunning == true {
            if try await ctl("bridges", "--json").output.contains(#""phase":"armed""#) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("\(failure): \(log)")
    }

    func killDaemon() { daemon?.kill() }

    var log: String { (try? String(contentsOfFile: daemonLog, encoding: .utf8)) ?? "" }

    /// Stops the sandbox (connections refused) until `reviveSandbox()` starts it on the same port.
    func stopSandbox() { sandbox.kill() }

    func reviveSandbox() async throws {
        let revived = try Child("dwt-sandbox", ["--port", String(sandboxPort)])
        _ = try await onOwnThread { try revived.readLine() }
        sandbox = revived
    }

    /// weighbridgectl with `--json`; like every blocking wait here, on a thread of its own.
    @discardableResult
    func ctl(_ arguments: String...) async throws -> (status: Int32, output: String, error: String) {
        try await run("weighbridgectl", ["--socket", socket, "--json"] + arguments)
    }

    func ctlJSON(_ arguments: String...) async throws -> [String: Any] {
        let result = try await run("weighbridgectl", ["--socket", socket, "--json"] + arguments)
        return (try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]) ?? [:]
    }

    /// One simulator command, waiting for its "ok".
    func sim(_ command: String) async throws {
        let simulator = simulator
        let reply = try await onOwnThread {
            simulator.send(command)
            return try simulator.readLine()
        }
        #expect(reply.hasPrefix("ok"), "simulator: \(reply)")
    }

    /// Once the bridge is armed, a vehicle drives on, stands 2 s, drives off; the deck then
    /// stays empty a moment.
    func drive(_ kilograms: Int) async throws {
        try await waitUntilArmed()
        try await sim("vehicle \(kilograms) 2000")
        try await sim("wait-empty")
        try await sim("wait 300")
    }

    /// Expects a movement with `receipt` data for the Defra profile.
    func expect(_ id: String, declaredKg: Int, ewc: String = "20 03 01", vehicle: String, prenotifiedAt: String? = nil)
        async throws
    {
        var movement: [String: Any] = [
            "movement_id": id, "declared_weight_kg": declaredKg, "ewc_codes": [ewc], "vehicle_registration": vehicle,
        ]
        if let prenotifiedAt { movement["prenotified_at"] = prenotifiedAt }
        if profile == .defraReceipt {
            movement["receipt"] = [
                "wasteItems": [
                    [
                        "wasteDescription": "Mixed municipal waste", "physicalForm": "Mixed", "numberOfContainers": 1,
                        "typeOfContainers": "SKI", "containsPops": false, "containsHazardous": false,
                    ]
                ],
                "carrier": [
                    "registrationNumber": "CBDU123456", "organisationName": "Carrier Ltd", "meansOfTransport": "Road",
                ],
            ]
        }
        let file = directory + "/\(id).json"
        try JSONSerialization.data(withJSONObject: movement).write(to: URL(fileURLWithPath: file))
        let result = try await ctl("expect", "--file", file)
        #expect(result.status == 0, "expect \(id): \(result.output) \(result.error)")
    }

    /// The vehicle is weighed loaded, then empty, announced on the bridge each time.
    func visit(_ id: String, grossKg: Int, tareKg: Int) async throws {
        for weight in [grossKg, tareKg] {
            let arrival = try await ctl("arrive", "--bridge", "inbound", "--movement", id)
            #expect(arrival.status == 0, "arrive \(id): \(arrival.output) \(arrival.error)")
            try await drive(weight)
        }
    }

    /// The movement's state and its reports, as `weighbridgectl show` gives them.
    func show(_ id: String) async throws -> [String: Any] { try await ctlJSON("show", id) }

    /// Waits until every report of `id` is in `state`, failing after `seconds`.
    func waitForReports(of id: String, state: String, seconds: Int = 30) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            let reports = try await show(id)["reports"] as? [[String: Any]] ?? []
            if !reports.isEmpty && reports.allSatisfy({ $0["state"] as? String == state }) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("reports of \(id) never all \(state): \(try await show(id)["reports"] ?? "none")\n\(log)")
    }

    /// What the sandbox recorded: (method, path, body, status answered) of every API request.
    func sandboxRequests() async throws -> [(method: String, path: String, body: String, status: Int?)] {
        let (data, _) = try await URLSession.shared.data(from: URL(string: sandboxURL + "/__sandbox/requests")!)
        let list = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
        return list.map {
            (
                $0["method"] as? String ?? "", $0["path"] as? String ?? "", $0["body"] as? String ?? "",
                $0["status"] as? Int
            )
        }
    }

    func sandboxSummary() async throws -> [String: Int] {
        let (data, _) = try await URLSession.shared.data(from: URL(string: sandboxURL + "/__sandbox/summary")!)
        return try JSONSerialization.jsonObject(with: data) as? [String: Int] ?? [:]
    }

    func injectSandboxFaults(_ json: String) async throws {
        var request = URLRequest(url: URL(string: sandboxURL + "/__sandbox/faults")!)
        request.httpMethod = "POST"
        request.httpBody = Data(json.utf8)
        _ = try await URLSession.shared.data(for: request)
    }
}
