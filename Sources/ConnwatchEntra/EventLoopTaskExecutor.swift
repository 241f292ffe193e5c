import NIOCore
import NIOPosix
import Synchronization

/// Runs Swift tasks on the SwiftNIO event loops the HTTP client uses. A check that prefers
/// one of these executors (`withTaskExecutorPreference`) awaits its HTTP replies without a
/// thread switch per request between Swift's global pool and the event loop.
public final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    private let loop: any EventLoop

    init(loop: any EventLoop) { self.loop = loop }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// One executor per loop of the shared event loop group, handed out in turn.
    public static func next() -> EventLoopTaskExecutor { pool.next() }

    private static let pool = Pool()

    private final class Pool: @unchecked Sendable {
        let executors: [EventLoopTaskExecutor]
        let counter = Atomic<Int>(0)

        init() {
            executors = MultiThreadedEventLoopGroup.singleton.makeIterator().map { EventLoopTaskExecutor(loop: $0) }
        }

        func next() -> EventLoopTaskExecutor {
            executors[counter.wrappingAdd(1, ordering: .relaxed).oldValue % executors.count]
        }
    }
}
