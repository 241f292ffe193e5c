import ConnwatchAlerting
import ConnwatchCore
import ConnwatchStore
import ConnwatchTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@testable import ConnwatchDaemon

#if canImport(Glibc)
    import Glibc
#endif

/// The delivery worker against a real SQLite outbox and a real HTTP receiver.
@Suite struct DeliveryWorkerTests {
    /// One firing consent alert of a teams connector, committed with a delivery to each of
    /// `webhooks` as a cycle would (the outbox rows in the state-change transaction).
    static func commitFiringAlert(store: HistoryStore, id: String, webhooks: [String], at now: Date) async throws {
        let identity = ConnectorIdentity(
            name: "contoso-teams", kind: .teams, tenantId: "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41",
            clientId: "d0000000-0000-4000-8000-000000000004")
        let n = AlertNotification(
            id: id, alertId: id, connector: identity.name, check: .consent, eventType: .consentMissing,
            state: .firing, severity: .critical, status: .critical, reason: .consentMissing,
            summary: "1 required permission not granted", remediation: "grant admin consent (step 2)",
            cause: .firstNotification, createdAt: now)
        try await store.commit(
            CycleBatch(
                at: now,
                connectors: [
                    ConnectorCycle(
                        identity: identity,
                        outcomes: [
                            CheckOutcome(
                                result: CheckResult(
                                    check: .consent, status: .critical, reason: .consentMissing, summary: n.summary,
                                    checkedAt: now))
                        ])
                ],
                notifications: [
                    OutgoingNotification(
                        notification: n, body: NotificationRendering.standardPayload(n, identity: identity),
                        webhooks: webhooks)
                ]))
    }

    /// A signing key that cannot be used fails the attempt: the receiver never gets the
    /// notification unsigned; the attempt is recorded with the reason and retried on the
    /// schedule. Beside it, a webhook with a good key is delivered, signed (the receiver works).
    @Test func aSigningKeyThatCannotBeLoadedFailsTheDeliveryInsteadOfSendingItUnsigned() async throws {
        let receiver = try RecordingReceiver()
        defer { receiver.close() }
        let temporary = try TemporaryDirectory("worker")
        let dir = temporary.url
        let store = try HistoryStore.open(path: dir.appendingPathComponent("connwatch.sqlite").path)

        let good = Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        func hook(_ name: String, _ secrets: [Secret]) -> WebhookConfig {
            WebhookConfig(
                name: name, url: Secret("http://127.0.0.1:\(receiver.port)/\(name)"), signingSecrets: secrets,
                source: SourceLocation(file: "test.toml"))
        }
        let hooks = [
            hook("good", [good]),
            // Not base64 after whsec_: StandardWebhooks.key refuses it.
            hook("bad", [Secret("whsec_***not-a-key***")]),
            // A rotation where the second key is broken: not sent with one signature either.
            hook("rotating", [good, Secret("not-even-whsec")]),
        ]

        try await Self.commitFiringAlert(
            store: store, id: "019a5f2c-8a00-7000-8000-000000000070", webhooks: hooks.map(\.name), at: Date())

        let sender = try WebhookSender(caFile: nil, proxy: nil)
        let worker = DeliveryWorker(
            store: store, journal: JournalWriter(forceStderr: true), logger: Logger(label: "test"),
            policy: WebhookRetryPolicy(scale: 1), version: "test", sink: { (hooks, sender) })
        await worker.drainDue(deadline: .now + .seconds(20))
        await sender.shutdown()

        // The receiver got exactly the good webhook's request, signed with its key.
        let requests = receiver.requests
        #expect(requests.map(\.path) == ["/good"], "\(requests.map(\.path))")
        let signed = try #require(requests.first)
        let id = try #require(signed.headers["webhook-id"])
        let timestamp = try #require(signed.headers["webhook-timestamp"].flatMap { Int($0) })
        let key = try StandardWebhooks.key(good)
        #expect(
            signed.headers["webhook-signature"]
                == StandardWebhooks.signature(id: id, timestamp: timestamp, body: signed.body, key: key))
        #expect(requests.allSatisfy { $0.headers["webhook-signature"]?.hasPrefix("v1,") == true })

        // The two others: one failed attempt each, recorded with why, due again later.
        let deliveries = try await store.deliveries()
        #expect(deliveries.count == 3)
        for d in deliveries where d.webhook != "good" {
            #expect(d.status == .pending, "\(d.webhook): \(d.status)")
            #expect(d.attempts == 1, "\(d.webhook)")
            #expect(d.nextAttemptAt > Date(), "\(d.webhook)")
            #expect(d.lastHTTPStatus == nil, "\(d.webhook)")
            let error = d.lastError ?? ""
            #expect(error.contains("never sent unsigned"), "\(d.webhook): \(error)")
            #expect(!error.contains("***not-a-key***") && !error.contains("not-even-whsec"), "the key leaked: \(error)")
        }
        #expect(deliveries.first { $0.webhook == "bad" }?.lastError?.contains("the signing key cannot be used") == true)
        #expect(deliveries.first { $0.webhook == "rotating" }?.lastError?.contains("signing key 2 of 2") == true)
        #expect(deliveries.first { $0.webhook == "good" }?.status == .delivered)
        try store.close()
    }
}

/// A plain HTTP/1.1 server on 127.0.0.1 that records every request and answers 204, or
/// the reply heads queued in ``replies`` first, one per request.
final class RecordingReceiver: Sendable {
    /// Whole reply heads (`HTTP/1.1 500 …\r\ncontent-length: 0\r\n\r\n`) for the next requests.
    let replies = Mutex<[String]>([])
    struct Request: Sendable {
        var path: String
        /// Lowercased names.
        var headers: [String: String]
        var body: Data
    }

    let port: Int
    private let fd: Int32
    private let recorded = Mutex<[Request]>([])

    var requests: [Request] { recorded.withLock { $0 } }

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(listener, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        fd = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                Thread.detachNewThread { self.serve(client) }
            }
        }
    }

    /// One connection: requests until the client closes it (keep-alive is allowed).
    private func serve(_ client: Int32) {
        defer { Glibc.close(client) }
        var buffer = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            guard let headEnd = buffer.range(of: Data("\r\n\r\n".utf8)) else {
                let n = read(client, &chunk, chunk.count)
                if n <= 0 { return }
                buffer.append(contentsOf: chunk[0..<n])
                continue
            }
            let head = String(decoding: buffer[buffer.startIndex..<headEnd.lowerBound], as: UTF8.self)
            var lines = head.components(separatedBy: "\r\n")
            let requestLine = lines.removeFirst().split(separator: " ")
            var headers: [String: String] = [:]
            for line in lines {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                    in: .whitespaces)
            }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            while buffer.distance(from: headEnd.upperBound, to: buffer.endIndex) < length {
                let n = read(client, &chunk, chunk.count)
                if n <= 0 { return }
                buffer.append(contentsOf: chunk[0..<n])
            }
            let bodyEnd = buffer.index(headEnd.upperBound, offsetBy: length)
            let body = Data(buffer[headEnd.upperBound..<bodyEnd])
            buffer = Data(buffer[bodyEnd...])
            let path = requestLine.count > 1 ? String(requestLine[1]) : ""
            recorded.withLock { $0.append(Request(path: path, headers: headers, body: body)) }
            let reply =
                replies.withLock { $0.isEmpty ? nil : $0.removeFirst() }
                ?? "HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"
            _ = reply.withCString { write(client, $0, strlen($0)) }
        }
    }

    func close() {
        shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
    }
}
