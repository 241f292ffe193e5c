import NIOCore
import NIOHTTP1
import Synchronization

/// The first error each channel of a connection attempt caught before the connection was
/// handed out. Per channel: Happy Eyeballs may open and then abandon a second channel for
/// the same attempt, whose handshake then ends in an error that is not the winner's.
final class EarlyError: Sendable {
    private let errors = Mutex<[(channel: ObjectIdentifier, error: any Error)]>([])

    func error(of channel: any Channel) -> (any Error)? {
        let id = ObjectIdentifier(channel)
        return errors.withLock { errors in errors.first { $0.channel == id }?.error }
    }

    func record(_ error: any Error, of channel: any Channel) {
        let id = ObjectIdentifier(channel)
        errors.withLock { errors in
            if !errors.contains(where: { $0.channel == id }) { errors.append((id, error)) }
        }
    }
}

/// Runs one exchange at a time on its connection, on the connection's event loop.
final class ExchangeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let pool: OriginPool
    private let early: EarlyError
    /// Set once the connection is made; cleared when the channel closes (breaks the cycle).
    var connection: Connection?
    private var context: ChannelHandlerContext?
    private var continuation: UnsafeContinuation<HTTP1Client.Response, any Error>?
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()
    private var maxBodyBytes = 0
    private var replied = false
    private var timer: Scheduled<Void>?
    private var closed = false

    init(pool: OriginPool, early: EarlyError) {
        self.pool = pool
        self.early = early
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func start(_ exchange: Exchange, _ continuation: UnsafeContinuation<HTTP1Client.Response, any Error>) {
        guard let context, !closed, self.continuation == nil else {
            return continuation.resume(throwing: HTTP1Client.Failure.closed(replied: false))
        }
        self.continuation = continuation
        head = nil
        body = ByteBuffer()
        maxBodyBytes = exchange.maxBodyBytes
        replied = false
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: exchange.deadline) { [self] in
            finish(.failure(HTTP1Client.Failure.timeout), reuse: false)
        }
        context.write(wrapOutboundOut(.head(exchange.head)), promise: nil)
        if let bytes = exchange.body {
            var buffer = context.channel.allocator.buffer(capacity: bytes.count)
            buffer.writeBytes(bytes)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard continuation != nil else { return }
        replied = true
        switch unwrapInboundIn(data) {
        case .head(let response):
            // 1xx are interim (100 Continue); the real head follows.
            if response.status.code >= 100 && response.status.code < 200 { return }
            if let length = response.headers.first(name: "content-length").flatMap(Int.init), length > maxBodyBytes {
                return finish(.failure(HTTP1Client.Failure.bodyTooLarge(length)), reuse: false)
            }
            head = response
        case .body(var part):
            guard head != nil else { return }
            if body.readableBytes + part.readableBytes > maxBodyBytes {
                return finish(.failure(HTTP1Client.Failure.bodyTooLarge(nil)), reuse: false)
            }
            if body.readableBytes == 0 { body = part } else { body.writeBuffer(&part) }
        case .end:
            guard let head else { return }
            finish(
                .success(HTTP1Client.Response(status: Int(head.status.code), headers: head.headers, body: body)),
                reuse: head.isKeepAlive)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        if let connection { pool.closed(connection) }
        if continuation != nil { finish(.failure(HTTP1Client.Failure.closed(replied: replied)), reuse: false) }
        connection = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset before any of the reply is a closed connection (a stale keep-alive one is
        // retried); TLS and other errors keep their own description.
        let failure: any Error
        if error is IOError && !replied {
            failure = HTTP1Client.Failure.closed(replied: false)
        } else if let parse = error as? HTTPParserError, parse == .invalidEOFState {
            failure = HTTP1Client.Failure.closed(replied: true)  // the peer closed in the middle of the reply
        } else {
            failure = error
        }
        if continuation != nil {
            finish(.failure(failure), reuse: false)
        } else if connection == nil {
            early.record(failure, of: context.channel)  // before the connection was handed out: see `connect`
        }
        context.close(promise: nil)
    }

    private func finish(_ result: Result<HTTP1Client.Response, any Error>, reuse: Bool) {
        guard let continuation else { return }
        self.continuation = nil
        timer?.cancel()
        timer = nil
        head = nil
        body = ByteBuffer()
        if reuse, !closed, let connection {
            pool.release(connection)
        } else {
            closed = true
            context?.close(promise: nil)
        }
        continuation.resume(with: result)
    }
}

/// Reads the proxy's reply to `CONNECT` up to the blank line, then leaves the pipeline.
final class TunnelHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let promise: EventLoopPromise<Void>
    private let deadline: NIODeadline
    private var received = ByteBuffer()
    private var timer: Scheduled<Void>?
    private var done = false

    init(promise: EventLoopPromise<Void>, deadline: NIODeadline) {
        self.promise = promise
        self.deadline = deadline
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.fail(context, HTTP1Client.Failure.timeout)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        var part = unwrapInboundIn(data)
        received.writeBuffer(&part)
        let view = received.readableBytesView
        guard let end = view.firstRange(of: [13, 10, 13, 10]) else {
            if received.readableBytes > 16 << 10 { fail(context, HTTP1Client.Failure.proxyRefused(status: 0)) }
            return
        }
        // "HTTP/1.1 200 Connection established"
        let statusLine = String(decoding: view[view.startIndex..<end.lowerBound].prefix { $0 != 13 }, as: UTF8.self)
        let fields = statusLine.split(separator: " ", maxSplits: 2)
        let status = fields.count >= 2 ? Int(fields[1]) ?? 0 : 0
        // Bytes after the proxy's head before we spoke TLS: not a proxy we understand.
        guard (200..<300).contains(status), end.upperBound == view.endIndex else {
            return fail(context, HTTP1Client.Failure.proxyRefused(status: status))
        }
        done = true
        timer?.cancel()
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        promise.succeed()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            done = true
            timer?.cancel()
            promise.fail(HTTP1Client.Failure.closed(replied: received.readableBytes > 0))
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context, error)
    }

    private func fail(_ context: ChannelHandlerContext, _ error: any Error) {
        guard !done else { return }
        done = true
        timer?.cancel()
        promise.fail(error)
        context.close(promise: nil)
    }
}
