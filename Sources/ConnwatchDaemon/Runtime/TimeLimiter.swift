import Synchronization

/// Bounds how long an operation may run, with one shared timer for every operation in
/// flight instead of a sleeping task per operation.
///
/// A `Task.sleep` raced against each connector check cannot be taken back: cancelling it
/// resumes the waiter, but the sleep's own task and its dispatch timer live until the
/// sleep would have ended — 180 s after every check, ~10,000 of them (about 9 MB) during a
/// 10,000-connector cycle (BENCHMARKS.md). Here a single loop wakes once per `tick` while
/// something is armed, cancels what is overdue, and ends when nothing is left; an idle
/// daemon has no timer at all.
final class TimeLimiter: Sendable {
    private struct Entry {
        var deadline: ContinuousClock.Instant
        var expire: @Sendable () -> Void
    }

    private struct State {
        var nextID: UInt64 = 0
        var armed: [UInt64: Entry] = [:]
        var looping = false
        var wakeups = 0
    }

    private let state = Mutex(State())
    /// How late past its deadline an operation may be cancelled, at most.
    let tick: Duration

    init(tick: Duration = .seconds(1)) {
        self.tick = tick
    }

    /// Runs `operation` in its own task; when it is still running `limit` from now, cancels
    /// it and returns nil (an operation that ignores cancellation is still awaited).
    /// Cancelling the caller cancels the operation.
    func run<T: Sendable>(limit: Duration, _ operation: @escaping @Sendable () async -> T) async -> T? {
        let task = Task { await operation() }
        let id = arm(deadline: .now + limit) { task.cancel() }
        let value = await withTaskCancellationHandler {
            await task.value
        } onCancel: {
            task.cancel()
        }
        return disarm(id) ? value : nil
    }

    /// Calls `expire` once, no earlier than `deadline` and about `tick` after it at most,
    /// unless disarmed first.
    func arm(deadline: ContinuousClock.Instant, expire: @escaping @Sendable () -> Void) -> UInt64 {
        let (id, startLoop) = state.withLock { s in
            s.nextID &+= 1
            s.armed[s.nextID] = Entry(deadline: deadline, expire: expire)
            let start = !s.looping
            s.looping = true
            return (s.nextID, start)
        }
        if startLoop {
            Task.detached { [self] in await loop() }
        }
        return id
    }

    /// Forgets an armed deadline. False when it had already expired.
    @discardableResult
    func disarm(_ id: UInt64) -> Bool {
        state.withLock { $0.armed.removeValue(forKey: id) != nil }
    }

    /// Operations armed and not yet expired or disarmed.
    var armedCount: Int { state.withLock { $0.armed.count } }
    /// Whether the timer loop is running (it runs only while something is armed).
    var isLooping: Bool { state.withLock { $0.looping } }
    /// How often the loop has woken so far.
    var wakeups: Int { state.withLock { $0.wakeups } }

    private func loop() async {
        while true {
            try? await Task.sleep(for: tick)
            let now = ContinuousClock.now
            let (expired, done): ([@Sendable () -> Void], Bool) = state.withLock { s in
                s.wakeups += 1
                var due: [@Sendable () -> Void] = []
                for (id, entry) in s.armed where entry.deadline <= now {
                    due.append(entry.expire)
                    s.armed[id] = nil
                }
                if s.armed.isEmpty {
                    s.looping = false
                    return (due, true)
                }
                return (due, false)
            }
            for expire in expired { expire() }
            if done { return }
        }
    }
}
