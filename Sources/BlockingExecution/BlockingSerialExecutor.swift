import Dispatch

/// A serial executor of its own: jobs run one at a time on a private dispatch queue (a thread
/// borrowed from Dispatch, not from the cooperative pool). The adapters that make blocking C calls
/// (an fsync per SQLite commit, a Modbus request waiting for its reply) use one each as their
/// actor's executor, so those calls never starve the cooperative thread pool.
///
/// `DispatchSerialQueue` does not exist on Linux, hence this small adapter.
public final class BlockingSerialExecutor: SerialExecutor {
    private let queue: DispatchQueue

    /// An executor on a new serial queue named `label`.
    public init(label: String) {
        queue = DispatchQueue(label: label)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedSerialExecutor()) }
    }
}
