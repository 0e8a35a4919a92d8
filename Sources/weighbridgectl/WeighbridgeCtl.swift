import ArgumentParser
import CBuildInfo
import Foundation
import WeighbridgeControlProtocol
import WeighbridgeCore
import WeighbridgeJSON

/// `weighbridgectl`: the operators' tool, speaking the control protocol over the daemon's socket.
/// Exit status: 0 done, 1 refused by the daemon, 2 usage, 3 daemon unreachable.
@main
struct WeighbridgeCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weighbridgectl",
        abstract: "Inspect and override weighbridged through its control socket.",
        discussion: """
            Global options, before or after the command:
              --socket PATH   the control socket (default: $WEIGHBRIDGED_SOCKET, else \(Connection.defaultSocket))
              --json          print the daemon's JSON reply, one line, for scripts
            Exit status: 0 done, 1 refused (with the reason's code), 2 usage, 3 the daemon cannot be reached.
            """,
        version: String(cString: weighbridged_version_line()),
        subcommands: [
            Status.self, Bridges.self, Weight.self, Expect.self, Arrive.self, Depart.self, Movements.self, Show.self,
            Confirm.self,
            Discrepancy.self, Reject.self, Hold.self, Release.self, Attach.self, Correct.self, Tare.self, Outbox.self,
            Retry.self,
            Park.self, Resolve.self, Audit.self, Tail.self,
        ])

    /// ArgumentParser reports usage errors as 64; the CLI contract says 2.
    static func main() async {
        let arguments = globalOptionsLast(Array(CommandLine.arguments.dropFirst()))
        if let unknown = arguments.first, !unknown.hasPrefix("-"), !commandNames.contains(unknown) {
            let nearest = nearestCommand(to: unknown).map { "; did you mean \"\($0)\"?" } ?? ""
            FileHandle.standardError.write(
                Data("weighbridgectl: no command \"\(unknown)\"\(nearest) (weighbridgectl --help lists them)\n".utf8))
            Foundation.exit(2)
        }
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

extension WeighbridgeCtl {
    /// The commands the first argument may name (ArgumentParser adds `help`).
    static let commandNames = Set(configuration.subcommands.map { $0._commandName } + ["help"])

    /// The command a mistyped name most likely meant: the closest by edit distance, if at most
    /// two edits away (a transposition counts as one, as in "confrim").
    static func nearestCommand(to typed: String) -> String? {
        commandNames.map { (name: $0, distance: editDistance(typed, $0)) }
            .filter { $0.distance <= 2 }
            .min { ($0.distance, $0.name) < ($1.distance, $1.name) }?.name
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
    /// neighbouring characters, one edit each.
    static func editDistance(_ first: String, _ second: String) -> Int {
        let a = Array(first)
        let b = Array(second)
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let substitution = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + substitution)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}

/// The contract writes the global options first (`weighbridgectl --socket S --json status`); the
/// parser takes them on each command, so they are moved to the end, where the command reads them.
func globalOptionsLast(_ arguments: [String]) -> [String] {
    var global: [String] = []
    var rest = arguments[...]
    while let first = rest.first {
        if first == "--json" || first.hasPrefix("--socket=") {
            global.append(first)
            rest = rest.dropFirst()
        } else if first == "--socket", rest.count >= 2 {
            global += rest.prefix(2)
            rest = rest.dropFirst(2)
        } else {
            break
        }
    }
    return Array(rest) + global
}

/// Options every command takes.
struct Connection: ParsableArguments {
    @Option(help: "The control socket (default: $WEIGHBRIDGED_SOCKET, else \(Connection.defaultSocket)).")
    var socket: String?

    @Flag(help: "Print the daemon's JSON reply, for scripts.")
    var json = false

    /// Where the daemon listens unless told otherwise.
    static let defaultSocket = "/run/weighbridged/control.sock"

    var path: String {
        socket ?? ProcessInfo.processInfo.environment["WEIGHBRIDGED_SOCKET"] ?? Self.defaultSocket
    }

    /// Sends the command `make` builds and prints the reply; throws the exit code the contract
    /// gives. A value the protocol refuses (a registration, a weight, a time) is refused here as
    /// the daemon would refuse it: its code, exit 1, and nothing sent.
    func send(
        render: (JSONValue) throws(ControlError) -> String, _ make: () throws -> ControlCommand
    ) throws {
        let command: ControlCommand
        do {
            command = try make()
        } catch let error as ControlError {
            try refuse(error)
        }
        let client: SocketClient
        do {
            client = try SocketClient(path: path)
        } catch {
            FileHandle.standardError.write(Data("weighbridgectl: cannot reach the daemon at \(path): \(error)\n".utf8))
            throw ExitCode(3)
        }
        try client.send(ControlRequest(id: .integer(1), command: command).line)
        while let line = try client.readLine() {
            switch try ControlResponse(line: line) {
            case .ok(_, let result):
                do {
                    print(json ? result.serialized : try render(result))
                } catch {
                    // The daemon did what was asked (a newer one may answer with a word this
                    // version does not know): show its reply as it came rather than call it refused.
                    FileHandle.standardError.write(
                        Data(
                            "weighbridgectl: the daemon answered, but this version cannot read it (\(error.message)):\n"
                                .utf8))
                    print(result.serialized)
                }
                // Each reply as it comes: `tail` into a pipe is read line by line.
                fflush(nil)
            case .error(_, let error):
                try refuse(error)
            }
            guard case .tail = command else { return }
        }
    }

    /// Prints a refusal (as the daemon's reply too, with `--json`) and exits 1.
    private func refuse(_ error: ControlError) throws -> Never {
        if json { print(ControlResponse.error(id: nil, error).line, terminator: "") }
        FileHandle.standardError.write(Data("weighbridgectl: \(error.code.rawValue): \(error.message)\n".utf8))
        throw ExitCode(1)
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "What needs a person (each with the command that deals with it), then the bridges and the outbox.")
    @OptionGroup var connection: Connection
    func run() throws { try connection.send(render: Render.status) { .status } }
}

struct Bridges: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Every bridge with its link and last reading.")
    @OptionGroup var connection: Connection
    func run() throws { try connection.send(render: Render.bridges) { .bridges } }
}

struct Weight: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The live weight on one bridge, or all.")
    @OptionGroup var connection: Connection
    @Argument var bridge: String?
    func run() throws { try connection.send(render: Render.weight) { .weight(bridge: bridge) } }
}

struct Expect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Register an expected movement, by flags or from a movement JSON file.")
    @OptionGroup var connection: Connection
    @Option(help: "A JSON file in the brief's movement representation, with an optional receipt object.")
    var file: String?
    @Option var movement: String?
    @Option(help: "Declared net weight in kg (decimals allowed: 12000.5).") var declaredKg: String?
    @Option(help: "EWC code; repeat for several.") var ewc: [String] = []
    @Option var vehicle: String?
    @Option(help: "RFC 3339 time of the pre-notification.") var prenotifiedAt: String?
    @Option var carrier: String?
    @Option(help: "The wasteTrackingId the carrier already created in Defra's service for this movement.")
    var trackingId: String?

    func validate() throws {
        guard (file == nil) != (movement == nil) else { throw ValidationError("give --file or --movement") }
        if movement != nil, declaredKg == nil || ewc.isEmpty {
            throw ValidationError("--movement needs --declared-kg and at least one --ewc")
        }
    }

    func run() throws {
        let document = try file.map { file in
            guard case .object(let fields) = try readJSON(file) else {
                throw ValidationError("\(file) must hold a JSON object")
            }
            return fields
        }
        try connection.send(render: Render.registered) {
            var arguments: ExpectArguments
            if let document {
                arguments = try ExpectArguments(decoding: document, refusingUnknownFields: true)
            } else {
                arguments = ExpectArguments(
                    try Movement(
                        typedID: movement!, declaredKg: declaredKg!, ewc: ewc, vehicle: vehicle,
                        prenotifiedAt: prenotifiedAt, carrier: carrier))
            }
            if let trackingId {
                try Movement.check(wasteTrackingID: trackingId, argument: "waste_tracking_id")
                arguments.movement.wasteTrackingID = trackingId
            }
            return .expect(arguments)
        }
    }
}

struct Arrive: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Announce a vehicle on a bridge for its next weighing.")
    @OptionGroup var connection: Connection
    @Option var bridge: String
    @Option var movement: String?
    @Option var vehicle: String?
    @Option(
        help: "The carrier's wasteTrackingId, typed or scanned from the paperwork: the receipt updates that record.")
    var trackingId: String?
    func validate() throws {
        guard (movement == nil) != (vehicle == nil) else { throw ValidationError("give --movement or --vehicle") }
    }
    func run() throws {
        try connection.send(render: Render.arrival) {
            .arrive(
                bridge: bridge, target: try ArrivalTargetArgument(movement: movement, vehicle: vehicle),
                trackingID: trackingId)
        }
    }
}

struct Depart: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Withdraw a vehicle's announcement: it left, or was turned away, before it was weighed.")
    @OptionGroup var connection: Connection
    @Option var movement: String?
    @Option var vehicle: String?
    func validate() throws {
        guard (movement == nil) != (vehicle == nil) else { throw ValidationError("give --movement or --vehicle") }
    }
    func run() throws {
        try connection.send(render: Render.arrival) {
            .depart(target: try ArrivalTargetArgument(movement: movement, vehicle: vehicle))
        }
    }
}

/// A listing's page options: how many rows, and from which cursor down.
struct Paging: ParsableArguments {
    @Option(
        help:
            "How many rows, newest first (default \(ControlProtocol.defaultListLimit), at most \(ControlProtocol.maximumListLimit))."
    )
    var limit: Int?
    @Option(help: "List the rows older than this cursor (the next page's, as the previous page printed it).")
    var before: Int64?

    /// The page asked for, checked as the daemon checks it.
    func page() throws(ControlError) -> ListPage {
        let page = ListPage(limit: limit ?? ControlProtocol.defaultListLimit, before: before)
        try page.check()
        return page
    }
}

struct Movements: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List movements, newest first, optionally in one state, a page at a time.")
    @OptionGroup var connection: Connection
    @Option(help: "expected, arrived, weighing, confirmed, discrepancy, held or rejected.") var state: String?
    @OptionGroup var paging: Paging
    func run() throws {
        try connection.send(render: Render.movements(state)) {
            .movements(state: try state.map { try MovementState(argument: $0) }, page: try paging.page())
        }
    }
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "A movement with its weighings, decisions and reports.")
    @OptionGroup var connection: Connection
    @Argument var movement: String
    func run() throws { try connection.send(render: Render.movement) { .show(movement: movement) } }
}

/// The shape of the five movement overrides: an id and a mandatory reason.
protocol MovementOverride: ParsableCommand {
    static var command: (_ movement: String, _ reason: String) -> ControlCommand { get }
    var connection: Connection { get }
    var movement: String { get }
    var reason: String { get }
}

extension MovementOverride {
    func run() throws {
        try connection.send(render: Render.change) { Self.command(movement, reason) }
    }
}

struct Confirm: MovementOverride {
    static let configuration = CommandConfiguration(
        abstract: "Confirm receipt despite the rules (recorded with your reason).")
    static let command = ControlCommand.confirm
    @OptionGroup var connection: Connection
    @Argument var movement: String
    @Option var reason: String
}

struct Correct: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replace a movement's Defra receipt data; an accepted receipt is corrected with a PUT.",
        discussion: """
            The file holds the receipt object (Defra's field names, as under "receipt" in expect --file). \
            It is checked as a first receipt is. Before the receipt is accepted, the new data is what will \
            be sent; after, a PUT to its wasteTrackingId is queued. Every version sent is listed by show.
            """)
    @OptionGroup var connection: Connection
    @Argument var movement: String
    @Option(help: "A JSON file holding the corrected receipt object.") var file: String
    @Option var reason: String
    func run() throws {
        let receipt = try readJSON(file)
        guard case .object = receipt else {
            throw ValidationError("\(file) must hold a JSON object (the receipt data)")
        }
        try connection.send(render: Render.correction) {
            .correct(movement: movement, receipt: receipt.serialized, reason: reason)
        }
    }
}

struct Discrepancy: MovementOverride {
    static let configuration = CommandConfiguration(abstract: "Raise a Discrepancy for a weighed movement.")
    static let command = ControlCommand.discrepancy
    @OptionGroup var connection: Connection
    @Argument var movement: String
    @Option var reason: String
}

struct Reject: MovementOverride {
    static let configuration = CommandConfiguration(abstract: "Reject the load: nothing is reported as received.")
    static let command = ControlCommand.reject
    @OptionGroup var connection: Connection
    @Argument var movement: String
    @Option var reason: String
}

struct Hold: MovementOverride {
    static let configuration = CommandConfiguration(abstract: "Stop automatic decisions for a movement.")
    static let command = ControlCommand.hold
    @OptionGroup var connection: Connection
    @Argument var movement: String
    @Option var reason: String
}

struct Release: MovementOverride {
    static let configuration = CommandConfiguration(abstract: "Let the rules decide again (with today's data).")
    static let command = ControlCommand.release
    @OptionGroup var connection: Connection
    @Argument var movement: String
    @Option var reason: String
}

struct Attach: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Attach an unattributed weighing (ticket) to a movement.")
    @OptionGroup var connection: Connection
    @Argument var ticket: Int64
    @Argument var movement: String
    @Option var reason: String
    func run() throws {
        try connection.send(render: Render.change) { .attach(ticket: ticket, movement: movement, reason: reason) }
    }
}

struct Tare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stored (preset) tares.", subcommands: [TareSet.self, TareList.self, TareExpire.self])

    struct TareSet: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set", abstract: "Store a vehicle's tare until a time.")
        @OptionGroup var connection: Connection
        @Argument var vehicle: String
        @Option(help: "Tare in kg.") var tareKg: String
        @Option(help: "RFC 3339 time it stops being valid.") var expiresAt: String
        @Option var reason: String
        func run() throws {
            try connection.send(render: Render.storedTare) {
                .tareSet(
                    vehicle: try VehicleRegistration(argument: vehicle),
                    tare: try Mass(argument: tareKg, name: "tare_kg"),
                    expiresAt: try Timestamp(argument: expiresAt, name: "expires_at"), reason: reason)
            }
        }
    }

    struct TareList: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Every stored tare.")
        @OptionGroup var connection: Connection
        func run() throws { try connection.send(render: Render.tareList) { .tareList } }
    }

    struct TareExpire: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "expire", abstract: "End a stored tare now.")
        @OptionGroup var connection: Connection
        @Argument var vehicle: String
        @Option var reason: String
        func run() throws {
            try connection.send(render: Render.tareExpiry) {
                .tareExpire(vehicle: try VehicleRegistration(argument: vehicle), reason: reason)
            }
        }
    }
}

struct Outbox: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reports waiting for, or gone through, the API, newest first, a page at a time.")
    @OptionGroup var connection: Connection
    @Option(help: "pending, sending, done, retry_wait, parked or unknown.") var state: String?
    @OptionGroup var paging: Paging
    func run() throws {
        try connection.send(render: Render.outbox(state)) {
            .outbox(state: try state.map { try OutboxState(argument: $0) }, page: try paging.page())
        }
    }
}

struct Retry: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Send a waiting or parked report now.")
    @OptionGroup var connection: Connection
    @Argument var entry: Int64?
    @Flag var all = false
    @Option var reason: String
    func validate() throws { guard (entry == nil) == all else { throw ValidationError("give an entry or --all") } }
    func run() throws {
        try connection.send(render: Render.retried) { .retry(entry.map(RetryTarget.entry) ?? .all, reason: reason) }
    }
}

struct Park: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop retrying a report.")
    @OptionGroup var connection: Connection
    @Argument var entry: Int64
    @Option var reason: String
    func run() throws { try connection.send(render: Render.report) { .park(entry: entry, reason: reason) } }
}

struct Resolve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Settle a report whose outcome is unknown: record the id found in the service, or resend.")
    @OptionGroup var connection: Connection
    @Argument var entry: Int64
    @Option var trackingId: String?
    @Flag var resend = false
    @Option var reason: String
    func validate() throws {
        guard (trackingId == nil) == resend else { throw ValidationError("give --tracking-id or --resend") }
    }
    func run() throws {
        try connection.send(render: Render.report) { .resolve(entry: entry, trackingID: trackingId, reason: reason) }
    }
}

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The audit log.", subcommands: [Verify.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the hash chain from the first entry to the last.")
        @OptionGroup var connection: Connection
        func run() throws {
            try connection.send(render: Render.auditVerification) { .auditVerify }
        }
    }
}

struct Tail: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Follow events live (weighings, decisions, overrides).")
    @OptionGroup var connection: Connection
    func run() throws {
        try connection.send(render: Render.tail) { .tail }
    }
}

/// A JSON file's content, or a usage error naming the file.
func readJSON(_ file: String) throws -> JSONValue {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
        throw ValidationError("cannot read \(file): \(error.localizedDescription)")
    }
    do {
        return try JSONValue(parsing: Array(data))
    } catch {
        throw ValidationError("\(file) is not JSON: \(error)")
    }
}

extension Movement {
    /// A movement from `expect`'s flags, each checked as the daemon checks the same field.
    init(
        typedID id: String, declaredKg: String, ewc: [String], vehicle: String?, prenotifiedAt: String?,
        carrier: String?
    ) throws(ControlError) {
        let declared = try Mass(argument: declaredKg, name: "declared_weight_kg")
        let codes = try ewc.map { text throws(ControlError) in try EWCCode(argument: text, name: "ewc_codes") }
        let prenotified = try prenotifiedAt.map { text throws(ControlError) in
            try Timestamp(argument: text, name: "prenotified_at")
        }
        let registration = try vehicle.map { text throws(ControlError) in
            try VehicleRegistration(argument: text, name: "vehicle_registration")
        }
        do {
            self = try Movement(
                id: id, declared: declared, ewcCodes: codes, vehicle: registration, carrier: carrier,
                prenotifiedAt: prenotified)
        } catch {
            throw ControlError(.invalidArgument, error.description)
        }
    }
}
