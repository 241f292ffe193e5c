/// The bookkeeping of one origin's connection pool, with nothing else in it: no channels,
/// no locks, no clocks, no timers. Each event is one mutating method that returns what the
/// caller must do (start an exchange, make a connection, close one, schedule a timer), and
/// the caller does it after leaving its lock. That keeps the pool's rules (at most `maxOpen`
/// connections, waiters served in order, one slot per connection counted once) testable
/// event by event, without sockets or timing (as AsyncHTTPClient tests its pool).
///
/// Generic over the connection and waiter types and over the clock's `Instant`, so that it
/// needs no NIO; ``OriginPool`` uses it with ``Connection``, its queued exchanges and
/// `NIODeadline`. A specialised struct of arrays and counters: no allocation per request
/// beyond what the arrays' amortised growth costs, as before it was extracted.
struct OriginPoolStateMachine<Connection: AnyObject, Waiter, Instant: Comparable> {
    /// What the caller finds about an idle connection before it is handed out. The caller
    /// looks (today: the channel's `isActive`); the machine stays pure.
    enum Liveness {
        /// Open: it can be handed out.
        case active
        /// Closed while idle, and this look counts its close: the machine frees its slot.
        /// The caller must then not report it through ``closed(_:)`` (``Connection``'s
        /// `markCounted` guard).
        case closed
        /// Closed while idle, its close counted by a ``closed(_:)`` call under way, which
        /// frees the slot: the machine only drops it (freeing it here too would count the
        /// slot twice).
        case closedCountedElsewhere
    }

    /// ``acquire(liveness:)``: an exchange asking for a connection.
    enum AcquireAction {
        /// Run it on this idle connection.
        case reuse(Connection)
        /// Make a new connection for it (its slot is counted already; report the outcome
        /// through ``closed(_:)`` or ``creationFailed()``).
        case create
        /// Every slot is taken: queue it with ``enqueue(_:deadline:liveness:)``.
        case full
        /// The pool is shut down.
        case fail
    }

    /// ``enqueue(_:deadline:liveness:)``: an exchange that found the pool full.
    enum EnqueueAction {
        /// A connection went idle meanwhile: run the waiter on it (it was not queued).
        case reuse(Connection)
        /// A slot freed meanwhile: make a connection for the waiter (it was not queued).
        case create
        /// Queued. `scheduleExpiry`: no expiry timer runs; schedule one at its deadline,
        /// whose firing calls ``expire(now:)``.
        case wait(scheduleExpiry: Bool)
        /// The pool is shut down (the waiter was not queued).
        case fail
    }

    /// ``release(_:at:)``: an exchange ended and left its connection reusable.
    enum ReleaseAction {
        /// Start the first waiter's exchange on the connection.
        case startWaiter(Connection, Waiter)
        /// The connection is idle now. `scheduleSweep`: no idle sweep runs; schedule one,
        /// whose firing calls ``sweep(olderThan:)``.
        case keepIdle(scheduleSweep: Bool)
        /// The pool is shut down: close the connection.
        case close(Connection)
    }

    /// ``closed(_:)`` and ``creationFailed()``: a slot freed.
    enum SlotAction {
        /// Make a connection for this waiter (its slot is counted already).
        case createForWaiter(Waiter)
        case none
    }

    /// ``expire(now:)``: the expiry timer fired.
    struct ExpireAction {
        /// Fail these: their deadline passed while they waited.
        var expired: [Waiter]
        /// Schedule the timer again for this deadline (the earliest left); nil: none left.
        var next: Instant?
    }

    /// ``sweep(olderThan:)``: the idle sweep fired.
    struct SweepAction {
        /// Close these: idle too long (their slots free when their close is reported).
        var close: [Connection]
        /// Schedule the sweep again: connections are still idle.
        var sweepAgain: Bool
    }

    /// ``drain()``: the pool shuts down.
    struct DrainAction {
        /// Close these idle connections.
        var close: [Connection]
        /// Fail these waiters (shut down).
        var fail: [Waiter]
    }

    /// Idle connections, most recently used last, with when each went idle.
    private(set) var idle: [(connection: Connection, since: Instant)] = []
    /// Connections open or being opened.
    private(set) var open = 0
    let maxOpen: Int
    /// Waiting exchanges, first come first.
    private(set) var waiters: [(waiter: Waiter, deadline: Instant)] = []
    /// One timer expires waiters past their deadline (not one per waiter: at 10,000
    /// connectors thousands wait for a connection, each for milliseconds).
    private(set) var expiryScheduled = false
    /// An idle sweep is scheduled.
    private(set) var sweeping = false
    private(set) var isShutDown = false

    init(maxOpen: Int) {
        self.maxOpen = max(1, maxOpen)
    }

    /// An idle connection (dropping those found closed), else a slot for a new one.
    mutating func acquire(liveness: (Connection) -> Liveness) -> AcquireAction {
        if isShutDown { return .fail }
        return lease(liveness)
    }

    /// Queues `waiter` until a connection is released to it, a slot frees for it, or
    /// ``expire(now:)`` finds its `deadline` passed; unless a connection or a slot freed
    /// since ``acquire(liveness:)`` said the pool was full.
    mutating func enqueue(_ waiter: Waiter, deadline: Instant, liveness: (Connection) -> Liveness) -> EnqueueAction {
        if isShutDown { return .fail }
        switch lease(liveness) {
        case .reuse(let connection): return .reuse(connection)
        case .create: return .create
        case .full, .fail: break
        }
        waiters.append((waiter, deadline))
        guard !expiryScheduled else { return .wait(scheduleExpiry: false) }
        expiryScheduled = true
        return .wait(scheduleExpiry: true)
    }

    /// `connection`'s exchange ended at `now` and left it reusable: the first waiter's,
    /// else idle.
    mutating func release(_ connection: Connection, at now: Instant) -> ReleaseAction {
        if isShutDown { return .close(connection) }
        if !waiters.isEmpty { return .startWaiter(connection, waiters.removeFirst().waiter) }
        idle.append((connection, now))
        if sweeping { return .keepIdle(scheduleSweep: false) }
        sweeping = true
        return .keepIdle(scheduleSweep: true)
    }

    /// `connection` closed (idle or in use; reported once per connection): its slot goes
    /// to the first waiter.
    mutating func closed(_ connection: Connection) -> SlotAction {
        idle.removeAll { $0.connection === connection }
        return freeSlot()
    }

    /// A new connection could not be made: its slot goes to the first waiter.
    mutating func creationFailed() -> SlotAction {
        freeSlot()
    }

    /// Takes out the waiters whose deadline is at or before `now`; the others keep their
    /// order. The timer stays scheduled while any are left.
    mutating func expire(now: Instant) -> ExpireAction {
        var expired: [Waiter] = []
        var next: Instant?
        waiters.removeAll { entry in
            if entry.deadline <= now {
                expired.append(entry.waiter)
                return true
            }
            if next.map({ entry.deadline < $0 }) ?? true { next = entry.deadline }
            return false
        }
        expiryScheduled = next != nil
        return ExpireAction(expired: expired, next: next)
    }

    /// Takes out the connections idle since `limit` or before (their slots stay counted
    /// until their close is reported). The sweep stays scheduled while any are idle.
    mutating func sweep(olderThan limit: Instant) -> SweepAction {
        var old: [Connection] = []
        idle.removeAll { entry in
            guard entry.since <= limit else { return false }
            old.append(entry.connection)
            return true
        }
        sweeping = !idle.isEmpty
        return SweepAction(close: old, sweepAgain: sweeping)
    }

    /// Shuts the pool: every later acquire fails, released connections are closed.
    mutating func drain() -> DrainAction {
        isShutDown = true
        defer {
            idle.removeAll()
            waiters.removeAll()
        }
        return DrainAction(close: idle.map(\.connection), fail: waiters.map(\.waiter))
    }

    /// The most recently used idle connection that is still open, else a new slot, else full.
    private mutating func lease(_ liveness: (Connection) -> Liveness) -> AcquireAction {
        while let (connection, _) = idle.popLast() {
            switch liveness(connection) {
            case .active:
                return .reuse(connection)
            case .closed:
                assert(open > 0, "an idle connection that held no slot")
                open -= 1  // its close is not reported again (the caller's guard)
            case .closedCountedElsewhere:
                break
            }
        }
        guard open < maxOpen else { return .full }
        open += 1
        return .create
    }

    /// One connection fewer; the first waiter gets a slot for a new one.
    private mutating func freeSlot() -> SlotAction {
        assert(open > 0, "a slot freed that was never counted")
        open -= 1
        guard !isShutDown, !waiters.isEmpty, open < maxOpen else { return .none }
        open += 1
        return .createForWaiter(waiters.removeFirst().waiter)
    }
}

// The actions leave the caller's lock (`Mutex.withLock` returns them as `sending`).
extension OriginPoolStateMachine.Liveness: Sendable {}
extension OriginPoolStateMachine.AcquireAction: Sendable where Connection: Sendable {}
extension OriginPoolStateMachine.EnqueueAction: Sendable where Connection: Sendable {}
extension OriginPoolStateMachine.ReleaseAction: Sendable where Connection: Sendable, Waiter: Sendable {}
extension OriginPoolStateMachine.SlotAction: Sendable where Waiter: Sendable {}
extension OriginPoolStateMachine.ExpireAction: Sendable where Waiter: Sendable, Instant: Sendable {}
extension OriginPoolStateMachine.SweepAction: Sendable where Connection: Sendable {}
extension OriginPoolStateMachine.DrainAction: Sendable where Connection: Sendable, Waiter: Sendable {}
