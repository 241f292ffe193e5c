import ConnwatchAlerting
import ConnwatchCore
import ConnwatchMail
import ConnwatchStore
import ConnwatchTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@testable import ConnwatchDaemon

/// E-mail through the webhook outbox: the rows the coordinator writes, the worker's mapping
/// of SMTP verdicts onto the outbox, and one real SQLite outbox driven by an in-memory SMTP
/// double (the SMTP client itself is tested against scripted peers and aiosmtpd).
@Suite struct EmailDeliveryTests {
    static func sink(_ name: String, to: [String] = ["ops@example.com"]) -> EmailConfig {
        var s = EmailConfig(
            name: name, server: SMTPServer(url: "smtp://mail.example.com")!,
            from: MailAddress(parsing: "connwatch <connwatch@example.com>")!,
            to: to.map { MailAddress(parsing: $0)! }, source: SourceLocation(file: "test.toml"))
        s.username = "connwatch@example.com"
        s.password = Secret("sm7p-pa55word-never-stored")
        return s
    }

    @Test func sinkKeysCannotCollideWithWebhookNames() {
        #expect(DeliverySink.email("soc").key == "email:soc")
        #expect(DeliverySink(key: "email:soc") == .email("soc"))
        #expect(DeliverySink(key: "soc") == .webhook("soc"))
        // A webhook name can never carry the prefix: names are lowercase letters, digits and '-'.
        #expect(!Validators.isName("email:soc"))
    }

    @Test func emailSinksMatchWithTheWebhookFilters() {
        let identity = ConnectorIdentity(
            name: "contoso-teams", kind: .teams, tenantId: "t", clientId: "c", labels: ["env": "prod"])
        let n = AlertNotification(
            id: "019a5f2c-8a00-7000-8000-000000000001", alertId: "019a5f2c-8a00-7000-8000-000000000001",
            connector: identity.name, check: .consent, eventType: .consentMissing, state: .firing, severity: .warning,
            status: .warning, reason: .consentMissing, summary: "s", remediation: "r", cause: .firstNotification,
            createdAt: Date())
        var all = Self.sink("all")
        all.minSeverity = .warning
        var criticalOnly = Self.sink("critical-only")
        criticalOnly.minSeverity = .critical
        var other = Self.sink("other")
        other.connectors = ["fabrikam-blob"]
        var prod = Self.sink("prod")
        prod.labels = ["env": "prod"]
        var dev = Self.sink("dev")
        dev.labels = ["env": "dev"]
        #expect(
            NotificationRendering.matchingEmails(n, identity: identity, emails: [all, criticalOnly, other, prod, dev])
                == ["email:all", "email:prod"])
    }

    @Test func smtpVerdictsMapOntoTheOutbox() {
        let policy = WebhookRetryPolicy(scale: 1, jitter: 0)
        var delivered = SMTPDeliveryReport(verdict: .delivered)
        delivered.accepted = ["ops@example.com"]
        delivered.refused = [.init(address: "gone@example.com", reply: "550 5.1.1 no such user")]
        let ok = EmailAttempt.decide(delivered, attempt: 1, policy: policy)
        #expect(ok.decision == .delivered)
        #expect(ok.details.contains("ops@example.com") && ok.details.contains("gone@example.com (550 5.1.1"))

        var partial = delivered
        partial.deferred = [.init(address: "later@example.com", reply: "451 4.2.0 try later")]
        #expect(EmailAttempt.decide(partial, attempt: 1, policy: policy).decision == .retry(after: .seconds(5)))

        let transient = SMTPDeliveryReport(verdict: .transient, failure: "DATA: 451 4.3.0 try again")
        #expect(EmailAttempt.decide(transient, attempt: 2, policy: policy).decision == .retry(after: .seconds(300)))
        #expect(EmailAttempt.decide(transient, attempt: policy.maxAttempts, policy: policy).decision == .dead)
        let t = EmailAttempt.decide(transient, attempt: 1, policy: policy)
        #expect(t.details.contains("451 4.3.0 try again"))

        let permanent = SMTPDeliveryReport(verdict: .permanent, failure: "MAIL FROM: 550 5.7.1 relaying denied")
        let p = EmailAttempt.decide(permanent, attempt: 1, policy: policy)
        #expect(p.decision == .dead && p.details.contains("relaying denied"))
    }

    /// Answers from a script per sink (then delivers), records every envelope.
    final class ScriptedMail: MailTransport {
        let state: Mutex<(script: [String: [SMTPDeliveryReport]], sent: [SMTPEnvelope])>
        init(_ script: [String: [SMTPDeliveryReport]]) { state = Mutex((script, [])) }
        func send(_ envelope: SMTPEnvelope, sink: EmailConfig) async -> SMTPDeliveryReport {
            state.withLock { s in
                s.sent.append(envelope)
                guard let next = s.script[sink.name]?.first else {
                    var r = SMTPDeliveryReport(verdict: .delivered)
                    r.accepted = envelope.recipients
                    return r
                }
                s.script[sink.name]?.removeFirst()
                return next
            }
        }
        var sent: [SMTPEnvelope] { state.withLock { $0.sent } }
    }

    static func messageID(_ e: SMTPEnvelope) -> String? {
        String(decoding: e.message, as: UTF8.self).split(separator: "\r\n")
            .first { $0.lowercased().hasPrefix("message-id:") }.map { String($0.dropFirst(11)).trimmingCharacters(in: .whitespaces) }
    }

    /// A 451 then a delivery with one recipient refused: two attempts under one Message-ID, the
    /// row delivered with the recipients' fates recorded, never the password; a 5xx row dead at
    /// once; a row of a removed sink given up; the metrics count them with the sink kind.
    @Test func theWorkerSendsEmailRowsThroughTheOutbox() async throws {
        let temporary = try TemporaryDirectory("email-worker")
        let store = try HistoryStore.open(path: temporary.url.appendingPathComponent("connwatch.sqlite").path)
        let ops = Self.sink("ops", to: ["ops@example.com", "gone@example.com"])
        let strict = Self.sink("strict")
        let id1 = "019a5f2c-8a00-7000-8000-000000000081"
        let id2 = "019a5f2c-8a00-7000-8000-000000000082"
        try await DeliveryWorkerTests.commitFiringAlert(
            store: store, id: id1, webhooks: ["email:ops", "email:removed"], at: Date())
        try await DeliveryWorkerTests.commitFiringAlert(store: store, id: id2, webhooks: ["email:strict"], at: Date())
        var accepted = SMTPDeliveryReport(verdict: .delivered)
        accepted.accepted = ["ops@example.com"]
        accepted.refused = [.init(address: "gone@example.com", reply: "550 5.1.1 no such user")]
        let mail = ScriptedMail([
            "ops": [SMTPDeliveryReport(verdict: .transient, failure: "DATA: 451 4.3.0 try again later"), accepted],
            "strict": [SMTPDeliveryReport(verdict: .permanent, failure: "MAIL FROM: 550 5.7.1 not allowed")],
        ])
        let sender = try WebhookSender(caFile: nil, proxy: nil)
        defer { Task { await sender.shutdown() } }
        let worker = DeliveryWorker(
            store: store, journal: JournalWriter(forceStderr: true), logger: Logger(label: "test"),
            policy: WebhookRetryPolicy(scale: 0.0002, jitter: 0), version: "test",
            sink: { ([], sender) }, mail: { ([ops, strict], mail) })
        // drainDue stops when nothing is due *now*; the 451's retry is due 1 ms later.
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            await worker.drainDue(deadline: deadline)
            if try await store.deliveries(states: [.pending, .delivering]).isEmpty { break }
            try await Task.sleep(for: .milliseconds(20))
        }

        let byKey = Dictionary(grouping: try await store.deliveries(), by: \.webhook)
        let opsRow = try #require(byKey["email:ops"]?.first)
        #expect(opsRow.status == .delivered && opsRow.attempts == 2, "\(opsRow)")
        #expect(opsRow.lastError?.contains("refused: gone@example.com (550 5.1.1") == true, "\(opsRow)")
        let strictRow = try #require(byKey["email:strict"]?.first)
        #expect(strictRow.status == .dead && strictRow.attempts == 1)
        #expect(strictRow.lastError?.contains("550 5.7.1 not allowed") == true)
        let removed = try #require(byKey["email:removed"]?.first)
        #expect(removed.status == .dead && removed.attempts == 0)

        let toOps = mail.sent.filter { $0.recipients == ["ops@example.com", "gone@example.com"] }
        #expect(toOps.count == 2)
        #expect(Set(toOps.map(Self.messageID)) == ["<\(id1).connwatch@example.com>"])
        #expect(toOps.allSatisfy { $0.from == "connwatch@example.com" })

        let metrics = worker.metrics.snapshot()
        #expect(metrics[.init(webhook: "ops", outcome: "retry", kind: "email")] == 1)
        #expect(metrics[.init(webhook: "ops", outcome: "delivered", kind: "email")] == 1)
        #expect(metrics[.init(webhook: "strict", outcome: "dead", kind: "email")] == 1)

        // An operator's retry sends the dead row again (the same machinery as webhooks).
        #expect(try await store.retryDelivery(id: strictRow.id, now: Date()))
        await worker.drainDue(deadline: .now + .seconds(20))
        let again = try #require(try await store.deliveries().first { $0.id == strictRow.id })
        #expect(again.status == .delivered && again.attempts == 2)

        let file = try Data(contentsOf: temporary.url.appendingPathComponent("connwatch.sqlite"))
        let wal = (try? Data(contentsOf: temporary.url.appendingPathComponent("connwatch.sqlite-wal"))) ?? Data()
        #expect(file.range(of: Data("sm7p-pa55word".utf8)) == nil && wal.range(of: Data("sm7p-pa55word".utf8)) == nil)
    }
}

/// The coordinator writes one outbox row per matching webhook and `[[email]]` sink, in the
/// commit of the state change; a reload changes which sinks get the next notification.
@Suite struct EmailOutboxRowTests {
    @Test func aCriticalTransitionWritesARowPerMatchingSinkInItsCommit() async throws {
        let store = try HistoryStore.openInMemory()
        var configuration = Configuration(
            webhooks: [WebhookConfig(name: "soc", url: Secret("https://hooks.example.com/x"), source: SourceLocation(file: "t"))],
            connectors: [CycleCoordinatorTests.connector("a")])
        var critical = EmailDeliveryTests.sink("oncall")
        critical.minSeverity = .critical
        var elsewhere = EmailDeliveryTests.sink("elsewhere")
        elsewhere.connectors = ["b"]
        configuration.emails = [critical, elsewhere]
        let t0 = CycleCoordinatorTests.t0
        let coordinator = CycleCoordinator(
            store: store, journal: JournalWriter(forceStderr: true), configuration: configuration,
            snapshot: try await store.loadState(), startedAt: t0, logger: Logger(label: "test"))
        await coordinator.reconcile(now: t0)

        func record(_ status: CheckStatus, at t: Date) async {
            var results = CycleCoordinatorTests.results(.exchange, at: t)
            for i in results.indices where results[i].check == .consent {
                results[i] = CheckResult(
                    check: .consent, status: status, reason: status == .ok ? .ok : .consentMissing,
                    summary: status == .ok ? "granted" : "1 required permission not granted", checkedAt: t)
            }
            await coordinator.record(connector: "a", results: results, now: t)
            await coordinator.flush(now: t)
        }
        let t1 = t0.addingTimeInterval(60)
        await record(.critical, at: t1)
        let firing = try await store.deliveries()
        #expect(Set(firing.map(\.webhook)) == ["soc", "email:oncall"], "\(firing.map(\.webhook))")
        #expect(Set(firing.map(\.notificationId)).count == 1)
        #expect(firing.allSatisfy { $0.status == .pending && $0.createdAt == t1 })

        // Reloaded without the webhook and with the second sink now matching: the resolution
        // goes to the sinks configured when it happens.
        var reloaded = configuration
        reloaded.webhooks = []
        reloaded.emails[1].connectors = []
        await coordinator.reload(reloaded, now: t1)
        let t2 = t1.addingTimeInterval(60)
        await record(.ok, at: t2)
        let resolution = try await store.deliveries().filter { $0.createdAt == t2 }
        #expect(Set(resolution.map(\.webhook)) == ["email:oncall", "email:elsewhere"], "\(resolution.map(\.webhook))")
    }
}
