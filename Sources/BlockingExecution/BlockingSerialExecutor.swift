import Dispatch

/// A serial executor of its own: jobs run one at a time on a private dispatch queue (a thread
/// borrowed from Dispatch, not from the cooperative pool). The adapters that make blocking C calls
/// (an fsync per SQLite commit, a Modbus request waiting for its reply) use one each as their
/// actor's executor, so those calls never starve the cooperative thread pool.
///
/// `DispatchSerialQueue` does not exist on Linux, hence this small adapter.
public final class BlockingSerialExecutor: SerialExecutor, TaskExecutor {
    private let queue: DispatchQueue

    /// An executor on a new serial queue named `label`.
    public init(label: String) {
        queue = DispatchQueue(label: label)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async {
            job.runSynchronously(isolatedTo: self.asUnownedSerialExecutor(), taskExecutor: self.asUnownedTaskExecutor())
        }
    }

    /// Runs `work` on this executor's queue once `delay` has passed: a timer of its own, so that an
    /// actor waking from a sleep needs no thread of the shared concurrency pool (which a busy
    /// process may hold for hundreds of milliseconds), only its own queue.
    public func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) {
        let (seconds, attoseconds) = delay.components
        // Up to a year: longer than any wait here, and far from overflowing.
        let nanoseconds = min(max(0, seconds), 31_536_000) * 1_000_000_000 + max(0, attoseconds) / 1_000_000_000
        queue.asyncAfter(deadline: .now() + .nanoseconds(Int(clamping: nanoseconds)), execute: work)
    }
}
