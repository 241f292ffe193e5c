import ConnwatchCore
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Who gets one of the control socket's connections, decided when a connection is accepted,
/// from the peer's uid (`SO_PEERCRED`).
///
/// A plain connection limit lets anyone who can open the socket hold every slot: 512
/// connections from one member of the socket group made root's `status` and the unit's
/// `ExecReload=` wait behind them. So the slots are split: root, the daemon's own user and
/// `[daemon] operators` ("privileged") take theirs from a pool the others never touch;
/// everyone else shares a small pool, and each of their uids may hold only a few of it.
/// Whatever unprivileged peers do, the privileged pool stays free.
struct ConnectionAdmission: Sendable, Equatable {
    struct Limits: Sendable, Equatable {
        /// Connections of root, the daemon's user and operators together.
        var privileged: Int
        /// Connections of every other uid together.
        var unprivileged: Int
        /// Connections of one unprivileged uid.
        var perUser: Int
    }

    enum Refusal: Error, Sendable, Equatable {
        /// This unprivileged uid holds `Limits.perUser` connections already.
        case perUser(uid: UInt32, limit: Int)
        /// Unprivileged peers together hold `Limits.unprivileged`.
        case unprivilegedPool(limit: Int)
        /// Privileged peers together hold `Limits.privileged` (a runaway script of root's).
        case privilegedPool(limit: Int)
    }

    /// What an admitted connection holds; given back when it closes.
    struct Ticket: Sendable, Equatable {
        var uid: UInt32
        var privileged: Bool
    }

    let limits: Limits
    private(set) var privilegedOpen = 0
    private(set) var unprivilegedOpen = 0
    /// Open connections per unprivileged uid (absent: none).
    private(set) var openByUser: [UInt32: Int] = [:]

    init(limits: Limits) { self.limits = limits }

    mutating func admit(uid: UInt32, privileged: Bool) -> Result<Ticket, Refusal> {
        if privileged {
            guard privilegedOpen < limits.privileged else { return .failure(.privilegedPool(limit: limits.privileged)) }
            privilegedOpen += 1
            return .success(Ticket(uid: uid, privileged: true))
        }
        let mine = openByUser[uid, default: 0]
        guard mine < limits.perUser else { return .failure(.perUser(uid: uid, limit: limits.perUser)) }
        guard unprivilegedOpen < limits.unprivileged else {
            return .failure(.unprivilegedPool(limit: limits.unprivileged))
        }
        unprivilegedOpen += 1
        openByUser[uid] = mine + 1
        return .success(Ticket(uid: uid, privileged: false))
    }

    /// Once per admitted connection, when it closes.
    mutating func release(_ ticket: Ticket) {
        if ticket.privileged {
            privilegedOpen = max(0, privilegedOpen - 1)
            return
        }
        unprivilegedOpen = max(0, unprivilegedOpen - 1)
        let left = openByUser[ticket.uid, default: 0] - 1
        openByUser[ticket.uid] = left > 0 ? left : nil
    }
}

extension ConnectionAdmission.Refusal {
    /// The reply's message: what was refused, and that root is not affected.
    var message: String {
        switch self {
        case .perUser(let uid, let limit):
            "connwatchd refused this connection: uid \(uid) already holds \(limit) connections to the control socket, "
                + "the most one user may (root, connwatchd's own user and [daemon] operators are not limited so); "
                + "close some and retry"
        case .unprivilegedPool(let limit):
            "connwatchd refused this connection: users other than root, connwatchd's own user and [daemon] operators "
                + "hold \(limit) connections to the control socket, the most they may together; retry shortly"
        case .privilegedPool(let limit):
            "connwatchd refused this connection: root, connwatchd's own user and [daemon] operators hold \(limit) "
                + "connections to the control socket, the most they may together; retry shortly"
        }
    }

    var logText: String {
        switch self {
        case .perUser(_, let limit): "it holds \(limit) already, the most per user"
        case .unprivilegedPool(let limit): "unprivileged users hold \(limit), the most they may together"
        case .privilegedPool(let limit): "privileged users hold \(limit), the most they may together"
        }
    }
}

/// At most one warning per interval, each counting the events it stood for: a flood of
/// refused connections must not flood the journal too.
struct WarningThrottle: Sendable, Equatable {
    let interval: Duration
    private(set) var lastLogged: ContinuousClock.Instant?
    private(set) var suppressed = 0

    init(interval: Duration) { self.interval = interval }

    /// Nil: stay quiet. Otherwise log now, telling how many events went unlogged since the last warning.
    mutating func record(now: ContinuousClock.Instant) -> Int? {
        if let last = lastLogged, now < last + interval {
            suppressed += 1
            return nil
        }
        let unlogged = suppressed
        lastLogged = now
        suppressed = 0
        return unlogged
    }
}

/// The daemon's side of `ConnectionAdmission`: classifies peers, keeps the counts under a
/// lock (connections are accepted on several event loops), and logs refusals and cut-off
/// connections at a throttled warning.
final class ConnectionGate: Sendable {
    struct Counts: Sendable {
        var admission: ConnectionAdmission
        var refusals = WarningThrottle(interval: .seconds(60))
        var cutOffs = WarningThrottle(interval: .seconds(60))
        /// (uid, gid) → privileged, with when it was decided and for which operator list.
        var privileged: [UInt64: (Bool, ContinuousClock.Instant)] = [:]
        var privilegedFor: [String] = []
        var lingering = 0
    }

    private let counts: Mutex<Counts>
    let daemonUID: UInt32
    /// `[daemon] operators` as currently configured (a reload may change it).
    let operators: @Sendable () -> [String]
    let accounts: any AccountDirectory
    let logger: Logger
    /// How long a (uid, gid) stays classified: account lookups (NSS, possibly LDAP) run on
    /// the event loop, so not once per connection.
    static let classificationLifetime = Duration.seconds(30)

    init(
        limits: ConnectionAdmission.Limits, daemonUID: UInt32, operators: @escaping @Sendable () -> [String],
        accounts: any AccountDirectory, logger: Logger
    ) {
        counts = Mutex(Counts(admission: ConnectionAdmission(limits: limits)))
        self.daemonUID = daemonUID
        self.operators = operators
        self.accounts = accounts
        self.logger = logger
    }

    /// Root, the daemon's own user and operators: the peers mutations are allowed to.
    func isPrivileged(_ peer: PeerCredentials) -> Bool {
        if peer.uid == 0 || peer.uid == daemonUID { return true }
        let operators = operators()
        if operators.isEmpty { return false }
        let key = UInt64(peer.uid) << 32 | UInt64(peer.gid)
        let now = ContinuousClock.now
        let cached: Bool? = counts.withLock { c in
            if c.privilegedFor != operators {
                c.privilegedFor = operators
                c.privileged = [:]
            }
            guard let entry = c.privileged[key], now < entry.1 + Self.classificationLifetime else { return nil }
            return entry.0
        }
        if let cached { return cached }
        let policy = MutationPolicy(daemonUID: daemonUID, operators: operators)
        let value: Bool
        if case .allowed = policy.decide(peer, accounts: accounts) { value = true } else { value = false }
        counts.withLock { c in
            if c.privileged.count >= 1024 { c.privileged = [:] }
            c.privileged[key] = (value, now)
        }
        return value
    }

    /// Nil peer: the credentials could not be read (never on a Unix socket); such a peer is
    /// an unprivileged stranger.
    func admit(_ peer: PeerCredentials?) -> Result<ConnectionAdmission.Ticket, ConnectionAdmission.Refusal> {
        let uid = peer?.uid ?? UInt32.max
        let privileged = peer.map(isPrivileged) ?? false
        let (decision, unlogged) = counts.withLock { c in
            let decision = c.admission.admit(uid: uid, privileged: privileged)
            guard case .failure = decision else { return (decision, Int?.none) }
            return (decision, c.refusals.record(now: .now))
        }
        if case .failure(let refusal) = decision, let unlogged {
            let pid = peer.map { " (pid \($0.pid))" } ?? ""
            let more = unlogged > 0 ? "; \(unlogged) more refused since the last such warning" : ""
            logger.warning(
                "refused a control socket connection from uid \(uid)\(pid): \(refusal.logText)\(more)")
        }
        return decision
    }

    func release(_ ticket: ConnectionAdmission.Ticket) {
        counts.withLock { $0.admission.release(ticket) }
    }

    /// A connection closed by a deadline of `ControlConnectionHandler`.
    func cutOff(uid: UInt32, why: String) {
        guard let unlogged = counts.withLock({ $0.cutOffs.record(now: .now) }) else { return }
        let more = unlogged > 0 ? "; \(unlogged) more since the last such warning" : ""
        logger.warning("closed a control socket connection of uid \(uid): \(why)\(more)")
    }

    var snapshot: ConnectionAdmission { counts.withLock { $0.admission } }

    /// Refused connections that may wait for their request (`RefusingHandler`) at once.
    static let lingerLimit = 64

    /// Whether one more refused connection may wait for its request; if so, `stopLingering` once.
    func startLingering() -> Bool {
        counts.withLock { c in
            guard c.lingering < Self.lingerLimit else { return false }
            c.lingering += 1
            return true
        }
    }

    func stopLingering() { counts.withLock { $0.lingering = max(0, $0.lingering - 1) } }
}

/// The control socket's connections: `HTTP1Channel` (Hummingbird's own HTTP/1.1 pipeline),
/// behind an admission decided at accept time and `ControlConnectionHandler`'s deadlines.
///
/// Hummingbird's `availableConnectionsDelegate` cannot do this: it never sees the peer, and at
/// its limit it stops accepting, so the connections of root queue behind everyone else's.
/// Here every connection is accepted and its peer read; a refused one is answered at once
/// with a 503 and closed (`RefusingHandler`), so an over-limit peer costs a file descriptor
/// for a second at most.
struct ControlChildChannel: ServerChildChannel {
    enum Value: ServerChildChannelValue {
        case admitted(HTTP1Channel.Value)
        case refused(any Channel)

        var channel: any Channel {
            switch self {
            case .admitted(let value): value.channel
            case .refused(let channel): channel
            }
        }
    }

    let http: HTTP1Channel
    let gate: ConnectionGate
    let deadlines: ControlConnectionHandler.Deadlines

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.peerCredentialsFuture().map { PeerCredentials?.some($0) }.recover { _ in nil }.flatMap {
            (peer: PeerCredentials?) -> EventLoopFuture<Value> in
            switch gate.admit(peer) {
            case .failure(let refusal):
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        RefusingHandler(message: refusal.message, gate: gate))
                    return Value.refused(channel)
                }
            case .success(let ticket):
                let gate = gate
                let watch = ControlConnectionHandler(deadlines: deadlines, gate: gate, uid: ticket.uid)
                let bound = NIOLoopBound(watch, eventLoop: channel.eventLoop)
                var withParts = http.configuration
                withParts.additionalChannelHandlers = { [bound] in [ControlConnectionHandler.Parts(bound.value)] }
                let configuration = withParts
                return channel.eventLoop.makeCompletedFuture {
                    // First in the pipeline: it sees a request's bytes before the decoder
                    // has a part to show for them.
                    try channel.pipeline.syncOperations.addHandler(watch, position: .first)
                }.flatMap {
                    HTTP1Channel(responder: http.responder, configuration: configuration)
                        .setup(channel: channel, logger: logger)
                }.map { value in
                    channel.closeFuture.whenComplete { _ in gate.release(ticket) }
                    return Value.admitted(value)
                }.flatMapErrorThrowing { error throws -> Value in
                    gate.release(ticket)
                    channel.close(promise: nil)
                    throw error
                }
            }
        }
    }

    func handle(value: Value, logger: Logger) async {
        switch value {
        case .admitted(let http): await self.http.handle(value: http, logger: logger)
        case .refused: break  // RefusingHandler answers and closes.
        }
    }
}

/// An over-limit connection: a 503 with the JSON error body of every control reply, then
/// closed.
///
/// Closed once the client's request has arrived (unread) or after `grace`, not at once: a
/// client still sending into a closed socket gets `EPIPE` and never reads the reply that
/// says why. While more than `ConnectionGate.lingerLimit` refused connections wait so, the
/// next ones are closed right after the reply: a connect loop must not pile up descriptors.
final class RefusingHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    static let grace = TimeAmount.seconds(1)
    let reply: ByteBuffer
    let gate: ConnectionGate
    private var lingering = false
    private var closing = false

    init(message: String, gate: ConnectionGate) {
        var body = (try? StatusReport.encoder.encode(ControlAPI.ErrorReply(error: message, errors: nil))) ?? Data()
        body.append(0x0A)
        var buffer = ByteBuffer(
            string:
                "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n"
                + "Connection: close\r\n\r\n")
        buffer.writeBytes(body)
        reply = buffer
        self.gate = gate
    }

    func channelActive(context: ChannelHandlerContext) {
        lingering = gate.startLingering()
        let written = context.writeAndFlush(NIOAny(reply)).assumeIsolated()
        if lingering {
            context.eventLoop.assumeIsolated().scheduleTask(in: Self.grace) { [weak self] in
                self?.close(context)
            }
            written.whenFailure { [weak self] _ in self?.close(context) }
        } else {
            written.whenComplete { [weak self] _ in self?.close(context) }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        close(context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopLingering()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { stopLingering() }

    private func close(_ context: ChannelHandlerContext) {
        guard !closing else { return }
        closing = true
        stopLingering()
        context.close(promise: nil)
    }

    private func stopLingering() {
        if lingering {
            lingering = false
            gate.stopLingering()
        }
    }
}
