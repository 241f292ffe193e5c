import ConnwatchCore
import ConnwatchTestSupport
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Testing

@testable import ConnwatchEntra

/// RFC 6125 name matching, as a table (issue 16.1).
@Suite struct TLSNameCheckTests {
    static let v4: [UInt8] = [127, 0, 0, 1]
    static let v6: [UInt8] = Array(repeating: 0, count: 15) + [1]

    @Test func namesMatchByRFC6125AndAnIPNameNeverStandsInForAHost() {
        let rows: [(host: String, dns: [String], ip: [[UInt8]], matches: Bool)] = [
            // The attack: an IP address name for a DNS host, however the socket is connected.
            ("localhost", [], [Self.v4], false),
            ("login.microsoftonline.com", [], [Self.v4], false),
            ("localhost", ["127.0.0.1"], [Self.v4], false),
            ("localhost", ["localhost"], [], true),
            ("LocalHost", ["localhost"], [], true),
            ("localhost.", ["LOCALHOST"], [], true),
            ("localhost", ["localhost."], [], true),
            ("login.microsoftonline.com", ["wrong.example"], [], false),
            ("login.microsoftonline.com", ["wrong.example", "login.microsoftonline.com"], [], true),
            ("login.microsoftonline.com", ["microsoftonline.com"], [], false),
            ("login.microsoftonline.com", ["login.microsoftonline.com.evil.example"], [], false),
            // Wildcards: the whole left-most label only, one label deep, two labels after it.
            ("login.microsoftonline.com", ["*.microsoftonline.com"], [], true),
            ("LOGIN.MicrosoftOnline.com", ["*.MICROSOFTONLINE.COM"], [], true),
            ("microsoftonline.com", ["*.microsoftonline.com"], [], false),
            ("a.login.microsoftonline.com", ["*.microsoftonline.com"], [], false),
            ("x.com", ["*.com"], [], false),
            ("x.y", ["*.y"], [], false),
            ("foo.example.com", ["f*.example.com"], [], false),
            ("foo.example.com", ["*oo.example.com"], [], false),
            ("foo.example.com", ["foo.*.com"], [], false),
            ("foo.example.com", ["*.*.com"], [], false),
            ("foo.example.com", ["**.example.com"], [], false),
            ("*.example.com", ["*.example.com"], [], false),
            (".example.com", ["*.example.com"], [], false),
            // Junk in names or hosts matches nothing.
            ("localhost", ["localhost\u{0}.evil.example"], [], false),
            ("evil.example", ["localhost\u{0}.evil.example"], [], false),
            ("local host", ["local host"], [], false),
            ("a..example.com", ["a..example.com"], [], false),
            ("", [""], [], false),
            ("", ["*"], [], false),
            ("bücher.example", ["bücher.example"], [], false),
            // An IP literal host: only an IP address name of exactly those bytes.
            ("127.0.0.1", [], [Self.v4], true),
            ("127.0.0.1", ["127.0.0.1"], [], false),
            ("127.0.0.1", ["localhost"], [], false),
            ("127.0.0.2", [], [Self.v4], false),
            ("127.0.0.1", [], [Array(repeating: 0, count: 10) + [0xFF, 0xFF, 127, 0, 0, 1]], false),
            ("::1", [], [Self.v6], true),
            ("[::1]", [], [Self.v6], true),
            ("::1", [], [Self.v4], false),
            ("::1", ["::1"], [], false),
        ]
        for row in rows {
            #expect(
                TLSNameCheck.matches(host: row.host, dnsNames: row.dns, ipAddresses: row.ip) == row.matches,
                "\(row.host) against \(row.dns) \(row.ip)")
        }
    }
}

/// Real TLS on loopback with certificates made at test time, direct and through a CONNECT
/// proxy: a certificate that chains to a trusted CA but does not name the URL's host is
/// refused before any request byte leaves (issue 16.1).
@Suite struct TLSVerificationTests {
    static let secretBody = "client_secret=stand-in-secret-7f3a"

    // MARK: Direct

    @Test func aCertificateNamingOnlyTheLoopbackIPIsRefusedForLocalhost() async throws {
        let ca = try TestPKI.authority()
        try await withTLSServer(try TestPKI.server(dnsNames: [], ipAddresses: [[127, 0, 0, 1]], issuer: ca), ca) {
            server, transport, _ in
            await expectRefusedByName(transport, "https://localhost:\(server.port)/echo", "localhost", server)
        }
    }

    @Test func aCertificateForAnotherNameIsRefused() async throws {
        let ca = try TestPKI.authority()
        // Its CN says localhost: a CN is not a name.
        try await withTLSServer(try TestPKI.server(dnsNames: ["wrong.example"], issuer: ca), ca) {
            server, transport, _ in
            await expectRefusedByName(transport, "https://localhost:\(server.port)/echo", "localhost", server)
        }
    }

    @Test func aCertificateWithoutNamesIsRefusedWhateverItsCommonName() async throws {
        let ca = try TestPKI.authority()
        try await withTLSServer(try TestPKI.server(dnsNames: [], commonName: "localhost", issuer: ca), ca) {
            server, transport, _ in
            await expectRefusedByName(transport, "https://localhost:\(server.port)/echo", "localhost", server)
        }
    }

    @Test func theRightNameIsAccepted() async throws {
        let ca = try TestPKI.authority()
        try await withTLSServer(try TestPKI.server(dnsNames: ["LOCALHOST"], issuer: ca), ca) {
            server, transport, _ in
            let r = try await transport.send(post("https://localhost:\(server.port)/echo"))
            #expect(r.status == 200 && String(decoding: r.body, as: UTF8.self) == Self.secretBody)
        }
    }

    @Test func anIPLiteralURLMatchesOnlyThatIPAddressName() async throws {
        let ca = try TestPKI.authority()
        try await withTLSServer(try TestPKI.server(dnsNames: [], ipAddresses: [[127, 0, 0, 1]], issuer: ca), ca) {
            server, transport, _ in
            let r = try await transport.send(post("https://127.0.0.1:\(server.port)/echo"))
            #expect(r.status == 200)
        }
        try await withTLSServer(try TestPKI.server(dnsNames: ["localhost", "127.0.0.1"], issuer: ca), ca) {
            server, transport, _ in
            await expectRefusedByName(transport, "https://127.0.0.1:\(server.port)/echo", "127.0.0.1", server)
        }
    }

    @Test func aCertificateFromAnUntrustedCAIsRefused() async throws {
        let trusted = try TestPKI.authority()
        let other = try TestPKI.authority("not trusted")
        try await withTLSServer(try TestPKI.server(dnsNames: ["localhost"], issuer: other), trusted) {
            server, transport, _ in
            do throws(EntraError) {
                _ = try await transport.send(post("https://localhost:\(server.port)/echo"))
                Issue.record("a certificate from an untrusted CA was accepted")
            } catch {
                guard case .unreachable(let endpoint, let detail) = error else {
                    return #expect(Bool(false), "\(error)")
                }
                #expect(endpoint == "test")
                #expect(detail.contains("TLS"), "\(detail)")
                #expect(!detail.contains("stand-in-secret"))
            }
            #expect(server.bodies.isEmpty && server.heads.isEmpty)
        }
    }

    /// A server that speaks at most TLS 1.1 (the control shows it does, to a client that
    /// allows 1.1) gets no connection from connwatch.
    @Test func aServerOfferingAtMostTLS11IsRefused() async throws {
        let ca = try TestPKI.authority()
        let serverTLS = try TestPKI.server(dnsNames: ["localhost"], issuer: ca, maximumTLSVersion: .tlsv11)
        try await withTLSServer(serverTLS, ca) { server, transport, _ in
            let version = try await Self.handshakeVersion(port: server.port, maximum: .tlsv11)
            #expect(version == .tlsv11)
            do throws(EntraError) {
                _ = try await transport.send(post("https://localhost:\(server.port)/echo"))
                Issue.record("TLS 1.1 accepted")
            } catch {
                guard case .unreachable(_, let detail) = error else { return #expect(Bool(false), "\(error)") }
                #expect(detail.contains("TLS"), "\(detail)")
            }
            #expect(server.bodies.isEmpty)
        }
    }

    // MARK: Through a CONNECT proxy

    /// The proxy's address is 127.0.0.1, as is the certificate's only name: still not
    /// `login.microsoftonline.com`.
    @Test func throughAProxyAnIPOnlyCertificateIsRefusedForAHostName() async throws {
        let ca = try TestPKI.authority()
        try await withTLSServer(
            try TestPKI.server(dnsNames: [], ipAddresses: [[127, 0, 0, 1]], issuer: ca), ca, viaProxy: true
        ) { server, transport, proxy in
            await expectRefusedByName(
                transport, "https://login.microsoftonline.com/t/oauth2/v2.0/token", "login.microsoftonline.com", server)
            #expect(proxy?.heads.first?.hasPrefix("CONNECT login.microsoftonline.com:443 HTTP/1.1") == true)
        }
        try await withTLSServer(
            try TestPKI.server(dnsNames: [], ipAddresses: [[127, 0, 0, 1]], issuer: ca), ca, viaProxy: true
        ) { server, transport, _ in
            await expectRefusedByName(transport, "https://localhost/echo", "localhost", server)
        }
    }

    @Test func throughAProxyAWrongNameIsRefused() async throws {
        let ca = try TestPKI.authority()
        try await withTLSServer(try TestPKI.server(dnsNames: ["wrong.example"], issuer: ca), ca, viaProxy: true) {
            server, transport, _ in
            await expectRefusedByName(
                transport, "https://login.microsoftonline.com/t/oauth2/v2.0/token", "login.microsoftonline.com", server)
        }
    }

    @Test func throughAProxyTheRightNameIsAccepted() async throws {
        let ca = try TestPKI.authority()
        try await withTLSServer(
            try TestPKI.server(dnsNames: ["login.microsoftonline.com"], issuer: ca), ca, viaProxy: true
        ) { server, transport, proxy in
            let r = try await transport.send(post("https://login.microsoftonline.com/echo"))
            #expect(r.status == 200 && String(decoding: r.body, as: UTF8.self) == Self.secretBody)
            #expect(server.heads.first?.contains("host: login.microsoftonline.com") == true)
            #expect(proxy?.heads.count == 1)
        }
    }

    // MARK: Helpers

    func post(_ url: String) -> TransportRequest {
        TransportRequest(method: .POST, url: url, body: Data(Self.secretBody.utf8), endpoint: "test")
    }

    /// Refused with the name error, and the server got no request (the stand-in secret
    /// never left the client).
    func expectRefusedByName(
        _ transport: HTTPTransport, _ url: String, _ host: String, _ server: ScriptedServer,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) async {
        do throws(EntraError) {
            _ = try await transport.send(post(url))
            Issue.record("\(url): a certificate not naming \(host) was accepted", sourceLocation: sourceLocation)
        } catch {
            #expect(
                error == .unreachable(endpoint: "test", detail: "TLS: the certificate of \(host) does not name it"),
                sourceLocation: sourceLocation)
            #expect(!error.description.contains("stand-in-secret"), sourceLocation: sourceLocation)
        }
        #expect(server.heads.isEmpty, "\(server.heads)", sourceLocation: sourceLocation)
        #expect(server.bodies.isEmpty, sourceLocation: sourceLocation)
    }

    func withTLSServer(
        _ serverTLS: TLSConfiguration, _ trust: TestPKI.Authority, viaProxy: Bool = false,
        _ body: (ScriptedServer, HTTPTransport, TestProxy?) async throws -> Void
    ) async throws {
        let server = try await ScriptedServer.start(tls: serverTLS)
        let proxy = viaProxy ? try await TestProxy.start(upstreamPort: server.port) : nil
        let caFile = try trust.writePEM()
        defer { try? FileManager.default.removeItem(atPath: caFile) }
        var settings = TransportSettings()
        settings.caFile = caFile
        settings.proxy = proxy?.url
        settings.maxAttempts = 1
        settings.requestTimeout = .seconds(60)
        let transport = try HTTPTransport(settings: settings)
        var failure: (any Error)?
        do { try await body(server, transport, proxy) } catch { failure = error }
        await transport.shutdown()
        await proxy?.stop()
        await server.stop()
        if let failure { throw failure }
    }

    /// The TLS version a handshake with `127.0.0.1:port` settles on, for a client that
    /// verifies nothing and allows TLS 1.0 up to `maximum` (nil: no handshake). Read once
    /// the handshake completed: before that BoringSSL reports a placeholder version.
    static func handshakeVersion(port: Int, maximum: TLSVersion) async throws -> TLSVersion? {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        tls.minimumTLSVersion = .tlsv1
        tls.maximumTLSVersion = maximum
        let context = try NIOSSLContext(configuration: tls)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        try NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                    try channel.pipeline.syncOperations.addHandler(
                        HandshakeWaiter(promise: channel.eventLoop.makePromise()))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        defer { channel.close(promise: nil) }
        let done = try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: HandshakeWaiter.self).promise.futureResult
        }.get()
        guard (try? await done.get()) != nil else { return nil }
        return try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self).tlsVersion
        }.get()
    }
}

/// Succeeds its promise when the TLS handshake completes; fails it if the channel closes first.
private final class HandshakeWaiter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let promise: EventLoopPromise<Void>
    private var done = false

    init(promise: EventLoopPromise<Void>) { self.promise = promise }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event { complete(nil) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        complete(ChannelError.alreadyClosed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        complete(error)
    }

    private func complete(_ error: (any Error)?) {
        guard !done else { return }
        done = true
        if let error { promise.fail(error) } else { promise.succeed() }
    }
}

/// Proxy URLs and credentials (issue 16.5).
@Suite struct ProxySecurityTests {
    static let password = "pa55-hunter2-zq"

    @Test func proxyCredentialsComeFromTheSecretOnConnectAndOnPlainRequests() async throws {
        let ca = try TestPKI.authority()
        let server = try await ScriptedServer.start(tls: try TestPKI.server(dnsNames: ["localhost"], issuer: ca))
        let expected = "Basic " + Data("proxyuser:\(Self.password)".utf8).base64EncodedString()
        let proxy = try await TestProxy.start(upstreamPort: server.port, requiredAuthorization: expected)
        let caFile = try ca.writePEM()
        defer { try? FileManager.default.removeItem(atPath: caFile) }
        var settings = TransportSettings()
        settings.caFile = caFile
        settings.proxy = proxy.url
        settings.proxyCredentials = Secret("proxyuser:\(Self.password)")
        settings.maxAttempts = 1
        let transport = try HTTPTransport(settings: settings)
        let tunnelled = try await transport.send(TransportRequest(url: "https://localhost/ok", endpoint: "test"))
        #expect(tunnelled.status == 200)
        let plain = try await transport.send(TransportRequest(url: "http://upstream.example/x?y=1", endpoint: "test"))
        #expect(plain.status == 200 && String(decoding: plain.body, as: UTF8.self) == "ok")
        let heads = proxy.heads
        #expect(heads.count == 2)
        #expect(heads.first?.hasPrefix("CONNECT localhost:443 HTTP/1.1\r\n") == true)
        #expect(heads.last?.hasPrefix("GET http://upstream.example/x?y=1 HTTP/1.1\r\n") == true)
        #expect(heads.allSatisfy { $0.contains("Proxy-Authorization: \(expected)") }, "\(heads)")
        // Never to the origin server.
        #expect(server.heads.allSatisfy { !$0.contains("proxy-authorization") })
        await transport.shutdown()
        await proxy.stop()
        await server.stop()
    }

    @Test func aRefusedProxyCredentialDoesNotShowInTheError() async throws {
        let proxy = try await TestProxy.start(upstreamPort: 9, requiredAuthorization: "Basic something-else")
        var settings = TransportSettings()
        settings.proxy = proxy.url
        settings.proxyCredentials = Secret("proxyuser:\(Self.password)")
        settings.maxAttempts = 1
        let transport = try HTTPTransport(settings: settings)
        let encoded = Data("proxyuser:\(Self.password)".utf8).base64EncodedString()
        for url in ["https://login.microsoftonline.com/t", "http://upstream.example/"] {
            do throws(EntraError) {
                let r = try await transport.send(TransportRequest(url: url, endpoint: "test"))
                #expect(r.status == 407, "\(url)")
            } catch {
                #expect(error == .unreachable(endpoint: "test", detail: "the proxy refused the tunnel (HTTP 407)"))
                let text = "\(error) \(String(reflecting: error))"
                #expect(!text.contains(Self.password) && !text.contains(encoded) && !text.contains("proxyuser"))
            }
        }
        #expect(!"\(settings)".contains(Self.password) && !"\(settings)".contains(encoded))
        await transport.shutdown()
        await proxy.stop()
    }

    @Test func anHTTPSProxyURLIsRefused() {
        for url in ["https://proxy.example:3128", "HTTPS://proxy.example"] {
            var settings = TransportSettings()
            settings.proxy = url
            do throws(EntraError) {
                _ = try HTTPTransport(settings: settings)
                Issue.record("an https:// proxy accepted")
            } catch {
                guard case .badResponse("proxy", let detail) = error else { return #expect(Bool(false), "\(error)") }
                #expect(detail.contains("an https:// proxy is not supported"), "\(detail)")
            }
        }
    }

    @Test func credentialsInTheProxyURLAreRefusedWithoutQuotingThem() {
        let urls = [
            "http://proxyuser:\(Self.password)@proxy.example:3128",
            "http://proxyuser@proxy.example:3128",
            "http://:\(Self.password)@proxy.example",
            // From the environment too.
            TransportSettings.proxy(
                configured: nil, environment: ["HTTPS_PROXY": "http://proxyuser:\(Self.password)@proxy.example:8080"]),
        ]
        for url in urls {
            var settings = TransportSettings()
            settings.proxy = url
            do throws(EntraError) {
                _ = try HTTPTransport(settings: settings)
                Issue.record("credentials in the proxy URL accepted")
            } catch {
                #expect(
                    error
                        == .badResponse(
                            endpoint: "proxy",
                            detail:
                                "the proxy URL carries credentials: put the proxy's credentials in a credential, proxy_credential"
                        ))
                #expect(!error.description.contains(Self.password) && !error.description.contains("proxyuser"))
            }
        }
    }

    @Test func aMalformedProxyCredentialIsRefusedWithoutQuotingIt() {
        for value in ["no-colon-\(Self.password)", ":\(Self.password)", "user:\(Self.password)\r\nX: y"] {
            var settings = TransportSettings()
            settings.proxy = "http://proxy.example:3128"
            settings.proxyCredentials = Secret(value)
            do throws(EntraError) {
                _ = try HTTPTransport(settings: settings)
                Issue.record("a malformed proxy credential accepted")
            } catch {
                let expected = EntraError.badResponse(
                    endpoint: "proxy", detail: "proxy_credential is not of the form user:password")
                #expect(error == expected)
                #expect(!error.description.contains(Self.password))
            }
        }
    }
}

/// Request targets and headers that would split or bend the request are refused before a
/// connection is made (issue 16.8).
@Suite struct RequestTargetTests {
    @Test func targetsWithControlBytesSpaceOrDELAreRefusedBeforeTheWire() async throws {
        let server = try await ScriptedServer.start()
        var settings = TransportSettings()
        settings.maxAttempts = 1
        let transport = try HTTPTransport(settings: settings)
        let base = "http://127.0.0.1:\(server.port)"
        let targetError = "the URL has a space, control character or DEL in its path, query or host"
        let rows: [(url: String, headers: [(String, String)], detail: String)] = [
            (base + "/a b", [], targetError),
            (base + "/a\tb", [], targetError),
            (base + "/a\u{7F}", [], targetError),
            (base + "/a\u{0}", [], targetError),
            (base + "/a?q=1 HTTP/1.1\r\nX-Injected: yes\r\n\r\nGET /b", [], targetError),
            (base + "/?q=\r\n", [], targetError),
            (base + "/?q=\n", [], targetError),
            (base + "/?q=\u{1F}", [], targetError),
            ("http://exa mple.com/", [], targetError),
            ("http://example.com\u{7F}/", [], targetError),
            ("http://exa\tmple.com/", [], targetError),
            (base + "/ok", [("X-Evil", "a\r\nInjected: yes")], "request header X-Evil has a line break"),
            (base + "/ok", [("X-Evil", "a\nb")], "request header X-Evil has a line break"),
            (base + "/ok", [("X-Evil", "a\u{0}b")], "request header X-Evil has a line break"),
            (base + "/ok", [("X-Evil\r\nInjected", "yes")], "a request header name is not an HTTP token"),
            (base + "/ok", [("X Evil", "yes")], "a request header name is not an HTTP token"),
            (base + "/ok", [("X-Evil:", "yes")], "a request header name is not an HTTP token"),
            (base + "/ok", [("", "yes")], "a request header name is not an HTTP token"),
            (base + "/ok", [("X-\u{7F}", "yes")], "a request header name is not an HTTP token"),
        ]
        for row in rows {
            do throws(EntraError) {
                _ = try await transport.send(TransportRequest(url: row.url, headers: row.headers, endpoint: "test"))
                Issue.record("sent: \(row.url.debugDescription) \(row.headers)")
            } catch {
                #expect(error == .unreachable(endpoint: "test", detail: row.detail), "\(row.url.debugDescription)")
            }
        }
        #expect(server.connections == 0)
        // Percent-encoded, the same bytes are fine.
        let r = try await transport.send(
            TransportRequest(url: base + "/echo?q=a%20b%0D%0A", headers: [("X-Ok", "a b\tc")], endpoint: "test"))
        #expect(r.status == 200 && r.headers.first(name: "x-path") == "/echo?q=a%20b%0D%0A")
        await transport.shutdown()
        await server.stop()
    }
}
