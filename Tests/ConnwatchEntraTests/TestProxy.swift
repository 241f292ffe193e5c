import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// An HTTP proxy on loopback for tests: `CONNECT` to any host:port is tunnelled to
/// `127.0.0.1:upstreamPort` (so a test can ask for `login.microsoftonline.com` and reach
/// its own server); an absolute-form request is answered by the proxy itself with 200 "ok".
/// It records every head it receives, and answers 407 when `requiredAuthorization` is set
/// and the request's `Proxy-Authorization` is not exactly it.
final class TestProxy: Sendable {
    let channel: any Channel
    let port: Int
    private let recorded = Mutex<[String]>([])

    /// The heads received (request line and header lines, as sent, CRLF-separated).
    var heads: [String] { recorded.withLock { $0 } }

    private init(channel: any Channel) {
        self.channel = channel
        port = channel.localAddress!.port!
    }

    var url: String { "http://127.0.0.1:\(port)" }

    static func start(upstreamPort: Int, requiredAuthorization: String? = nil) async throws -> TestProxy {
        let box = Mutex<TestProxy?>(nil)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    guard let proxy = box.withLock({ $0 }) else { throw ChannelError.ioOnClosedChannel }
                    try child.pipeline.syncOperations.addHandler(
                        ProxyHandler(
                            proxy: proxy, upstreamPort: upstreamPort, requiredAuthorization: requiredAuthorization))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let proxy = TestProxy(channel: channel)
        box.withLock { $0 = proxy }
        return proxy
    }

    func stop() async { try? await channel.close() }

    fileprivate func record(_ head: String) { recorded.withLock { $0.append(head) } }
}

private final class ProxyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let proxy: TestProxy
    let upstreamPort: Int
    let requiredAuthorization: String?
    private var received = ByteBuffer()
    private var upstream: (any Channel)?
    private var headDone = false

    init(proxy: TestProxy, upstreamPort: Int, requiredAuthorization: String?) {
        self.proxy = proxy
        self.upstreamPort = upstreamPort
        self.requiredAuthorization = requiredAuthorization
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var part = unwrapInboundIn(data)
        if let upstream {
            upstream.writeAndFlush(part, promise: nil)
            return
        }
        guard !headDone else { return }  // bytes before the tunnel is up: dropped
        received.writeBuffer(&part)
        let text = String(buffer: received)
        guard let end = text.range(of: "\r\n\r\n") else { return }
        headDone = true
        let head = String(text[..<end.lowerBound])
        proxy.record(head)
        let lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.first ?? ""
        let authorization = lines.dropFirst().first { $0.lowercased().hasPrefix("proxy-authorization:") }
            .map { String($0.dropFirst("proxy-authorization:".count)).trimmingCharacters(in: .whitespaces) }
        if let requiredAuthorization, authorization != requiredAuthorization {
            respondAndClose(context, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
            return
        }
        guard requestLine.hasPrefix("CONNECT ") else {
            respondAndClose(context, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            return
        }
        let client = context.channel
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        ClientBootstrap(group: context.eventLoop)
            .channelInitializer { upstream in
                upstream.eventLoop.makeCompletedFuture {
                    try upstream.pipeline.syncOperations.addHandler(RelayHandler(peer: client))
                }
            }
            .connect(host: "127.0.0.1", port: upstreamPort)
            .whenComplete { result in
                let (handler, context) = bound.value
                switch result {
                case .success(let upstream):
                    handler.upstream = upstream
                    context.writeAndFlush(
                        handler.wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 200 Connection Established\r\n\r\n")),
                        promise: nil)
                case .failure:
                    handler.respondAndClose(context, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                }
            }
    }

    func channelInactive(context: ChannelHandlerContext) {
        upstream?.close(promise: nil)
        context.fireChannelInactive()
    }

    private func respondAndClose(_ context: ChannelHandlerContext, _ text: String) {
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text))).whenComplete { _ in
            bound.value.close(promise: nil)
        }
    }
}

/// Copies what the upstream sends back to the client; closes the client with it.
private final class RelayHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    let peer: any Channel

    init(peer: any Channel) { self.peer = peer }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        peer.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        peer.close(promise: nil)
        context.fireChannelInactive()
    }
}
