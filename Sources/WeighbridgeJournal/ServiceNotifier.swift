import Foundation

/// The systemd notify protocol (sd_notify(3)): datagrams of `KEY=value` lines to the socket in
/// `$NOTIFY_SOCKET`. READY=1 once the store is open and the bridges are polled, STATUS= with a
/// one-line summary, WATCHDOG=1 from the loops that matter, STOPPING=1 on the way out.
/// Without `$NOTIFY_SOCKET` (not started by systemd) every call does nothing.
public struct ServiceNotifier: Sendable {
    /// The socket path; a leading "@" names an abstract socket.
    public let socketPath: String?
    /// How often systemd expects WATCHDOG=1 (`$WATCHDOG_USEC`), if it does.
    public let watchdogInterval: Duration?

    /// A notifier for `socketPath` (tests), or from the environment systemd sets.
    public init(socketPath: String?, watchdogInterval: Duration? = nil) {
        self.socketPath = socketPath
        self.watchdogInterval = watchdogInterval
    }

    /// The notifier systemd's environment describes.
    public static func fromEnvironment() -> ServiceNotifier {
        let environment = ProcessInfo.processInfo.environment
        let interval = environment["WATCHDOG_USEC"].flatMap(Int64.init).map { Duration.microseconds($0) }
        return ServiceNotifier(socketPath: environment["NOTIFY_SOCKET"], watchdogInterval: interval)
    }

    public func ready(status: String) { send("READY=1\nSTATUS=\(status)") }
    public func status(_ text: String) { send("STATUS=\(text)") }
    public func watchdog() { send("WATCHDOG=1") }
    public func stopping() { send("STOPPING=1") }

    /// Sends one datagram. Failures are ignored on purpose: systemd being unreachable must not
    /// stop the daemon (the watchdog, if configured, will notice).
    public func send(_ message: String) {
        guard let socketPath, !socketPath.isEmpty else { return }
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(socketPath.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }
        guard path.count < MemoryLayout.size(ofValue: address.sun_path) else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count + (path.first == 0 ? 0 : 1))
        let bytes = Array(message.utf8)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bytes.withUnsafeBytes { sendto(descriptor, $0.baseAddress, $0.count, 0, pointer, length) }
            }
        }
    }
}
