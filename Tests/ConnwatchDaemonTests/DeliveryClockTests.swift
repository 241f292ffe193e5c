import ConnwatchAlerting
import ConnwatchCore
import ConnwatchStore
import ConnwatchTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@testable import ConnwatchDaemon

/// The delivery worker and the webhook sender read the time only through their
/// ``WallClock``: set years away from the system's, the test clock alone decides when a
/// retry is due, what time an attempt is recorded at, and what an HTTP-date `Retry-After`
/// means. (Real SQLite outbox, real HTTP receiver on loopback.)
@Suite struct DeliveryClockTests {
    /// A wall clock that moves only when the test says so.
    final class TestClock: Sendable {
        private let time: Mutex<Date>
        init(_ start: Date) { time = Mutex(start) }
        var clock: WallClock { WallClock { [self] in self.time.withLock { $0 } } }
        func advance(by seconds: TimeInterval) { time.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }

    /// 1 March 2031, 00:00:00 UTC: far from any system clock this test runs under.
    static let t0 = Date(timeIntervalSince1970: 1_930_089_600)

    /// Polls (real time, bounded) for what another task does; the time that matters is the test clock.
    static func eventually(_ what: String, _ condition: () async throws -> Bool) async rethrows {
        let end = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < end {
            if try await condition() { return }
            try? await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("timed out waiting for: \(what)")
    }

    @Test func retriesComeDueByTheInjectedClock() async throws {
        let receiver = try RecordingReceiver()
        defer { receiver.close() }
        receiver.replies.withLock { $0 = ["HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n"] }
        let temporary = try TemporaryDirectory("clock")
        let dir = temporary.url
        let store = try HistoryStore.open(path: dir.appendingPathComponent("connwatch.sqlite").path)
        let hook = WebhookConfig(
            name: "soc", url: Secret("http://127.0.0.1:\(receiver.port)/soc"), signingSecrets: [],
            source: SourceLocation(file: "test.toml"))
        try await DeliveryWorkerTests.commitFiringAlert(
            store: store, id: "019a5f2c-8a00-7000-8000-000000000071", webhooks: [hook.name], at: Self.t0)

        let test = TestClock(Self.t0)
        let sender = try WebhookSender(caFile: nil, proxy: nil)
        var limits = DeliveryWorker.Limits()
        limits.poll = .milliseconds(20)
        let worker = DeliveryWorker(
            store: store, journal: JournalWriter(forceStderr: true), logger: Logger(label: "test"),
            policy: WebhookRetryPolicy(scale: 1), limits: limits, version: "test", clock: test.clock,
            sink: { ([hook], sender) })
        let running = Task { await worker.run() }
        defer { running.cancel() }

        // The first attempt: 500, recorded at the test clock's time, the retry due ~5 s later by it.
        try await Self.eventually("the first attempt recorded") { try await store.deliveries().first?.attempts == 1 }
        let first = try #require(try await store.deliveries().first)
        #expect(first.status == .pending && first.lastHTTPStatus == 500)
        #expect(first.nextAttemptAt > Self.t0 && first.nextAttemptAt < Self.t0.addingTimeInterval(60))
        #expect(receiver.requests.count == 1)
        let timestamp = try #require(receiver.requests.first?.headers["webhook-timestamp"].flatMap { Int($0) })
        #expect(timestamp == Int(Self.t0.timeIntervalSince1970), "signed with the test clock's time")

        // By the system clock the retry is years overdue; by the test clock it is not due yet.
        try await Task.sleep(for: .milliseconds(400))
        #expect(receiver.requests.count == 1)

        // The test clock passes the retry's time: it goes out and is delivered.
        test.advance(by: 600)
        try await Self.eventually("the retry delivered") { try await store.deliveries().first?.status == .delivered }
        #expect(receiver.requests.count == 2)
        let done = try #require(try await store.deliveries().first)
        #expect(done.finishedAt == Self.t0.addingTimeInterval(600))
        running.cancel()
        await sender.shutdown()
        try store.close()
    }

    @Test func anHTTPDateRetryAfterIsMeasuredFromTheInjectedClock() async throws {
        let receiver = try RecordingReceiver()
        defer { receiver.close() }
        receiver.replies.withLock {
            $0 = [
                "HTTP/1.1 503 Service Unavailable\r\nretry-after: Sat, 01 Mar 2031 00:02:00 GMT\r\ncontent-length: 0\r\n\r\n"
            ]
        }
        let sender = try WebhookSender(caFile: nil, proxy: nil)
        let result = await sender.send(
            webhook: "soc", url: Secret("http://127.0.0.1:\(receiver.port)/soc"), headers: [], body: Data("{}".utf8),
            timeout: .seconds(30), clock: TestClock(Self.t0).clock)
        await sender.shutdown()
        #expect(result == .response(status: 503, retryAfter: .seconds(120)))
    }
}
