public import Logging
import Synchronization

/// Keeps every line logged through its loggers, for tests that read what the daemon (and the
/// libraries it hands its logger to) said without a journald to read it from.
public final class CapturedLog: Sendable {
    /// One log line as it was logged.
    public struct Line: Sendable, Hashable {
        public var level: Logger.Level
        public var message: String
        public var metadata: [String: String]
        /// The module that logged it (`ServiceLifecycle`, `WeighbridgeDaemon`, …).
        public var source: String
    }

    private let captured = Mutex<[Line]>([])

    public init() {}

    /// Every line so far, oldest first.
    public var lines: [Line] { captured.withLock { $0 } }

    /// A logger whose lines are kept here, from `level` up.
    public func logger(level: Logger.Level) -> Logger {
        Logger(label: "captured") { _ in Handler(log: self, logLevel: level) }
    }

    fileprivate func append(_ line: Line) { captured.withLock { $0.append(line) } }

    private struct Handler: LogHandler {
        let log: CapturedLog
        var logLevel: Logger.Level
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
            log.append(
                Line(
                    level: event.level, message: event.message.description,
                    metadata: merged.mapValues { "\($0)" }, source: event.source))
        }
    }
}
