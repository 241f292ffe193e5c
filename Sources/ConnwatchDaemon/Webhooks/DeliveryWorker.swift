import ConnwatchAlerting
import ConnwatchCore
import ConnwatchStore
import Foundation
import Logging
import Synchronization

/// The current webhooks and their HTTP client, shared by the daemon (which swaps them on
/// reload) and the delivery worker.
public final class WebhookSink: Sendable {
    public let state: Mutex<(webhooks: [WebhookConfig], sender: WebhookSender)>

    public init(webhooks: [WebhookConfig], sender: WebhookSender) {
        state = Mutex((webhooks, sender))
    }
}

/// Sends the webhook outbox (SPEC §5, ops-facts §2.3). Deliveries are claimed from SQLite
/// with a lease, so a crash mid-send is recovered by the next process; each attempt is
/// recorded; the next one follows ``WebhookRetryPolicy``. Per (connector, webhook) the
/// store hands out deliveries in order, so a `resolved` never overtakes its `firing`.
///
/// A slow or dead endpoint cannot delay checks (this runs on its own task) or other
/// webhooks: each webhook has its own cap of concurrent deliveries, under a global one.
public actor DeliveryWorker {
    public struct Limits: Sendable {
        /// Concurrent deliveries over all webhooks.
        public var total = 16
        /// Concurrent deliveries to one webhook.
        public var perWebhook = 4
        /// Longest sleep between two looks at the outbox (new alerts, operator retries).
        public var poll: Duration = .seconds(1)

        public init() {}
    }

    public typealias Sink = @Sendable () -> (webhooks: [WebhookConfig], sender: WebhookSender)
    /// The current `[[email]]` sinks and their SMTP transport.
    public typealias Mail = @Sendable () -> (emails: [EmailConfig], transport: any MailTransport)
    /// A connector's app owners by connector name, for sinks with `owners = true` (the
    /// daemon's ``OwnersDirectory``); nil: owners are never read (the mail goes to `to` and
    /// the delivery says so).
    public typealias Owners = @Sendable (_ connector: String) async -> OwnersLookup

    let store: HistoryStore
    let journal: JournalWriter
    let logger: Logger
    let policy: WebhookRetryPolicy
    let limits: Limits
    let version: String
    /// The current webhooks and sender (they change on reload).
    let sink: Sink
    let mail: Mail?
    let owners: Owners?
    /// When attempts happen and retries are due.
    let clock: WallClock
    /// Attempts by webhook and outcome, for `GET /metrics`.
    nonisolated let metrics = DeliveryMetrics()

    private var inFlight: [String: Int] = [:]
    private var total = 0
    private let doorbell = Doorbell()
    private var lastConfigured: Set<String>?

    public init(
        store: HistoryStore, journal: JournalWriter, logger: Logger, policy: WebhookRetryPolicy,
        limits: Limits = Limits(), version: String, clock: WallClock = .system, sink: @escaping Sink,
        mail: Mail? = nil, owners: Owners? = nil
    ) {
        self.mail = mail
        self.owners = owners
        self.clock = clock
        self.store = store
        self.journal = journal
        self.logger = logger
        self.policy = policy
        self.limits = limits
        self.version = version
        self.sink = sink
    }

    /// Runs until the task is cancelled or `keepGoing` says stop. Sends in flight are let finish.
    /// Called once the daemon owns its control socket: deliveries left `delivering` by a
    /// previous process are due again at once.
    public func run(keepGoing: @escaping @Sendable () -> Bool = { true }) async {
        do {
            let n = try await store.releaseAllLeases(now: clock.now())
            if n > 0 { logger.notice("webhooks: \(n) deliveries interrupted by the previous process are due again") }
        } catch {
            logger.error("webhooks: cannot read the outbox: \(error)")
        }
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled && keepGoing() {
                let started = await startDue(group: &group)
                if started == 0 { await waitForWork() }
            }
        }
    }

    /// `--once`: sends what is due now (first attempts, and retries whose time has come),
    /// waiting for the answers, until nothing is due or the deadline passes. Later retries
    /// stay in the outbox for the next run.
    public func drainDue(deadline: ContinuousClock.Instant) async {
        _ = try? await store.recoverExpiredLeases(now: clock.now())
        await withDiscardingTaskGroup { group in
            while ContinuousClock.now < deadline {
                let started = await startDue(group: &group)
                if started == 0 && total == 0 { break }
                await waitForWork()
            }
        }
    }

    /// Wakes the loop (a delivery finished, an operator asked for a retry).
    public func wake() { doorbell.ring() }

    /// One sink the worker sends to: a webhook or an `[[email]]` sink (one outbox, two transports).
    enum Target: Sendable {
        case webhook(WebhookConfig, WebhookSender)
        case email(EmailConfig, any MailTransport)

        /// The outbox key (``DeliverySink/key``).
        var key: String {
            switch self {
            case .webhook(let hook, _): hook.name
            case .email(let sink, _): DeliverySink.email(sink.name).key
            }
        }

        /// The lease outlives the attempt: a live sender always records first. An SMTP
        /// dialogue is a dozen exchanges, each allowed the sink's timeout.
        var lease: Duration {
            switch self {
            case .webhook(let hook, _): hook.timeout.swiftDuration + .seconds(60)
            case .email(let sink, _):
                // Owners: their read (token, pages, Retry-After: within two minutes) and
                // their RCPT commands (a few, rarely more than 20).
                sink.owners
                    ? sink.timeout.swiftDuration * (12 + sink.to.count + 20) + .seconds(180)
                    : sink.timeout.swiftDuration * (12 + sink.to.count) + .seconds(60)
            }
        }
    }

    /// Claims and starts every due delivery there is room for. Returns how many started.
    private func startDue(group: inout DiscardingTaskGroup) async -> Int {
        let (webhooks, sender) = sink()
        var targets = webhooks.map { Target.webhook($0, sender) }
        if let mail {
            let (emails, transport) = mail()
            targets += emails.map { Target.email($0, transport) }
        }
        let now = clock.now()
        let configured = Set(targets.map(\.key))
        if configured != lastConfigured {
            lastConfigured = configured
            do {
                let n = try await store.abandonDeliveries(toWebhooksNotIn: configured, now: now)
                if n > 0 { logger.warning("webhooks: \(n) deliveries to removed webhooks or e-mail sinks given up") }
            } catch {
                logger.error("webhooks: cannot update the outbox: \(error)")
            }
        }
        // Claiming is a write transaction: only when something is due (a read) — an idle
        // outbox, or one waiting for its next retry, costs no writes.
        guard let due = try? await store.nextDeliveryDue(), due <= now else { return 0 }
        var started = 0
        for target in targets {
            let key = target.key
            let free = min(limits.perWebhook - inFlight[key, default: 0], limits.total - total)
            guard free > 0 else { continue }
            let claimed: [ClaimedDelivery]
            do {
                claimed = try await store.claimDueDeliveries(now: now, lease: target.lease, limit: free, webhook: key)
            } catch {
                logger.error("webhooks: cannot claim deliveries: \(error)")
                return started
            }
            for delivery in claimed {
                inFlight[key, default: 0] += 1
                total += 1
                started += 1
                group.addTask {
                    switch target {
                    case .webhook(let hook, let sender): await self.deliver(delivery, hook: hook, sender: sender)
                    case .email(let sink, let transport): await self.deliver(delivery, email: sink, transport: transport)
                    }
                    await self.finished(key)
                }
            }
        }
        return started
    }

    private func finished(_ webhook: String) {
        inFlight[webhook, default: 1] -= 1
        total -= 1
        wake()
    }

    private func waitForWork() async {
        if doorbell.takeRing() { return }
        var sleep = limits.poll
        if total == 0, let due = try? await store.nextDeliveryDue(), due.timeIntervalSince(clock.now()) > 0 {
            // Something is due soon: wake for it (a due one that could not start waits a poll).
            sleep = max(.milliseconds(20), min(sleep, .seconds(due.timeIntervalSince(clock.now()))))
        }
        await doorbell.sleep(for: sleep)
    }

    /// One attempt: render, sign, send, record, decide.
    nonisolated func deliver(_ d: ClaimedDelivery, hook: WebhookConfig, sender: WebhookSender) async {
        let attempt = d.attempts + 1
        let body: Data
        do {
            body = try WebhookFormats.render(hook.format, standardPayload: d.body)
        } catch {
            await record(d, sink: .webhook(hook.name), attempt: attempt, at: clock.now(), status: nil,
                error: "cannot render the \(hook.format) payload: \(error)", duration: .zero, outcome: .dead)
            return
        }
        let sentAt = clock.now()
        let started = ContinuousClock.now
        let result: WebhookAttemptResult
        do {
            var headers = try StandardWebhooks.headers(
                id: d.notificationId, timestamp: Int(sentAt.timeIntervalSince1970), body: body,
                secrets: hook.signingSecrets)
            headers.append(("content-type", "application/json"))
            headers.append(("user-agent", "connwatch/\(version)"))
            result = await sender.send(
                webhook: hook.name, url: hook.url, headers: headers, body: body, timeout: hook.timeout.swiftDuration,
                clock: clock)
        } catch {
            // A webhook configured to be signed is never sent unsigned (nor with fewer
            // signatures than configured): its receiver would drop it or, worse, accept it
            // because it does not insist on a signature. The attempt fails, is recorded with
            // the reason, and is retried on the schedule (the key may be fixed and reloaded
            // meanwhile); after the last one the delivery is dead and journaled.
            result = .failure("not sent: \(error)")
        }
        let duration = ContinuousClock.now - started
        let at = clock.now()
        let outcome: AttemptOutcome
        switch policy.decide(attempt: attempt, result: result) {
        case .delivered: outcome = .delivered
        case .retry(let after): outcome = .retry(at: at.addingTimeInterval(after.seconds))
        case .dead: outcome = .dead
        case .gone: outcome = .gone
        }
        var status: Int?
        if case .response(let s, _) = result { status = s }
        await record(
            d, sink: .webhook(hook.name), attempt: attempt, at: at, status: status, error: result.errorText,
            duration: duration, outcome: outcome)
    }

    /// One e-mail attempt: work out the recipients (`to`, plus the app's owners when the sink
    /// has `owners = true`), render the alert mail from the stored payload (the Message-ID
    /// comes from the notification id, so it is the same on every attempt and after a
    /// restart), submit it, record whom it was for and what the server said about each
    /// recipient, decide (``EmailAttempt/decide(_:attempt:policy:random:)``). Owners that
    /// cannot be read never hold the mail back: it goes to `to` and the details say why.
    nonisolated func deliver(_ d: ClaimedDelivery, email sink: EmailConfig, transport: any MailTransport) async {
        let attempt = d.attempts + 1
        var lookup: OwnersLookup?
        if sink.owners {
            lookup = await owners?(d.connector) ?? .unavailable("owners not read: owner lookup is not available")
        }
        let recipients = MailRecipients(to: sink.to, owners: lookup)
        guard let (envelope, _) = EmailAttempt.envelope(for: d, sink: sink, recipients: recipients) else {
            await record(
                d, sink: .email(sink.name), attempt: attempt, at: clock.now(), status: nil,
                error: "cannot render the alert mail from the stored payload", duration: .zero, outcome: .dead)
            return
        }
        let started = ContinuousClock.now
        let report = await transport.send(envelope, sink: sink)
        let duration = ContinuousClock.now - started
        let at = clock.now()
        let (decision, smtp) = EmailAttempt.decide(report, attempt: attempt, policy: policy)
        let details = EmailAttempt.details(recipients: recipients, smtp: smtp)
        let outcome: AttemptOutcome
        switch decision {
        case .delivered: outcome = .delivered
        case .retry(let after): outcome = .retry(at: at.addingTimeInterval(after.seconds))
        case .dead, .gone: outcome = .dead
        }
        await record(
            d, sink: .email(sink.name), attempt: attempt, at: at, status: nil, error: details, duration: duration,
            outcome: outcome)
    }

    nonisolated private func record(
        _ d: ClaimedDelivery, sink: DeliverySink, attempt: Int, at: Date, status: Int?, error: String?,
        duration: Duration, outcome: AttemptOutcome
    ) async {
        do {
            try await store.recordAttempt(
                deliveryID: d.id, at: at, httpStatus: status, error: error, duration: duration, outcome: outcome)
        } catch {
            // Lease lost (the webhook was removed meanwhile) or the disk failed: the lease
            // runs out and the delivery is claimed again; the consumer dedups on webhook-id.
            logger.error("webhooks: cannot record delivery \(d.id): \(error)")
            return
        }
        metrics.record(sink: sink, outcome: outcome.label)
        let what = "delivery \(d.id) (\(d.eventType), connector \(d.connector)) to \(sink)"
        switch outcome {
        case .delivered:
            logger.info("webhooks: \(what) delivered on attempt \(attempt)")
        case .retry(let next):
            logger.warning(
                "webhooks: \(what) attempt \(attempt) failed: \(error ?? "?"); next attempt at \(RFC3339.string(next))")
        case .gone:
            logger.error(
                "webhooks: \(what): the endpoint answered 410 Gone; no more deliveries to \(sink.name) until its URL changes or an operator retries one (connwatchctl deliveries retry ID)"
            )
        case .dead:
            logger.error("webhooks: \(what) given up after \(attempt) attempts: \(error ?? "?")")
            journal.send(
                JournalEntry(
                    message:
                        "\(sink): delivery \(d.id) of \(d.eventType) for connector \(d.connector) given up after \(attempt) attempts (last: \(error ?? "?")); resend with connwatchctl deliveries retry \(d.id)",
                    priority: 3, messageID: MessageIDs.deliveryDead,
                    fields: [
                        (sink.kind == .email ? "CONNWATCH_EMAIL" : "CONNWATCH_WEBHOOK", sink.name), ("CONNWATCH_DELIVERY_ID", String(d.id)),
                        ("CONNWATCH_CONNECTOR", d.connector), ("CONNWATCH_NOTIFICATION_ID", d.notificationId),
                        ("CONNWATCH_EVENT", d.eventType.rawValue), ("CONNWATCH_ATTEMPTS", String(attempt)),
                        ("CONNWATCH_LAST_ERROR", error ?? ""),
                    ]))
        }
    }
}

extension AttemptOutcome {
    /// The `outcome` label of `connwatch_webhook_attempts_total`.
    var label: String {
        switch self {
        case .delivered: "delivered"
        case .retry: "retry"
        case .dead: "dead"
        case .gone: "gone"
        }
    }
}

extension Duration {
    /// As fractional seconds.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
