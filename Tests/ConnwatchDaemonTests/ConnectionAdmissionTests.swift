import Foundation
import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import ConnwatchDaemon

/// The control socket's limits (issue 16): admission by uid at accept time, and the
/// per-connection deadlines. End to end, with the real attack: Tests/e2e/test_control_dos.py.
@Suite struct ConnectionAdmissionTests {
    enum Step {
        case admit(UInt32, privileged: Bool)
        /// Gives back the ticket of the step with this index.
        case release(Int)
    }

    typealias Outcome = Result<ConnectionAdmission.Ticket, ConnectionAdmission.Refusal>?

    static func ok(_ uid: UInt32, _ privileged: Bool = false) -> Outcome {
        .success(.init(uid: uid, privileged: privileged))
    }

    /// privileged 3, unprivileged 4, 2 per user; (step, outcome, open privileged, open unprivileged).
    static let table: [(Step, Outcome, Int, Int)] = [
        (.admit(1000, privileged: false), ok(1000), 0, 1),  // 0
        (.admit(1000, privileged: false), ok(1000), 0, 2),  // 1
        (.admit(1000, privileged: false), .failure(.perUser(uid: 1000, limit: 2)), 0, 2),
        (.admit(1001, privileged: false), ok(1001), 0, 3),  // 3
        (.admit(1001, privileged: false), ok(1001), 0, 4),
        (.admit(1002, privileged: false), .failure(.unprivilegedPool(limit: 4)), 0, 4),
        // The per-user limit is told first: it is what that user can change.
        (.admit(1000, privileged: false), .failure(.perUser(uid: 1000, limit: 2)), 0, 4),
        // Unprivileged peers fill their pool: root, the daemon and operators are not affected.
        (.admit(0, privileged: true), ok(0, true), 1, 4),  // 7
        (.admit(990, privileged: true), ok(990, true), 2, 4),
        (.admit(0, privileged: true), ok(0, true), 3, 4),
        (.admit(1003, privileged: true), .failure(.privilegedPool(limit: 3)), 3, 4),
        // Privileged ones never take from the unprivileged pool either.
        (.admit(1002, privileged: false), .failure(.unprivilegedPool(limit: 4)), 3, 4),
        (.release(0), nil, 3, 3),
        (.admit(1002, privileged: false), ok(1002), 3, 4),  // 13
        (.admit(1000, privileged: false), .failure(.unprivilegedPool(limit: 4)), 3, 4),
        (.release(3), nil, 3, 3),
        (.admit(1000, privileged: false), ok(1000), 3, 4),  // 1000 had one left open: now two again
        (.release(7), nil, 2, 4),
        (.admit(1003, privileged: true), ok(1003, true), 3, 4),
        (.release(13), nil, 3, 3),
    ]

    @Test func admitsByUIDFromSeparatePools() {
        var admission = ConnectionAdmission(limits: .init(privileged: 3, unprivileged: 4, perUser: 2))
        var tickets: [Int: ConnectionAdmission.Ticket] = [:]
        for (i, (step, expected, privileged, unprivileged)) in Self.table.enumerated() {
            switch step {
            case .admit(let uid, let isPrivileged):
                let outcome = admission.admit(uid: uid, privileged: isPrivileged)
                #expect(outcome == expected, "step \(i)")
                if case .success(let ticket) = outcome { tickets[i] = ticket }
            case .release(let index):
                admission.release(tickets.removeValue(forKey: index)!)
            }
            #expect(admission.privilegedOpen == privileged, "step \(i)")
            #expect(admission.unprivilegedOpen == unprivileged, "step \(i)")
            #expect(admission.openByUser.values.reduce(0, +) == unprivileged, "step \(i)")
        }
        for ticket in tickets.values { admission.release(ticket) }
        #expect(admission == ConnectionAdmission(limits: admission.limits), "everything given back")
    }

    @Test func refusalsSayWhyAndWhoIsNotLimited() {
        let perUser = ConnectionAdmission.Refusal.perUser(uid: 65534, limit: 8).message
        #expect(perUser.contains("uid 65534 already holds 8 connections"))
        #expect(perUser.contains("root, connwatchd's own user and [daemon] operators are not limited"))
        #expect(ConnectionAdmission.Refusal.unprivilegedPool(limit: 64).message.contains("hold 64 connections"))
    }

    static let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    func gate(operators: [String]) -> ConnectionGate {
        ConnectionGate(
            limits: ControlService.admission, daemonUID: 990, operators: { operators }, accounts: FakeAccounts(),
            logger: Self.logger)
    }

    func peer(_ uid: UInt32, gid: UInt32 = 100) -> PeerCredentials { PeerCredentials(pid: 7, uid: uid, gid: gid) }

    @Test func privilegedAreRootTheDaemonAndOperators() {
        let g = gate(operators: ["alice", "@ops", "@wheel"])
        #expect(g.isPrivileged(peer(0)))
        #expect(g.isPrivileged(peer(990)))
        #expect(g.isPrivileged(peer(1000)), "alice by name")
        #expect(g.isPrivileged(peer(1002)), "carol through @ops, a supplementary group")
        #expect(g.isPrivileged(peer(1001, gid: 10)), "bob with @wheel as his primary group")
        #expect(!g.isPrivileged(peer(1001)))
        #expect(!g.isPrivileged(peer(65534, gid: 65534)))
        // A reload that changes the operators takes effect at once, cached or not.
        let changing = Shared(["bob"])
        let g2 = ConnectionGate(
            limits: ControlService.admission, daemonUID: 990, operators: { changing.withLock { $0 } },
            accounts: FakeAccounts(), logger: Self.logger)
        #expect(g2.isPrivileged(peer(1001)))
        changing.withLock { $0 = ["alice"] }
        #expect(!g2.isPrivileged(peer(1001)))
        #expect(g2.isPrivileged(peer(1000)))
    }

    /// The attack of issue 16 in miniature: 520 connections of unprivileged uids, then root,
    /// the daemon's user and an operator still get in.
    @Test func aFloodOfUnprivilegedPeersLeavesThePrivilegedPoolAlone() {
        let g = gate(operators: ["@ops"])
        var admitted: [UInt32: Int] = [:]
        var refused = 0
        for i in 0..<520 {
            let uid = UInt32(60000 + i % 10)
            switch g.admit(peer(uid, gid: 65534)) {
            case .success: admitted[uid, default: 0] += 1
            case .failure: refused += 1
            }
        }
        #expect(admitted.values.allSatisfy { $0 <= ControlService.admission.perUser })
        #expect(admitted.values.reduce(0, +) == ControlService.admission.unprivileged)
        #expect(refused == 520 - ControlService.admission.unprivileged)
        for p in [peer(0), peer(990), peer(1002)] {
            guard case .success(let ticket) = g.admit(p) else {
                Issue.record("uid \(p.uid) refused")
                continue
            }
            #expect(ticket.privileged)
        }
        #expect(g.snapshot.privilegedOpen == 3)
        #expect(
            ControlService.admission.privileged + ControlService.admission.unprivileged == ControlService.maxConnections
        )
        // An unidentifiable peer is a stranger.
        #expect(g.admit(nil) == .failure(.unprivilegedPool(limit: 64)))
    }

    @Test func refusedConnectionsAreToldWhyThenClosed() throws {
        let g = gate(operators: [])
        func refused() throws -> EmbeddedChannel {
            let channel = EmbeddedChannel(handler: RefusingHandler(message: "too many", gate: g))
            try channel.connect(to: SocketAddress(unixDomainSocketPath: "/c.sock")).wait()
            return channel
        }
        let channel = try refused()
        let reply = try #require(try channel.readOutbound(as: ByteBuffer.self))
        let text = String(buffer: reply)
        #expect(text.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
        #expect(text.contains("Connection: close\r\n"))
        #expect(
            text.hasSuffix("\r\n\r\n" + #"{"error":"too many","schema_version":1}"# + "\n"),
            "every control error's body")
        // Open until the request is in: a client still sending must not get EPIPE instead of the reply.
        #expect(channel.isActive)
        try channel.writeInbound(ByteBuffer(string: "GET /v1/status HTTP/1.1\r\n\r\n"))
        #expect(!channel.isActive)
        // No request: closed after the grace.
        let silent = try refused()
        silent.embeddedEventLoop.advanceTime(by: RefusingHandler.grace)
        #expect(!silent.isActive)
        // A connect loop: past the linger limit, closed right after the reply.
        let waiting = try (0..<ConnectionGate.lingerLimit).map { _ in try refused() }
        let allWaiting = waiting.allSatisfy { $0.isActive }
        #expect(allWaiting)
        let more = try refused()
        #expect(try more.readOutbound(as: ByteBuffer.self) != nil)
        #expect(!more.isActive)
        for c in waiting { c.embeddedEventLoop.advanceTime(by: RefusingHandler.grace) }
        #expect(g.startLingering(), "every lingering slot given back")
    }

    @Test func warningsAreThrottled() {
        var throttle = WarningThrottle(interval: .seconds(60))
        let t0 = ContinuousClock.now
        #expect(throttle.record(now: t0) == 0)
        #expect(throttle.record(now: t0 + .seconds(1)) == nil)
        #expect(throttle.record(now: t0 + .seconds(59)) == nil)
        #expect(throttle.record(now: t0 + .seconds(60)) == 2, "then one warning counting the two unlogged")
        #expect(throttle.record(now: t0 + .seconds(61)) == nil)
        #expect(throttle.record(now: t0 + .seconds(200)) == 1)
    }
}

@Suite struct RequestDeadlineTests {
    enum Event {
        case bytes, head, end, reply
    }

    static func run(_ events: [(Event, RequestDeadlineState.Action)]) {
        var state = RequestDeadlineState()
        for (i, (event, expected)) in events.enumerated() {
            let action: RequestDeadlineState.Action
            switch event {
            case .bytes: action = state.bytesReceived()
            case .head: action = state.requestHead()
            case .end: action = state.requestEnded()
            case .reply: action = state.replyEnded()
            }
            #expect(action == expected, "event \(i): \(event)")
        }
    }

    @Test func runsFromTheFirstByteToTheEndOfTheBody() {
        Self.run([(.bytes, .start), (.bytes, .none), (.head, .none), (.bytes, .none), (.end, .stop), (.reply, .none)])
        // The next request on the same connection gets its own deadline.
        Self.run([
            (.bytes, .start), (.head, .none), (.end, .stop), (.reply, .none), (.bytes, .start), (.head, .none),
            (.end, .stop),
        ])
    }

    @Test func aReplyBeforeTheBodyEndsDoesNotStopIt() {
        // A refused mutation is answered (403) at its head; its body may still trickle.
        Self.run([(.bytes, .start), (.head, .none), (.reply, .none), (.bytes, .none), (.bytes, .none)])
    }

    @Test func pausesWhileAnEarlierRequestIsAnswered() {
        // Two requests in one read: the first ends, the second's head was in the same bytes.
        Self.run([
            (.bytes, .start), (.head, .none), (.end, .stop), (.head, .none), (.end, .none), (.reply, .none),
            (.reply, .none),
        ])
        // The second arrives in part while the first is answered (POST /v1/check may take
        // long): its deadline runs from the first reply on.
        Self.run([
            (.bytes, .start), (.head, .none), (.end, .stop), (.bytes, .none), (.head, .none), (.reply, .start),
            (.end, .stop), (.reply, .none),
        ])
    }

    static func channel() throws -> (EmbeddedChannel, ConnectionGate) {
        let gate = ConnectionGate(
            limits: ControlService.admission, daemonUID: 990, operators: { [] }, accounts: FakeAccounts(),
            logger: ConnectionAdmissionTests.logger)
        let handler = ControlConnectionHandler(
            deadlines: .init(request: .seconds(10), unreadReplies: .seconds(10)), gate: gate, uid: 65534)
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: SocketAddress(unixDomainSocketPath: "/c.sock")).wait()
        return (channel, gate)
    }

    @Test func aTricklingRequestIsCutOffAtItsDeadline() throws {
        let (channel, _) = try Self.channel()
        for _ in 0..<3 {
            // One byte every 3 s: each restarts the idle timer, not this deadline.
            try channel.writeInbound(ByteBuffer(string: "P"))
            channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        }
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(999))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(2))
        #expect(!channel.isActive, "closed 10 s after the first byte")
    }

    @Test func repliesLeftUnreadCloseTheConnection() throws {
        let (channel, _) = try Self.channel()
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        channel.embeddedEventLoop.advanceTime(by: .seconds(20))
        #expect(channel.isActive, "read in time: the timer stops")
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(!channel.isActive)
    }
}
