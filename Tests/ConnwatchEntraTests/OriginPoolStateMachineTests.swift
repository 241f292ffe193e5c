import Testing

@testable import ConnwatchEntra

/// The per-origin pool's rules on their own: each event of ``OriginPoolStateMachine`` and
/// the action it returns, step by step, with no sockets, threads or clocks (connections
/// are plain objects, waiters numbers, instants integers). Each step is written as the
/// event and the action expected of it, the way AsyncHTTPClient tests its pool.
@Suite struct OriginPoolStateMachineTests {
    @Test func acquiresCreateUpToTheLimitThenWait() {
        let pool = Harness(maxOpen: 2)
        #expect(pool.acquire() == "create")
        #expect(pool.acquire() == "create")
        #expect(pool.acquire() == "full")
        #expect(pool.enqueue(1, deadline: 10) == "wait, schedule expiry")
        #expect(pool.enqueue(2, deadline: 5) == "wait")  // one timer for all waiters
        #expect(pool.machine.open == 2)
        #expect(pool.waiters == [1, 2])
    }

    @Test func anEnqueueAfterASlotFreedTakesItInsteadOfWaiting() {
        let pool = Harness(maxOpen: 1)
        #expect(pool.acquire() == "create")
        #expect(pool.acquire() == "full")
        #expect(pool.release(1, at: 0) == "idle, schedule sweep")  // meanwhile
        #expect(pool.enqueue(1, deadline: 10) == "reuse c1")
        #expect(pool.acquire() == "full")
        #expect(pool.closed(1) == "none")  // meanwhile
        #expect(pool.enqueue(2, deadline: 10) == "create")
        #expect(pool.waiters.isEmpty && pool.machine.open == 1)
    }

    @Test func aReleasedConnectionGoesToTheFirstWaiterInOrder() {
        let pool = Harness(maxOpen: 2)
        #expect(pool.acquire() == "create")
        #expect(pool.acquire() == "create")
        #expect(pool.enqueue(1, deadline: 10) == "wait, schedule expiry")
        #expect(pool.enqueue(2, deadline: 10) == "wait")
        #expect(pool.enqueue(3, deadline: 10) == "wait")
        #expect(pool.release(2, at: 1) == "start 1 on c2")
        #expect(pool.release(1, at: 2) == "start 2 on c1")
        #expect(pool.release(1, at: 3) == "start 3 on c1")
        #expect(pool.release(1, at: 4) == "idle, schedule sweep")
        #expect(pool.release(2, at: 5) == "idle")  // the sweep runs already
        // Most recently used first.
        #expect(pool.acquire() == "reuse c2")
        #expect(pool.acquire() == "reuse c1")
        #expect(pool.acquire() == "full")
        #expect(pool.machine.open == 2)
    }

    @Test func aClosedConnectionOrAFailedCreationGivesItsSlotToTheFirstWaiter() {
        let pool = Harness(maxOpen: 1)
        #expect(pool.acquire() == "create")
        #expect(pool.enqueue(1, deadline: 10) == "wait, schedule expiry")
        #expect(pool.enqueue(2, deadline: 10) == "wait")
        #expect(pool.creationFailed() == "create for 1")
        #expect(pool.machine.open == 1)  // counted for waiter 1's connection
        #expect(pool.closed(1) == "create for 2")
        #expect(pool.closed(2) == "none")
        #expect(pool.machine.open == 0)
        // An idle connection that closes leaves the idle list.
        #expect(pool.acquire() == "create")
        #expect(pool.release(3, at: 0) == "idle, schedule sweep")
        #expect(pool.closed(3) == "none")
        #expect(pool.machine.idle.isEmpty && pool.machine.open == 0)
    }

    @Test func aConnectionFoundClosedWhileIdleFreesItsSlotOnce() {
        let pool = Harness(maxOpen: 2)
        #expect(pool.acquire() == "create")
        #expect(pool.acquire() == "create")
        #expect(pool.release(1, at: 0) == "idle, schedule sweep")
        #expect(pool.release(2, at: 1) == "idle")
        // c2, the most recent, closed while idle and nobody counted it yet: dropped, its
        // slot freed; c1 is handed out.
        pool.liveness[2] = .closed
        #expect(pool.acquire() == "reuse c1")
        #expect(pool.machine.open == 1)
        // c1 back, then found closed too: its slot is the one this acquire gets.
        #expect(pool.release(1, at: 2) == "idle")
        pool.liveness[1] = .closed
        #expect(pool.acquire() == "create")
        #expect(pool.machine.open == 1)
        #expect(pool.machine.idle.isEmpty)
    }

    @Test func aConnectionWhoseCloseIsBeingReportedIsDroppedWithoutFreeingItsSlotTwice() {
        let pool = Harness(maxOpen: 1)
        #expect(pool.acquire() == "create")
        #expect(pool.release(1, at: 0) == "idle, schedule sweep")
        // Its handler's channelInactive counted the close and is about to report it.
        pool.liveness[1] = .closedCountedElsewhere
        #expect(pool.acquire() == "full")
        #expect(pool.machine.idle.isEmpty && pool.machine.open == 1)
        #expect(pool.enqueue(1, deadline: 10) == "wait, schedule expiry")
        #expect(pool.closed(1) == "create for 1")
        #expect(pool.machine.open == 1)
    }

    @Test func expiryFailsOnlyWaitersPastTheirDeadlineAndReportsTheNextOne() {
        let pool = Harness(maxOpen: 1)
        #expect(pool.acquire() == "create")
        #expect(pool.enqueue(1, deadline: 5) == "wait, schedule expiry")
        #expect(pool.enqueue(2, deadline: 3) == "wait")
        #expect(pool.enqueue(3, deadline: 8) == "wait")
        #expect(pool.enqueue(4, deadline: 6) == "wait")
        #expect(pool.expire(now: 2) == "expired [], next 3")
        #expect(pool.expire(now: 5) == "expired [1, 2], next 6")  // at the deadline is past it
        #expect(pool.waiters == [3, 4])
        #expect(pool.machine.expiryScheduled)
        #expect(pool.release(1, at: 5) == "start 3 on c1")
        #expect(pool.expire(now: 9) == "expired [4], next none")
        #expect(!pool.machine.expiryScheduled)
        #expect(pool.enqueue(5, deadline: 20) == "wait, schedule expiry")
    }

    @Test func theSweepClosesOnlyConnectionsIdleTooLong() {
        let pool = Harness(maxOpen: 3)
        for _ in 1...3 { #expect(pool.acquire() == "create") }
        #expect(pool.release(1, at: 0) == "idle, schedule sweep")
        #expect(pool.release(2, at: 5) == "idle")
        #expect(pool.release(3, at: 10) == "idle")
        #expect(pool.sweep(olderThan: 4) == "close [c1], again")
        #expect(pool.sweep(olderThan: 5) == "close [c2], again")
        // Their slots stay counted until their close is reported.
        #expect(pool.machine.open == 3)
        #expect(pool.closed(1) == "none")
        #expect(pool.closed(2) == "none")
        #expect(pool.machine.open == 1)
        #expect(pool.sweep(olderThan: 9) == "close [], again")
        #expect(pool.sweep(olderThan: 10) == "close [c3]")
        #expect(!pool.machine.sweeping)
        #expect(pool.acquire() == "create")
        #expect(pool.release(4, at: 11) == "idle, schedule sweep")
    }

    @Test func drainingReturnsTheIdleConnectionsAndFailsTheWaiters() {
        let idle = Harness(maxOpen: 2)
        #expect(idle.acquire() == "create")
        #expect(idle.acquire() == "create")
        #expect(idle.release(1, at: 0) == "idle, schedule sweep")
        #expect(idle.release(2, at: 1) == "idle")
        #expect(idle.drain() == "close [c1, c2], fail []")

        let waiting = Harness(maxOpen: 1)
        #expect(waiting.acquire() == "create")
        #expect(waiting.enqueue(1, deadline: 10) == "wait, schedule expiry")
        #expect(waiting.enqueue(2, deadline: 10) == "wait")
        #expect(waiting.drain() == "close [], fail [1, 2]")
        #expect(waiting.waiters.isEmpty)
    }

    @Test func afterDrainingEveryAcquireFailsAndReleasedConnectionsClose() {
        let pool = Harness(maxOpen: 2)
        #expect(pool.acquire() == "create")
        #expect(pool.acquire() == "create")
        #expect(pool.drain() == "close [], fail []")
        #expect(pool.acquire() == "fail")
        #expect(pool.enqueue(1, deadline: 10) == "fail")
        #expect(pool.release(1, at: 0) == "close c1")
        #expect(pool.closed(1) == "none")
        #expect(pool.creationFailed() == "none")
        #expect(pool.machine.open == 0)
        #expect(pool.acquire() == "fail")
    }

    /// Random event sequences against a model of who holds a slot: the counts never go
    /// negative or past the limit, waiters are served first come first, no waiter waits
    /// while a slot is free, and every slot is held by a creation under way or a
    /// connection whose close is not counted yet.
    @Test(arguments: 0..<40)
    func invariantsHoldOverRandomEvents(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let maxOpen = Int(random.next() % 4) + 1
        let pool = Harness(maxOpen: maxOpen)
        var now = 0
        var creating = 0  // slots given for connections not made yet
        var inUse: [Int] = []  // connections running an exchange
        var uncounted: Set<Int> = []  // connections holding a slot: in use, idle, closing
        var closing: [Int] = []  // asked to close, close not reported yet
        var reportOwed: Set<Int> = []  // found closed while idle, their report under way
        var deadlines: [Int: Int] = [:]
        var nextWaiter = 1
        var drained = false

        func served(_ waiter: Int) { deadlines[waiter] = nil }
        // The machine asks about idle connections; some closed meanwhile, their close
        // counted by this look or by their (simulated) handler, whose report is under way.
        func look(_ connection: TestConnection) -> Machine.Liveness {
            let id = connection.id
            guard random.next() % 5 == 0 else { return .active }
            if random.next() % 2 == 0 {
                uncounted.remove(id)
                return .closed
            }
            reportOwed.insert(id)
            return .closedCountedElsewhere
        }

        for _ in 0..<400 {
            now += Int(random.next() % 3)
            let waitersBefore = pool.waiters
            switch random.next() % 10 {
            case 0, 1:  // a request
                switch pool.machine.acquire(liveness: look) {
                case .reuse(let connection): inUse.append(pool.id(connection))
                case .create: creating += 1
                case .fail: #expect(drained)
                case .full:
                    let waiter = nextWaiter
                    nextWaiter += 1
                    let deadline = now + Int(random.next() % 10) + 1
                    switch pool.machine.enqueue(waiter, deadline: deadline, liveness: look) {
                    case .reuse(let connection): inUse.append(pool.id(connection))
                    case .create: creating += 1
                    case .wait(let schedule):
                        deadlines[waiter] = deadline
                        #expect(pool.waiters.last == waiter)
                        #expect(!schedule || waitersBefore.isEmpty)
                    case .fail: #expect(drained)
                    }
                }
            case 2:  // a connection made
                guard creating > 0 else { continue }
                creating -= 1
                let id = pool.newConnection()
                uncounted.insert(id)
                inUse.append(id)
            case 3:  // a connection could not be made
                guard creating > 0 else { continue }
                creating -= 1
                if case .createForWaiter(let waiter) = pool.machine.creationFailed() {
                    #expect(waiter == waitersBefore.first)
                    served(waiter)
                    creating += 1
                }
            case 4, 5:  // an exchange ends, its connection reusable
                guard !inUse.isEmpty else { continue }
                let id = inUse.remove(at: Int(random.next() % UInt64(inUse.count)))
                switch pool.machine.release(pool.connection(id), at: now) {
                case .startWaiter(_, let waiter):
                    #expect(waiter == waitersBefore.first)
                    served(waiter)
                    inUse.append(id)
                case .keepIdle: #expect(waitersBefore.isEmpty)
                case .close: closing.append(id)
                }
            case 6:  // a connection in use closes, or a close is reported
                var candidates = closing + reportOwed.sorted()
                if let id = inUse.first, random.next() % 2 == 0 {
                    inUse.removeFirst()
                    candidates = [id]
                }
                guard let id = candidates.first else { continue }
                closing.removeAll { $0 == id }
                reportOwed.remove(id)
                uncounted.remove(id)
                if case .createForWaiter(let waiter) = pool.machine.closed(pool.connection(id)) {
                    #expect(waiter == waitersBefore.first)
                    served(waiter)
                    creating += 1
                }
                #expect(!pool.machine.idle.contains { $0.connection === pool.connection(id) })
            case 7:  // the expiry timer
                let action = pool.machine.expire(now: now)
                for waiter in action.expired { #expect((deadlines.removeValue(forKey: waiter) ?? .max) <= now) }
                #expect(action.next == deadlines.values.min())
                #expect(action.next.map { $0 > now } ?? true)
                #expect(pool.waiters == waitersBefore.filter { deadlines[$0] != nil })
            case 8:  // the idle sweep
                let limit = now - Int(random.next() % 5)
                let before = pool.machine.idle
                let action = pool.machine.sweep(olderThan: limit)
                #expect(action.close.map(pool.id) == before.filter { $0.since <= limit }.map { pool.id($0.connection) })
                closing += action.close.map(pool.id)
            default:
                guard random.next() % 20 == 0 else { continue }
                let action = pool.machine.drain()
                drained = true
                #expect(action.fail == waitersBefore)
                deadlines = [:]
                closing += action.close.map(pool.id)
            }

            let machine = pool.machine
            #expect(machine.open >= 0 && machine.open <= maxOpen)
            #expect(machine.open == creating + uncounted.count)
            #expect(machine.idle.count <= machine.open)
            #expect(machine.idle.allSatisfy { uncounted.contains($0.connection.id) })
            #expect(machine.idle.isEmpty || machine.waiters.isEmpty)
            #expect(machine.waiters.isEmpty || machine.open == maxOpen)
            #expect(machine.waiters.isEmpty || machine.expiryScheduled)
            #expect(machine.idle.isEmpty || machine.sweeping)
            #expect(Set(pool.waiters) == Set(deadlines.keys))
            if drained { #expect(machine.waiters.isEmpty && machine.idle.isEmpty) }
        }
    }
}

private typealias Machine = OriginPoolStateMachine<TestConnection, Int, Int>

private final class TestConnection {
    let id: Int
    init(id: Int) { self.id = id }
}

/// The machine, the connections it has handed out by number, and each event's action in
/// words (the actions are not Equatable: they carry connections).
private final class Harness {
    var machine: Machine
    private var connections: [Int: TestConnection] = [:]
    /// What a look at an idle connection finds, by number (default: open).
    var liveness: [Int: Machine.Liveness] = [:]

    init(maxOpen: Int) { machine = Machine(maxOpen: maxOpen) }

    var waiters: [Int] { machine.waiters.map(\.waiter) }

    /// Connection number `id`, made on first use.
    func connection(_ id: Int) -> TestConnection {
        if let connection = connections[id] { return connection }
        let connection = TestConnection(id: id)
        connections[id] = connection
        return connection
    }

    func newConnection() -> Int {
        let id = (connections.keys.max() ?? 0) + 1
        _ = connection(id)
        return id
    }

    func id(_ connection: TestConnection) -> Int { connection.id }

    private func look(_ connection: TestConnection) -> Machine.Liveness { liveness[connection.id] ?? .active }

    func acquire() -> String {
        switch machine.acquire(liveness: look) {
        case .reuse(let connection): "reuse c\(connection.id)"
        case .create: "create"
        case .full: "full"
        case .fail: "fail"
        }
    }

    func enqueue(_ waiter: Int, deadline: Int) -> String {
        switch machine.enqueue(waiter, deadline: deadline, liveness: look) {
        case .reuse(let connection): "reuse c\(connection.id)"
        case .create: "create"
        case .wait(let schedule): schedule ? "wait, schedule expiry" : "wait"
        case .fail: "fail"
        }
    }

    func release(_ id: Int, at now: Int) -> String {
        switch machine.release(connection(id), at: now) {
        case .startWaiter(let connection, let waiter): "start \(waiter) on c\(connection.id)"
        case .keepIdle(let sweep): sweep ? "idle, schedule sweep" : "idle"
        case .close(let connection): "close c\(connection.id)"
        }
    }

    func closed(_ id: Int) -> String { describe(machine.closed(connection(id))) }

    func creationFailed() -> String { describe(machine.creationFailed()) }

    func expire(now: Int) -> String {
        let action = machine.expire(now: now)
        return "expired \(action.expired.sorted()), next \(action.next.map(String.init) ?? "none")"
    }

    func sweep(olderThan limit: Int) -> String {
        let action = machine.sweep(olderThan: limit)
        return "close [\(action.close.map { "c\($0.id)" }.joined(separator: ", "))]"
            + (action.sweepAgain ? ", again" : "")
    }

    func drain() -> String {
        let action = machine.drain()
        return "close [\(action.close.map { "c\($0.id)" }.joined(separator: ", "))], fail \(action.fail)"
    }

    private func describe(_ action: Machine.SlotAction) -> String {
        switch action {
        case .createForWaiter(let waiter): "create for \(waiter)"
        case .none: "none"
        }
    }
}

/// A small seeded generator, so that a failing sequence can be run again.
private struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
