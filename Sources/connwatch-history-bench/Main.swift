import ConnwatchAlerting
import ConnwatchCore
import ConnwatchDaemon
import ConnwatchStore
import Foundation
import Logging

/// `connwatch-history-bench`: how fast the history database grows. Drives the daemon's
/// real `CycleCoordinator` and `HistoryStore` on a real SQLite file through days of hourly
/// cycles with a simulated clock. The facts each cycle observes come from a churn model
/// (secrets expiring and rotated, consents revoked and restored, role assignments removed
/// and restored, network blips) and become check results through the same Core evaluators
/// `ConnectorChecker` uses; only the network is left out.
///
///     connwatch-history-bench --db PATH [--connectors 1000] [--days 30] [--seed 1]
///
/// Prints one JSON object: the database size after each simulated day and the growth per
/// connector per day over the days after the first (the first day writes every latest row).
@main
struct HistoryBench {
    static func main() async throws {
        var args = Arguments(CommandLine.arguments.dropFirst())
        guard let db = args.value("--db") else {
            FileHandle.standardError.write(Data("usage: connwatch-history-bench --db PATH [--connectors N] [--days D] [--seed S]\n".utf8))
            exit(64)
        }
        let count = Int(args.value("--connectors") ?? "") ?? 1000
        let days = Int(args.value("--days") ?? "") ?? 30
        let seed = UInt64(args.value("--seed") ?? "") ?? 1
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + suffix) }

        let start = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 86400).rounded(.down) * 86400)
        var fleet = ChurnFleet(count: count, start: start, seed: seed)
        let configuration = Configuration(connectors: fleet.connectors)
        let store = try HistoryStore.open(path: db)
        let logger = Logger(label: "connwatch-history-bench") { _ in SwiftLogNoOpLogHandler() }
        // Alerts go to stderr (the benchmark discards it): the journal is not what is measured.
        let journal = JournalWriter(identifier: "connwatch-history-bench", forceStderr: true)
        let coordinator = CycleCoordinator(
            store: store, journal: journal, configuration: configuration, snapshot: try await store.loadState(),
            startedAt: start, logger: logger)
        await coordinator.reconcile(now: start)

        let cpuStart = ProcessCPU.seconds()
        let wallStart = ContinuousClock.now
        var sizes: [Int64] = []
        let thresholds = ExpiryThresholds(configuration.alerts)
        for day in 0..<days {
            for hour in 0..<24 {
                let cycleStart = start.addingTimeInterval(Double(day * 86400 + hour * 3600))
                fleet.churn(at: cycleStart, hourIndex: day * 24 + hour)
                for i in 0..<count {
                    // The scheduler spreads the fleet over the hour.
                    let now = cycleStart.addingTimeInterval(Double(i) * 3600 / Double(count))
                    let results = fleet.results(of: i, now: now, thresholds: thresholds)
                    await coordinator.record(connector: fleet.connectors[i].name, results: results, now: now)
                }
                await coordinator.flush(now: cycleStart.addingTimeInterval(3599))
            }
            let endOfDay = start.addingTimeInterval(Double((day + 1) * 86400))
            _ = try await store.prune(now: endOfDay, retention: configuration.daemon.historyRetention)
            sizes.append(try await store.checkpointedSize())
        }
        let wall = ContinuousClock.now - wallStart
        let cpu = ProcessCPU.seconds() - cpuStart
        let rows = try await store.rowCounts()
        try store.close()

        // Steady state: growth from the end of day 1 to the end of the last day.
        let growth = days > 1 ? Double(sizes[days - 1] - sizes[0]) / Double(count) / Double(days - 1) : 0
        let report: [String: Any] = [
            "connectors": count, "days": days, "cycles": days * 24,
            "bytes_per_connector_per_day": growth,
            "size_after_day": sizes, "rows": rows,
            "events": fleet.eventCounts,
            "wall_s": Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18,
            "cpu_s": cpu,
        ]
        let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}

/// `--name value` pairs.
struct Arguments {
    var list: [String]
    init(_ list: ArraySlice<String>) { self.list = Array(list) }
    mutating func value(_ name: String) -> String? {
        guard let i = list.firstIndex(of: name), i + 1 < list.count else { return nil }
        return list[i + 1]
    }
}

enum ProcessCPU {
    /// User + system CPU of this process so far.
    static func seconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return s(usage.ru_utime) + s(usage.ru_stime)
    }
}
