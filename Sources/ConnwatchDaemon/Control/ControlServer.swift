import ConnwatchConfig
import ConnwatchCore
import ConnwatchReport
import ConnwatchStore
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle

/// The control socket (SPEC §7): HTTP/1.1 + JSON on a Unix socket, so that both
/// `connwatchctl` and `curl --unix-socket` work. Reads are open to whoever can open the
/// socket (mode 0660, `[daemon] socket_group`); mutations are authorized per request from
/// the peer's `SO_PEERCRED`. Browsers are kept out: `Origin` or `Referer` → 403.
///
/// Limits keep bad clients harmless: 64 KiB bodies, 8 KiB header fields (32 KiB in all,
/// 100 at most), a 10 s idle timeout that also closes a client stalling mid-request.
/// Handlers run on their own tasks: a slow or stuck client holds its connection, never the
/// scheduler. And no member of the socket group can lock anyone else out (issue 16):
/// - Connections are admitted when accepted, by the peer's uid (`ConnectionAdmission`):
///   root, the daemon's own user and `[daemon] operators` share 448 connections that no one
///   else can take; every other uid may hold 8, and all of them together 64. An
///   over-limit connection gets a 503 with a JSON error and is closed as soon as its
///   request is in (1 s at most); refusals are logged at one warning a minute at most.
/// - A request must arrive whole — first byte to end of body — within 10 s, however slowly
///   it trickles (the idle timer restarts with every body part); a connection whose replies
///   go unread for 10 s (pipelined requests, never read) is closed
///   (`ControlConnectionHandler`). A long-running handler (`POST /v1/check`) is not limited.
struct ControlService: Service {
    static let maxBodyBytes = 64 * 1024
    static let idleTimeout = TimeAmount.seconds(10)
    static let maxConnections = 512
    /// Of `maxConnections`: what peers other than root, the daemon's user and operators may hold.
    static let admission = ConnectionAdmission.Limits(privileged: maxConnections - 64, unprivileged: 64, perUser: 8)
    static let deadlines = ControlConnectionHandler.Deadlines(request: .seconds(10), unreadReplies: .seconds(10))

    let claim: ControlSocketClaim
    let backend: ControlBackend
    let socketGroup: String
    let readiness: ControlReadiness
    let accounts: SystemAccounts = SystemAccounts()

    var logger: Logger { backend.logger }

    func run() async throws {
        defer {
            claim.release()
            readiness.signal()
        }
        var quiet = logger
        quiet.logLevel = .warning
        let daemon = backend.daemon
        let gate = ConnectionGate(
            limits: Self.admission, daemonUID: getuid(), operators: { daemon.configuration.daemon.operators },
            accounts: accounts, logger: logger)
        let http1 = HTTP1Channel.Configuration(
            idleTimeout: Self.idleTimeout,
            httpDecoderConfiguration: .init(
                maxHeaderFieldSize: 8 * 1024, maxHeaderListSize: 32 * 1024, maxHeaderFieldCount: 100))
        // No availableConnectionsDelegate: at its limit it stops accepting, and root would
        // queue behind everyone. ControlChildChannel accepts all and refuses by uid.
        let app = Application(
            router: ControlRoutes(backend: backend, accounts: accounts).router(),
            server: HTTPServerBuilder { responder in
                ControlChildChannel(
                    http: HTTP1Channel(responder: responder, configuration: http1), gate: gate,
                    deadlines: Self.deadlines)
            },
            configuration: ApplicationConfiguration(
                address: .unixDomainSocket(path: claim.path), serverName: nil, backlog: 256),
            onServerRunning: { [claim, socketGroup, accounts, logger, readiness] _ in
                claim.secure(group: socketGroup, accounts: accounts, logger: logger)
                logger.info("control socket listening on \(claim.path)")
                readiness.signal()
            },
            logger: quiet)
        try await app.run()
    }
}

/// Lets READY=1 wait until the control socket accepts connections.
final class ControlReadiness: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() { (stream, continuation) = AsyncStream.makeStream(of: Void.self) }

    func signal() { continuation.finish() }

    /// Returns once signalled (or when the task is cancelled). One waiter only.
    func wait() async {
        for await _ in stream {}
    }
}

/// Per request: the channel, to read the peer's credentials, and who it turned out to be.
struct ControlContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel
    /// Set for mutations once authorized: the peer's user name (or `uid N`), the author of
    /// a silence and the name in the audit log.
    var peerName: String?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    var maxUploadSize: Int { ControlService.maxBodyBytes }
}

/// A refusal with its status; the guard turns it into `{"schema_version":1,"error":…}`.
struct ControlFailure: Error {
    var status: HTTPResponse.Status
    var message: String
    var errors: [ControlAPI.ConfigProblem]? = nil

    static func badRequest(_ m: String) -> ControlFailure { .init(status: .badRequest, message: m) }
    static func notFound(_ m: String) -> ControlFailure { .init(status: .notFound, message: m) }
}

enum Reply {
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        var data = try StatusReport.encoder.encode(value)
        data.append(0x0A)
        return json(buffer: ByteBuffer(bytes: data), status: status)
    }

    /// Already encoded JSON, newline included (the status report, assembled from cached fragments).
    static func json(buffer: ByteBuffer, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }

    static func error(
        _ status: HTTPResponse.Status, _ message: String, errors: [ControlAPI.ConfigProblem]? = nil
    )
        -> Response
    {
        (try? json(ControlAPI.ErrorReply(error: message, errors: errors), status: status))
            ?? Response(status: .internalServerError)
    }
}

/// Every request: browsers refused, mutations authorized, every failure a JSON error body.
struct ControlGuard: RouterMiddleware {
    typealias Context = ControlContext
    let backend: ControlBackend
    let accounts: SystemAccounts

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            if request.headers[.origin] != nil || request.headers[.referer] != nil {
                throw ControlFailure(
                    status: .forbidden,
                    message:
                        "requests carrying Origin or Referer are refused: the control socket does not serve browsers")
            }
            var context = context
            if request.method != .get && request.method != .head {
                let peer = try await context.channel.peerCredentials()
                let policy = MutationPolicy(
                    daemonUID: getuid(), operators: backend.daemon.configuration.daemon.operators)
                let name = accounts.userName(uid: peer.uid) ?? "uid \(peer.uid)"
                switch policy.decide(peer, accounts: accounts) {
                case .denied(let message):
                    backend.logger.notice(
                        "refused \(request.method) \(request.uri.path) from \(name) (pid \(peer.pid))")
                    throw ControlFailure(status: .forbidden, message: message)
                case .allowed(let rule):
                    backend.logger.debug("\(request.method) \(request.uri.path) by \(name) as \(rule)")
                    context.peerName = name
                }
            }
            return try await next(request, context)
        } catch let failure as ControlFailure {
            return Reply.error(failure.status, failure.message, errors: failure.errors)
        } catch is NIOTooManyBytesError {
            return Reply.error(.contentTooLarge, "request body larger than \(ControlService.maxBodyBytes) bytes")
        } catch let error as HTTPError {
            let message: String
            switch error.status {
            case .notFound:
                message =
                    "no such route: \(request.method) \(String(request.uri.path.prefix(200))) (see docs/control-api.yaml)"
            case .contentTooLarge: message = "request body larger than \(ControlService.maxBodyBytes) bytes"
            default: message = error.body ?? error.status.reasonPhrase
            }
            return Reply.error(error.status, message)
        } catch {
            backend.logger.error("control request \(request.method) \(request.uri.path) failed: \(error)")
            return Reply.error(.internalServerError, "internal error; connwatchd's log says more")
        }
    }
}

/// The routes of SPEC §7.
struct ControlRoutes: Sendable {
    let backend: ControlBackend
    let accounts: SystemAccounts

    func router() -> Router<ControlContext> {
        let router = Router(context: ControlContext.self)
        router.add(middleware: ControlGuard(backend: backend, accounts: accounts))
        let b = backend

        router.get("/v1/status") { _, _ in Reply.json(buffer: try await b.statusBody()) }
        router.get("/v1/connectors/{name}") { _, context in
            let name = try context.parameters.require("name")
            guard let c = await b.status(of: name) else { throw unknown(name) }
            return try Reply.json(ControlAPI.ConnectorReply(connector: c))
        }
        router.get("/v1/connectors/{name}/history") { request, context in
            let name = try context.parameters.require("name")
            guard b.isConfigured(name) || b.isConfiguredObserver(name) else { throw unknown(name) }
            let now = b.daemon.clock.now()
            let since = try Self.since(request.uri.queryParameters["since"], now: now)
            let limit = try Self.limit(request.uri.queryParameters["limit"])
            let store = await b.synced()
            let results = try await store.history(connector: name, since: since, limit: limit)
            let transitions = try await store.transitions(connector: name, since: since, limit: limit)
            return try Reply.json(
                ControlAPI.HistoryReply(
                    connector: name, since: since,
                    results: results.map { ControlAPI.HistoryResult(id: $0.id, result: $0.result) },
                    transitions: transitions.map {
                        ControlAPI.Transition(
                            id: $0.id, check: $0.check, from: $0.from, to: $0.to, reason: $0.reason, at: $0.at)
                    }))
        }
        router.get("/v1/alerts") { request, _ in
            let all = try Self.flag(request.uri.queryParameters["all"], name: "all")
            let limit = try Self.limit(request.uri.queryParameters["limit"])
            let store = await b.synced()
            let alerts = try await store.alerts(includeResolved: all, limit: limit)
            let silences = try await store.silences(activeAt: b.daemon.clock.now())
            return try Reply.json(
                ControlAPI.AlertsReply(
                    alerts: alerts.map { ControlAPI.Alert($0.notification) },
                    silences: silences.map(ControlAPI.SilenceInfo.init)))
        }
        router.get("/v1/deliveries") { request, _ in
            let limit = try Self.limit(request.uri.queryParameters["limit"])
            var states: Set<DeliveryStatus>?
            if let raw = request.uri.queryParameters["status"] {
                states = []
                for part in raw.split(separator: ",") {
                    guard let s = DeliveryStatus(rawValue: String(part)) else {
                        throw ControlFailure.badRequest(
                            "status=\(part): one of \(DeliveryStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    states!.insert(s)
                }
            }
            let records = try await b.synced().deliveries(states: states, limit: limit)
            return try Reply.json(ControlAPI.DeliveriesReply(deliveries: records.map(Self.delivery)))
        }
        router.get("/v1/report") { request, _ in
            let days = try Self.reportDays(request.uri.queryParameters["days"])
            let now = b.daemon.clock.now()
            let since = try Self.since(request.uri.queryParameters["since"], now: now)
            let text: Bool
            switch request.uri.queryParameters["format"] {
            case nil, "html": text = false
            case "text": text = true
            case let other?: throw ControlFailure.badRequest("format=\(other.prefix(20)): html or text")
            }
            let model = try await b.daemon.reportModel(days: days, changesSince: since, connectors: nil)
            let body = text ? ReportRenderer.text(model) : ReportRenderer.html(model)
            return Response(
                status: .ok,
                headers: [.contentType: text ? "text/plain; charset=utf-8" : "text/html; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        router.get("/metrics") { _, _ in
            let text = try await b.metrics(now: b.daemon.clock.now())
            return Response(
                status: .ok, headers: [.contentType: MetricsExposition.contentType],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }

        router.post("/v1/connectors/{name}/check") { _, context in
            let name = try context.parameters.require("name")
            guard b.isConfigured(name) else { throw unknown(name) }
            b.logger.info("check of \(name) requested by \(context.peerName ?? "?")")
            guard let c = await b.check([name]).connectors.first else { throw unknown(name) }
            return try Reply.json(ControlAPI.ConnectorReply(connector: c))
        }
        router.post("/v1/check") { request, context in
            let body = try await request.body.collect(upTo: context.maxUploadSize)
            var names: [String] = []
            if body.readableBytes > 0 {
                let req = try Self.decode(ControlAPI.CheckRequest.self, body, shape: #"{"connectors": ["name", …]}"#)
                var seen = Set<String>()
                names = (req.connectors ?? []).filter { seen.insert($0).inserted }
            }
            let missing = names.filter { !b.isConfigured($0) }
            if !missing.isEmpty {
                throw ControlFailure.notFound(
                    "no connector named \(missing.map { "\"\($0)\"" }.joined(separator: ", ")) is configured; nothing was checked"
                )
            }
            b.logger.info(
                "check of \(names.isEmpty ? "every connector" : names.joined(separator: ", ")) requested by \(context.peerName ?? "?")"
            )
            return try Reply.json(await b.check(names))
        }
        router.post("/v1/reload") { _, context in
            b.logger.info("reload requested by \(context.peerName ?? "?")")
            if let errors = await b.reload() {
                let n = errors.errors.count
                throw ControlFailure(
                    status: .unprocessableContent,
                    message: "the configuration has \(n) error\(n == 1 ? "" : "s"); the running configuration stays",
                    errors: errors.errors.map {
                        ControlAPI.ConfigProblem(file: $0.file, line: $0.line, key: $0.key, message: $0.message)
                    })
            }
            let count = b.connectorNames.count
            return try Reply.json(
                ControlAPI.DoneReply(
                    message: "configuration reloaded: \(count) connector\(count == 1 ? "" : "s")", connectors: count))
        }
        router.post("/v1/silences") { request, context in
            let body = try await request.body.collect(upTo: context.maxUploadSize)
            let req = try Self.decode(
                ControlAPI.SilenceRequest.self, body,
                shape: #"{"connector": "name or *", "duration": "24h", "reason": "…"}"#)
            guard req.connector == Silence.allConnectors || b.isConfigured(req.connector) else {
                throw unknown(req.connector)
            }
            guard let duration = ConfigDuration(parsing: req.duration), duration <= .days(366) else {
                throw ControlFailure.badRequest(
                    "duration \"\(req.duration.prefix(40))\": give a whole number with s, m, h or d (\"90m\", \"24h\", \"7d\"), at most 366d"
                )
            }
            let reason = req.reason.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !reason.isEmpty, reason.count <= 1000 else {
                throw ControlFailure.badRequest("reason: say why, in at most 1000 characters")
            }
            let now = b.daemon.clock.now()
            let author = context.peerName ?? "unknown"
            let silence = try await b.store.addSilence(
                connector: req.connector, reason: reason, author: author, now: now,
                until: now.addingTimeInterval(duration.timeInterval))
            await b.silencesChanged()
            b.logger.notice(
                "silence \(silence.id) for \(req.connector) until \(RFC3339.string(silence.expiresAt)) by \(author): \(reason)"
            )
            return try Reply.json(ControlAPI.SilenceReply(silence: .init(silence)), status: .created)
        }
        router.delete("/v1/silences/{id}") { _, context in
            let id = try Self.id(context.parameters.get("id"), what: "silence")
            guard try await b.store.removeSilence(id: id, now: b.daemon.clock.now()) else {
                throw ControlFailure.notFound("no silence \(id) is in force (connwatchctl alerts lists them)")
            }
            await b.silencesChanged()
            b.logger.notice("silence \(id) lifted by \(context.peerName ?? "?")")
            return try Reply.json(ControlAPI.DoneReply(message: "silence \(id) lifted", id: id))
        }
        router.post("/v1/deliveries/{id}/retry") { _, context in
            let id = try Self.id(context.parameters.get("id"), what: "delivery")
            guard try await b.store.retryDelivery(id: id, now: b.daemon.clock.now()) else {
                throw ControlFailure.notFound("no dead or gone delivery \(id); only those can be retried")
            }
            b.logger.notice("delivery \(id) retried by \(context.peerName ?? "?")")
            return try Reply.json(ControlAPI.DoneReply(message: "delivery \(id) is pending again", id: id))
        }
        router.post("/v1/emails/{name}/digest") { _, context in
            let name = try context.parameters.require("name")
            b.logger.info("digest through e-mail sink \(name.prefix(100)) requested by \(context.peerName ?? "?")")
            guard let (report, messageID) = await b.daemon.digestWorker.sendNow(name) else {
                let known = b.daemon.configuration.emails.map(\.name)
                throw ControlFailure.notFound(
                    "no [[email]] sink named \"\(name.prefix(100))\" is configured"
                        + (known.isEmpty ? "" : " (configured: \(known.joined(separator: ", ")))"))
            }
            return try Reply.json(
                ControlAPI.DigestReply(
                    email: name, verdict: report.verdict.rawValue, messageId: messageID, accepted: report.accepted,
                    refused: report.refused.map { .init(address: $0.address, reply: $0.reply) },
                    deferred: report.deferred.map { .init(address: $0.address, reply: $0.reply) },
                    failure: report.failure))
        }
        return router
    }

    @Sendable func unknown(_ name: String) -> ControlFailure {
        .notFound(
            "no connector named \"\(name.prefix(100))\" is configured (connwatchctl status lists the \(backend.connectorNames.count))"
        )
    }

    // MARK: Parameters

    static func since(_ raw: Substring?, now: Date) throws -> Date {
        guard let raw else { return now.addingTimeInterval(-7 * 86400) }
        if let d = ConfigDuration(parsing: String(raw)) { return now.addingTimeInterval(-d.timeInterval) }
        if let date = RFC3339.date(String(raw)) { return date }
        throw ControlFailure.badRequest(
            "since=\(raw.prefix(40)): give a duration such as 7d or 12h, or an RFC 3339 time")
    }

    /// The report's timeline horizon: 1…3650 days, 90 when absent.
    static func reportDays(_ raw: Substring?) throws -> Int {
        guard let raw else { return 90 }
        guard let n = Int(raw), (1...Daemon.reportMaxDays).contains(n) else {
            throw ControlFailure.badRequest("days=\(raw.prefix(20)): a number from 1 to \(Daemon.reportMaxDays)")
        }
        return n
    }

    static func limit(_ raw: Substring?) throws -> Int {
        guard let raw else { return 1000 }
        guard let n = Int(raw), (1...10000).contains(n) else {
            throw ControlFailure.badRequest("limit=\(raw.prefix(20)): a number from 1 to 10000")
        }
        return n
    }

    static func flag(_ raw: Substring?, name: String) throws -> Bool {
        switch raw {
        case nil, "false", "0": return false
        case "", "true", "1": return true
        default: throw ControlFailure.badRequest("\(name)=\(raw!.prefix(20)): true or false")
        }
    }

    static func id(_ raw: String?, what: String) throws -> Int64 {
        guard let raw, let id = Int64(raw), id > 0 else {
            throw ControlFailure.badRequest("\(what) id \"\((raw ?? "").prefix(20))\": a positive number")
        }
        return id
    }

    static func decode<T: Decodable>(_ type: T.Type, _ body: ByteBuffer, shape: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        } catch {
            throw ControlFailure.badRequest("the body must be JSON like \(shape)")
        }
    }

    static func delivery(_ d: DeliveryRecord) -> ControlAPI.Delivery {
        let sink = DeliverySink(key: d.webhook)
        return ControlAPI.Delivery(
            id: d.id, notificationId: d.notificationId, connector: d.connector, webhook: sink.name,
            eventType: d.eventType.rawValue, status: d.status.rawValue, attempts: d.attempts,
            nextAttemptAt: d.nextAttemptAt, lastHTTPStatus: d.lastHTTPStatus, lastError: d.lastError,
            createdAt: d.createdAt, finishedAt: d.finishedAt, sinkKind: sink.kind.rawValue)
    }
}
