import ConnwatchCore
import ConnwatchTestSupport
import Foundation
import GRDB
import Testing

@testable import ConnwatchStore

/// The scale targets of the daemon issue: 10,000 connectors per cycle, status of all of
/// them in ≤ 200 ms, growth ≤ 1 KiB per connector per day. Timings are printed, not
/// asserted (machines differ; debug builds are slower); sizes are asserted.
@Suite(.serialized) struct ScaleTests {
    @Test func tenThousandConnectorsInOneBatch() async throws {
        let dir = try TemporaryDirectory.store()
        let store = try HistoryStore.open(path: dir.databasePath)
        let connectors = 10_000
        let clock = ContinuousClock()
        func batch(at: Date, failing: Set<Int> = []) -> CycleBatch {
            CycleBatch(
                at: at,
                connectors: (0..<connectors).map { i in
                    Fixture.cycle(
                        i, at: at, override: failing.contains(i) ? [.consent: Fixture.failing(.consent, at: at)] : [:])
                })
        }

        let t0 = Fixture.t0
        let initial = batch(at: t0)
        var start = clock.now
        let first = try await store.commit(initial)
        let firstTime = clock.now - start
        #expect(first.updated == 60_000 && first.historyRows == 60_000)

        let t1 = t0 + Fixture.hour
        let steady = batch(at: t1)
        start = clock.now
        let second = try await store.commit(steady)
        let steadyTime = clock.now - start
        #expect(second.unchanged == 60_000 && second.updated == 0 && second.historyRows == 0)

        let t2 = t1 + Fixture.hour
        let changes = batch(at: t2, failing: Set(stride(from: 0, to: connectors, by: 100)))
        start = clock.now
        let third = try await store.commit(changes)
        let changeTime = clock.now - start
        #expect(third.updated == 100 && third.historyRows == 100 && third.transitions == 200)

        start = clock.now
        let status = try await store.status()
        let statusRead = clock.now - start
        let encoded = try JSONEncoder().encode(status.map { c in c.checks.map(\.result) })
        let statusTotal = clock.now - start
        #expect(status.count == connectors)
        #expect(status.allSatisfy { $0.checks.count == 6 })

        // The socket's way: encode connector by connector, never holding all results.
        start = clock.now
        let streamed = try await store.status(into: Data()) { out, connector in
            out.append(try JSONEncoder().encode(connector.checks.map(\.result)))
        }
        let streamTime = clock.now - start
        #expect(streamed.count > encoded.count / 2)

        let size = try await store.fileSizeAfterCheckpoint()
        print(
            """
            [ConnwatchStore scale] 10,000 connectors × 6 checks:
              first commit (all new)          \(String(format: "%8.1f", millis(firstTime))) ms
              steady commit (nothing changed) \(String(format: "%8.1f", millis(steadyTime))) ms
              commit with 1% changed          \(String(format: "%8.1f", millis(changeTime))) ms
              status() read                   \(String(format: "%8.1f", millis(statusRead))) ms
              status() + JSON encoding        \(String(format: "%8.1f", millis(statusTotal))) ms (\(encoded.count / 1024) KiB)
              status streamed, JSON per connector \(String(format: "%4.1f", millis(streamTime))) ms
              database size                   \(size / 1024) KiB (\(size / connectors) bytes per connector)
              peak RSS of the test process    \(peakRSSKiB() / 1024) MiB (includes the batches built by the test)
            """)
        #expect(try await store.integrityProblems() == [])
        try store.close()
    }

    /// Hourly checks for a week, one summary change per connector per day (the secret's
    /// "expires in N days"): the file grows by at most 1 KiB per connector per day.
    @Test func steadyStateGrowthStaysUnderOneKibibytePerConnectorPerDay() async throws {
        let dir = try TemporaryDirectory.store()
        let store = try HistoryStore.open(path: dir.databasePath)
        let connectors = 200
        func cycle(hour: Int) -> CycleBatch {
            let at = Fixture.t0 + Double(hour) * Fixture.hour
            let daysLeft = 200 - hour / 24
            return CycleBatch(
                at: at,
                connectors: (0..<connectors).map { i in
                    var expiry = Fixture.ok(.secretExpiry, at: at, summary: "the secret expires in \(daysLeft) days")
                    expiry.details["days_left"] = .int(Int64(daysLeft))
                    return Fixture.cycle(i, at: at, override: [.secretExpiry: expiry])
                })
        }
        // Day 0 establishes the rows; growth is measured over the 7 days after.
        for hour in 0..<24 { try await store.commit(cycle(hour: hour)) }
        let before = try await store.fileSizeAfterCheckpoint()
        let historyBefore = try await store.count("result_history")
        for hour in 24..<(24 * 8) { try await store.commit(cycle(hour: hour)) }
        let after = try await store.fileSizeAfterCheckpoint()
        let historyAfter = try await store.count("result_history")
        #expect(historyAfter - historyBefore == connectors * 7)  // one change per connector per day, no more
        let perConnectorPerDay = Double(after - before) / Double(connectors * 7)
        print("[ConnwatchStore growth] \(String(format: "%.0f", perConnectorPerDay)) bytes per connector per day")
        #expect(perConnectorPerDay <= 1024)
        try store.close()
    }
}

/// VmHWM of this process, in KiB (0 when /proc is unavailable).
private func peakRSSKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
    else { return 0 }
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
}
