import ConnwatchAlerting
import ConnwatchCore
import ConnwatchStore
import Foundation
import Testing

@testable import ConnwatchDaemon

/// The history database refusing writes: said once when it starts and once when it ends,
/// shown in status, and what waits for the next commit stays bounded.
@Suite struct HistoryHealthTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    @Test func anOutageIsJournaledOnceWhenItStartsAndOnceWhenItEnds() throws {
        var h = HistoryHealth(database: "/var/lib/connwatch/connwatch.sqlite")
        #expect(h.status == .init(writing: true))
        let full = Failure(description: "SQLite error 13: database or disk is full - while executing `INSERT …`")
        let started = h.failed(full, at: Self.t0, waiting: 12)
        let first = try #require(started)
        #expect(first.messageID == MessageIDs.historyNotWritten && first.priority == 3)
        #expect(first.fields.contains { $0 == ("CONNWATCH_HISTORY_ERROR", "disk full") })
        let again = h.failed(full, at: Self.t0.addingTimeInterval(1), waiting: 20)
        #expect(again == nil)
        #expect(h.status == .init(writing: false, since: Self.t0, error: "disk full"))
        // The record path waits between tries; a clock stepped back does not stall it.
        #expect(!h.mayTry(at: Self.t0.addingTimeInterval(2)))
        #expect(h.mayTry(at: Self.t0.addingTimeInterval(7)))
        #expect(h.mayTry(at: Self.t0.addingTimeInterval(-86400)))
        let ended = h.succeeded(at: Self.t0.addingTimeInterval(30), written: 20)
        let back = try #require(ended)
        #expect(back.messageID == MessageIDs.historyResumed && back.priority == 5)
        #expect(back.message.contains("after 30s") && back.message.contains("2 failed commits"))
        #expect(h.status == .init(writing: true))
        let quiet = h.succeeded(at: Self.t0.addingTimeInterval(31), written: 1)
        #expect(quiet == nil)
    }

    @Test(arguments: [
        ("SQLite error 13: database or disk is full", "disk full"),
        ("SQLite error 10: disk I/O error - while executing `COMMIT`", "I/O error"),
        ("SQLite error 8: attempt to write a readonly database", "read-only"),
        ("SQLite error 19: CHECK constraint failed", "SQLite error 19: CHECK constraint failed"),
    ])
    func errorsAreNamedInAFewWords(message: String, expected: String) {
        #expect(HistoryHealth.describe(Failure(description: message)) == expected)
    }

    @Test func carriedResultsKeepEveryTransitionUntilTheLimitThenTheLatestPerConnector() {
        func cycle(_ name: String, _ status: CheckStatus) -> ConnectorCycle {
            ConnectorCycle(
                identity: ConnectorIdentity(name: name, kind: .exchange, tenantId: "t", clientId: "c"),
                outcomes: [
                    CheckOutcome(
                        result: CheckResult(
                            check: .credential, status: status, reason: status == .ok ? .ok : .secretInvalid,
                            summary: "", checkedAt: Self.t0))
                ])
        }
        let queued = [cycle("a", .ok), cycle("b", .ok), cycle("a", .critical), cycle("b", .ok), cycle("a", .ok)]
        #expect(HistoryHealth.carried(queued, limit: 5).map(\.outcomes[0].result.status) == [.ok, .ok, .critical, .ok, .ok])
        let bounded = HistoryHealth.carried(queued, limit: 4)
        #expect(bounded.map(\.identity.name) == ["b", "a"])
        #expect(bounded.map(\.outcomes[0].result.status) == [.ok, .ok])
    }
}
