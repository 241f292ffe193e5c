import NIOCore
import NIOHTTP1
import Synchronization

/// What one exchange sends and how long it may take.
struct Exchange: Sendable {
    var head: HTTPRequestHead
    var body: [UInt8]?
    var deadline: NIODeadline
    var maxBodyBytes: Int
}

/// One keep-alive connection: its channel and the handler that runs one exchange at a time.
final class Connection: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<ExchangeHandler>
    private let uncounted = Atomic<Bool>(false)

    /// Marks its closing as counted in the pool's `open`; true the first time only. Two
    /// paths count it: its handler's `channelInactive` (``OriginPool/closed(_:)``) and the
    /// pool finding it closed while idle (``OriginPool/liveness(_:)``); they can race, and
    /// whichever comes second must not free its slot again.
    @discardableResult
    func markCounted() -> Bool {
        !uncounted.exchange(true, ordering: .acquiringAndReleasing)
    }

    init(channel: any Channel, handler: ExchangeHandler) {
        self.channel = channel
        self.handler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
        handler.connection = self
    }

    func run(_ exchange: Exchange) async throws -> HTTP1Client.Response {
        try await withUnsafeThrowingContinuation { continuation in start(exchange, continuation) }
    }

    /// Starts the exchange on the connection's loop; the reply resumes `continuation`.
    func start(_ exchange: Exchange, _ continuation: ResponseContinuation) {
        let handler = self.handler
        channel.eventLoop.execute { handler.value.start(exchange, continuation) }
    }

    /// The same, called on the connection's loop.
    func startOnLoop(_ exchange: Exchange, _ continuation: ResponseContinuation) {
        handler.value.start(exchange, continuation)
    }
}

typealias ResponseContinuation = UnsafeContinuation<HTTP1Client.Response, any Error>

/// The connections to one origin: at most `maxOpen` open at once (an exchange beyond that
/// waits for one, in order, until its deadline), the idle ones most recently used first.
///
/// The rules are ``OriginPoolStateMachine``'s; this shell holds it under a lock and carries
/// out what each event returns once the lock is released (starts exchanges, makes and
/// closes connections, schedules the expiry timer and the idle sweep).
final class OriginPool: Sendable {
    /// A queued exchange and the caller it resumes.
    struct Waiter: Sendable {
        var exchange: Exchange
        var continuation: ResponseContinuation
    }
    typealias StateMachine = OriginPoolStateMachine<Connection, Waiter, NIODeadline>

    let origin: HTTP1Client.Origin
    /// The proxy this origin is reached through (nil: direct, also by `NO_PROXY`).
    let proxy: HTTP1Client.Proxy?
    let idleTimeout: TimeAmount
    /// Makes a connection for a queued exchange when a slot frees (the pool's owner).
    private let createFor: @Sendable (OriginPool, Exchange, ResponseContinuation) -> Void
    private let state: Mutex<StateMachine>

    init(
        origin: HTTP1Client.Origin, proxy: HTTP1Client.Proxy?, maxOpen: Int, idleTimeout: TimeAmount,
        createFor: @escaping @Sendable (OriginPool, Exchange, ResponseContinuation) -> Void
    ) {
        self.origin = origin
        self.proxy = proxy
        self.idleTimeout = idleTimeout
        self.createFor = createFor
        state = Mutex(StateMachine(maxOpen: maxOpen))
    }

    /// Whether an idle connection can be handed out (called under the lock). A closed one
    /// not counted yet is counted here: its handler's `channelInactive` may not have run.
    static func liveness(_ connection: Connection) -> StateMachine.Liveness {
        if connection.channel.isActive { return .active }
        return connection.markCounted() ? .closed : .closedCountedElsewhere
    }

    /// An idle connection or a slot for a new one; `.full` when the exchange must wait
    /// (``enqueue(_:_:timerLoop:)``), `.fail` when the pool is shut down.
    func acquire() -> StateMachine.AcquireAction {
        state.withLock { $0.acquire(liveness: OriginPool.liveness) }
    }

    /// Queues an exchange (or starts it at once if a connection freed meanwhile).
    func enqueue(_ exchange: Exchange, _ continuation: ResponseContinuation, timerLoop: any EventLoop) {
        let waiter = Waiter(exchange: exchange, continuation: continuation)
        let deadline = exchange.deadline
        switch state.withLock({ $0.enqueue(waiter, deadline: deadline, liveness: OriginPool.liveness) }) {
        case .wait(scheduleExpiry: false): break
        case .wait(scheduleExpiry: true): scheduleExpiry(at: deadline, on: timerLoop)
        case .fail: continuation.resume(throwing: HTTP1Client.Failure.shutDown)
        case .reuse(let connection): connection.start(exchange, continuation)
        case .create: createFor(self, exchange, continuation)
        }
    }

    /// Fails the waiters whose deadline passed; runs again for the earliest one left.
    private func scheduleExpiry(at deadline: NIODeadline, on loop: any EventLoop) {
        loop.scheduleTask(deadline: deadline) { [self] in
            let now = NIODeadline.now()
            let action = state.withLock { $0.expire(now: now) }
            for waiter in action.expired { waiter.continuation.resume(throwing: HTTP1Client.Failure.timeout) }
            if let next = action.next { scheduleExpiry(at: next, on: loop) }
        }
    }

    /// Back from an exchange that left it reusable (called on its event loop): starts the
    /// first waiter's exchange on it, else keeps it idle.
    func release(_ connection: Connection) {
        let now = NIODeadline.now()
        switch state.withLock({ $0.release(connection, at: now) }) {
        case .startWaiter(let connection, let waiter): connection.startOnLoop(waiter.exchange, waiter.continuation)
        case .keepIdle(scheduleSweep: let sweep): if sweep { scheduleSweep(on: connection.channel.eventLoop) }
        case .close(let connection): connection.channel.close(promise: nil)
        }
    }

    /// A connection closed (its channel went inactive): its slot goes to the first waiter.
    func closed(_ connection: Connection) {
        guard connection.markCounted() else { return }
        slotFreed(state.withLock { $0.closed(connection) })
    }

    /// A new connection could not be made: its slot goes to the first waiter.
    func creationFailed() {
        slotFreed(state.withLock { $0.creationFailed() })
    }

    private func slotFreed(_ action: StateMachine.SlotAction) {
        if case .createForWaiter(let waiter) = action { createFor(self, waiter.exchange, waiter.continuation) }
    }

    /// Shuts the pool: returns the idle connections to close and fails the waiters.
    func drain() -> [Connection] {
        let action = state.withLock { $0.drain() }
        for waiter in action.fail { waiter.continuation.resume(throwing: HTTP1Client.Failure.shutDown) }
        return action.close
    }

    /// Closes connections idle longer than the idle timeout; runs while any are idle.
    private func scheduleSweep(on loop: any EventLoop) {
        loop.scheduleTask(in: idleTimeout) { [self] in
            let limit = NIODeadline.now() - idleTimeout
            let action = state.withLock { $0.sweep(olderThan: limit) }
            for connection in action.close { connection.channel.close(promise: nil) }
            if action.sweepAgain { scheduleSweep(on: loop) }
        }
    }
}
