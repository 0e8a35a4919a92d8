import Foundation
import WeighbridgeControlProtocol
import WeighbridgeJSON

/// A blocking Unix-socket client: one request line out, reply lines back. The CLI needs nothing
/// more, so it stays free of an event loop.
final class SocketClient {
    private let descriptor: Int32
    private var buffer: [UInt8] = []

    init(path: String) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(errno) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(descriptor)
            throw POSIXError(ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes + [0]) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            close(descriptor)
            throw POSIXError(code)
        }
    }

    deinit { close(descriptor) }

    func send(_ line: String) throws {
        var remaining = Array(line.utf8)[...]
        while !remaining.isEmpty {
            let written = remaining.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard written > 0 else { throw POSIXError(errno) }
            remaining = remaining.dropFirst(written)
        }
    }

    /// The next line without its newline; nil when the daemon closed the connection.
    func readLine() throws -> [UInt8]? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else {
                if count < 0 { throw POSIXError(errno) }
                return nil
            }
            buffer += chunk.prefix(count)
        }
    }
}

extension POSIXError {
    init(_ code: Int32) {
        self.init(POSIXErrorCode(rawValue: code) ?? .EIO)
    }
}

/// Human output: objects as aligned "key  value" lines, arrays of objects as tables.
enum Render {
    static func value(_ value: JSONValue) -> String {
        switch value {
        case .object(let fields):
            let width = fields.keys.map(\.count).max() ?? 0
            return fields.sorted { $0.key < $1.key }.map { key, value in
                key.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + inline(value)
            }.joined(separator: "\n")
        case .array(let items) where items.allSatisfy({ if case .object = $0 { true } else { false } }):
            return table(value)
        default:
            return inline(value)
        }
    }

    static func table(_ value: JSONValue) -> String {
        guard case .array(let rows) = value, !rows.isEmpty else { return "(none)" }
        let objects = rows.compactMap { row -> [String: JSONValue]? in
            if case .object(let fields) = row { fields } else { nil }
        }
        let preferred = [
            "movement_id", "id", "name", "link", "weight_kg", "state", "vehicle", "bridge", "declared_kg",
            "net_kg", "kind", "attempts", "tare_kg", "expires_at", "valid", "last_error",
        ]
        let present = Set(objects.flatMap(\.keys))
        let columns = preferred.filter(present.contains)
        let cells = objects.map { object in columns.map { object[$0].map(inline) ?? "" } }
        let widths = columns.indices.map { index in max(columns[index].count, cells.map { $0[index].count }.max() ?? 0)
        }
        func line(_ values: [String]) -> String {
            zip(values, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        return ([line(columns.map { $0.uppercased() })] + cells.map(line)).joined(separator: "\n")
    }

    /// A page of a listing as a table of its `rows` field, followed, when older rows remain, by
    /// the command that lists the next page (`command`, with `--state` if one was given).
    static func listing(_ rows: String, next command: String, _ state: String?) -> (JSONValue) -> String {
        { value in
            guard case .object(let fields) = value, let page = fields[rows] else { return Render.value(value) }
            guard case .number(let cursor)? = fields["next_before"] else { return table(page) }
            return table(page) + "\nolder: \(command)\(state.map { " --state \($0)" } ?? "") --before \(cursor)"
        }
    }

    static func inline(_ value: JSONValue) -> String {
        switch value {
        case .null: "-"
        case .bool(let flag): flag ? "yes" : "no"
        case .number(let text), .string(let text): text
        case .array(let items): items.map(inline).joined(separator: ", ")
        case .object: value.serialized
        }
    }
}

extension JSONValue {
    var text: String { Render.inline(self) }
}
