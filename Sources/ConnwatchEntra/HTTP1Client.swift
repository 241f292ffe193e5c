import ConnwatchCore
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A small HTTP/1.1 client on SwiftNIO for connwatch's own calls: keep-alive connections
/// per origin, verified TLS (TLS 1.2 or later, the chain by BoringSSL, the URL's host name
/// by ``TLSNameCheck``), an optional `CONNECT` proxy, one deadline per exchange, and a
/// body cap. It does what connwatch needs and nothing more (no redirects, no compression,
/// no streaming), which keeps a request to two thread hand-offs — the write is started on
/// the connection's event loop, the reply resumes the caller once — and its timer on that
/// loop. (AsyncHTTPClient spent about a third of a check's CPU in its request state
/// machines, tracing spans and cross-thread timer scheduling: BENCHMARKS.md.)
final class HTTP1Client: Sendable {
    struct Origin: Hashable, Sendable {
        var tls: Bool
        var host: String
        var port: Int
    }

    /// An HTTP proxy: `CONNECT` tunnels for https, absolute-form requests for http.
    struct Proxy: Sendable {
        var host: String
        var port: Int
        /// `Proxy-Authorization` value (`Basic …`, from the `proxy_credential` credential);
        /// a Secret so that no description of a proxy shows it.
        var authorization: Secret?
    }

    struct Response: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: ByteBuffer
    }

    enum Failure: Error, Sendable {
        /// The deadline passed before the whole reply arrived.
        case timeout
        /// The reply's body is larger than the cap.
        case bodyTooLarge(Int?)
        /// The connection closed before a complete reply; `replied`: some of it had arrived.
        case closed(replied: Bool)
        /// The proxy refused the tunnel.
        case proxyRefused(status: Int)
        /// A header that would break the request framing (CR, LF or NUL in it).
        case invalidHeader(String)
        /// A header name that is not an HTTP token (empty, or a space, colon or control byte in it).
        case invalidHeaderName
        /// A request target or host with a byte ≤ 0x20 or 0x7F: it would split or bend the
        /// request line (nothing was sent).
        case invalidTarget
        /// The server's certificate chain verified but does not name the URL's host.
        case certificateDoesNotName(host: String)
        /// The client was shut down.
        case shutDown
    }

    let group: any EventLoopGroup
    let sslContext: NIOSSLContext
    let proxy: Proxy?
    /// `NO_PROXY` entries, normalised (see ``bypassesProxy(_:noProxy:)``).
    let noProxy: [String]
    let connectTimeout: TimeAmount
    let idleTimeout: TimeAmount
    let maxConnectionsPerOrigin: Int
    private let pools = Mutex<[Origin: OriginPool]>([:])
    private let isShutDown = Atomic<Bool>(false)

    /// `tls` is taken for its trust roots and the like; whatever it says, the chain is
    /// verified (against its trust roots), the name is checked here, not by NIOSSL (see
    /// ``TLSNameCheck``), and nothing older than TLS 1.2 is spoken.
    init(
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, tls: TLSConfiguration, proxy: Proxy?,
        noProxy: [String] = [], connectTimeout: TimeAmount, idleTimeout: TimeAmount = .seconds(60),
        maxConnectionsPerOrigin: Int
    ) throws {
        self.group = group
        var tls = tls
        tls.certificateVerification = .noHostnameVerification
        if tls.minimumTLSVersion != .tlsv13 { tls.minimumTLSVersion = .tlsv12 }
        sslContext = try NIOSSLContext(configuration: tls)
        self.proxy = proxy
        self.noProxy = noProxy.compactMap(HTTP1Client.normalizedNoProxyEntry)
        self.connectTimeout = connectTimeout
        self.idleTimeout = idleTimeout
        self.maxConnectionsPerOrigin = max(1, maxConnectionsPerOrigin)
    }

    /// One exchange. An idempotent request that fails on a reused keep-alive connection
    /// before any of the reply arrived (the server closed it meanwhile) is sent once more.
    func execute(
        method: HTTPMethod, url target: Target, headers: [(String, String)], body: [UInt8]?, deadline: NIODeadline,
        maxBodyBytes: Int
    ) async throws -> Response {
        // Nothing that could split or bend the request reaches the wire: the target and the
        // host go into the request line and `Host` as they are (URLs come from config and
        // from Graph data, e.g. a webhook URL or a SharePoint site).
        if HTTP1Client.unsafeInTarget(target.path) || HTTP1Client.unsafeInTarget(target.hostHeader) {
            throw Failure.invalidTarget
        }
        for (name, value) in headers {
            if !HTTP1Client.isToken(name) { throw Failure.invalidHeaderName }
            if HTTP1Client.breaksFraming(value) { throw Failure.invalidHeader(name) }
        }
        let pool = pool(for: target.origin)
        let proxy = pool.proxy
        var head = HTTPRequestHead(
            version: .http1_1, method: method,
            uri: proxy != nil && !target.origin.tls ? "http://\(target.hostHeader)\(target.path)" : target.path)
        head.headers.reserveCapacity(headers.count + 3)
        head.headers.add(name: "Host", value: target.hostHeader)
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        if let body {
            head.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
        } else if method == .POST || method == .PUT || method == .PATCH {
            head.headers.replaceOrAdd(name: "Content-Length", value: "0")
        }
        if proxy != nil, !target.origin.tls, let authorization = proxy?.authorization {
            authorization.withValue { head.headers.add(name: "Proxy-Authorization", value: $0) }
        }
        let exchange = Exchange(head: head, body: body, deadline: deadline, maxBodyBytes: maxBodyBytes)
        return try await attempt(exchange, pool, retryStale: HTTP1Client.isIdempotent(method))
    }

    /// On an idle connection, on a new one while under the limit, else queued: a released
    /// connection starts the next queued exchange on its own event loop (no round trip
    /// through the caller's thread).
    ///
    /// A keep-alive connection the server closed while it sat idle fails before any reply:
    /// an idempotent request goes once more (`retryStale`), wherever the pool puts it. Never
    /// a POST: the server may have acted on it before closing (a webhook delivered twice, a
    /// token requested twice); nor a request that failed on a fresh connection.
    private func attempt(_ exchange: Exchange, _ pool: OriginPool, retryStale: Bool) async throws -> Response {
        switch pool.acquire() {
        case .reuse(let connection):
            do {
                return try await connection.run(exchange)
            } catch Failure.closed(replied: false) where retryStale {
                return try await attempt(exchange, pool, retryStale: false)
            }
        case .create:
            return try await withUnsafeThrowingContinuation { continuation in
                connectAndStart(pool, exchange, continuation)
            }
        case .full:
            let loop = group.next()
            return try await withUnsafeThrowingContinuation { continuation in
                pool.enqueue(exchange, continuation, timerLoop: loop)
            }
        case .fail:
            throw Failure.shutDown
        }
    }

    /// Makes a connection (the pool counted its slot) and starts `exchange` on it, all on
    /// the connection's event loop: the caller is resumed once, with the reply or the error.
    /// (No hop through Swift's threads between connecting and sending: such a hop waits for
    /// a free thread, and that wait would eat into the exchange's deadline.)
    fileprivate func connectAndStart(_ pool: OriginPool, _ exchange: Exchange, _ continuation: ResponseContinuation) {
        connect(pool, deadline: exchange.deadline).whenComplete { result in
            switch result {
            case .success(let connection):
                connection.startOnLoop(exchange, continuation)
            case .failure(let error):
                pool.creationFailed()
                continuation.resume(throwing: error)
            }
        }
    }

    /// Closes idle connections; connections in use close when their exchange ends.
    func shutdown() async {
        isShutDown.store(true, ordering: .releasing)
        let all = pools.withLock { pools in
            defer { pools.removeAll() }
            return Array(pools.values)
        }
        for pool in all {
            for connection in pool.drain() { try? await connection.channel.close().get() }
        }
    }

    private func pool(for origin: Origin) -> OriginPool {
        pools.withLock { pools in
            if let pool = pools[origin] { return pool }
            // The proxy decision is made once per origin, not per request.
            let proxy = HTTP1Client.bypassesProxy(origin, noProxy: noProxy) ? nil : self.proxy
            let pool = OriginPool(
                origin: origin, proxy: proxy, maxOpen: maxConnectionsPerOrigin, idleTimeout: idleTimeout
            ) {
                [weak self] pool, exchange, continuation in
                guard let self else {
                    pool.creationFailed()
                    return continuation.resume(throwing: Failure.shutDown)
                }
                self.connectAndStart(pool, exchange, continuation)
            }
            pools[origin] = pool
            return pool
        }
    }

    /// A new connection to the pool's origin (through the proxy's tunnel if it has one),
    /// its exchange handler in place; the future completes on the connection's loop.
    private func connect(_ pool: OriginPool, deadline: NIODeadline) -> EventLoopFuture<Connection> {
        let origin = pool.origin
        let loop = group.next()
        if isShutDown.load(ordering: .acquiring) { return loop.makeFailedFuture(Failure.shutDown) }
        let budget = min(connectTimeout, deadline - .now())
        guard budget > .zero else { return loop.makeFailedFuture(Failure.timeout) }
        let sslContext = self.sslContext
        let proxy = pool.proxy
        let direct = proxy == nil || !origin.tls
        let early = EarlyError()
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(budget)
            .channelInitializer { channel in
                guard direct else { return channel.eventLoop.makeSucceededVoidFuture() }
                do {
                    try HTTP1Client.addProtocolHandlers(
                        channel, origin: origin, sslContext: sslContext, pool: pool, early: early)
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        var connected =
            if let proxy {
                bootstrap.connect(host: proxy.host, port: proxy.port)
            } else {
                bootstrap.connect(host: origin.host, port: origin.port)
            }
        connected = connected.flatMapErrorThrowing { error in
            if case ChannelError.connectTimeout = error { throw Failure.timeout }
            throw error
        }
        if !direct, let proxy {
            connected = connected.flatMap { channel in
                HTTP1Client.openTunnel(channel, to: origin, proxy: proxy, deadline: deadline)
                    .flatMapThrowing {
                        try HTTP1Client.addProtocolHandlers(
                            channel, origin: origin, sslContext: sslContext, pool: pool, early: early)
                        return channel
                    }
                    .flatMapErrorThrowing { error in
                        channel.close(promise: nil)
                        throw error
                    }
            }
        }
        return connected.flatMapThrowing { channel in
            // A TLS handshake refused before now (the name check, an untrusted chain): its
            // error, not "closed". A live channel's handler sees its close and frees the pool
            // slot once the Connection exists; a channel already closed is a failed creation
            // (the caller frees the slot).
            if let error = early.error(of: channel) {
                channel.close(promise: nil)
                throw error
            }
            guard channel.isActive else { throw Failure.closed(replied: false) }
            let handler = try channel.pipeline.syncOperations.handler(type: ExchangeHandler.self)
            return Connection(channel: channel, handler: handler)
        }
    }

    /// TLS (for https), the HTTP/1 codec and the exchange handler. The exchange handler goes
    /// in with the others so that an error the pipeline raises before the first exchange
    /// starts is kept in `early` instead of being lost: `connect` attaches its callbacks
    /// from the caller's thread, and on a busy machine the event loop can connect and run
    /// (and refuse) the whole handshake before they are attached.
    private static func addProtocolHandlers(
        _ channel: any Channel, origin: Origin, sslContext: NIOSSLContext, pool: OriginPool, early: EarlyError
    ) throws {
        let sync = channel.pipeline.syncOperations
        if origin.tls {
            // SNI by host name (SNI cannot carry an IP literal). BoringSSL verifies the chain
            // (the context has `.noHostnameVerification`); once it has, and before the
            // handshake completes and any request byte leaves, the leaf must name the URL's
            // host: its DNS names for a host name, its IP addresses only for an IP literal.
            // Not NIOSSL's own name check: it also accepts an IP name equal to the socket's
            // peer address, which through a proxy is the proxy's (issue 16.1).
            // (NIOSSL's `customVerificationCallback` would replace the chain verification
            // too; this hook runs after it, with the verified leaf.)
            let host = origin.host
            let isAddress = TLSNameCheck.addressBytes(host) != nil
            try sync.addHandler(
                NIOSSLClientHandler._makeSSLClientHandler(
                    context: sslContext, serverHostname: isAddress ? nil : host,
                    additionalPeerCertificateVerificationCallback: { leaf, channel in
                        TLSNameCheck.certificate(leaf, names: host)
                            ? channel.eventLoop.makeSucceededVoidFuture()
                            : channel.eventLoop.makeFailedFuture(Failure.certificateDoesNotName(host: host))
                    }))
        }
        try sync.addHTTPClientHandlers(leftOverBytesStrategy: .dropBytes)
        try sync.addHandler(ExchangeHandler(pool: pool, early: early))
    }

    /// Sends `CONNECT host:port` and waits for the proxy's 2xx (the rest of the proxy's
    /// head is read and dropped; TLS starts after it).
    private static func openTunnel(
        _ channel: any Channel, to origin: Origin, proxy: Proxy, deadline: NIODeadline
    ) -> EventLoopFuture<Void> {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        let authority = origin.host.contains(":") ? "[\(origin.host)]:\(origin.port)" : "\(origin.host):\(origin.port)"
        var request = "CONNECT \(authority) HTTP/1.1\r\nHost: \(authority)\r\n"
        if let authorization = proxy.authorization {
            authorization.withValue { request += "Proxy-Authorization: \($0)\r\n" }
        }
        request += "\r\n"
        do {
            try channel.pipeline.syncOperations.addHandler(TunnelHandler(promise: promise, deadline: deadline))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        channel.writeAndFlush(ByteBuffer(string: request), promise: nil)
        return promise.futureResult
    }
}
