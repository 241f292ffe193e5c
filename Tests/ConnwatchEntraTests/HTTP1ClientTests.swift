import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization
import Testing

@testable import ConnwatchEntra

/// The HTTP/1.1 client under HTTPTransport, against a scripted server on loopback: the
/// server answers each request by its path with exactly the bytes a test needs (keep-alive,
/// `Connection: close`, a body over the cap, a reply that never comes, a connection cut in
/// the middle of a body, an idle connection the server closes).
@Suite struct HTTP1ClientTests {
    @Test func urlsSplitIntoOriginPathAndHostHeader() throws {
        let a = try #require(HTTP1Client.Target("https://graph.microsoft.com/v1.0/applications(appId='x')?$select=id"))
        #expect(a.origin == .init(tls: true, host: "graph.microsoft.com", port: 443))
        #expect(a.path == "/v1.0/applications(appId='x')?$select=id")
        #expect(a.hostHeader == "graph.microsoft.com")
        let b = try #require(HTTP1Client.Target("HTTP://127.0.0.1:8080?x=1#frag"))
        #expect(b.origin == .init(tls: false, host: "127.0.0.1", port: 8080))
        #expect(b.path == "/?x=1")
        #expect(b.hostHeader == "127.0.0.1:8080")
        let c = try #require(HTTP1Client.Target("https://[::1]:8443/login/t/oauth2/v2.0/token"))
        #expect(c.origin == .init(tls: true, host: "::1", port: 8443))
        #expect(c.hostHeader == "[::1]:8443")
        let d = try #require(HTTP1Client.Target("https://example.com:443"))
        #expect(d.path == "/" && d.hostHeader == "example.com")
        for bad in [
            "ftp://example.com/", "https://", "https:///path", "https://user:pw@example.com/", "https://h:0/",
            "https://h:65536/", "https://h:8x/", "https://h:/", "https://[::1/", "example.com/path",
        ] {
            #expect(HTTP1Client.Target(bad) == nil, "\(bad)")
        }
    }

    @Test func keepAliveReusesOneConnectionAndSendsHostAndBody() async throws {
        try await withServer { server, transport in
            for i in 0..<5 {
                let r = try await transport.send(
                    TransportRequest(
                        method: .POST, url: server.url("/echo?i=\(i)"), headers: [("Content-Type", "text/plain")],
                        body: Data("body \(i)".utf8), endpoint: "test"))
                #expect(r.status == 200)
                #expect(String(decoding: r.body, as: UTF8.self) == "body \(i)")
                #expect(r.headers.first(name: "x-path") == "/echo?i=\(i)")
            }
            #expect(server.connections == 1)
            let heads = server.heads
            #expect(heads.count == 5)
            #expect(heads.allSatisfy { $0.contains("host: 127.0.0.1:\(server.port)") })
            #expect(heads.allSatisfy { $0.contains("content-length: 6") })
        }
    }

    @Test func connectionCloseIsHonoured() async throws {
        try await withServer { server, transport in
            for _ in 0..<3 {
                let r = try await transport.send(TransportRequest(url: server.url("/close"), endpoint: "test"))
                #expect(r.status == 200 && String(decoding: r.body, as: UTF8.self) == "bye")
            }
            #expect(server.connections == 3)
        }
    }

    @Test func aConnectionTheServerClosedWhileIdleIsReplacedTransparently() async throws {
        try await withServer { server, transport in
            let first = try await transport.send(TransportRequest(url: server.url("/idle-close"), endpoint: "test"))
            #expect(first.status == 200)
            try await Task.sleep(for: .milliseconds(200))  // the server has closed it by now
            let second = try await transport.send(TransportRequest(url: server.url("/ok"), endpoint: "test"))
            #expect(second.status == 200 && String(decoding: second.body, as: UTF8.self) == "ok")
            #expect(server.connections == 2)
        }
    }

    /// A reused connection that the server closes on the next request without a reply (as
    /// a keep-alive connection that timed out on the server's side): GET goes once more,
    /// on a new connection; a POST is never sent twice (the server may have acted on it).
    @Test func aStaleConnectionIsRetriedOnceAndOnlyForIdempotentRequests() async throws {
        try await withServer { server, transport in
            func count(_ path: String) -> Int { server.heads.filter { $0.hasPrefix(path) }.count }
            // GET on a stale reused connection: retried on a fresh one.
            _ = try await transport.send(TransportRequest(url: server.url("/arm-drop"), endpoint: "test"))
            let get = try await transport.send(TransportRequest(url: server.url("/echo?get"), endpoint: "test"))
            #expect(get.status == 200)
            #expect(count("/echo?get") == 2)
            #expect(server.connections == 2)
            // POST on a stale reused connection: sent once, the failure returned.
            _ = try await transport.send(TransportRequest(url: server.url("/arm-drop"), endpoint: "test"))
            do throws(EntraError) {
                _ = try await transport.send(
                    TransportRequest(
                        method: .POST, url: server.url("/echo?post"), body: Data("once".utf8), endpoint: "test post"))
                Issue.record("the POST was answered")
            } catch {
                #expect(error == .unreachable(endpoint: "test post", detail: "connection closed before a reply"))
            }
            #expect(count("/echo?post") == 1)
            // At most once: a GET the server drops on the reused and on the new connection.
            _ = try await transport.send(TransportRequest(url: server.url("/ok"), endpoint: "test"))
            let before = server.connections
            do throws(EntraError) {
                _ = try await transport.send(TransportRequest(url: server.url("/drop"), endpoint: "test drop"))
                Issue.record("the dropped GET was answered")
            } catch {
                #expect(error == .unreachable(endpoint: "test drop", detail: "connection closed before a reply"))
            }
            #expect(count("/drop") == 2)
            // And not at all on a fresh connection (none is idle now: both were dropped).
            #expect(server.connections == before + 1)
            do throws(EntraError) {
                _ = try await transport.send(TransportRequest(url: server.url("/drop"), endpoint: "test drop"))
                Issue.record("the dropped GET was answered")
            } catch {
                #expect(error == .unreachable(endpoint: "test drop", detail: "connection closed before a reply"))
            }
            #expect(count("/drop") == 3)
        }
    }

    @Test func noProxyEntriesChooseDirectConnections() throws {
        let rows: [(url: String, entries: [String], direct: Bool)] = [
            ("https://login.microsoftonline.com/", [], false),
            ("https://login.microsoftonline.com/", ["*"], true),
            ("https://login.microsoftonline.com/", ["microsoftonline.com"], true),
            ("https://login.microsoftonline.com/", [".microsoftonline.com"], true),
            ("https://microsoftonline.com/", [".microsoftonline.com"], true),
            ("https://notmicrosoftonline.com/", ["microsoftonline.com"], false),
            ("https://microsoftonline.com.evil.example/", ["microsoftonline.com"], false),
            ("https://login.microsoftonline.com/", ["login.microsoftonline.com:443"], true),
            ("https://login.microsoftonline.com/", ["login.microsoftonline.com:8443"], false),
            ("https://LOGIN.microsoftonline.com./", [" Login.MicrosoftOnline.com. "], true),
            ("https://graph.microsoft.com/", ["login.microsoftonline.com", "management.azure.com"], false),
            ("http://127.0.0.1:8080/", ["127.0.0.1"], true),
            ("http://127.0.0.1:8080/", ["127.0.0.1:8080"], true),
            ("http://127.0.0.1:8080/", ["127.0.0.1:80"], false),
            ("http://127.0.0.10/", ["0.0.10"], false),
            ("https://[::1]:8443/", ["::1"], true),
            ("https://[::1]:8443/", ["[::1]:8443"], true),
            ("https://[::1]:8443/", ["[::1]:443"], false),
            ("https://h.example/", ["", " ", ","], false),
        ]
        for row in rows {
            let target = try #require(HTTP1Client.Target(row.url))
            let entries = row.entries.compactMap(HTTP1Client.normalizedNoProxyEntry)
            #expect(HTTP1Client.bypassesProxy(target.origin, noProxy: entries) == row.direct, "\(row)")
        }
        #expect(
            TransportSettings.noProxy(environment: ["NO_PROXY": " a.example, .b.example ,,*,h:8443"])
                == ["a.example", ".b.example", "*", "h:8443"])
        #expect(TransportSettings.noProxy(environment: ["no_proxy": "x.example"]) == ["x.example"])
        #expect(TransportSettings.noProxy(environment: [:]).isEmpty)
        #expect(TransportSettings.noProxy(configured: ["c.example"], environment: ["NO_PROXY": "*"]) == ["c.example"])
    }

    @Test func noProxyHostsGoDirectAndTheOthersThroughTheProxy() async throws {
        let server = try await ScriptedServer.start()
        let proxy = try await TestProxy.start(upstreamPort: server.port)
        var settings = TransportSettings()
        settings.proxy = proxy.url
        settings.noProxy = TransportSettings.noProxy(environment: ["NO_PROXY": "localhost,127.0.0.1"])
        settings.maxAttempts = 1
        let transport = try HTTPTransport(settings: settings)
        let direct = try await transport.send(TransportRequest(url: server.url("/ok"), endpoint: "test"))
        #expect(direct.status == 200 && String(decoding: direct.body, as: UTF8.self) == "ok")
        #expect(proxy.heads.isEmpty)
        #expect(server.heads.first?.hasPrefix("/ok\n") == true)  // origin-form: not for a proxy
        let proxied = try await transport.send(TransportRequest(url: "http://elsewhere.example/x", endpoint: "test"))
        #expect(proxied.status == 200)
        #expect(proxy.heads.count == 1 && proxy.heads.first?.hasPrefix("GET http://elsewhere.example/x ") == true)
        await transport.shutdown()
        await proxy.stop()
        await server.stop()
    }

    @Test func bodiesOverTheCapAreRefusedDeclaredOrChunked() async throws {
        try await withServer(maxBody: 64) { server, transport in
            for path in ["/big", "/chunked-big"] {
                do throws(EntraError) {
                    _ = try await transport.send(TransportRequest(url: server.url(path), endpoint: "test \(path)"))
                    Issue.record("\(path): body over the cap accepted")
                } catch {
                    guard case .badResponse(let endpoint, let detail) = error else {
                        Issue.record("\(path): \(error)")
                        continue
                    }
                    #expect(endpoint == "test \(path)")
                    #expect(detail.contains("exceeds the 64-byte cap"), "\(detail)")
                }
            }
            // A body at the cap passes, on a fresh connection (the refused ones were closed).
            let r = try await transport.send(TransportRequest(url: server.url("/exact64"), endpoint: "test"))
            #expect(r.body.count == 64)
        }
    }

    @Test func aReplyThatNeverComesTimesOutAtTheDeadline() async throws {
        // One connection per origin: the second request proves the timed-out one was closed
        // and its slot freed.
        try await withServer(timeout: .milliseconds(300), connectionsPerHost: 1) { server, transport in
            let started = ContinuousClock.now
            do throws(EntraError) {
                _ = try await transport.send(TransportRequest(url: server.url("/hang"), endpoint: "test hang"))
                Issue.record("no timeout")
            } catch {
                #expect(error == .timeout(endpoint: "test hang"))
            }
            // Not before the deadline. (No upper bound in time: under the parallel test load
            // the resumed task may wait for a thread; the server closes a held connection after
            // 20 s, which would be "connection closed", not a timeout.)
            let took = ContinuousClock.now - started
            #expect(took >= .milliseconds(280), "\(took)")
            // The client is still usable afterwards (a roomy deadline: the tests run in parallel).
            var again = TransportRequest(url: server.url("/ok"), endpoint: "test")
            again.timeout = .seconds(30)
            let r = try await transport.send(again)
            #expect(r.status == 200)
            #expect(server.connections == 2)
        }
    }

    /// Between connecting and sending nothing waits for one of Swift's threads: with all of
    /// them busy for longer than the deadline, a request already under way still gets its
    /// reply (the daemon's threads may be busy writing a batch; a wait for one must not
    /// turn into a timeout).
    @Test func busyThreadsDoNotEatIntoTheDeadline() async throws {
        try await withServer(timeout: .seconds(2)) { server, transport in
            async let reply = transport.send(TransportRequest(url: server.url("/ok"), endpoint: "test"))
            // Every thread of the pool kept busy for 3 s, longer than the 2 s deadline (busy,
            // not sleeping: for a sleeping thread the pool would start another).
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<ProcessInfo.processInfo.activeProcessorCount {
                    group.addTask {
                        let end = ContinuousClock.now + .seconds(3)
                        while ContinuousClock.now < end {}
                    }
                }
            }
            let r = try await reply
            #expect(r.status == 200 && String(decoding: r.body, as: UTF8.self) == "ok")
        }
    }

    @Test func aReplyCutShortIsUnreachableNotAPartialBody() async throws {
        try await withServer { server, transport in
            do throws(EntraError) {
                _ = try await transport.exchange(TransportRequest(url: server.url("/cut"), endpoint: "test cut"))
                Issue.record("a cut reply was accepted")
            } catch {
                guard case .unreachable(let endpoint, let detail) = error else {
                    Issue.record("\(error)")
                    return
                }
                #expect(endpoint == "test cut")
                #expect(detail == "connection closed in the middle of the reply")
            }
        }
    }

    @Test func refusedConnectionsAndBadHeadersAreClearErrors() async throws {
        // A port nothing listens on: bind one, note it, close it.
        let probe = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = probe.localAddress!.port!
        try await probe.close()
        var settings = TransportSettings()
        settings.maxAttempts = 1
        let transport = try HTTPTransport(settings: settings)
        do throws(EntraError) {
            _ = try await transport.send(TransportRequest(url: "http://127.0.0.1:\(port)/", endpoint: "test refused"))
            Issue.record("connected to a closed port")
        } catch {
            if case .unreachable(let endpoint, _) = error {
                #expect(endpoint == "test refused")
            } else {
                Issue.record("\(error)")
            }
        }
        do throws(EntraError) {
            _ = try await transport.send(
                TransportRequest(
                    url: "http://127.0.0.1:\(port)/", headers: [("X-Evil", "a\r\nInjected: yes")], endpoint: "test hdr")
            )
            Issue.record("a header with a line break was sent")
        } catch {
            #expect(error == .unreachable(endpoint: "test hdr", detail: "request header X-Evil has a line break"))
        }
        do throws(EntraError) {
            _ = try await transport.send(TransportRequest(url: "gopher://x/", endpoint: "test scheme"))
            Issue.record("a non-http URL was accepted")
        } catch {
            #expect(error == .unreachable(endpoint: "test scheme", detail: "not an http(s) URL with a host"))
        }
        await transport.shutdown()
    }

    @Test func concurrentRequestsEachGetTheirOwnReply() async throws {
        try await withServer { server, transport in
            let bodies = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for i in 0..<40 {
                    group.addTask {
                        let r = try await transport.send(
                            TransportRequest(
                                method: .POST, url: server.url("/echo"), body: Data("n\(i)".utf8), endpoint: "test"))
                        return (i, String(decoding: r.body, as: UTF8.self))
                    }
                }
                var out: [Int: String] = [:]
                for try await (i, body) in group { out[i] = body }
                return out
            }
            #expect(bodies.count == 40)
            #expect(bodies.allSatisfy { $0.value == "n\($0.key)" })
            // No more connections than the limit (8): the other requests waited for one.
            #expect(server.connections <= 8)
            let before = server.connections
            for _ in 0..<8 { _ = try await transport.send(TransportRequest(url: server.url("/ok"), endpoint: "test")) }
            #expect(server.connections == before)
        }
    }

    @Test func requestsBeyondTheConnectionLimitWaitWithinTheirDeadline() async throws {
        try await withServer { server, transport in
            // 8 requests hold every connection (limit 8): the server answers them only when
            // the test releases them (no race with their deadline, however slow the run).
            let holders = Task {
                await withTaskGroup(of: Int?.self) { group in
                    for _ in 0..<8 {
                        group.addTask {
                            try? await transport.send(TransportRequest(url: server.url("/hold"), endpoint: "t")).status
                        }
                    }
                    var out: [Int?] = []
                    for await r in group { out.append(r) }
                    return out
                }
            }
            while server.held < 8 { try await Task.sleep(for: .milliseconds(10)) }
            // A 9th, with a 300 ms deadline, waits for a connection and times out waiting:
            // no 9th connection is opened.
            var ninth = TransportRequest(url: server.url("/ok"), endpoint: "ninth")
            ninth.timeout = .milliseconds(300)
            do throws(EntraError) {
                _ = try await transport.send(ninth)
                Issue.record("a 9th connection was opened or the wait did not end")
            } catch {
                #expect(error == .timeout(endpoint: "ninth"))
            }
            #expect(server.connections == 8)
            server.releaseHeld()
            let results = await holders.value
            #expect(results.count == 8 && results.allSatisfy { $0 == 200 })
            // The connections went back to the pool: the next requests reuse them.
            for _ in 0..<8 { _ = try await transport.send(TransportRequest(url: server.url("/ok"), endpoint: "t")) }
            #expect(server.connections == 8)
        }
    }

    // MARK: The scripted server

    private func withServer(
        maxBody: Int = 4 << 20, timeout: TimeAmount = .seconds(120), connectionsPerHost: Int = 8,
        _ body: (ScriptedServer, HTTPTransport) async throws -> Void
    ) async throws {
        let server = try await ScriptedServer.start()
        var settings = TransportSettings()
        settings.maxBodyBytes = maxBody
        settings.requestTimeout = timeout
        settings.maxAttempts = 1
        settings.connectionsPerHost = connectionsPerHost
        let transport = try HTTPTransport(settings: settings)
        do {
            try await body(server, transport)
        } catch {
            await transport.shutdown()
            await server.stop()
            throw error
        }
        await transport.shutdown()
        await server.stop()
    }
}

/// Answers by path, writing raw bytes (so a test controls framing and closing exactly).
final class ScriptedServer: Sendable {
    let channel: any Channel
    let port: Int
    private let state = Mutex<(connections: Int, heads: [String], bodies: [String])>((0, [], []))

    var connections: Int { state.withLock { $0.connections } }
    var heads: [String] { state.withLock { $0.heads } }
    /// The request bodies received, in order.
    var bodies: [String] { state.withLock { $0.bodies } }
    /// Requests to `/hold` not answered yet.
    var held: Int { holds.withLock { $0.count } }
    private let holds = Mutex<[@Sendable () -> Void]>([])

    fileprivate func hold(_ answer: @escaping @Sendable () -> Void) { holds.withLock { $0.append(answer) } }

    /// Answers every `/hold` request so far.
    func releaseHeld() {
        let answers = holds.withLock { holds in
            defer { holds.removeAll() }
            return holds
        }
        for answer in answers { answer() }
    }

    private init(channel: any Channel) {
        self.channel = channel
        port = channel.localAddress!.port!
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    /// - Parameter tls: a server TLS configuration: the server speaks HTTPS with it.
    static func start(tls: TLSConfiguration? = nil) async throws -> ScriptedServer {
        let box = Mutex<ScriptedServer?>(nil)
        let sslContext = try tls.map { try NIOSSLContext(configuration: $0) }
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    guard let server = box.withLock({ $0 }) else { throw ChannelError.ioOnClosedChannel }
                    server.state.withLock { $0.connections += 1 }
                    if let sslContext {
                        try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    try child.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
                    try child.pipeline.syncOperations.addHandler(ScriptHandler(server: server))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let server = ScriptedServer(channel: channel)
        box.withLock { $0 = server }
        return server
    }

    func stop() async {
        try? await channel.close()
    }

    fileprivate func record(_ head: HTTPRequestHead) {
        let text = ([head.uri] + head.headers.map { "\($0.name.lowercased()): \($0.value)" }).joined(separator: "\n")
        state.withLock { $0.heads.append(text) }
    }

    fileprivate func record(body: ByteBuffer) {
        let text = String(buffer: body)
        state.withLock { $0.bodies.append(text) }
    }
}

private final class ScriptHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = ByteBuffer

    let server: ScriptedServer
    var head: HTTPRequestHead?
    var body = ByteBuffer()
    /// Set by `/arm-drop`: the next request on this connection is dropped without a reply.
    var dropNext = false

    init(server: ScriptedServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body.clear()
            server.record(h)
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            guard let head else { return }
            server.record(body: body)
            if dropNext {
                context.close(promise: nil)
                return
            }
            respond(context, head)
        }
    }

    private func send(_ context: ChannelHandlerContext, _ text: String, close: Bool = false) {
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text))).whenComplete { _ in
            if close { bound.value.close(promise: nil) }
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ head: HTTPRequestHead) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        switch path {
        case "/echo":
            let text = String(buffer: body)
            send(context, "HTTP/1.1 200 OK\r\nContent-Length: \(text.utf8.count)\r\nX-Path: \(head.uri)\r\n\r\n\(text)")
        case "/ok":
            send(context, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        case "/arm-drop":
            dropNext = true
            send(context, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        case "/drop":
            context.close(promise: nil)
        case "/close":
            send(context, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbye", close: true)
        case "/idle-close":
            send(context, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .milliseconds(50)) { loopBound.value.close(promise: nil) }
        case "/big":
            send(context, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + String(repeating: "x", count: 100))
        case "/chunked-big":
            let chunk = String(repeating: "y", count: 40)
            send(
                context,
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n28\r\n\(chunk)\r\n28\r\n\(chunk)\r\n0\r\n\r\n")
        case "/exact64":
            send(context, "HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\n" + String(repeating: "z", count: 64))
        case "/cut":
            send(context, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", close: true)
        case "/hold":
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let loop = context.eventLoop
            server.hold {
                loop.execute {
                    let (handler, context) = bound.value
                    handler.send(context, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nheld")
                }
            }
        case "/hang":
            // Never answered; closed after 20 s so that a client without a deadline fails
            // the test (with "connection closed") instead of hanging it.
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .seconds(20)) { loopBound.value.close(promise: nil) }
        default:
            send(context, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        }
    }
}
