import ConnwatchCore
import Foundation
import Synchronization
import Testing

@testable import ConnwatchDaemon

/// The scheduler driven by a manual clock: no sleeps decide the outcome, and the tests wait
/// for what the scheduler's tasks do by events, not by polling the real time.
@Suite(.timeLimit(.minutes(2))) struct CheckSchedulerTests {
    static func connector(_ name: String) -> ConnectorConfig {
        ConnectorConfig(
            name: name, kind: .exchange, tenantId: "contoso.onmicrosoft.com",
            clientId: "00000000-0000-0000-0000-000000000001", clientSecret: Secret("x"),
            source: SourceLocation(file: "t"))
    }

    /// Records runs; jobs can be held to simulate a hanging connector.
    final class Recorder: Sendable {
        let runs = Mutex<[String]>([])
        let active = Mutex<(now: Int, max: Int)>((0, 0))
        let held = Mutex<Set<String>>([])
        let finished = Mutex<[String]>([])

        /// Tests waiting for a state of the recorder (``until(_:)``), woken at every change.
        private let waiters = Mutex<[(condition: @Sendable () -> Bool, continuation: CheckedContinuation<Void, Never>)]>(
            [])

        func job(_ c: ConnectorConfig) async {
            active.withLock {
                $0.now += 1; $0.max = max($0.max, $0.now)
            }
            runs.withLock { $0.append(c.name) }
            changed()
            while held.withLock({ $0.contains(c.name) }) { try? await Task.sleep(for: .milliseconds(5)) }
            // Yield so that concurrent jobs overlap for real.
            try? await Task.sleep(for: .milliseconds(20))
            active.withLock { $0.now -= 1 }
            finished.withLock { $0.append(c.name) }
            changed()
        }

        /// Returns once `condition` holds: no polling and no real-time bound, so a loaded
        /// machine only makes it later (the suite's time limit catches a hang).
        func until(_ condition: @escaping @Sendable () -> Bool) async {
            if condition() { return }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                waiters.withLock { $0.append((condition, c)) }
                changed()  // the state may have changed before the waiter was in place
            }
        }

        private func changed() {
            let ready = waiters.withLock { waiting in
                var ready: [CheckedContinuation<Void, Never>] = []
                waiting.removeAll { w in
                    guard w.condition() else { return false }
                    ready.append(w.continuation)
                    return true
                }
                return ready
            }
            for c in ready { c.resume() }
        }

        /// Completed runs of a connector (a run counts once its job returned).
        func done(_ n: String) -> Int { finished.withLock { $0.filter { $0 == n }.count } }
        var doneCount: Int { finished.withLock { $0.count } }

        var count: Int { runs.withLock { $0.count } }
        func count(_ n: String) -> Int { runs.withLock { $0.filter { $0 == n }.count } }
    }

    @Test func everyoneIsCheckedAtStartWithinTheConcurrencyLimitThenSpreadOverTheInterval() async throws {
        let clock = ManualClock()
        let rec = Recorder()
        let names = (0..<6).map { "c\($0)" }
        let s = CheckScheduler(
            clock: clock, interval: .seconds(3600), concurrency: 2, connectors: names.map(Self.connector),
            job: { await rec.job($0) })
        let task = Task { await s.run() }
        defer { task.cancel() }
        await rec.until { rec.doneCount == 6 }
        // The worker records the next due time right after the job returns.
        try await Task.sleep(for: .milliseconds(50))
        #expect(rec.active.withLock { $0.max } <= 2)
        #expect(Set(rec.runs.withLock { $0 }) == Set(names))

        // Next checks are spread over the first interval, not bunched.
        let due = await s.dueTimes()
        #expect(due.values.allSatisfy { $0.offset > .zero && $0.offset <= .seconds(3600) })
        #expect(Set(due.values.map { Int($0.offset.components.seconds / 600) }).count >= 3, "spread over the hour")

        // One interval later everyone has run exactly once more.
        for _ in 0..<12 {
            clock.advance(by: .seconds(300))
            try await Task.sleep(for: .milliseconds(30))
        }
        await rec.until { rec.doneCount == 12 }
        for n in names { #expect(rec.count(n) == 2) }
    }

    @Test func aHangingConnectorDoesNotStallTheOthers() async throws {
        let clock = ManualClock()
        let rec = Recorder()
        rec.held.withLock { $0.insert("stuck") }
        let s = CheckScheduler(
            clock: clock, interval: .seconds(60), concurrency: 2,
            connectors: ["stuck", "a", "b", "c"].map(Self.connector), job: { await rec.job($0) })
        let task = Task { await s.run() }
        defer { task.cancel() }
        await rec.until { ["a", "b", "c"].allSatisfy { rec.done($0) == 1 } }
        try await Task.sleep(for: .milliseconds(50))
        // Time moves on: the others keep being checked while "stuck" hangs.
        clock.advance(by: .seconds(61))
        await rec.until { ["a", "b", "c"].allSatisfy { rec.done($0) == 2 } }
        #expect(rec.count("stuck") == 1)
        rec.held.withLock { $0.removeAll() }
    }

    @Test func checkNowRunsImmediatelyAndReportsUnknownNames() async throws {
        let clock = ManualClock()
        let rec = Recorder()
        let s = CheckScheduler(
            clock: clock, interval: .seconds(3600), concurrency: 2, connectors: ["a", "b"].map(Self.connector),
            lastChecked: ["a": clock.now, "b": clock.now], job: { await rec.job($0) })
        // Nothing is due: both were just checked. No workers needed for on-demand checks.
        let (ran, unknown) = await s.checkNow(["a", "nope"])
        #expect(ran == ["a"])
        #expect(unknown == ["nope"])
        #expect(rec.count("a") == 1)
        #expect(rec.count("b") == 0)
        let all = await s.checkNow([])
        #expect(all.ran == ["a", "b"])
        #expect(rec.count == 3)
    }

    @Test func reloadAddsConnectorsDueNowAndDropsRemovedOnes() async throws {
        let clock = ManualClock()
        let rec = Recorder()
        let s = CheckScheduler(
            clock: clock, interval: .seconds(3600), concurrency: 1, connectors: ["a"].map(Self.connector),
            lastChecked: ["a": clock.now], job: { await rec.job($0) })
        let task = Task { await s.run() }
        defer { task.cancel() }
        await s.update(connectors: ["a", "new"].map(Self.connector), interval: .seconds(3600), concurrency: 1)
        clock.advance(by: .seconds(1))
        await rec.until { rec.count("new") == 1 }
        #expect(rec.count("a") == 0)
        await s.update(connectors: ["new"].map(Self.connector), interval: .seconds(3600), concurrency: 1)
        #expect(await s.connectorCount == 1)
    }

    @Test func restartKeepsRecentResultsInsteadOfAThunderingHerd() {
        typealias S = CheckScheduler<ManualClock>
        let now = ManualClock.Instant(offset: .seconds(10_000))
        #expect(S.firstDue("x", last: nil, now: now, interval: .seconds(3600)) == now)
        #expect(S.firstDue("x", last: now.advanced(by: .seconds(-7200)), now: now, interval: .seconds(3600)) == now)
        let recent = S.firstDue("x", last: now.advanced(by: .seconds(-600)), now: now, interval: .seconds(3600))
        #expect(recent > now.advanced(by: .seconds(2999)))
        #expect(recent <= now.advanced(by: .seconds(3000 + 360)))
    }
}
