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
    /// Uptime nanoseconds when it last went idle (the pool's idle sweep reads it under its lock).
    let idleSince = Atomic<UInt64>(0)
    private let uncounted = Atomic<Bool>(false)

    /// Marks its closing as counted in the pool's `open`; true the first time only.
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
final class OriginPool: Sendable {
    enum Lease {
        case reuse(Connection)
        /// A slot for a new connection (counted in `open` already).
        case create
    }

    let origin: HTTP1Client.Origin
    /// The proxy this origin is reached through (nil: direct, also by `NO_PROXY`).
    let proxy: HTTP1Client.Proxy?
    let idleTimeout: TimeAmount
    /// Makes a connection for a queued exchange when a slot frees (the pool's owner).
    private let createFor: @Sendable (OriginPool, Exchange, ResponseContinuation) -> Void
    private struct Waiter {
        var exchange: Exchange
        var continuation: ResponseContinuation
    }
    private struct State {
        var idle: [Connection] = []
        /// Connections open or being opened.
        var open = 0
        var maxOpen = 1
        var waiters: [Waiter] = []
        /// One timer expires waiters past their deadline (not one per waiter: at 10,000
        /// connectors thousands wait for a connection, each for milliseconds).
        var expiryScheduled = false
        var sweeping = false
        var closed = false

        /// The first waiter, with a slot for a new connection counted for it.
        mutating func takeSlotForWaiter() -> Waiter? {
            guard !closed, !waiters.isEmpty, open < maxOpen else { return nil }
            open += 1
            return waiters.removeFirst()
        }

        mutating func lease() -> Lease? {
            while let connection = idle.popLast() {
                if connection.channel.isActive { return .reuse(connection) }
                open -= 1  // closed while idle; its channelInactive did not find it yet
                connection.markCounted()
            }
            if open < maxOpen {
                open += 1
                return .create
            }
            return nil
        }
    }
    private let state: Mutex<State>

    init(
        origin: HTTP1Client.Origin, proxy: HTTP1Client.Proxy?, maxOpen: Int, idleTimeout: TimeAmount,
        createFor: @escaping @Sendable (OriginPool, Exchange, ResponseContinuation) -> Void
    ) {
        self.origin = origin
        self.proxy = proxy
        self.idleTimeout = idleTimeout
        self.createFor = createFor
        var initial = State()
        initial.maxOpen = max(1, maxOpen)
        state = Mutex(initial)
    }

    /// An idle connection or a slot for a new one; nil when the exchange must wait.
    func tryAcquire() throws -> Lease? {
        try state.withLock { state throws -> Lease? in
            if state.closed { throw HTTP1Client.Failure.shutDown }
            return state.lease()
        }
    }

    /// Queues an exchange (or starts it at once if a connection freed meanwhile).
    func enqueue(_ exchange: Exchange, _ continuation: ResponseContinuation, timerLoop: any EventLoop) {
        enum Next {
            case none, fail, scheduleExpiry
            case lease(Lease)
        }
        let next: Next = state.withLock { state in
            if state.closed { return .fail }
            if let lease = state.lease() { return .lease(lease) }
            state.waiters.append(Waiter(exchange: exchange, continuation: continuation))
            guard !state.expiryScheduled else { return .none }
            state.expiryScheduled = true
            return .scheduleExpiry
        }
        switch next {
        case .none: break
        case .fail: continuation.resume(throwing: HTTP1Client.Failure.shutDown)
        case .scheduleExpiry: scheduleExpiry(at: exchange.deadline, on: timerLoop)
        case .lease(.reuse(let connection)): connection.start(exchange, continuation)
        case .lease(.create): createFor(self, exchange, continuation)
        }
    }

    /// Fails the waiters whose deadline passed; runs again for the earliest one left.
    private func scheduleExpiry(at deadline: NIODeadline, on loop: any EventLoop) {
        loop.scheduleTask(deadline: deadline) { [self] in
            let now = NIODeadline.now()
            let (expired, next) = state.withLock { state -> ([Waiter], NIODeadline?) in
                var expired: [Waiter] = []
                state.waiters.removeAll { waiter in
                    let late = waiter.exchange.deadline <= now
                    if late { expired.append(waiter) }
                    return late
                }
                let next = state.waiters.map(\.exchange.deadline).min()
                state.expiryScheduled = next != nil
                return (expired, next)
            }
            for waiter in expired { waiter.continuation.resume(throwing: HTTP1Client.Failure.timeout) }
            if let next { scheduleExpiry(at: next, on: loop) }
        }
    }

    /// Back from an exchange that left it reusable (called on its event loop): starts the
    /// first waiter's exchange on it, else keeps it idle.
    func release(_ connection: Connection) {
        connection.idleSince.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
        let (waiter, keep, sweep) = state.withLock { state -> (Waiter?, Bool, Bool) in
            if state.closed { return (nil, false, false) }
            if !state.waiters.isEmpty { return (state.waiters.removeFirst(), true, false) }
            state.idle.append(connection)
            let sweep = !state.sweeping
            state.sweeping = true
            return (nil, true, sweep)
        }
        if !keep { connection.channel.close(promise: nil) }
        if let waiter { connection.startOnLoop(waiter.exchange, waiter.continuation) }
        if sweep { scheduleSweep(on: connection.channel.eventLoop) }
    }

    /// A connection closed (its channel went inactive): its slot goes to the first waiter.
    func closed(_ connection: Connection) {
        guard connection.markCounted() else { return }
        let waiter = state.withLock { state -> Waiter? in
            state.idle.removeAll { $0 === connection }
            state.open -= 1
            return state.takeSlotForWaiter()
        }
        if let waiter { createFor(self, waiter.exchange, waiter.continuation) }
    }

    /// A new connection could not be made: its slot goes to the first waiter.
    func creationFailed() {
        let waiter = state.withLock { state -> Waiter? in
            state.open -= 1
            return state.takeSlotForWaiter()
        }
        if let waiter { createFor(self, waiter.exchange, waiter.continuation) }
    }

    /// Shuts the pool: returns the idle connections to close and fails the waiters.
    func drain() -> [Connection] {
        let (idle, waiters) = state.withLock { state in
            state.closed = true
            defer {
                state.idle.removeAll()
                state.waiters.removeAll()
            }
            return (state.idle, state.waiters)
        }
        for waiter in waiters { waiter.continuation.resume(throwing: HTTP1Client.Failure.shutDown) }
        return idle
    }

    /// Closes connections idle longer than the idle timeout; runs while any are idle.
    private func scheduleSweep(on loop: any EventLoop) {
        loop.scheduleTask(in: idleTimeout) { [self] in
            let limit = NIODeadline.now().uptimeNanoseconds &- UInt64(idleTimeout.nanoseconds)
            let (expired, again) = state.withLock { state -> ([Connection], Bool) in
                var expired: [Connection] = []
                state.idle.removeAll { connection in
                    let old = connection.idleSince.load(ordering: .relaxed) <= limit
                    if old { expired.append(connection) }
                    return old
                }
                state.sweeping = !state.idle.isEmpty
                return (expired, state.sweeping)
            }
            for connection in expired { connection.channel.close(promise: nil) }
            if again { scheduleSweep(on: loop) }
        }
    }
}
