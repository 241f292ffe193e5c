import ConnwatchAlerting
import ConnwatchCore
import ConnwatchStore
import Foundation

/// Whether the history database is being written, and what to tell the journal when that
/// changes: once when commits start failing (disk full, I/O error) and once when they work
/// again — never once per failed commit, which on a full disk would be one per batch.
///
/// A value type that returns the entry to send instead of sending it (tested without a
/// journal); ``CycleCoordinator`` owns one.
struct HistoryHealth: Sendable {
    /// The database file, named in the journal entries.
    let database: String
    private(set) var outage: (since: Date, error: String, lastTry: Date, failures: Int)?

    init(database: String) {
        self.database = database
    }

    /// What `status` shows as `daemon.history`.
    var status: StatusReport.HistoryWriting {
        guard let outage else { return .init(writing: true) }
        return .init(writing: false, since: outage.since, error: outage.error)
    }

    /// While failing, commits are retried at most this often from the record path (a full
    /// disk fails every batch; explicit flushes — the heartbeat, the socket — still try).
    static let retryInterval: TimeInterval = 5

    /// Whether the record path may try a commit now.
    func mayTry(at now: Date) -> Bool {
        guard let outage else { return true }
        return now.timeIntervalSince(outage.lastTry) >= Self.retryInterval || now < outage.lastTry
    }

    /// A commit failed. Returns the journal entry when this starts an outage.
    mutating func failed(_ error: any Error, at now: Date, waiting: Int) -> JournalEntry? {
        if var o = outage {
            o.lastTry = now
            o.failures += 1
            outage = o
            return nil
        }
        let why = Self.describe(error)
        outage = (now, why, now, 1)
        return JournalEntry(
            message:
                "cannot write the history database (\(why)): checks and status go on, \(waiting) results and "
                + "what they changed wait in memory until it can be written; webhook deliveries wait too",
            priority: 3, messageID: MessageIDs.historyNotWritten,
            fields: [("CONNWATCH_DATABASE", database), ("CONNWATCH_HISTORY_ERROR", why)])
    }

    /// A commit succeeded. Returns the journal entry when this ends an outage.
    mutating func succeeded(at now: Date, written: Int) -> JournalEntry? {
        guard let o = outage else { return nil }
        outage = nil
        let seconds = max(0, Int(now.timeIntervalSince(o.since).rounded()))
        return JournalEntry(
            message:
                "the history database is written again after \(seconds)s (\(o.error), \(o.failures) failed commits); "
                + "\(written) results kept in memory were written",
            priority: 5, messageID: MessageIDs.historyResumed,
            fields: [("CONNWATCH_DATABASE", database), ("CONNWATCH_HISTORY_ERROR", o.error)])
    }

    /// A few words for status and the journal: SQLite's result codes as an operator reads them.
    static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        let lower = text.lowercased()
        if lower.contains("disk is full") || lower.contains("sqlite_full") || lower.contains("error 13:") {
            return "disk full"
        }
        if lower.contains("readonly") || lower.contains("read-only") || lower.contains("error 8:") { return "read-only" }
        if lower.contains("disk i/o") || lower.contains("ioerr") || lower.contains("error 10:") { return "I/O error" }
        return String(text.prefix(200))
    }
}

extension HistoryHealth {
    /// The connector results to carry into the next commit after a failed one: all of them, in
    /// order (each transition is recorded), unless a long outage has queued more than `limit`;
    /// then the latest per connector, so that memory stays bounded by the fleet's size and the
    /// latest results and the transitions to them are still written.
    static func carried(_ cycles: [ConnectorCycle], limit: Int) -> [ConnectorCycle] {
        guard cycles.count > limit else { return cycles }
        var seen = Set<String>()
        var out: [ConnectorCycle] = []
        for c in cycles.reversed() where seen.insert(c.identity.name).inserted { out.append(c) }
        return out.reversed()
    }
}
