internal import CSystemd
import Foundation
public import WeighbridgeCore

/// One log event: a short message and the structured fields to filter on (docs/configuration.md,
/// "journald": BRIDGE=, MOVEMENT_ID=, VEHICLE=, TICKET=, OPERATOR=, …).
public struct LogEvent: Sendable, Hashable {
    public var severity: Severity
    public var message: String
    /// Field names are upper case letters, digits and underscores; values are free text.
    public var fields: [String: String]

    public init(_ severity: Severity, _ message: String, _ fields: [String: String] = [:]) {
        self.severity = severity
        self.message = message
        self.fields = fields
    }
}

/// Where the daemon's log lines go: the native journal protocol when systemd connected our
/// stderr to the journal (so every field is kept), otherwise stderr with `<N>` priority
/// prefixes, which journald and syslog-style collectors both understand.
public struct Journal: Sendable {
    /// The two ways out.
    public enum Destination: Sendable, Hashable {
        case native
        case standardError
    }

    public let destination: Destination
    /// The least severe event written.
    public let threshold: Severity
    /// A journal writing to `destination`, dropping events below `threshold`.
    public init(destination: Destination, threshold: Severity) {
        self.destination = destination
        self.threshold = threshold
    }

    /// Native when `$JOURNAL_STREAM` names the device and inode of our stderr, as systemd sets it
    /// for a service whose output goes to the journal (systemd.exec(5)); stderr otherwise.
    public static func automatic(threshold: Severity) -> Journal {
        var destination = Destination.standardError
        if let stream = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] {
            let parts = stream.split(separator: ":")
            var info = stat()
            if parts.count == 2, fstat(2, &info) == 0, UInt64(parts[0]) == UInt64(info.st_dev),
                UInt64(parts[1]) == UInt64(info.st_ino)
            {
                destination = .native
            }
        }
        return Journal(destination: destination, threshold: threshold)
    }

    /// Writes `event` if it is at least as severe as the threshold. Never fails: a log line that
    /// cannot be written must not stop a weighing from being recorded.
    public func log(_ event: LogEvent) {
        guard event.severity >= threshold else { return }
        switch destination {
        case .native: sendNative(event)
        case .standardError: writeStandardError(event)
        }
    }

    private func sendNative(_ event: LogEvent) {
        var entries = [
            "MESSAGE=\(event.message)", "PRIORITY=\(event.severity.rawValue)", "SYSLOG_IDENTIFIER=weighbridged",
        ]
        for (name, value) in event.fields.sorted(by: { $0.key < $1.key }) where Self.isValidFieldName(name) {
            entries.append("\(name)=\(value)")
        }
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
        if sd_journal_sendv(&vectors, Int32(vectors.count)) < 0 {
            writeStandardError(event)
        }
    }

    private func writeStandardError(_ event: LogEvent) {
        let fields = event.fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let line = "<\(event.severity.rawValue)>\(event.message)\(fields.isEmpty ? "" : " " + fields)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// journald accepts upper-case letters, digits and underscores, not starting with an
    /// underscore (those are trusted fields it sets itself) or a digit.
    public static func isValidFieldName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first != UInt8(ascii: "_"), !(48...57).contains(first), name.utf8.count <= 64
        else { return false }
        return name.utf8.allSatisfy { (65...90).contains($0) || (48...57).contains($0) || $0 == UInt8(ascii: "_") }
    }
}
