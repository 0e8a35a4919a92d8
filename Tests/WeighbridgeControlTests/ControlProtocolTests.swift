import PropertyBased
import Testing
import WeighbridgeControlProtocol
import WeighbridgeCore
import WeighbridgeJSON

private func decode(_ line: String) -> Result<ControlRequest, RequestFailure> {
    ControlRequest.decode(Array(line.utf8))
}

private func command(_ line: String) throws -> ControlCommand {
    try decode(line).get().command
}

extension ControlCommand {
    fileprivate var expectArguments: ExpectArguments? {
        if case .expect(let arguments) = self { return arguments }
        return nil
    }
}

private func errorCode(_ line: String) -> ControlError.Code? {
    if case .failure(let failure) = decode(line) { return failure.error.code }
    return nil
}

@Suite("Control protocol: decoding requests")
struct ControlProtocolTests {
    @Test("every command of the CLI contract decodes to its typed form")
    func commands() throws {
        #expect(try command(#"{"v":1,"id":1,"cmd":"status"}"#) == .status)
        #expect(try command(#"{"v":1,"cmd":"weight","bridge":"in"}"#) == .weight(bridge: "in"))
        #expect(
            try command(#"{"v":1,"cmd":"arrive","bridge":"in","vehicle":"ab12 cde"}"#)
                == .arrive(bridge: "in", target: .vehicle(VehicleRegistration("AB12CDE")!), trackingID: nil))
        #expect(
            try command(#"{"v":1,"cmd":"arrive","bridge":"in","movement":"M1","tracking_id":"26ABC123"}"#)
                == .arrive(bridge: "in", target: .movement("M1"), trackingID: "26ABC123"))
        #expect(
            errorCode(#"{"v":1,"cmd":"arrive","bridge":"in","movement":"M1","tracking_id":"26/ABC"}"#)
                == .invalidArgument)
        #expect(
            try command(#"{"v":1,"cmd":"confirm","movement":"M1","reason":"checked"}"#)
                == .confirm(movement: "M1", reason: "checked"))
        #expect(
            try command(#"{"v":1,"cmd":"attach","ticket":12,"movement":"M1","reason":"ANPR missed"}"#)
                == .attach(ticket: 12, movement: "M1", reason: "ANPR missed"))
        #expect(try command(#"{"v":1,"cmd":"movements","state":"held"}"#) == .movements(state: .held, page: ListPage()))
        #expect(
            try command(#"{"v":1,"cmd":"retry","all":true,"reason":"API back"}"#) == .retry(.all, reason: "API back"))
        #expect(
            try command(#"{"v":1,"cmd":"resolve","entry":3,"tracking_id":"WT-1","reason":"found"}"#)
                == .resolve(entry: 3, trackingID: "WT-1", reason: "found"))
        #expect(
            try command(
                #"{"v":1,"cmd":"tare-set","vehicle":"AB12CDE","tare_kg":"12000.5","expires_at":"2026-12-01T00:00:00Z","reason":"r"}"#
            )
                == .tareSet(
                    vehicle: VehicleRegistration("AB12CDE")!, tare: Mass(grams: 12_000_500),
                    expiresAt: Timestamp(rfc3339: "2026-12-01T00:00:00Z")!, reason: "r"))
    }

    @Test("every command the client encodes decodes to itself, on the daemon's side")
    func encodedCommandsRoundTrip() throws {
        let vehicle = VehicleRegistration("AB12CDE")!
        let movement = try Movement(
            id: "M1", declared: Mass(grams: 12_000_500),
            ewcCodes: [EWCCode(parsing: "20 01 33*"), EWCCode(parsing: "160605")],
            vehicle: vehicle, carrier: "Acme Haulage", prenotifiedAt: Timestamp(rfc3339: "2026-11-24T08:00:00Z"),
            wasteTrackingID: "26ABC123")
        let withReceipt = try #require(
            try command(
                #"{"v":1,"cmd":"expect","movement_id":"M2","declared_weight_kg":900,"ewc_codes":["200101"],"receipt":{"wasteItems":[]}}"#
            ).expectArguments)
        let page = ListPage(limit: 7, before: 42)
        let commands: [ControlCommand] = [
            .status, .bridges, .weight(bridge: nil), .weight(bridge: "in"), .expect(ExpectArguments(movement)),
            .expect(withReceipt), .arrive(bridge: "in", target: .vehicle(vehicle), trackingID: "26ABC123"),
            .arrive(bridge: "in", target: .movement("M1"), trackingID: nil), .depart(target: .movement("M1")),
            .movements(state: nil, page: ListPage()), .movements(state: .held, page: page), .show(movement: "M1"),
            .confirm(movement: "M1", reason: "r"), .discrepancy(movement: "M1", reason: "r"),
            .reject(movement: "M1", reason: "r"), .hold(movement: "M1", reason: "r"),
            .release(movement: "M1", reason: "r"), .attach(ticket: 12, movement: "M1", reason: "r"),
            .correct(movement: "M1", receipt: #"{"wasteItems":[{"ewcCodes":["200133"]}]}"#, reason: "r"),
            .tareSet(
                vehicle: vehicle, tare: Mass(grams: 12_000_500), expiresAt: Timestamp(rfc3339: "2026-12-01T00:00:00Z")!,
                reason: "r"),
            .tareList, .tareExpire(vehicle: vehicle, reason: "r"), .outbox(state: .unknown, page: page),
            .retry(.all, reason: "r"), .retry(.entry(3), reason: "r"), .park(entry: 3, reason: "r"),
            .resolve(entry: 3, trackingID: "WT-1", reason: "r"), .resolve(entry: 3, trackingID: nil, reason: "r"),
            .auditVerify, .tail,
        ]
        for sent in commands {
            let line = ControlRequest(id: .integer(9), command: sent).line
            #expect(line.hasSuffix("\n") && !line.dropLast().contains("\n"))
            let received = try decode(String(line.dropLast())).get()
            #expect(received.command == sent, "\(line)")
            #expect(received.id == .integer(9))
        }
    }

    @Test("expect takes the brief's movement representation; declared weights are exact")
    func expectMovement() throws {
        let line =
            #"{"v":1,"cmd":"expect","movement_id":"M1","declared_weight_kg":12000.5,"ewc_codes":["20 01 33*","160605"],"#
            + #""vehicle_registration":"AB12 CDE","prenotified_at":"2026-11-24T08:00:00Z","origin":"x","receipt":{"wasteItems":[{"ewcCodes":["200133"]}]}}"#
        guard case .expect(let arguments) = try command(line) else {
            Issue.record("not an expect")
            return
        }
        #expect(arguments.movement.declared == Mass(grams: 12_000_500))
        #expect(arguments.movement.ewcCodes.map(\.compact) == ["200133", "160605"])
        #expect(arguments.movement.vehicle == VehicleRegistration("AB12CDE"))
        #expect(arguments.receipt == #"{"wasteItems":[{"ewcCodes":["200133"]}]}"#)
        #expect(
            errorCode(#"{"v":1,"cmd":"expect","movement_id":"M1","declared_weight_kg":0,"ewc_codes":["200101"]}"#)
                == .invalidArgument)
    }

    @Test(
        "each kind of bad request gets its own stable code, with the id echoed when readable",
        arguments: [
            (#"not json"#, ControlError.Code.badRequest),
            (#"[1,2]"#, .badRequest),
            (#"{"v":2,"cmd":"status"}"#, .unsupportedVersion),
            (#"{"cmd":"status"}"#, .unsupportedVersion),
            (#"{"v":1,"cmd":"launch"}"#, .unknownCommand),
            (#"{"v":1,"cmd":"confirm","movement":"M1"}"#, .reasonRequired),
            (#"{"v":1,"cmd":"confirm","movement":"M1","reason":"   "}"#, .reasonRequired),
            (#"{"v":1,"cmd":"status","force":true}"#, .invalidArgument),
            (#"{"v":1,"cmd":"attach","ticket":"12","movement":"M1","reason":"r"}"#, .invalidArgument),
            (#"{"v":1,"cmd":"arrive","bridge":"in","movement":"M1","vehicle":"AB12CDE"}"#, .invalidArgument),
            (#"{"v":1,"cmd":"status","id":{"x":1}}"#, .badRequest),
            (#"{"v":1,"cmd":"status","cmd":"status"}"#, .badRequest),
        ] as [(String, ControlError.Code)])
    func badRequests(line: String, code: ControlError.Code) {
        #expect(errorCode(line) == code)
    }

    @Test("the id survives a bad command so the reply can be matched")
    func idEchoed() {
        guard case .failure(let failure) = decode(#"{"v":1,"id":"req-7","cmd":"launch"}"#) else {
            Issue.record("accepted")
            return
        }
        #expect(failure.id == .string("req-7"))
        #expect(
            ControlResponse.error(id: failure.id, failure.error).line
                == #"{"error":{"code":"unknown_command","message":"unknown command \"launch\""},"id":"req-7","v":1}"#
                + "\n")
    }

    @Test("limits: long lines, deep nesting, invalid UTF-8 and control characters are refused")
    func limits() {
        #expect(errorCode(String(repeating: " ", count: ControlProtocol.maximumLineLength + 1)) == .lineTooLong)
        #expect(errorCode(String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)) == .badRequest)
        #expect(ControlRequest.decode([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D]).isFailure)
        #expect(errorCode("{\"v\":1,\"cmd\":\"sta\u{01}tus\"}") == .badRequest)
    }

    @Test(
        "outside text with control characters, or longer than documented, is refused with a clear error",
        arguments: [
            (
                #"{"v":1,"cmd":"expect","movement_id":"M1\n<3>fake","declared_weight_kg":1,"ewc_codes":["200101"]}"#,
                "control"
            ),
            (
                #"{"v":1,"cmd":"expect","movement_id":"M1\u001b[2J","declared_weight_kg":1,"ewc_codes":["200101"]}"#,
                "control"
            ),
            (#"{"v":1,"cmd":"confirm","movement":"M1","reason":"ok\r\nInjected: yes"}"#, "control"),
            (#"{"v":1,"cmd":"arrive","bridge":"in\u2028x","movement":"M1"}"#, "control"),
            (#"{"v":1,"cmd":"resolve","entry":1,"tracking_id":"W\u0085","reason":"r"}"#, "control"),
            (
                #"{"v":1,"cmd":"expect","movement_id":"\#(String(repeating: "M", count: 129))","declared_weight_kg":1,"ewc_codes":["200101"]}"#,
                "1 to 128"
            ),
            (
                #"{"v":1,"cmd":"arrive","bridge":"\#(String(repeating: "b", count: 501))","movement":"M1"}"#,
                "longer than 500"
            ),
        ])
    func outsideTextIsChecked(line: String, phrase: String) {
        guard case .failure(let failure) = decode(line) else {
            Issue.record("accepted: \(line)")
            return
        }
        #expect(failure.error.code == .invalidArgument)
        #expect(failure.error.message.contains(phrase), "\(failure.error.message)")
    }

    @Test("replies round-trip through the client's reader")
    func replies() throws {
        let ok = ControlResponse.ok(id: .integer(3), .object(["state": .string("held"), "net_kg": .number("10500")]))
        #expect(try ControlResponse(line: Array(ok.line.utf8.dropLast())) == ok)
        let error = ControlResponse.error(id: nil, ControlError(.notFound, "no movement M9"))
        #expect(try ControlResponse(line: Array(error.line.utf8.dropLast())) == error)
    }

    /// Replies as the daemon writes them, each with the reader weighbridgectl uses for it.
    private static let writtenReplies: [(written: String, read: @Sendable (JSONValue) throws -> JSONValue)] = [
        (
            #"{"summary":"1 bridge: in 0 kg stable","held":1,"discrepancies":2,"unattributed":1,"unattributed_tickets":[3],"outbox_pending":2,"outbox_parked":0,"outbox_unknown":1,"receipts_due_within_a_day":0,"receipts_past_deadline":0}"#,
            { try StatusReply(json: $0).json }
        ),
        (
            #"{"movement_id":"M1","state":"confirmed","declared_kg":10000,"ewc_codes":["20 03 01"],"vehicle":"AB12CDE","carrier":null,"prenotified_at":null,"waste_tracking_id":null,"hold":null,"gross_kg":22000,"tare_kg":11000,"tare_kind":"measured","net_kg":11000,"deviation_percent":"+10.00","high_risk":false,"confirmed_by":"operator:sam(uid=1001)","weighings":[{"ticket":1,"bridge":"in","weight_kg":22000,"weighed_at":"2026-11-25T08:00:00.000Z","legal_id":7,"instrument":null}],"decisions":[{"outcome":"discrepancy","reason":"weight_deviation","net_kg":11000,"declared_kg":10000,"deviation_percent":"+10.00","high_risk":false,"by":"auto","note":"","at":"2026-11-25T08:04:10.000Z"}],"reports":[{"id":1,"movement_id":"M1","kind":"discrepancy","state":"done","attempts":1,"next_attempt_at":"2026-11-25T08:04:10.000Z","last_error":null,"server_id":null,"idempotency_key":"M1/discrepancy/1","created_at":"2026-11-25T08:04:10.000Z","sent":null}],"receipt":null}"#,
            { try MovementDetail(json: $0).json }
        ),
        // A deck a little under its zero reads below zero.
        (
            #"[{"name":"in","link":"tcp 127.0.0.1:502","connected":true,"instrument_id":"..LMB3.1.6 [B4FF4C4D42332E312E36]","weight_kg":-20,"net_kg":-20.5,"tare_kg":0,"stable":true,"phase":"settling","reading_at":"2026-11-25T08:00:00.000Z","consecutive_failures":0,"last_error":null,"captures":4,"held_weighing_kg":null}]"#,
            { .array(try BridgeView.list(json: $0).map(\.json)) }
        ),
        (
            #"[{"vehicle":"CD34EFG","tare_kg":11000,"set_at":"2026-11-25T08:00:00.000Z","expires_at":"2026-12-01T00:00:00.000Z","valid":true}]"#,
            { .array(try TareView.list(json: $0).map(\.json)) }
        ),
        (
            #"{"movements":[{"movement_id":"M2","state":"held","declared_kg":5000,"ewc_codes":["20 01 01"],"vehicle":null,"carrier":"Northern Haulage","prenotified_at":"2026-11-24T08:00:00.000Z","waste_tracking_id":"WTR-8F2K","hold":{"code":"operator_hold","reason":"driver disputes load"},"bridge":"in","arrived_at":"2026-11-25T08:00:00.000Z","vehicle_identified":false}],"next_before":2}"#,
            { try ListingPage<MovementView>(json: $0).json }
        ),
        (
            #"{"entries":[{"id":2,"movement_id":"M1","kind":"confirmation","state":"retry_wait","attempts":3,"next_attempt_at":"2026-11-25T08:10:00.000Z","last_error":"HTTP 503","server_id":"WT-1","idempotency_key":"M1/confirmation/1","created_at":"2026-11-25T08:06:00.000Z"}],"next_before":null}"#,
            { try ListingPage<ReportView>(json: $0).json }
        ),
        (
            #"{"movement_id":"M3","state":"rejected","declared_kg":5000,"ewc_codes":["20 01 01"],"vehicle":null,"carrier":null,"prenotified_at":null,"waste_tracking_id":null,"hold":null,"rejected":{"reason":"turned away","by":"operator:sam(uid=1001)"},"queued_reports":[]}"#,
            { try MovementChange(json: $0).json }
        ),
        (
            #"{"movement_id":"M4","state":"discrepancy","declared_kg":300,"ewc_codes":["20 01 01"],"vehicle":null,"carrier":null,"prenotified_at":null,"waste_tracking_id":null,"hold":null,"first_weighing":5,"discrepancy":{"reason":"operator","raised_by":"operator:sam(uid=1001)"},"queued_reports":[{"id":9,"movement_id":"M4","kind":"discrepancy","state":"pending","attempts":0,"next_attempt_at":"2026-11-25T08:10:00.000Z","last_error":null,"server_id":null,"idempotency_key":"M4/discrepancy/1","created_at":"2026-11-25T08:10:00.000Z"}]}"#,
            { try MovementChange(json: $0).json }
        ),
        (
            #"{"bridge":"in","subject":"unidentified vehicle ZZ99ZZZ","at":"2026-11-25T08:00:00.000Z"}"#,
            { try ArrivalChange(json: $0).json }
        ),
        (#"{"bridge":"in","subject":"movement M1","withdrawn":true}"#, { try ArrivalChange(json: $0).json }),
        (
            #"{"movement_id":"M1","queued_report":null,"late":true,"deadline":"2026-11-27T23:59:59.000Z"}"#,
            { try CorrectionReply(json: $0).json }
        ),
        (#"{"retried":3}"#, { try RetryReply(json: $0).json }),
        (#"{"vehicle":"CD34EFG","expired":true}"#, { try TareExpiry(json: $0).json }),
    ]

    @Test("every typed reply reads back as the daemon wrote it: no reader drops or changes a field")
    func typedReplies() throws {
        for (written, read) in Self.writtenReplies {
            let json = try JSONValue(parsing: Array(written.utf8))
            #expect(try read(json) == json, "\(written)")
        }
    }

    @Test("fuzz: 100 000 random and mutated lines each decode to a command or a coded error, never a crash")
    func fuzz() {
        var generator = SplitMix(seed: 20_261_125)
        let seeds = [
            #"{"v":1,"id":1,"cmd":"confirm","movement":"M1","reason":"checked"}"#,
            #"{"v":1,"cmd":"expect","movement_id":"M1","declared_weight_kg":"12000.5","ewc_codes":["20 01 33"]}"#,
            #"{"v":1,"cmd":"tare-set","vehicle":"AB12CDE","tare_kg":12000,"expires_at":"2026-12-01T00:00:00Z","reason":"r"}"#,
            #"{"v":1,"cmd":"arrive","bridge":"in","vehicle":"AB12CDE"}"#,
        ].map { Array($0.utf8) }
        let alphabet = Array(#"{}[]":,\ 0123456789.-+eEtrufalsn"#.utf8) + [0x00, 0x0A, 0xC3, 0xFF, 0xED, 0xA0]
        var decoded = 0
        var refused: [ControlError.Code: Int] = [:]
        for round in 0..<100_000 {
            var line: [UInt8]
            if round % 4 == 0 {
                line = (0..<Int(generator.next() % 200)).map { _ in
                    alphabet[Int(generator.next() % UInt64(alphabet.count))]
                }
            } else {
                line = seeds[Int(generator.next() % UInt64(seeds.count))]
                for _ in 0..<(1 + Int(generator.next() % 4)) {
                    let position = Int(generator.next() % UInt64(line.count + 1))
                    switch generator.next() % 3 {
                    case 0: if position < line.count { line.remove(at: position) }
                    case 1: line.insert(alphabet[Int(generator.next() % UInt64(alphabet.count))], at: position)
                    default: if position < line.count { line[position] = UInt8(truncatingIfNeeded: generator.next()) }
                    }
                }
            }
            switch ControlRequest.decode(line) {
            case .success: decoded += 1
            case .failure(let failure): refused[failure.error.code, default: 0] += 1
            }
        }
        #expect(decoded + refused.values.reduce(0, +) == 100_000)
        #expect(refused[.badRequest, default: 0] > 10_000, "the mutations should mostly break the JSON")
        #expect(decoded > 0, "some mutations leave a valid request")
    }

    @Test("property: any JSON value serializes and parses back to itself")
    func jsonRoundTrip() async {
        await propertyCheck(count: 500, input: Gen.int(in: 0...1_000_000)) { seed in
            var generator = SplitMix(seed: UInt64(seed))
            let value = randomJSON(&generator, depth: 0)
            #expect((try? JSONValue(parsing: Array(value.serialized.utf8))) == value)
        }
    }
}

private func randomJSON(_ generator: inout SplitMix, depth: Int) -> JSONValue {
    switch generator.next() % (depth > 3 ? 4 : 6) {
    case 0: return .null
    case 1: return .bool(generator.next() % 2 == 0)
    case 2:
        return .number(
            String(Int64(bitPattern: generator.next()) % 1_000_000) + (generator.next() % 2 == 0 ? ".25" : ""))
    case 3:
        let scalars = (0..<Int(generator.next() % 8)).compactMap { _ in Unicode.Scalar(UInt32(generator.next() % 0x2FF))
        }
        return .string(String(String.UnicodeScalarView(scalars)))
    case 4: return .array((0..<Int(generator.next() % 4)).map { _ in randomJSON(&generator, depth: depth + 1) })
    default:
        var members: [String: JSONValue] = [:]
        for index in 0..<Int(generator.next() % 4) { members["k\(index)"] = randomJSON(&generator, depth: depth + 1) }
        return .object(members)
    }
}

/// A seeded generator so the fuzz corpus is the same on every run.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Result {
    var isFailure: Bool {
        if case .failure = self { return true }
        return false
    }
}
