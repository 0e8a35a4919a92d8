internal import CSystemd
import Foundation
public import Logging
public import WeighbridgeCore

/// Where the daemon's log lines go: the native journal protocol when systemd connected our
/// stderr to the journal (so every field is kept), otherwise stderr with `<N>` priority
/// prefixes, which journald and syslog-style collectors both understand.
public struct Journal: Sendable, Hashable {
    /// The two ways out.
    public enum Destination: Sendable, Hashable {
        case native
        case standardError
    }

    public let destination: Destination

    public init(destination: Destination) {
        self.destination = destination
    }

    /// Native when `$JOURNAL_STREAM` names the device and inode of our stderr, as systemd sets it
    /// for a service whose output goes to the journal (systemd.exec(5)); stderr otherwise.
    public static func automatic() -> Journal {
        if let stream = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] {
            let parts = stream.split(separator: ":")
            var info = stat()
            if parts.count == 2, fstat(2, &info) == 0, UInt64(parts[0]) == UInt64(info.st_dev),
                UInt64(parts[1]) == UInt64(info.st_ino)
            {
                return Journal(destination: .native)
            }
        }
        return Journal(destination: .standardError)
    }

    /// A logger whose lines go here, dropping those below `level`.
    public func logger(label: String = "weighbridged", level: Severity) -> Logger {
        Logger(label: label) { _ in JournalLogHandler(journal: self, level: level.loggerLevel) }
    }

    /// Writes one entry. Never fails: a log line that cannot be written must not stop a weighing
    /// from being recorded. On the native protocol `source` adds systemd's CODE_FILE, CODE_LINE
    /// and CODE_FUNC fields; on stderr it is left out.
    func write(priority: Int, message: String, fields: [(String, String)], source: SourceLocation) {
        switch destination {
        case .native:
            let code = [
                ("CODE_FILE", source.file), ("CODE_LINE", String(source.line)), ("CODE_FUNC", source.function),
            ]
            if !sendNative(priority: priority, message: message, fields: fields + code) {
                writeStandardError(priority: priority, message: message, fields: fields)
            }
        case .standardError:
            writeStandardError(priority: priority, message: message, fields: fields)
        }
    }

    struct SourceLocation {
        var file: String
        var line: UInt
        var function: String
    }

    private func sendNative(priority: Int, message: String, fields: [(String, String)]) -> Bool {
        var entries = ["MESSAGE=\(message)", "PRIORITY=\(priority)", "SYSLOG_IDENTIFIER=weighbridged"]
        entries += fields.map { "\($0.0)=\($0.1)" }
        // libsystemd frames each entry itself (binary-safe for values with newlines) and passes
        // messages too large for one datagram through a memfd.
        let buffers = entries.map { Array($0.utf8) }
        let storage = buffers.map { bytes -> UnsafeMutableRawPointer in
            let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
            pointer.copyMemory(from: bytes, byteCount: bytes.count)
            return pointer
        }
        defer { storage.forEach { $0.deallocate() } }
        var vectors = zip(storage, buffers).map { iovec(iov_base: $0, iov_len: $1.count) }
        return sd_journal_sendv(&vectors, Int32(vectors.count)) >= 0
    }

    private func writeStandardError(priority: Int, message: String, fields: [(String, String)]) {
        let rendered = fields.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
        let line = "<\(priority)>\(message)\(rendered.isEmpty ? "" : " " + rendered)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// journald accepts upper-case letters, digits and underscores, not starting with an
    /// underscore (those are trusted fields it sets itself) or a digit.
    public static func isValidFieldName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first != UInt8(ascii: "_"), !(48...57).contains(first), name.utf8.count <= 64
        else { return false }
        return name.utf8.allSatisfy { (65...90).contains($0) || (48...57).contains($0) || $0 == UInt8(ascii: "_") }
    }

    /// A metadata key as a journal field name: the daemon's keys (BRIDGE, MOVEMENT_ID, …) as they
    /// are; a library's (`sl-service.name`) upper-cased with every other character an
    /// underscore. Nil for a key that still cannot be a field (it starts with `_` or a digit).
    public static func fieldName(forMetadataKey key: String) -> String? {
        let mapped = String(
            String.UnicodeScalarView(
                key.unicodeScalars.map { scalar in
                    switch scalar {
                    case "A"..."Z", "0"..."9", "_": scalar
                    case "a"..."z": Unicode.Scalar(scalar.value - 32) ?? "_"
                    default: "_"
                    }
                }))
        return isValidFieldName(mapped) ? mapped : nil
    }
}

/// swift-log's way into the journal: the daemon's loggers, and those it hands to libraries
/// (swift-service-lifecycle's among them), write through it; metadata become journal fields.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    private let journal: Journal

    public init(journal: Journal, level: Logger.Level) {
        self.journal = journal
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        let fields = merged.compactMap { key, value in Journal.fieldName(forMetadataKey: key).map { ($0, "\(value)") } }
            .sorted { $0.0 < $1.0 }
        journal.write(
            priority: event.level.syslogPriority, message: event.message.description, fields: fields,
            source: .init(file: event.file, line: event.line, function: event.function))
    }
}

extension Logger.Level {
    /// The syslog priority journald files it under (trace has none of its own: debug).
    var syslogPriority: Int {
        switch self {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}

extension Severity {
    /// The swift-log level of the same name.
    public var loggerLevel: Logger.Level {
        switch self {
        case .error: .error
        case .warning: .warning
        case .notice: .notice
        case .info: .info
        case .debug: .debug
        }
    }
}
