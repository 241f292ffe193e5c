import ConnwatchCore
import ConnwatchTestSupport
import Foundation
import GRDB
import Testing

@testable import ConnwatchStore

/// The digest ledger on a real SQLite file: a period is claimed once, across reopenings;
/// leases keep a live sender's row and free a dead one's; "changes since" is the previous
/// delivered digest's due time.
@Suite struct DigestLedgerTests {
    static let t0 = Date(timeIntervalSince1970: 1_796_000_000)

    static func period(_ key: String, _ due: Date) -> DigestPeriod { DigestPeriod(key: key, dueAt: due) }

    @Test func aPeriodIsClaimedOnceEvenAfterReopening() async throws {
        let dir = try TemporaryDirectory.store()
        var store = try HistoryStore.open(path: dir.databasePath)
        let p = Self.period("daily:2026-12-01", Self.t0)
        #expect(try await store.claimDigestPeriod(sink: "ops", period: p, messageID: "m1@x", now: Self.t0))
        #expect(try await !store.claimDigestPeriod(sink: "ops", period: p, messageID: "m2@x", now: Self.t0 + 10))
        // Another sink's same period is its own.
        #expect(try await store.claimDigestPeriod(sink: "soc", period: p, messageID: "m3@x", now: Self.t0))
        try store.close()

        store = try HistoryStore.open(path: dir.databasePath)
        #expect(try await !store.claimDigestPeriod(sink: "ops", period: p, messageID: "m4@x", now: Self.t0 + 60))
        let rows = try await store.digests(sink: "ops")
        #expect(rows.count == 1)
        #expect(rows[0].messageID == "m1@x" && rows[0].status == .pending && rows[0].changesSince == nil)
        try store.close()
    }

    @Test func leasesRetriesDeliveryAndChangesSince() async throws {
        let dir = try TemporaryDirectory.store()
        let store = try HistoryStore.open(path: dir.databasePath)
        let day1 = Self.period("daily:2026-12-01", Self.t0)
        try await store.claimDigestPeriod(sink: "ops", period: day1, messageID: "d1@x", now: Self.t0)

        let first = try await store.claimDueDigests(sinks: ["ops"], now: Self.t0, lease: .seconds(60))
        #expect(first.map(\.period) == ["daily:2026-12-01"] && first[0].attempts == 0)
        // Leased: not claimed again while the lease runs, by this or another process.
        #expect(try await store.claimDueDigests(sinks: ["ops"], now: Self.t0 + 30, lease: .seconds(60)).isEmpty)
        #expect(try await store.nextDigestAttempt(sinks: ["ops"]) == Self.t0 + 60)
        // The sender died (kill -9): after the lease the row is due again, same Message-ID.
        let again = try await store.claimDueDigests(sinks: ["ops"], now: Self.t0 + 61, lease: .seconds(60))
        #expect(again.map(\.messageID) == ["d1@x"])
        // Other sinks' rows are not handed out.
        #expect(try await store.claimDueDigests(sinks: ["soc"], now: Self.t0 + 500, lease: .seconds(60)).isEmpty)

        try await store.recordDigestAttempt(
            sink: "ops", period: day1.key, at: Self.t0 + 62, outcome: .retry(at: Self.t0 + 70),
            error: "451 4.3.0 try later", recipients: [])
        #expect(try await store.claimDueDigests(sinks: ["ops"], now: Self.t0 + 69, lease: .seconds(60)).isEmpty)
        let third = try await store.claimDueDigests(sinks: ["ops"], now: Self.t0 + 70, lease: .seconds(60))
        #expect(third.first?.attempts == 1)
        try await store.recordDigestAttempt(
            sink: "ops", period: day1.key, at: Self.t0 + 71, outcome: .delivered, error: nil,
            recipients: ["ops@example.com"])
        // Delivered: never handed out again, and a second record is refused.
        #expect(try await store.claimDueDigests(sinks: ["ops"], now: Self.t0 + 9999, lease: .seconds(60)).isEmpty)
        await #expect(throws: StoreError.self) {
            try await store.recordDigestAttempt(
                sink: "ops", period: day1.key, at: Self.t0 + 72, outcome: .delivered, error: nil, recipients: [])
        }
        let row = try #require(try await store.digests(sink: "ops").first)
        #expect(row.status == .delivered && row.attempts == 2 && row.recipients == ["ops@example.com"])
        #expect(row.sentAt == Self.t0 + 71 && row.lastError == nil)
        #expect(try await store.lastDigestSent() == ["ops": Self.t0 + 71])

        // The next period's "changes since" is the delivered one's due time.
        let day2 = Self.period("daily:2026-12-02", Self.t0 + 86400)
        try await store.claimDigestPeriod(sink: "ops", period: day2, messageID: "d2@x", now: Self.t0 + 86400)
        let second = try #require(try await store.claimDueDigests(sinks: ["ops"], now: Self.t0 + 86400, lease: .seconds(60)).first)
        #expect(second.changesSince == Self.t0)
        try await store.recordDigestAttempt(
            sink: "ops", period: day2.key, at: Self.t0 + 86401, outcome: .dead, error: "550 5.7.1 no", recipients: [])
        // A dead period does not move "changes since": the day after still reports from day 1.
        let day3 = Self.period("daily:2026-12-03", Self.t0 + 2 * 86400)
        try await store.claimDigestPeriod(sink: "ops", period: day3, messageID: "d3@x", now: Self.t0 + 2 * 86400)
        let rows = try await store.digests(sink: "ops")
        #expect(rows.map(\.status) == [.pending, .dead, .delivered])
        #expect(rows[0].changesSince == Self.t0 && rows[1].lastError == "550 5.7.1 no")
        try store.close()
    }

    /// A period still waiting for a retry when the next one is claimed is superseded; one
    /// being sent (a live lease) is left alone; other sinks are untouched.
    @Test func aNewPeriodSupersedesAnOlderOneWaitingForARetry() async throws {
        let dir = try TemporaryDirectory.store()
        let store = try HistoryStore.open(path: dir.databasePath)
        let day = 86400.0
        try await store.claimDigestPeriod(sink: "ops", period: Self.period("daily:2026-12-01", Self.t0), messageID: "a@x", now: Self.t0)
        try await store.claimDigestPeriod(sink: "soc", period: Self.period("daily:2026-12-01", Self.t0), messageID: "s@x", now: Self.t0)
        _ = try await store.claimDueDigests(sinks: ["ops"], now: Self.t0, lease: .seconds(60))
        try await store.recordDigestAttempt(
            sink: "ops", period: "daily:2026-12-01", at: Self.t0 + 1, outcome: .retry(at: Self.t0 + 7200),
            error: "451", recipients: [])
        try await store.claimDigestPeriod(
            sink: "ops", period: Self.period("daily:2026-12-02", Self.t0 + day), messageID: "b@x", now: Self.t0 + day)
        var rows = try await store.digests()
        #expect(rows.map { "\($0.sink) \($0.period) \($0.status)" } == [
            "ops daily:2026-12-02 pending", "ops daily:2026-12-01 dead", "soc daily:2026-12-01 pending",
        ])
        #expect(rows[1].lastError == "superseded by daily:2026-12-02")
        // Being sent when the next period comes: it finishes, then both exist.
        _ = try await store.claimDueDigests(sinks: ["ops"], now: Self.t0 + day, lease: .seconds(600))
        try await store.claimDigestPeriod(
            sink: "ops", period: Self.period("daily:2026-12-03", Self.t0 + 2 * day), messageID: "c@x",
            now: Self.t0 + day + 60)
        rows = try await store.digests(sink: "ops")
        #expect(rows.map(\.status) == [.pending, .pending, .dead])
        try store.close()
    }
}
