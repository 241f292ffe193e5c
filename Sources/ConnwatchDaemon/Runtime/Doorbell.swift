import Synchronization

/// A sleep that a ring cuts short: the outbox's and the digest's workers sleep until their
/// next due time, and a new alert, a finished send, an operator's retry or a reload rings.
/// A ring while nobody sleeps is kept, so the next sleep returns at once (nothing is missed
/// between "look for work" and "sleep"); a spurious early return only makes a worker look
/// again.
final class Doorbell: Sendable {
    private struct State {
        var sleeper: CheckedContinuation<Void, Never>?
        var rung = false
    }

    private let state = Mutex(State())

    init() {}

    /// Wakes the sleeper, or makes the next sleep return at once.
    func ring() {
        let sleeper = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let sleeper = s.sleeper else {
                s.rung = true
                return nil
            }
            s.sleeper = nil
            return sleeper
        }
        sleeper?.resume()
    }

    /// Whether a ring came since the last sleep (and forgets it).
    func takeRing() -> Bool {
        state.withLock { s in
            defer { s.rung = false }
            return s.rung
        }
    }

    /// Sleeps for `duration` or until a ring, whichever is first; at once when one is pending.
    /// One sleeper at a time.
    func sleep(for duration: Duration) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.rung { return true }
                s.sleeper = c
                return false
            }
            if now {
                c.resume()
                return
            }
            Task { [duration] in
                try? await Task.sleep(for: duration)
                self.ring()
            }
        }
        state.withLock { $0.rung = false }
    }
}
