internal import Logging
internal import ServiceLifecycle
internal import WeighbridgeASCII
internal import WeighbridgeCore
internal import WeighbridgeJournal
internal import WeighbridgeModbus
internal import WeighbridgeStore

/// A bridge's acquisition loop, whatever its indicator speaks: Modbus (`BridgeAcquisition`) or
/// ASCII (`StreamAcquisition`).
protocol BridgeLoop: Sendable {
    /// The bridge's name.
    var name: String { get }

    /// Reads until cancelled, passing every event to `handle`; an error `handle` throws ends it.
    func run(_ handle: nonisolated(nonsending) @Sendable (AcquisitionEvent) async throws -> Void) async throws
}

extension BridgeAcquisition: BridgeLoop {
    var name: String { bridge.name }
}

extension StreamAcquisition: BridgeLoop {
    var name: String { bridge.name }
}

/// Polls one bridge and records every certified capture through the desk before anything else
/// happens. A capture the store cannot write for a passing reason (the disk is full, an I/O
/// error) is held in memory and retried while the bridge's polling waits: no further weighing is
/// taken that could not be kept either, and once space returns the capture is recorded as weighed.
/// Any other failure stops the daemon (systemd restarts it), having logged the evidence.
struct AcquisitionService: Service {
    let loop: any BridgeLoop
    /// The bridge's verification interval e, recorded with each weighing.
    let division: Mass
    let desk: MovementDesk
    let live: LiveBridges
    let logger: Logger
    let delivery: DeliveryService

    /// Store failures that pass on their own (space is freed, the disk answers again); the others
    /// (a refused constraint, corruption) would fail the same way at every attempt.
    private static let passingFailures: Set<StoreError.Code> = [.diskFull, .io, .busy]
    /// Waits between attempts to record a held capture: 250 ms doubling to 5 s, well inside the
    /// watchdog's tolerance for a silent loop.
    private static let heldCaptureRetry = Backoff(base: .milliseconds(250), cap: .seconds(5))

    func run() async throws {
        let name = loop.name
        try await cancelWhenGracefulShutdown {
            try await loop.run { event in
                try await handle(event, bridge: name)
            }
        }
    }

    private func handle(_ event: AcquisitionEvent, bridge name: String) async throws {
        let fields: Logger.Metadata = ["BRIDGE": "\(name)"]
        switch event {
        case .connected(let instrumentID):
            let wasDown = live.bridge(name).map { !$0.connected && $0.polled } ?? false
            live.update(name) {
                if wasDown { $0.reconnects += 1 }
                $0.connected = true
                $0.failures = 0
                $0.lastError = nil
                $0.instrumentID = instrumentID
            }
            logger.notice(
                "bridge \(name) \(wasDown ? "reconnected" : "connected"): \(instrumentID ?? "instrument id not readable")",
                metadata: fields)
        case .pollFailed(let error, let consecutive):
            live.update(name) {
                $0.connected = false
                $0.pollErrors += 1
                $0.failures = consecutive
                $0.lastError = error.description
            }
            // Once when it starts, then every 100th: an outage must not flood the journal.
            if consecutive == 1 || consecutive % 100 == 0 {
                logger.warning("bridge \(name) unreachable (\(consecutive) failed polls): \(error)", metadata: fields)
            }
        case .badReading(let error):
            // Logged when it starts (or changes), not at every poll while it lasts.
            let repeated = live.bridge(name)?.lastError == error.description
            live.update(name) { $0.lastError = error.description }
            if !repeated {
                logger.warning("bridge \(name) sent an unusable reading: \(error)", metadata: fields)
            }
        case .notice(let note):
            logger.notice("bridge \(name): \(note)", metadata: fields)
        case .reading(let reading, let phase, let at):
            live.update(name) {
                $0.connected = true
                $0.reading = reading
                $0.phase = phase
                $0.readingAt = at
            }
        case .captured(let captured):
            try await record(captured, bridge: name)
        }
    }

    private func record(_ captured: CapturedWeighing, bridge name: String) async throws {
        let evidence = WeighingEvidence(
            bridge: name, weight: captured.capture.sample.weight, division: division,
            weighedAt: captured.at, status: captured.reading.status, legalID: captured.capture.legalCounter,
            instrumentID: captured.instrumentID, raw: captured.raw, route: .unannounced)
        let outcome = try await recordHolding(evidence, bridge: name)
        live.update(name) { $0.captures += 1 }
        switch outcome {
        case .movement(let id, let weighing, let notices):
            var fields: Logger.Metadata = [
                "BRIDGE": "\(name)", "MOVEMENT_ID": "\(id)", "TICKET": "\(weighing.ticket)",
                "WEIGHING_ID": "\(weighing.ticket)",
            ]
            logger.info(
                "captured \(weighing.evidence.weight) on \(name), ticket \(weighing.ticket), for \(id)",
                metadata: fields)
            if !notices.isEmpty, let decision = try? await desk.store.read({ try $0.decisions(ofMovement: id).last }) {
                fields["DECISION"] = "\(decision.outcome.rawValue)"
                fields["DECLARED_KG"] = "\(decision.declared.formatted(in: .kilograms))"
                if let net = decision.net { fields["NET_KG"] = "\(net.formatted(in: .kilograms))" }
                if let deviation = decision.deviationPercent { fields["DEVIATION_PCT"] = "\(deviation)" }
                fields["HIGH_RISK"] = decision.highRisk ? "1" : "0"
            }
            for notice in notices {
                logger.log(level: notice.severity.loggerLevel, "movement \(id): \(notice.sentence)", metadata: fields)
            }
            delivery.wake()
        case .unattributed(let weighing):
            logger.warning(
                """
                captured \(weighing.evidence.weight) on \(name), ticket \(weighing.ticket), held unattributed \
                (\(weighing.evidence.route.sentence)): attach it with weighbridgectl attach
                """,
                metadata: ["BRIDGE": "\(name)", "TICKET": "\(weighing.ticket)", "WEIGHING_ID": "\(weighing.ticket)"])
        }
    }
}

extension AcquisitionService {
    /// Records `evidence`, holding it through passing store failures until it is recorded; the
    /// loop waits meanwhile. Logged when the hold starts, every 60th attempt, and when it ends.
    /// A hold ended by shutdown, or any other failure, logs the evidence in full at error level
    /// (nothing was acknowledged: the driver has no ticket) and rethrows.
    private func recordHolding(_ evidence: WeighingEvidence, bridge name: String) async throws -> CaptureOutcome {
        let weight = evidence.weight
        var fields: Logger.Metadata = [
            "BRIDGE": "\(name)", "WEIGHT_KG": "\(weight.formatted(in: .kilograms))",
            "WEIGHED_AT": "\(evidence.weighedAt.rfc3339)",
        ]
        switch evidence.raw {
        case .registers(let registers): fields["RAW_REGISTERS"] = "\(registers.map(String.init).joined(separator: " "))"
        case .frame(let bytes): fields["RAW_FRAME"] = "\(bytes.escapedASCII)"
        }
        if let legalID = evidence.legalID { fields["LEGAL_ID"] = "\(legalID)" }
        let heldSince = ContinuousClock.now
        var attempts = 0
        // Where the weighing belongs, as the board stood when it was weighed: taken at the first
        // failed attempt (which changed nothing), kept for the retries however the board changes.
        var route: WeighingRoute?
        while true {
            do {
                let outcome = try await desk.recordCapture(evidence, route: route)
                if attempts > 0 {
                    let held = (ContinuousClock.now - heldSince).wholeMilliseconds
                    live.update(name) {
                        $0.lastError = nil
                        $0.heldWeighing = nil
                    }
                    logger.notice(
                        """
                        weighing on \(name) of \(weight) recorded after being held \(held) ms \
                        (\(attempts) failed attempts)
                        """, metadata: fields)
                }
                return outcome
            } catch let error as StoreError where Self.passingFailures.contains(error.code) {
                attempts += 1
                if route == nil { route = try? await desk.route(captureOn: name, at: evidence.weighedAt) }
                let problem = "weighing of \(weight) held, not yet recorded: \(error)"
                live.update(name) {
                    $0.lastError = problem
                    $0.heldWeighing = weight
                }
                if attempts == 1 || attempts % 60 == 0 {
                    logger.error(
                        """
                        weighing on \(name) of \(weight) could not be recorded (\(error)): held in \
                        memory and retried; the bridge takes no other weighing until it is recorded
                        """, metadata: fields)
                }
                do {
                    try await Task.sleep(for: Self.heldCaptureRetry.ceiling(attempt: attempts - 1))
                } catch {
                    logger.error("weighing on \(name) of \(weight) was NOT recorded before shutdown", metadata: fields)
                    throw error
                }
            } catch {
                logger.error("weighing on \(name) of \(weight) could NOT be recorded: \(error)", metadata: fields)
                throw error
            }
        }
    }
}
