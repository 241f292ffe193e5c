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

    /// An absolute `http(s)://host[:port]/path?query` URL split for a request.
    struct Target: Sendable, Equatable {
        var origin: Origin
        /// Origin-form request target: path and query, never empty.
        var path: String
        /// The `Host` header: host, and the port when it is not the scheme's.
        var hostHeader: String

        /// Nil for anything but http/https URLs with a host; user info is refused (no
        /// credentials in URLs).
        init?(_ url: String) {
            // Byte-wise: every request parses its URL, so this stays off Foundation's URL.
            let bytes = Array(url.utf8)
            func lower(_ b: UInt8) -> UInt8 { b >= 65 && b <= 90 ? b + 32 : b }
            func hasPrefix(_ p: StaticString) -> Bool {
                guard bytes.count >= p.utf8CodeUnitCount else { return false }
                return (0..<p.utf8CodeUnitCount).allSatisfy { lower(bytes[$0]) == p.utf8Start[$0] }
            }
            let tls: Bool
            var i: Int
            if hasPrefix("https://") {
                (tls, i) = (true, 8)
            } else if hasPrefix("http://") {
                (tls, i) = (false, 7)
            } else {
                return nil
            }
            let authorityStart = i
            while i < bytes.count, bytes[i] != 0x2F, bytes[i] != 0x3F, bytes[i] != 0x23 { i += 1 }  // / ? #
            let authority = bytes[authorityStart..<i]
            var pathEnd = i
            while pathEnd < bytes.count, bytes[pathEnd] != 0x23 { pathEnd += 1 }
            let path = bytes[i..<pathEnd]
            guard !authority.isEmpty, !authority.contains(0x40) else { return nil }  // @: no user info
            var host: ArraySlice<UInt8>
            var portBytes: ArraySlice<UInt8>?
            if authority.first == 0x5B {  // [IPv6]
                guard let close = authority.firstIndex(of: 0x5D) else { return nil }
                host = authority[(authority.startIndex + 1)..<close]
                let after = authority[(close + 1)...]
                if !after.isEmpty {
                    guard after.first == 0x3A else { return nil }
                    portBytes = after.dropFirst()
                }
            } else if let colon = authority.lastIndex(of: 0x3A) {
                host = authority[..<colon]
                portBytes = authority[(colon + 1)...]
            } else {
                host = authority
            }
            let defaultPort = tls ? 443 : 80
            var port = defaultPort
            if let portBytes {
                guard !portBytes.isEmpty, portBytes.count <= 5, portBytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
                else { return nil }
                port = portBytes.reduce(0) { $0 * 10 + Int($1 - 0x30) }
                guard (1...65535).contains(port) else { return nil }
            }
            guard !host.isEmpty else { return nil }
            let hostString = String(decoding: host, as: UTF8.self)
            origin = Origin(tls: tls, host: hostString, port: port)
            if path.isEmpty {
                self.path = "/"
            } else if path.first == 0x3F {
                self.path = "/" + String(decoding: path, as: UTF8.self)
            } else {
                self.path = String(decoding: path, as: UTF8.self)
            }
            let bracketed = host.contains(0x3A) ? "[\(hostString)]" : hostString
            hostHeader = port == defaultPort ? bracketed : "\(bracketed):\(port)"
        }
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

    /// GET, HEAD, PUT, DELETE, OPTIONS: sending one twice does no harm (RFC 9110 §9.2.2).
    static func isIdempotent(_ method: HTTPMethod) -> Bool {
        switch method {
        case .GET, .HEAD, .PUT, .DELETE, .OPTIONS: true
        default: false
        }
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
        switch try pool.tryAcquire() {
        case .reuse(let connection)?:
            do {
                return try await connection.run(exchange)
            } catch Failure.closed(replied: false) where retryStale {
                return try await attempt(exchange, pool, retryStale: false)
            }
        case .create?:
            return try await withUnsafeThrowingContinuation { continuation in
                connectAndStart(pool, exchange, continuation)
            }
        case nil:
            let loop = group.next()
            return try await withUnsafeThrowingContinuation { continuation in
                pool.enqueue(exchange, continuation, timerLoop: loop)
            }
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

    /// Whether `origin` goes direct instead of through the proxy, by `NO_PROXY` entries as
    /// curl reads them: `*` (everything), a host name (itself and its subdomains), `.domain`
    /// (the same), an IP address (exactly; no CIDR ranges), each optionally with `:port`
    /// (then only that port). Case-insensitive; entries normalised by
    /// ``normalizedNoProxyEntry(_:)``.
    static func bypassesProxy(_ origin: Origin, noProxy: [String]) -> Bool {
        guard !noProxy.isEmpty else { return false }
        var host = origin.host.lowercased()
        if host.hasSuffix(".") { host.removeLast() }
        let hostIsAddress = TLSNameCheck.addressBytes(host) != nil
        for entry in noProxy {
            if entry == "*" { return true }
            var name = Substring(entry)
            var port: Substring?
            if name.hasPrefix("[") {  // [v6] or [v6]:port
                guard let close = name.firstIndex(of: "]") else { continue }
                let after = name[name.index(after: close)...]
                if after.hasPrefix(":") { port = after.dropFirst() } else if !after.isEmpty { continue }
                name = name[name.index(after: name.startIndex)..<close]
            } else if let colon = name.firstIndex(of: ":"), colon == name.lastIndex(of: ":") {  // host:port
                port = name[name.index(after: colon)...]
                name = name[..<colon]
            }
            if let port, Int(port) != origin.port { continue }
            if name.hasPrefix(".") { name = name.dropFirst() }
            guard !name.isEmpty else { continue }
            if host == name { return true }
            // Domain suffixes for host names only (`0.0.1` is no domain of `127.0.0.1`).
            if !hostIsAddress, host.hasSuffix("." + name) { return true }
        }
        return false
    }

    /// One `NO_PROXY` entry trimmed, lowercased, without a trailing dot; nil when empty.
    static func normalizedNoProxyEntry(_ entry: String) -> String? {
        var text = Substring(entry.lowercased())
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text.isEmpty ? nil : String(text)
    }

    static func breaksFraming(_ text: String) -> Bool {
        text.utf8.contains { $0 == 13 || $0 == 10 || $0 == 0 }
    }

    /// A byte ≤ 0x20 (controls, space) or 0x7F (DEL): not allowed in a request target or
    /// host (RFC 9112 §3.2; a URL must percent-encode them).
    static func unsafeInTarget(_ text: String) -> Bool {
        text.utf8.contains { $0 <= 0x20 || $0 == 0x7F }
    }

    /// A header field name: non-empty, printable ASCII without space, colon or DEL.
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && !text.utf8.contains { $0 <= 0x20 || $0 >= 0x7F || $0 == UInt8(ascii: ":") }
    }
}

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
