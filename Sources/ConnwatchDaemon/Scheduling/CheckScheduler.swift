import ConnwatchCore
import Foundation

/// Decides when each connector is checked: every `interval`, with the connectors' phases
/// spread evenly over the interval (stable per name, so a restart keeps the spread),
/// at most `concurrency` checks in flight, immediate checks on request. A slow or failing
/// connector only ever occupies one slot.
///
/// Time comes from an injected `Clock`, so tests drive it by hand.
public actor CheckScheduler<C: Clock> where C.Duration == Duration {
    public typealias Job = @Sendable (ConnectorConfig) async -> Void

    struct Entry {
        var connector: ConnectorConfig
        var due: C.Instant
        var running = false
        var generation = 0
        /// Checked at start-up (or when added): its next check moves to its phase slot.
        var spread = false
    }

    private let clock: C
    private var interval: Duration
    private var concurrency: Int
    private let job: Job
    /// Longest a waiting worker sleeps before looking again (bounds reaction to changes).
    private let idleTick: Duration
    private var entries: [String: Entry] = [:]
    /// Due times by earliest first, with stale items (the connector's due time moved, or it
    /// runs) skipped when they surface: finding work costs O(log n), not a scan of every
    /// connector per worker and tick (which at 10,000 connectors and 64 workers took most
    /// of a core while idle, and was quadratic over a cycle).
    private var queue = DueQueue<C.Instant>()
    private var started: C.Instant
    private var onDemandSlots: Int
    /// Set on shutdown: workers finish their current check and take no new one.
    private var draining = false

    public init(
        clock: C, interval: Duration, concurrency: Int, connectors: [ConnectorConfig],
        lastChecked: [String: C.Instant] = [:], idleTick: Duration = .seconds(1), job: @escaping Job
    ) {
        self.clock = clock
        self.interval = interval
        self.concurrency = max(1, concurrency)
        self.onDemandSlots = max(1, concurrency)
        self.job = job
        self.idleTick = idleTick
        let now = clock.now
        self.started = now
        for c in connectors {
            let due = Self.firstDue(c.name, last: lastChecked[c.name], now: now, interval: interval)
            entries[c.name] = Entry(connector: c, due: due, spread: due == now)
            queue.push(due, c.name)
        }
    }

    /// Never checked, or last checked more than an interval ago: now. Otherwise one
    /// interval after the last check, plus this connector's phase offset (≤ 10% of the
    /// interval) so restarts do not synchronise everyone.
    static func firstDue(_ name: String, last: C.Instant?, now: C.Instant, interval: Duration) -> C.Instant {
        guard let last else { return now }
        let next = last.advanced(by: interval + interval * (phase(name) * 0.1))
        return next < now ? now : next
    }

    /// A stable fraction in [0, 1) from the name (FNV-1a), independent of process seeds.
    static func phase(_ name: String) -> Double {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return Double(h % 10_000) / 10_000
    }

    // MARK: Workers

    /// Runs `concurrency` workers until the task is cancelled.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for _ in 0..<concurrency {
                group.addTask { await self.work() }
            }
        }
    }

    private func work() async {
        while !Task.isCancelled {
            guard let name = await nextJob() else { return }
            guard let entry = entries[name] else { continue }
            let generation = entry.generation
            await job(entry.connector)
            finish(name, generation: generation)
        }
    }

    /// The most overdue idle connector, waiting for one to become due.
    private func nextJob() async -> String? {
        while !Task.isCancelled && !draining {
            let now = clock.now
            var earliest: C.Instant?
            while let top = queue.first {
                let (due, name) = top
                guard let e = entries[name], !e.running, e.due == due else {
                    queue.removeFirst()  // stale: removed, running, or rescheduled (pushed again then)
                    continue
                }
                if due > now {
                    earliest = due
                    break
                }
                queue.removeFirst()
                entries[name]?.running = true
                return name
            }
            let wake = min(earliest ?? now.advanced(by: idleTick), now.advanced(by: idleTick))
            do { try await clock.sleep(until: wake, tolerance: nil) } catch { return nil }
        }
        return nil
    }

    private func finish(_ name: String, generation: Int) {
        guard var e = entries[name] else { return }
        e.running = false
        if e.generation == generation {
            // Phase: the first regular check lands at started + interval × phase, spreading
            // a fleet that was all checked at start-up across the interval.
            let now = clock.now
            var next = now.advanced(by: interval)
            if e.spread {
                let slot = started.advanced(by: interval * CheckScheduler.phase(name))
                if slot > now && slot < next { next = slot }
                e.spread = false
            }
            e.due = next
        }
        entries[name] = e
        queue.push(e.due, name)
    }

    /// Stops handing out work; `run()` returns once the checks in flight are done.
    public func drain() { draining = true }

    /// Checks running right now.
    public var inFlight: Int { entries.values.filter(\.running).count }

    // MARK: Requests

    /// Checks the named connectors now (all when `names` is empty) and returns once they
    /// are done. A connector already being checked is waited for, not checked twice.
    /// Unknown names are returned unrun.
    public func checkNow(_ names: [String]) async -> (ran: [String], unknown: [String]) {
        let targets = names.isEmpty ? entries.keys.sorted() : names
        let unknown = targets.filter { entries[$0] == nil }
        let known = targets.filter { entries[$0] != nil }
        await withTaskGroup(of: Void.self) { group in
            var inFlight = 0
            for name in known {
                if inFlight >= onDemandSlots {
                    await group.next()
                    inFlight -= 1
                }
                group.addTask { await self.runNow(name) }
                inFlight += 1
            }
        }
        return (known, unknown)
    }

    private func runNow(_ name: String) async {
        // Wait while a worker holds it.
        while entries[name]?.running == true {
            try? await clock.sleep(until: clock.now.advanced(by: .milliseconds(50)), tolerance: nil)
            if Task.isCancelled { return }
        }
        guard var e = entries[name] else { return }
        e.running = true
        e.generation += 1
        entries[name] = e
        let generation = e.generation
        await job(e.connector)
        guard var after = entries[name] else { return }
        after.running = false
        if after.generation == generation { after.due = clock.now.advanced(by: interval) }
        entries[name] = after
        queue.push(after.due, name)
    }

    // MARK: Reload and introspection

    /// Applies a new configuration: new connectors are due now, removed ones dropped,
    /// changed ones keep their schedule but use the new settings on their next run.
    public func update(connectors: [ConnectorConfig], interval: Duration, concurrency: Int) {
        self.interval = interval
        self.onDemandSlots = max(1, concurrency)
        let now = clock.now
        var next: [String: Entry] = [:]
        for c in connectors {
            if var e = entries[c.name] {
                e.connector = c
                next[c.name] = e
            } else {
                next[c.name] = Entry(connector: c, due: now)
                queue.push(now, c.name)
            }
        }
        entries = next
        // Worker count is fixed for the process; the limit applies to on-demand checks.
        _ = concurrency
    }

    /// The earliest time any connector is next due.
    public func nextDueInstant() -> C.Instant? {
        entries.values.map(\.due).min()
    }

    public func dueTimes() -> [String: C.Instant] { entries.mapValues(\.due) }

    public var connectorCount: Int { entries.count }
}

/// A binary min-heap of (due time, connector name).
struct DueQueue<Instant: Comparable> {
    private var items: [(Instant, String)] = []

    var first: (Instant, String)? { items.first }
    var count: Int { items.count }

    mutating func push(_ due: Instant, _ name: String) {
        items.append((due, name))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].0 < items[parent].0 else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func removeFirst() {
        guard !items.isEmpty else { return }
        items.swapAt(0, items.count - 1)
        items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            if l < items.count && items[l].0 < items[smallest].0 { smallest = l }
            if r < items.count && items[r].0 < items[smallest].0 { smallest = r }
            if smallest == i { return }
            items.swapAt(i, smallest)
            i = smallest
        }
    }
}
