import ConnwatchAlerting
import ConnwatchCore
import ConnwatchMail
import ConnwatchStore
import Foundation
import Logging
import Synchronization

/// Sends each `[[email]]` sink's digest (SPEC §5: `digest = "daily"|"weekly"` at `digest_at`,
/// local time) through the sink's ``MailTransport`` — the one alert mails use.
///
/// - When: ``DigestCalendar`` gives the period containing now and its due instant. Once now
///   has reached it, the period is claimed in the store (an INSERT on the unique key (sink,
///   period)), so a period is sent once, whatever the restarts. A daemon started late inside
///   a period sends that period's digest late; periods that passed entirely while it was
///   down are not sent afterwards (a stack of stale digests helps nobody).
/// - Retries: 4xx and network failures follow the webhook schedule (``EmailAttempt``); a 5xx
///   is dead at once and journaled. A send holds a lease: after a kill -9 mid-send the
///   next process sends the row again, under the same Message-ID.
/// - Waking: never sleeps longer than ``maxSleep``, re-reading the wall clock each time, so
///   a reload (new schedule) or a wall-clock step is noticed within it; ``wake()`` is
///   immediate.
public actor DigestWorker {
    /// The current `[[email]]` sinks and their transport (they change on reload).
    public typealias Mail = DeliveryWorker.Mail

    let store: HistoryStore
    let journal: JournalWriter
    let logger: Logger
    let policy: WebhookRetryPolicy
    let clock: WallClock
    let timeZone: @Sendable () -> TimeZone
    let mail: Mail
    let content: DigestContentProvider
    let maxSleep: Duration
    /// Digests by sink and outcome, for `connwatch_digest_sent_total`.
    nonisolated let metrics = DigestMetrics()

    private let doorbell = Doorbell()
    /// The period each sink was last seen claimed in (this process): no write per look for
    /// the rest of the period. A restart's first look inserts-or-ignores once.
    private var claimed: [String: String] = [:]

    public init(
        store: HistoryStore, journal: JournalWriter, logger: Logger, policy: WebhookRetryPolicy,
        clock: WallClock = .system, timeZone: @escaping @Sendable () -> TimeZone = { TimeZone.current },
        maxSleep: Duration = .seconds(60), mail: @escaping Mail, content: @escaping DigestContentProvider
    ) {
        self.store = store
        self.journal = journal
        self.logger = logger
        self.policy = policy
        self.clock = clock
        self.timeZone = timeZone
        self.maxSleep = maxSleep
        self.mail = mail
        self.content = content
    }

    /// Sinks with a digest, and their transport.
    nonisolated func scheduled() -> ([EmailConfig], any MailTransport) {
        let (emails, transport) = mail()
        return (emails.filter { $0.digest != .off }, transport)
    }

    /// Runs until cancelled or `keepGoing` says stop.
    public func run(keepGoing: @escaping @Sendable () -> Bool = { true }) async {
        while !Task.isCancelled && keepGoing() {
            await tick()
            guard !Task.isCancelled && keepGoing() else { break }
            await sleep(for: await nextWake())
        }
    }

    /// One pass: claims the current period of every sink whose digest is due, then sends
    /// every claimed digest whose (next) attempt is due. Returns how many attempts it made.
    @discardableResult
    public func tick() async -> Int {
        let (sinks, transport) = scheduled()
        guard !sinks.isEmpty else { return 0 }
        let now = clock.now()
        let zone = timeZone()
        for sink in sinks {
            guard let period = DigestCalendar.current(sink.digest, timeZone: zone, now: now), period.dueAt <= now,
                claimed[sink.name] != period.key
            else { continue }
            do {
                if try await store.claimDigestPeriod(
                    sink: sink.name, period: period, messageID: DigestMail.messageID(sink: sink, period: period.key),
                    now: now)
                {
                    let late = now.timeIntervalSince(period.dueAt) > 300 ? " (late: it was due at \(RFC3339.string(period.dueAt)))" : ""
                    logger.info("digest: \(period.key) of e-mail sink \(sink.name) is due\(late)")
                }
                claimed[sink.name] = period.key
            } catch {
                logger.error("digest: cannot record the period \(period.key) of \(sink.name): \(error)")
            }
        }
        // Claiming is a write: only when something is due (a read).
        guard let next = try? await store.nextDigestAttempt(sinks: Set(sinks.map(\.name))), next <= now else {
            return 0
        }
        var attempts = 0
        for sink in sinks {
            // The lease outlives the attempt (the SMTP dialogue's worst case, as for alert
            // mails): a live sender always records first.
            let lease = sink.timeout.swiftDuration * (12 + sink.to.count) + .seconds(60)
            let claimed: [ClaimedDigest]
            do {
                claimed = try await store.claimDueDigests(sinks: [sink.name], now: now, lease: lease)
            } catch {
                logger.error("digest: cannot read the digest ledger: \(error)")
                continue
            }
            for row in claimed {
                await send(row, sink: sink, transport: transport)
                attempts += 1
            }
        }
        return attempts
    }

    /// One attempt of a claimed period: content, message, submission, decision, record.
    func send(_ row: ClaimedDigest, sink: EmailConfig, transport: any MailTransport) async {
        let attempt = row.attempts + 1
        let started = clock.now()
        let report: SMTPDeliveryReport
        do {
            let content = try await content(sink, row.changesSince, started)
            let message = DigestMail.message(
                content, sink: sink, messageID: row.messageID, period: row.period, date: started)
            report = await transport.send(
                SMTPEnvelope(from: sink.from.address, recipients: sink.to.map(\.address), message: message.rendered()),
                sink: sink)
        } catch {
            report = SMTPDeliveryReport(verdict: .transient, failure: "the digest could not be made: \(error)")
        }
        let at = clock.now()
        let (decision, details) = EmailAttempt.decide(report, attempt: attempt, policy: policy)
        let outcome: AttemptOutcome
        switch decision {
        case .delivered: outcome = .delivered
        case .retry(let after): outcome = .retry(at: at.addingTimeInterval(after.seconds))
        case .dead, .gone: outcome = .dead
        }
        do {
            try await store.recordDigestAttempt(
                sink: row.sink, period: row.period, at: at, outcome: outcome,
                error: outcome == .delivered ? (report.refused.isEmpty ? nil : details) : details,
                recipients: report.accepted)
        } catch {
            logger.error("digest: cannot record the attempt for \(row.period) of \(row.sink): \(error)")
            return
        }
        metrics.record(email: sink.name, outcome: outcome.label)
        let what = "digest \(row.period) of e-mail sink \(sink.name) (Message-ID <\(row.messageID)>)"
        switch outcome {
        case .delivered:
            logger.notice("digest: \(what) sent on attempt \(attempt): \(details)")
            journal.send(
                JournalEntry(
                    message: "\(what) sent to \(report.accepted.joined(separator: ", "))", priority: 6,
                    messageID: MessageIDs.digestSent,
                    fields: [
                        ("CONNWATCH_EMAIL", sink.name), ("CONNWATCH_DIGEST_PERIOD", row.period),
                        ("CONNWATCH_MESSAGE_ID", row.messageID), ("CONNWATCH_ATTEMPTS", String(attempt)),
                    ]))
        case .retry(let next):
            logger.warning("digest: \(what) attempt \(attempt) failed: \(details); next attempt at \(RFC3339.string(next))")
        case .dead, .gone:
            logger.error("digest: \(what) given up after \(attempt) attempts: \(details)")
            journal.send(
                JournalEntry(
                    message:
                        "\(what) given up after \(attempt) attempts (last: \(details)); send one now with connwatchctl email digest \(sink.name)",
                    priority: 3, messageID: MessageIDs.digestDead,
                    fields: [
                        ("CONNWATCH_EMAIL", sink.name), ("CONNWATCH_DIGEST_PERIOD", row.period),
                        ("CONNWATCH_MESSAGE_ID", row.messageID), ("CONNWATCH_ATTEMPTS", String(attempt)),
                        ("CONNWATCH_LAST_ERROR", details),
                    ]))
        }
    }

    /// `connwatchctl email digest NAME`: the digest now, outside the schedule. It is not the
    /// period's digest (nothing is claimed; the scheduled one still goes out), has its own
    /// Message-ID, and is tried once: the operator sees the server's answer. "Changes since"
    /// is the sink's last scheduled digest. Nil when no such sink is configured.
    public func sendNow(_ name: String) async -> (report: SMTPDeliveryReport, messageID: String)? {
        let (emails, transport) = mail()
        guard let sink = emails.first(where: { $0.name == name }) else { return nil }
        let now = clock.now()
        let since = try? await store.digests(sink: sink.name).first { $0.status == .delivered }?.dueAt
        let messageID = DigestMail.manualMessageID(sink: sink, id: NotificationID.uuidV7(at: now))
        let report: SMTPDeliveryReport
        do {
            let content = try await content(sink, since, now)
            let message = DigestMail.message(content, sink: sink, messageID: messageID, period: nil, date: now)
            report = await transport.send(
                SMTPEnvelope(from: sink.from.address, recipients: sink.to.map(\.address), message: message.rendered()),
                sink: sink)
        } catch {
            report = SMTPDeliveryReport(verdict: .transient, failure: "the digest could not be made: \(error)")
        }
        logger.notice("digest: sent on request through e-mail sink \(sink.name) (Message-ID <\(messageID)>): \(report)")
        return (report, messageID)
    }

    /// The next due instant of each sink with a digest (status, tests).
    public nonisolated func nextDue(now: Date) -> [String: DigestPeriod] {
        let zone = timeZone()
        var out: [String: DigestPeriod] = [:]
        for sink in scheduled().0 {
            out[sink.name] = DigestCalendar.next(sink.digest, timeZone: zone, after: now)
        }
        return out
    }

    /// How long to sleep: until the earliest due period or retry, at most ``maxSleep``.
    func nextWake() async -> Duration {
        let now = clock.now()
        var earliest = now.addingTimeInterval(maxSleep.seconds)
        for period in nextDue(now: now).values { earliest = min(earliest, period.dueAt) }
        if let retry = try? await store.nextDigestAttempt(sinks: Set(scheduled().0.map(\.name))) {
            earliest = min(earliest, retry)
        }
        return .milliseconds(max(20, Int64(earliest.timeIntervalSince(now) * 1000)))
    }

    /// Wakes the loop now (a reload).
    public func wake() { doorbell.ring() }

    private func sleep(for duration: Duration) async { await doorbell.sleep(for: duration) }
}

/// Digests since the daemon started, by sink and outcome (`delivered`, `retry`, `dead`).
final class DigestMetrics: Sendable {
    struct Key: Sendable, Hashable {
        var email: String
        var outcome: String
    }

    private let state = Mutex([Key: Int]())

    func record(email: String, outcome: String) {
        state.withLock { $0[Key(email: email, outcome: outcome), default: 0] += 1 }
    }

    func snapshot() -> [Key: Int] { state.withLock { $0 } }
}
