internal import Glibc

/// An exclusive lock on `<database>.lock`, held for as long as the store is open: one daemon per
/// store. A second one would turn the first one's reports in flight into `unknown` when it opened
/// the store, and poll the indicators twice. The kernel drops the lock when the process dies, so
/// a crash never leaves it behind.
final class StoreLock {
    private let descriptor: Int32

    /// Takes the lock, or fails at once (`busy`) when another process holds it.
    init(database path: String) throws(StoreError) {
        let lockPath = path + ".lock"
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else {
            let reason = String(cString: strerror(errno))
            throw StoreError(code: .cannotOpen, operation: "lock \(lockPath)", message: reason)
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let failure = errno
            close(descriptor)
            guard failure == EWOULDBLOCK else {
                throw StoreError(
                    code: .cannotOpen, operation: "lock \(lockPath)", message: String(cString: strerror(failure)))
            }
            throw StoreError(
                code: .busy, operation: "open \(path)",
                message: "another weighbridged is already using this store (it holds \(lockPath)); "
                    + "stop it first (systemctl stop weighbridged)")
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }
}

@available(*, unavailable)
extension StoreLock: Sendable {}
