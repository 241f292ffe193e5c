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

/// `owners = true` (SPEC §5): who a mail goes to (`to` first, owners after, each address
/// once), what the delivery records, the worker's use of the owners lookup, and the cache.
@Suite struct EmailOwnersTests {
    static func address(_ s: String) -> MailAddress { MailAddress(parsing: s)! }

    @Test func recipientsAreToThenOwnersEachAddressOnce() {
        let to = ["secops@example.com", "Ops <OPS@example.com>", "ops@example.com"].map(Self.address)
        let owners = AppOwners(
            addresses: ["Ana <ana@contoso.com>", "SecOps <SECOPS@example.com>", "bo@contoso.com"].map(Self.address),
            total: 4, withoutMail: 1)
        let r = MailRecipients(to: to, owners: .read(owners))
        #expect(r.to.map(\.address) == ["secops@example.com", "OPS@example.com"])
        #expect(r.owners.map(\.address) == ["ana@contoso.com", "bo@contoso.com"])
        #expect(r.all.map(\.address) == ["secops@example.com", "OPS@example.com", "ana@contoso.com", "bo@contoso.com"])
        #expect(
            r.details
                == "recipients: secops@example.com (to), OPS@example.com (to), ana@contoso.com (owner), bo@contoso.com (owner); owners: 1 of 4 has no mail address"
        )
        #expect(r.includesOwners)

        let unreadable = MailRecipients(
            to: [Self.address("secops@example.com")],
            owners: .unavailable("owners not read: graph GET owners: server error HTTP 503"))
        #expect(unreadable.all.map(\.address) == ["secops@example.com"])
        #expect(
            unreadable.details
                == "recipients: secops@example.com (to); owners not read: graph GET owners: server error HTTP 503")

        let plain = MailRecipients(to: [Self.address("secops@example.com")], owners: nil)
        #expect(!plain.includesOwners && plain.owners.isEmpty && plain.note == nil)
        #expect(EmailAttempt.details(recipients: plain, smtp: "delivered to secops@example.com") == "delivered to secops@example.com")
        #expect(
            EmailAttempt.details(recipients: unreadable, smtp: "delivered to secops@example.com")
                == "recipients: secops@example.com (to); owners not read: graph GET owners: server error HTTP 503 — delivered to secops@example.com"
        )
    }

    /// The worker: a sink with `owners = true` sends to `to` and the owners (envelope and
    /// `To:`), records both; owners that cannot be read leave `to` alone and say why; a
    /// sink without owners never asks.
    @Test func theWorkerAddsOwnersAndRecordsThem() async throws {
        let temporary = try TemporaryDirectory("email-owners")
        let store = try HistoryStore.open(path: temporary.url.appendingPathComponent("connwatch.sqlite").path)
        var withOwners = EmailDeliveryTests.sink("owners", to: ["secops@example.com"])
        withOwners.owners = true
        var broken = EmailDeliveryTests.sink("broken", to: ["secops@example.com"])
        broken.owners = true
        let plain = EmailDeliveryTests.sink("plain", to: ["secops@example.com"])
        try await DeliveryWorkerTests.commitFiringAlert(
            store: store, id: "019a5f2c-8a00-7000-8000-000000000091", webhooks: ["email:owners", "email:plain"],
            at: Date())
        let mail = EmailDeliveryTests.ScriptedMail([:])
        let asked = Mutex<[String]>([])
        let readable = Mutex(true)
        let sender = try WebhookSender(caFile: nil, proxy: nil)
        defer { Task { await sender.shutdown() } }
        let worker = DeliveryWorker(
            store: store, journal: JournalWriter(forceStderr: true), logger: Logger(label: "test"),
            policy: WebhookRetryPolicy(scale: 0.0002, jitter: 0), version: "test",
            sink: { ([], sender) }, mail: { [withOwners, broken] in ([withOwners, broken, plain], mail) },
            owners: { name in
                asked.withLock { $0.append(name) }
                guard readable.withLock({ $0 }) else {
                    return .unavailable(
                        "the observer may not read owners (needs Application.Read.All; User.ReadBasic.All for their addresses)")
                }
                return .read(
                    AppOwners(
                        addresses: [Self.address("Ana Admin <ana@contoso.com>"), Self.address("secops@example.com")],
                        total: 3, withoutMail: 1))
            })
        await worker.drainDue(deadline: .now + .seconds(20))
        #expect(asked.withLock { $0 } == ["contoso-teams"], "only the owners sink asks")
        let sent = mail.sent
        #expect(sent.count == 2)
        let toOwners = try #require(sent.first { $0.recipients.count == 2 })
        #expect(toOwners.recipients == ["secops@example.com", "ana@contoso.com"])
        let text = String(decoding: toOwners.message, as: UTF8.self)
        #expect(text.contains("To: secops@example.com, Ana Admin <ana@contoso.com>"), "\(text.prefix(600))")
        #expect(sent.contains { $0.recipients == ["secops@example.com"] })
        let rows = Dictionary(uniqueKeysWithValues: try await store.deliveries().map { ($0.webhook, $0) })
        let ownersRow = try #require(rows["email:owners"])
        #expect(ownersRow.status == .delivered)
        #expect(
            ownersRow.lastError
                == "recipients: secops@example.com (to), ana@contoso.com (owner); owners: 1 of 3 has no mail address — delivered to secops@example.com, ana@contoso.com"
        )
        #expect(rows["email:plain"]?.lastError == "delivered to secops@example.com")

        // Owners not readable: the mail still goes to `to`; the delivery says why.
        readable.withLock { $0 = false }
        try await DeliveryWorkerTests.commitFiringAlert(
            store: store, id: "019a5f2c-8a00-7000-8000-000000000092", webhooks: ["email:broken"], at: Date())
        await worker.drainDue(deadline: .now + .seconds(20))
        let brokenRow = try #require(try await store.deliveries().first { $0.webhook == "email:broken" })
        #expect(brokenRow.status == .delivered)
        #expect(
            brokenRow.lastError
                == "recipients: secops@example.com (to); the observer may not read owners (needs Application.Read.All; User.ReadBasic.All for their addresses) — delivered to secops@example.com"
        )
        #expect(mail.sent.last?.recipients == ["secops@example.com"])
    }

    @Test func theDirectoryCachesReadsAnHourAndFailuresFiveMinutes() async throws {
        let now = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        let clock = WallClock { now.withLock { $0 } }
        let answers = Mutex<[OwnersLookup]>([
            .unavailable("owners not read: graph GET owners: server error HTTP 503"),
            .read(AppOwners(addresses: [Self.address("ana@contoso.com")], total: 1)),
            .read(AppOwners(addresses: [Self.address("bo@contoso.com")], total: 1)),
        ])
        let directory = OwnersDirectory(clock: clock) { _ in
            try? await Task.sleep(for: .milliseconds(50))
            return answers.withLock { $0.removeFirst() }
        }
        var connector = ConnectorConfig(
            name: "contoso-teams", kind: .teams, tenantId: "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41",
            clientId: "d0000000-0000-4000-8000-000000000004", clientSecret: nil,
            source: SourceLocation(file: "test.toml"))
        func advance(_ s: TimeInterval) { now.withLock { $0 = $0.addingTimeInterval(s) } }

        // Two mails at once share one read.
        let same = connector
        async let a = directory.owners(of: same)
        async let b = directory.owners(of: same)
        let (first, second) = await (a, b)
        #expect(first == second)
        #expect(first == .unavailable("owners not read: graph GET owners: server error HTTP 503"))
        #expect(await directory.reads == 1)
        advance(299)
        #expect(await directory.owners(of: connector) == first)
        advance(2)
        guard case .read(let o) = await directory.owners(of: connector) else { return #expect(Bool(false)) }
        #expect(o.addresses.map(\.address) == ["ana@contoso.com"])
        advance(3599)
        #expect(await directory.owners(of: connector) == .read(o))
        #expect(await directory.reads == 2)
        // Another client ID is another app: read again.
        connector.clientId = "d0000000-0000-4000-8000-000000000005"
        guard case .read(let other) = await directory.owners(of: connector) else { return #expect(Bool(false)) }
        #expect(other.addresses.map(\.address) == ["bo@contoso.com"])
        #expect(await directory.reads == 3)
    }
}
