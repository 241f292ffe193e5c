import Logging
import NIOCore
import NIOHTTPTypes

/// When a connection's request deadline runs: from the first byte of a request until the
/// end of its body, except while the server still answers an earlier request of the same
/// connection (a pipelined request waits for that, through no fault of the client's).
///
/// The idle timeout alone does not bound a request: it restarts with every body part, so a
/// body trickling one byte every 5 s kept a connection forever. The deadline is for
/// *receiving* the request; a handler that takes long (`POST /v1/check` waits for the
/// checks) is not limited by it.
struct RequestDeadlineState: Sendable, Equatable {
    /// Bytes of a request have arrived and its end has not.
    private(set) var receiving = false
    /// Requests received to their end.
    private(set) var requestsReceived = 0
    /// Replies written to their end (a refusal may be written before its request's body ends).
    private(set) var repliesWritten = 0
    private(set) var running = false

    enum Action: Sendable, Equatable {
        case start
        case stop
        case none
    }

    mutating func bytesReceived() -> Action {
        receiving = true
        return update()
    }

    /// A request's head was decoded: its bytes may have come in the read that ended the
    /// previous request, when this one was not yet known.
    mutating func requestHead() -> Action {
        receiving = true
        return update()
    }

    mutating func requestEnded() -> Action {
        receiving = false
        requestsReceived += 1
        return update()
    }

    mutating func replyEnded() -> Action {
        repliesWritten += 1
        return update()
    }

    private mutating func update() -> Action {
        let run = receiving && repliesWritten >= requestsReceived
        defer { running = run }
        if run == running { return .none }
        return run ? .start : .stop
    }
}

/// First in an admitted connection's pipeline: closes the connection when a request is not
/// received within `Deadlines.request` (`RequestDeadlineState`), or when its replies go
/// unread — the channel stays unwritable — for `Deadlines.unreadReplies`. A client that
/// pipelines requests and never reads the replies otherwise holds its connection forever:
/// the server waits to write, stops reading, and the idle timer does not run while a reply
/// is pending.
final class ControlConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    struct Deadlines: Sendable {
        var request: TimeAmount
        var unreadReplies: TimeAmount
    }

    let deadlines: Deadlines
    let gate: ConnectionGate
    let uid: UInt32
    private var state = RequestDeadlineState()
    private var context: ChannelHandlerContext?
    private var requestTimer: Scheduled<Void>?
    private var unreadTimer: Scheduled<Void>?

    init(deadlines: Deadlines, gate: ConnectionGate, uid: UInt32) {
        self.deadlines = deadlines
        self.gate = gate
        self.uid = uid
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimers()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        apply(state.bytesReceived())
        context.fireChannelRead(data)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            unreadTimer?.cancel()
            unreadTimer = nil
        } else if unreadTimer == nil {
            unreadTimer = schedule(deadlines.unreadReplies) {
                "its replies went unread for \(Self.seconds($0.deadlines.unreadReplies))"
            }
        }
        context.fireChannelWritabilityChanged()
    }

    fileprivate func apply(_ action: RequestDeadlineState.Action) {
        switch action {
        case .start:
            requestTimer?.cancel()
            requestTimer = schedule(deadlines.request) {
                "a request took longer than \(Self.seconds($0.deadlines.request)) to arrive"
            }
        case .stop:
            requestTimer?.cancel()
            requestTimer = nil
        case .none: break
        }
    }

    private func schedule(_ delay: TimeAmount, why: @escaping (ControlConnectionHandler) -> String) -> Scheduled<Void>?
    {
        guard let context else { return nil }
        return context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [weak self] in
            guard let self, let context = self.context else { return }
            self.cancelTimers()
            self.gate.cutOff(uid: self.uid, why: why(self))
            context.close(promise: nil)
        }
    }

    private func cancelTimers() {
        requestTimer?.cancel()
        requestTimer = nil
        unreadTimer?.cancel()
        unreadTimer = nil
    }

    static func seconds(_ t: TimeAmount) -> String { "\(t.nanoseconds / 1_000_000_000) s" }

    /// After the HTTP codec: tells the handler where requests end and replies are done.
    final class Parts: ChannelDuplexHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPRequestPart
        typealias InboundOut = HTTPRequestPart
        typealias OutboundIn = HTTPResponsePart
        typealias OutboundOut = HTTPResponsePart

        let watch: ControlConnectionHandler

        init(_ watch: ControlConnectionHandler) { self.watch = watch }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head: watch.apply(watch.state.requestHead())
            case .body: break
            case .end: watch.apply(watch.state.requestEnded())
            }
            context.fireChannelRead(data)
        }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            if case .end = unwrapOutboundIn(data) { watch.apply(watch.state.replyEnded()) }
            context.write(data, promise: promise)
        }
    }
}
