import Foundation
import Synchronization
import Testing

@testable import ConnwatchDaemon

@Suite struct TimeLimiterTests {
    /// Waits (really) until `condition` holds, at most `timeout`.
    private func eventually(_ timeout: Duration = .seconds(120), _ condition: () -> Bool) async -> Bool {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return condition()
    }

    @Test func aQuickOperationKeepsItsValueAndLeavesNoTimer() async {
        let limiter = TimeLimiter(tick: .milliseconds(20))
        let value = await limiter.run(limit: .seconds(30)) { 42 }
        #expect(value == 42)
        #expect(limiter.armedCount == 0)
        // The loop notices nothing is armed and ends: an idle daemon has no timer.
        #expect(await eventually { !limiter.isLooping })
        let wakeups = limiter.wakeups
        try? await Task.sleep(for: .milliseconds(100))
        #expect(limiter.wakeups == wakeups)
    }

    @Test func anOverdueOperationIsCancelledAndReportsNil() async {
        let limiter = TimeLimiter(tick: .milliseconds(20))
        let sawCancellation = Mutex(false)
        let started = ContinuousClock.now
        let value: Int? = await limiter.run(limit: .milliseconds(100)) {
            // A stuck peer that honours cancellation (as HTTP requests do).
            try? await Task.sleep(for: .seconds(600))
            sawCancellation.withLock { $0 = Task.isCancelled }
            return 1
        }
        let took = ContinuousClock.now - started
        #expect(value == nil)
        #expect(sawCancellation.withLock { $0 })
        #expect(took >= .milliseconds(100))
        // Not the operation's own 600 s: the limit cut it short. (Generous: the parallel test
        // run keeps the two pool threads busy for half a minute at times on a loaded 2-core
        // machine, and the limiter's loop waits for a thread like any task.)
        #expect(took < .seconds(300))
        #expect(limiter.armedCount == 0)
    }

    @Test func manyOperationsShareOneLoop() async {
        let limiter = TimeLimiter(tick: .milliseconds(10))
        let started = ContinuousClock.now
        let results = await withTaskGroup(of: Int?.self) { group in
            for i in 0..<200 {
                group.addTask {
                    // Limits and stuck times far apart: a busy test run may hold any task for
                    // half a minute.
                    await limiter.run(limit: i.isMultiple(of: 10) ? .milliseconds(50) : .seconds(600)) {
                        if i.isMultiple(of: 10) {
                            try? await Task.sleep(for: .seconds(600))
                        } else {
                            try? await Task.sleep(for: .milliseconds(Int64(i % 7)))
                        }
                        return i
                    }
                }
            }
            var out: [Int?] = []
            for await r in group { out.append(r) }
            return out
        }
        #expect(results.count == 200)
        #expect(results.filter { $0 == nil }.count == 20)
        #expect(Set(results.compactMap { $0 }) == Set((0..<200).filter { !$0.isMultiple(of: 10) }))
        // One loop for all 200: each wake-up follows a full tick's sleep, so there are at
        // most elapsed / tick of them (a loop per operation would make 200 times as many).
        let ticks = (ContinuousClock.now - started) / limiter.tick
        #expect(Double(limiter.wakeups) <= ticks + 2)
        #expect(await eventually { !limiter.isLooping })
    }

    @Test func cancellingTheCallerCancelsTheOperation() async {
        let limiter = TimeLimiter(tick: .milliseconds(20))
        let caller = Task {
            await limiter.run(limit: .seconds(600)) { () -> Bool in
                try? await Task.sleep(for: .seconds(600))
                return Task.isCancelled
            }
        }
        try? await Task.sleep(for: .milliseconds(50))
        caller.cancel()
        // Not the time limit (600 s): the caller's cancellation reached the operation.
        let value = await caller.value
        #expect(value == true)
    }

    @Test func armingAgainAfterTheLoopEndedStartsItAgain() async {
        let limiter = TimeLimiter(tick: .milliseconds(10))
        _ = await limiter.run(limit: .seconds(1)) { 1 }
        #expect(await eventually { !limiter.isLooping })
        let fired = Mutex(false)
        _ = limiter.arm(deadline: .now + .milliseconds(30)) { fired.withLock { $0 = true } }
        #expect(await eventually { fired.withLock { $0 } })
        #expect(await eventually { !limiter.isLooping })
    }
}
