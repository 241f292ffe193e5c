import ConnwatchAlerting
import ConnwatchCore
import ConnwatchMail
import ConnwatchReport
import ConnwatchStore
import ConnwatchTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@testable import ConnwatchDaemon

/// The digest worker's decisions on a test wall clock, a real SQLite file (reopened to play
/// a restart) and an in-memory SMTP double: due / not due, late start inside a period,
/// missed periods, restart after delivery and with a pending row, 451, 550, a DST day.
@Suite struct DigestWorkerTests {
    static let berlin = TimeZone(identifier: "Europe/Berlin")!

    final class TestClock: Sendable {
        let now: Mutex<Date>
        init(_ s: String) { now = Mutex(RFC3339.date(s)!) }
        func set(_ s: String) { now.withLock { $0 = RFC3339.date(s)! } }
        var wall: WallClock { WallClock { [self] in self.now.withLock { $0 } } }
    }

    /// Real content: the digest of a one-connector report; records what it was asked.
    final class Content: Sendable {
        let calls = Mutex<[(sink: String, since: Date?)]>([])
        var provider: DigestContentProvider {
            { [self] sink, since, now in
                calls.withLock { $0.append((sink.name, since)) }
                let ok = ReportModel.Connector(
                    name: "contoso-teams", kind: "teams", status: .ok, reason: "ok", summary: "all checks ok",
                    remediation: "", days: Array(repeating: nil, count: ReportModel.stripLength))
                let model = ReportModel(
                    generatedAt: now, horizonDays: 90, timeZoneIdentifier: "UTC",
                    stripDays: ReportModel.dayStarts(endingAt: now, count: ReportModel.stripLength, timeZone: .gmt),
                    tenants: [.init(tenantId: "t", observed: false, connectors: [ok], credentials: [])],
                    changesSince: since ?? now - 86400)
                return StatusDigest.content(sink: sink, model: model, first: since == nil)
            }
        }
    }

    struct Rig {
        let dir: TemporaryDirectory
        let clock: TestClock
        let mail: EmailDeliveryTests.ScriptedMail
        let content = Content()
        var sink: EmailConfig

        init(now: String, digest: DigestSchedule, script: [SMTPDeliveryReport] = []) throws {
            dir = try TemporaryDirectory("digest-worker")
            clock = TestClock(now)
            mail = EmailDeliveryTests.ScriptedMail(["ops": script])
            sink = EmailDeliveryTests.sink("ops")
            sink.digest = digest
        }

        /// A worker on a freshly opened store: a new daemon process on the same file.
        func worker(maxSleep: Duration = .seconds(60)) throws -> (DigestWorker, HistoryStore) {
            let store = try HistoryStore.open(path: dir.url.appendingPathComponent("connwatch.sqlite").path)
            let sink = self.sink
            let mail = self.mail
            let worker = DigestWorker(
                store: store, journal: JournalWriter(forceStderr: true), logger: Logger(label: "test"),
                policy: WebhookRetryPolicy(scale: 1, jitter: 0), clock: clock.wall, timeZone: { DigestWorkerTests.berlin },
                maxSleep: maxSleep, mail: { ([sink], mail) }, content: content.provider)
            return (worker, store)
        }
    }

    static func header(_ e: SMTPEnvelope, _ name: String) -> String? {
        let text = String(decoding: e.message, as: UTF8.self)
        let head = text.components(separatedBy: "\r\n\r\n").first ?? ""
        return head.split(separator: "\r\n").first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
            .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) }
    }

    @Test func dueOnceThenNeverAgainAcrossARestart() async throws {
        let rig = try Rig(now: "2026-12-07T06:59:59Z", digest: .daily(hour: 8, minute: 0))
        var (worker, store) = try rig.worker()
        // 07:59:59 in Berlin: not due.
        #expect(await worker.tick() == 0)
        #expect(rig.mail.sent.isEmpty)
        #expect(worker.nextDue(now: rig.clock.wall.now())["ops"]?.key == "daily:2026-12-07")
        rig.clock.set("2026-12-07T07:00:00Z")
        #expect(await worker.tick() == 1)
        #expect(await worker.tick() == 0)
        #expect(rig.mail.sent.count == 1)
        let sent = try #require(rig.mail.sent.first)
        #expect(Self.header(sent, "Message-ID") == "<digest.ops.daily.2026-12-07.connwatch@example.com>")
        #expect(Self.header(sent, "Content-Type")?.hasPrefix("multipart/alternative") == true)
        #expect(Self.header(sent, "X-Connwatch-Digest") == "daily:2026-12-07")
        #expect(sent.recipients == ["ops@example.com"])
        let body = String(decoding: sent.message, as: UTF8.self)
        #expect(body.contains("text/plain") && body.contains("text/html") && body.contains("contoso-teams"))
        #expect(body.contains("The first digest of this sink"))
        #expect(rig.content.calls.withLock { $0.map(\.since) } == [nil])
        #expect(worker.metrics.snapshot()[.init(email: "ops", outcome: "delivered")] == 1)
        try store.close()

        // A restart later the same day: the period is delivered, nothing is sent.
        rig.clock.set("2026-12-07T20:00:00Z")
        (worker, store) = try rig.worker()
        #expect(await worker.tick() == 0)
        #expect(rig.mail.sent.count == 1)
        // The next day's digest reports changes since the previous one's due time.
        rig.clock.set("2026-12-08T07:00:30Z")
        #expect(await worker.tick() == 1)
        #expect(rig.content.calls.withLock { $0.last?.since } == RFC3339.date("2026-12-07T07:00:00Z"))
        #expect(Self.header(rig.mail.sent[1], "Message-ID") == "<digest.ops.daily.2026-12-08.connwatch@example.com>")
        try store.close()
    }

    @Test func lateStartSendsTheCurrentPeriodButNotMissedOnes() async throws {
        // Down from Monday morning to Wednesday 23:00 local: Monday's and Tuesday's digests
        // are not sent afterwards; Wednesday's (due 08:00) is sent late, once.
        let rig = try Rig(now: "2026-12-09T22:00:00Z", digest: .daily(hour: 8, minute: 0))
        let (worker, store) = try rig.worker()
        #expect(await worker.tick() == 1)
        #expect(await worker.tick() == 0)
        #expect(try await store.digests().map(\.period) == ["daily:2026-12-09"])
        // Weekly: started on Sunday of the week whose digest was due Monday → sent late.
        var weekly = try Rig(now: "2026-12-13T12:00:00Z", digest: .weekly(weekday: 1, hour: 8, minute: 0))
        weekly.sink.digest = .weekly(weekday: 1, hour: 8, minute: 0)
        let (w2, s2) = try weekly.worker()
        #expect(await w2.tick() == 1)
        #expect(try await s2.digests().map(\.period) == ["weekly:2026-W50"])
        #expect(Self.header(weekly.mail.sent[0], "Message-ID") == "<digest.ops.weekly.2026-W50.connwatch@example.com>")
        try store.close()
        try s2.close()
    }

    @Test func a451IsRetriedAfterARestartWithTheSameMessageID() async throws {
        let rig = try Rig(
            now: "2026-12-07T07:00:00Z", digest: .daily(hour: 8, minute: 0),
            script: [SMTPDeliveryReport(verdict: .transient, failure: "DATA: 451 4.3.0 try again later")])
        var (worker, store) = try rig.worker()
        #expect(await worker.tick() == 1)
        var row = try #require(try await store.digests().first)
        #expect(row.status == .pending && row.attempts == 1 && row.lastError?.contains("451 4.3.0") == true)
        #expect(row.nextAttemptAt == RFC3339.date("2026-12-07T07:00:05Z"))
        #expect(worker.metrics.snapshot()[.init(email: "ops", outcome: "retry")] == 1)
        // Not before its time.
        rig.clock.set("2026-12-07T07:00:04Z")
        #expect(await worker.tick() == 0)
        try store.close()
        // A restart; the retry is due and goes out under the same Message-ID.
        rig.clock.set("2026-12-07T07:00:06Z")
        (worker, store) = try rig.worker()
        #expect(await worker.tick() == 1)
        row = try #require(try await store.digests().first)
        #expect(row.status == .delivered && row.attempts == 2 && row.recipients == ["ops@example.com"])
        #expect(Set(rig.mail.sent.map { Self.header($0, "Message-ID") }) == ["<digest.ops.daily.2026-12-07.connwatch@example.com>"])
        #expect(rig.mail.sent.count == 2)
        try store.close()
    }

    @Test func aKilledSendIsResentAfterItsLeaseWithTheSameMessageID() async throws {
        let rig = try Rig(now: "2026-12-07T07:00:00Z", digest: .daily(hour: 8, minute: 0))
        var (worker, store) = try rig.worker()
        // A process claims the period and leases it, then dies before recording anything.
        let period = try #require(DigestCalendar.current(rig.sink.digest, timeZone: Self.berlin, now: rig.clock.wall.now()))
        try await store.claimDigestPeriod(
            sink: "ops", period: period, messageID: DigestMail.messageID(sink: rig.sink, period: period.key),
            now: rig.clock.wall.now())
        _ = try await store.claimDueDigests(sinks: ["ops"], now: rig.clock.wall.now(), lease: .seconds(600))
        try store.close()
        (worker, store) = try rig.worker()
        #expect(await worker.tick() == 0)  // the lease still runs
        rig.clock.set("2026-12-07T07:10:01Z")
        #expect(await worker.tick() == 1)
        #expect(rig.mail.sent.map { Self.header($0, "Message-ID") } == ["<digest.ops.daily.2026-12-07.connwatch@example.com>"])
        #expect(try await store.digests().first?.status == .delivered)
        try store.close()
    }

    @Test func a550IsDeadAtOnceAndNotRetried() async throws {
        let rig = try Rig(
            now: "2026-12-07T07:00:00Z", digest: .daily(hour: 8, minute: 0),
            script: [SMTPDeliveryReport(verdict: .permanent, failure: "MAIL FROM: 550 5.7.1 relaying denied")])
        let (worker, store) = try rig.worker()
        #expect(await worker.tick() == 1)
        rig.clock.set("2026-12-07T12:00:00Z")
        #expect(await worker.tick() == 0)
        let row = try #require(try await store.digests().first)
        #expect(row.status == .dead && row.attempts == 1 && row.lastError?.contains("550 5.7.1") == true)
        #expect(rig.mail.sent.count == 1)
        #expect(worker.metrics.snapshot()[.init(email: "ops", outcome: "dead")] == 1)
        try store.close()
    }

    @Test func onTheSpringForwardDayA0230DigestIsDueAtThreeLocal() async throws {
        let rig = try Rig(now: "2027-03-28T00:59:59Z", digest: .daily(hour: 2, minute: 30))
        let (worker, store) = try rig.worker()
        #expect(await worker.tick() == 0)
        rig.clock.set("2027-03-28T01:00:00Z")  // 03:00 CEST, the first instant after the gap
        #expect(await worker.tick() == 1)
        // Fall back in October: 02:30 happens twice; the second pass sends nothing.
        rig.clock.set("2027-10-31T00:30:00Z")
        #expect(await worker.tick() == 1)
        rig.clock.set("2027-10-31T01:30:00Z")
        #expect(await worker.tick() == 0)
        #expect(try await store.digests().map(\.period) == ["daily:2027-10-31", "daily:2027-03-28"])
        try store.close()
    }

    @Test func sendNowIsOutsideTheScheduleAndDoesNotCountAsThePeriods() async throws {
        let rig = try Rig(now: "2026-12-07T06:00:00Z", digest: .daily(hour: 8, minute: 0))
        let (worker, store) = try rig.worker()
        let sent = try #require(await worker.sendNow("ops"))
        #expect(sent.report.verdict == .delivered)
        #expect(sent.messageID.hasPrefix("digest.ops.manual.") && sent.messageID.hasSuffix(".connwatch@example.com"))
        #expect(try await store.digests().isEmpty)
        #expect(await worker.sendNow("nope") == nil)
        // The period's own digest still goes out at 08:00 local.
        rig.clock.set("2026-12-07T07:00:00Z")
        #expect(await worker.tick() == 1)
        #expect(rig.mail.sent.count == 2)
        #expect(Self.header(rig.mail.sent[0], "X-Connwatch-Digest") == "manual")
        try store.close()
    }

    @Test func sleepsUntilTheNextDueButNeverLongerThanItsCap() async throws {
        let rig = try Rig(now: "2026-12-07T06:59:50Z", digest: .daily(hour: 8, minute: 0))
        let (worker, store) = try rig.worker()
        #expect(await worker.nextWake() == .seconds(10))
        rig.clock.set("2026-12-07T07:00:01Z")
        #expect(await worker.tick() == 1)
        #expect(await worker.nextWake() == .seconds(60))  // tomorrow's is far: the cap
        // A 451 schedules a retry 5 s ahead: the worker wakes for it.
        rig.mail.state.withLock { $0.script["ops"] = [SMTPDeliveryReport(verdict: .transient, failure: "451 later")] }
        rig.clock.set("2026-12-08T07:00:00Z")
        #expect(await worker.tick() == 1)
        #expect(await worker.nextWake() == .seconds(5))
        try store.close()
    }

    /// The running loop re-reads the wall clock after each (capped) sleep: a clock stepped
    /// past the due time is noticed within the cap, without a wake.
    @Test func theLoopNoticesAWallClockStep() async throws {
        let rig = try Rig(now: "2026-12-07T03:00:00Z", digest: .daily(hour: 8, minute: 0))
        let (worker, store) = try rig.worker(maxSleep: .milliseconds(100))
        let running = Mutex(true)
        let loop = Task { await worker.run(keepGoing: { running.withLock { $0 } }) }
        try await Task.sleep(for: .milliseconds(300))
        #expect(rig.mail.sent.isEmpty)
        rig.clock.set("2026-12-07T09:00:00Z")  // NTP steps the clock by six hours
        let deadline = ContinuousClock.now + .seconds(10)
        while rig.mail.sent.isEmpty && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(rig.mail.sent.count == 1)
        running.withLock { $0 = false }
        await worker.wake()
        await loop.value
        try store.close()
    }

    @Test func theDigestIsTheReportWithACountingSubject() {
        func connector(_ name: String, _ status: CheckStatus) -> ReportModel.Connector {
            ReportModel.Connector(
                name: name, kind: "onedrive", status: status, reason: status == .ok ? "ok" : "secret_expired",
                summary: "<b>\(name)</b> summary", remediation: "", days: Array(repeating: nil, count: ReportModel.stripLength))
        }
        var sink = EmailDeliveryTests.sink("ops")
        sink.digest = .weekly(weekday: 1, hour: 8, minute: 0)
        let now = RFC3339.date("2026-12-07T07:00:00Z")!
        let observer = ReportModel.Connector(
            name: "observer:t", kind: "observer", status: .critical, reason: "observer_failed", summary: "",
            remediation: "", days: Array(repeating: nil, count: ReportModel.stripLength))
        let model = ReportModel(
            generatedAt: now, horizonDays: 90, timeZoneIdentifier: "UTC",
            stripDays: ReportModel.dayStarts(endingAt: now, count: ReportModel.stripLength, timeZone: .gmt),
            tenants: [
                .init(
                    tenantId: "t", observed: true, connectors: [observer, connector("a-prod", .ok), connector("b-prod", .critical)],
                    credentials: [])
            ], changesSince: now - 7 * 86400)
        let c = StatusDigest.content(sink: sink, model: model, first: false)
        // Connectors are counted, the observer is not (it is in the body).
        #expect(c.subject == "[connwatch] Weekly digest: 2 connectors — 1 critical, 1 ok (worst: critical)")
        // The parts are the report's text and page, untouched.
        #expect(c.html == ReportRenderer.html(model))
        #expect(c.text.hasPrefix("connwatch digest for ops (weekly on Mon at 08:00)\n\n"))
        #expect(c.text.hasSuffix(ReportRenderer.text(model)))
        #expect(c.html.contains("&lt;b&gt;a-prod&lt;/b&gt;") && !c.html.contains("<b>a-prod"))
        let first = StatusDigest.content(sink: sink, model: model, first: true)
        #expect(first.text.contains("The first digest of this sink: the changes cover the last 7 days."))
    }
}
