import ConnwatchCore
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix
import NIOSSL

/// How connwatch talks HTTP to Microsoft: verified TLS (system trust plus an optional
/// extra CA file), an optional proxy, connect/request timeouts, a body-size cap, and
/// bounded retries that honour `Retry-After` (microsoft-facts §2.7).
public struct TransportSettings: Sendable {
    /// PEM file of extra trust anchors, added to the system's (TLS-inspecting proxies, the simulator).
    public var caFile: String?
    /// `http://host:port` proxy; nil: none (use ``proxy(configured:environment:)`` for
    /// `HTTPS_PROXY`). Neither `https://` (connwatch would speak plain text to it) nor
    /// credentials in the URL (config and environment are readable): the transport refuses both.
    public var proxy: String?
    /// The proxy's `user:password` (the `proxy_credential` credential): sent as
    /// `Proxy-Authorization: Basic …` on `CONNECT` and on plain-http requests to the proxy.
    public var proxyCredentials: Secret?
    /// Hosts reached directly, not through ``proxy``: `NO_PROXY` syntax, one entry each
    /// (`*`, `host`, `.domain`, an IP address, any of them with `:port`); see
    /// ``noProxy(configured:environment:)``.
    public var noProxy: [String] = []
    public var connectTimeout: TimeAmount = .seconds(10)
    /// Deadline for one attempt, from request start to the last body byte.
    public var requestTimeout: TimeAmount = .seconds(30)
    /// Replies larger than this are refused (a hostile or broken peer cannot exhaust memory).
    public var maxBodyBytes: Int = 4 << 20
    /// Attempts per request for 429/5xx/connection failures (1 = no retry).
    public var maxAttempts: Int = 3
    /// A `Retry-After` longer than this is not waited for: the request fails as throttled.
    public var maxRetryAfter: Duration = .seconds(30)
    /// Backoff base when no `Retry-After` is given: base × 2^n with full jitter.
    public var backoffBase: Duration = .milliseconds(500)
    /// At most this many HTTP/1 connections per host; further requests wait for one (in
    /// order, within their deadline). Should match the check concurrency.
    public var connectionsPerHost: Int = 16

    public init() {}

    /// `proxy` from config, else `HTTPS_PROXY` / `https_proxy`.
    public static func proxy(configured: String?, environment: [String: String]) -> String? {
        if let configured { return configured }
        return environment["HTTPS_PROXY"] ?? environment["https_proxy"]
    }

    /// The hosts that bypass the proxy: `configured` (a list), else `NO_PROXY` / `no_proxy`
    /// (a comma-separated list, as curl and Go read it).
    public static func noProxy(configured: [String]? = nil, environment: [String: String]) -> [String] {
        if let configured { return configured }
        guard let value = environment["NO_PROXY"] ?? environment["no_proxy"] else { return [] }
        return value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

/// One HTTP request. `endpoint` names it in errors ("graph GET /v1.0/applications") and
/// never holds a query string or secret.
public struct TransportRequest: Sendable {
    public var method: HTTPMethod
    public var url: String
    public var headers: [(String, String)]
    public var body: Data?
    public var endpoint: String
    /// This request's deadline; nil: ``TransportSettings/requestTimeout``.
    public var timeout: TimeAmount?

    public init(
        method: HTTPMethod = .GET, url: String, headers: [(String, String)] = [], body: Data? = nil, endpoint: String
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.endpoint = endpoint
    }
}

public struct TransportResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: Data
}

/// Shared HTTP client for every Microsoft call; one per daemon (connection reuse).
public final class HTTPTransport: Sendable {
    public let settings: TransportSettings
    private let client: HTTP1Client
    private let sleep: @Sendable (Duration) async throws -> Void

    public init(
        settings: TransportSettings,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) throws(EntraError) {
        self.settings = settings
        self.sleep = sleep
        var tls = TLSConfiguration.makeClientConfiguration()
        // The chain against the system roots plus ca_file; the host name is checked by
        // HTTP1Client against the URL's host (TLSNameCheck), not by NIOSSL (issue 16.1).
        tls.certificateVerification = .noHostnameVerification
        tls.minimumTLSVersion = .tlsv12
        if let caFile = settings.caFile {
            do {
                tls.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(caFile))]
            } catch {
                throw .badResponse(endpoint: "ca_file \(caFile)", detail: "not a PEM certificate file")
            }
        }
        do {
            // All connections on one event loop: the replies of 64 checks in flight keep
            // one thread busy instead of waking two (10,000 connectors: 22.8 -> 20.5 s CPU).
            client = try HTTP1Client(
                group: MultiThreadedEventLoopGroup.singleton.next(), tls: tls,
                proxy: try HTTPTransport.proxy(settings.proxy, credentials: settings.proxyCredentials),
                noProxy: settings.noProxy,
                connectTimeout: settings.connectTimeout,
                idleTimeout: .seconds(60), maxConnectionsPerOrigin: settings.connectionsPerHost)
        } catch let error as EntraError {
            throw error
        } catch {
            throw .badResponse(endpoint: "tls", detail: "TLS set-up failed: \(HTTPTransport.describe(error))")
        }
    }

    /// The proxy to use. Errors never quote the URL (it may carry a password).
    static func proxy(_ value: String?, credentials: Secret?) throws(EntraError) -> HTTP1Client.Proxy? {
        guard let value, !value.isEmpty else { return nil }
        guard let url = URL(string: value), let scheme = url.scheme?.lowercased() else {
            throw .badResponse(endpoint: "proxy", detail: "not an http:// proxy URL")
        }
        // TLS to the proxy is not implemented: an https:// proxy would get the CONNECT line
        // and Proxy-Authorization in plain text (issue 16.5). Refused, not downgraded.
        if scheme == "https" {
            throw .badResponse(
                endpoint: "proxy",
                detail: "an https:// proxy is not supported (TLS to the proxy is not implemented); use http:// — "
                    + "the connections through it stay TLS end to end")
        }
        guard scheme == "http", let host = url.host, !host.isEmpty else {
            throw .badResponse(endpoint: "proxy", detail: "not an http:// proxy URL")
        }
        if url.user != nil || url.password != nil || value.utf8.contains(UInt8(ascii: "@")) {
            throw .badResponse(
                endpoint: "proxy",
                detail:
                    "the proxy URL carries credentials: put the proxy's credentials in a credential, proxy_credential")
        }
        let port = url.port ?? 80
        var authorization: Secret?
        if let credentials {
            let valid = credentials.withValue { text in
                text.contains(":") && !text.hasPrefix(":") && !HTTP1Client.breaksFraming(text)
            }
            guard valid else {
                throw .badResponse(endpoint: "proxy", detail: "proxy_credential is not of the form user:password")
            }
            authorization = credentials.withValue { Secret("Basic " + Data($0.utf8).base64EncodedString()) }
        }
        return HTTP1Client.Proxy(host: host, port: port, authorization: authorization)
    }

    public func shutdown() async {
        await client.shutdown()
    }

    /// Sends with bounded retries for 429/502/503/504, other 5xx and connection failures.
    /// Any other status (2xx, 4xx) is returned to the caller, which knows its error shape.
    public func send(_ request: TransportRequest) async throws(EntraError) -> TransportResponse {
        var attempt = 0
        while true {
            attempt += 1
            let last = attempt >= settings.maxAttempts
            let response: TransportResponse
            do {
                response = try await once(request)
            } catch {
                // Connection failures get one more try (a stale keep-alive connection was
                // already retried at once); N consecutive failures are judged a level up.
                if case .unreachable = error, attempt < min(2, settings.maxAttempts) {
                    try await pause(backoff(attempt), request)
                    continue
                }
                throw error
            }
            let status = response.status
            guard status == 429 || status >= 500 else { return response }
            let retryAfter = HTTPTransport.retryAfterSeconds(response.headers)
            let throttling = status == 429 || ((status == 503) && retryAfter != nil)
            if !last {
                if let retryAfter {
                    if Duration.seconds(retryAfter) <= settings.maxRetryAfter {
                        try await pause(.seconds(retryAfter), request)
                        continue
                    }
                } else {
                    try await pause(backoff(attempt), request)
                    continue
                }
            }
            // Out of attempts, or asked to wait longer than we will: let the caller see
            // Microsoft's own error body when it has one (429 bodies carry the code).
            if throttling { throw .throttled(endpoint: request.endpoint, retryAfter: retryAfter) }
            throw .serverError(endpoint: request.endpoint, status: status)
        }
    }

    /// One exchange without retries, whatever the status: the caller decides (webhook
    /// deliveries keep their own durable schedule).
    public func exchange(_ request: TransportRequest) async throws(EntraError) -> TransportResponse {
        try await once(request)
    }

    private func pause(_ d: Duration, _ request: TransportRequest) async throws(EntraError) {
        do { try await sleep(d) } catch { throw .timeout(endpoint: request.endpoint) }
    }

    private func backoff(_ attempt: Int) -> Duration {
        let cap = settings.backoffBase * (1 << min(attempt - 1, 6))
        let ms = Double(cap.components.seconds) * 1000 + Double(cap.components.attoseconds) / 1e15
        return .milliseconds(Int64(Double.random(in: 0...max(1, ms))))
    }

    private func once(_ request: TransportRequest) async throws(EntraError) -> TransportResponse {
        guard let target = HTTP1Client.Target(request.url) else {
            throw .unreachable(endpoint: request.endpoint, detail: "not an http(s) URL with a host")
        }
        let deadline = NIODeadline.now() + (request.timeout ?? settings.requestTimeout)
        do {
            let response = try await client.execute(
                method: request.method, url: target, headers: request.headers, body: request.body.map { Array($0) },
                deadline: deadline, maxBodyBytes: settings.maxBodyBytes)
            return TransportResponse(
                status: response.status, headers: response.headers, body: Data(buffer: response.body))
        } catch let failure as HTTP1Client.Failure {
            switch failure {
            case .timeout:
                throw .timeout(endpoint: request.endpoint)
            case .bodyTooLarge(let length?):
                throw .badResponse(
                    endpoint: request.endpoint,
                    detail: "body of \(length) bytes exceeds the \(settings.maxBodyBytes)-byte cap")
            case .bodyTooLarge(nil):
                throw .badResponse(
                    endpoint: request.endpoint, detail: "body exceeds the \(settings.maxBodyBytes)-byte cap")
            case .closed(let replied):
                throw .unreachable(
                    endpoint: request.endpoint,
                    detail: replied
                        ? "connection closed in the middle of the reply" : "connection closed before a reply")
            case .proxyRefused(let status):
                throw .unreachable(
                    endpoint: request.endpoint, detail: "the proxy refused the tunnel (HTTP \(status))")
            case .invalidHeader(let name):
                throw .unreachable(endpoint: request.endpoint, detail: "request header \(name) has a line break")
            case .invalidHeaderName:
                throw .unreachable(endpoint: request.endpoint, detail: "a request header name is not an HTTP token")
            case .invalidTarget:
                throw .unreachable(
                    endpoint: request.endpoint,
                    detail: "the URL has a space, control character or DEL in its path, query or host")
            case .certificateDoesNotName(let host):
                throw .unreachable(
                    endpoint: request.endpoint, detail: "TLS: the certificate of \(host) does not name it")
            case .shutDown:
                throw .unreachable(endpoint: request.endpoint, detail: "shutting down")
            }
        } catch {
            throw .unreachable(endpoint: request.endpoint, detail: HTTPTransport.describe(error))
        }
    }

    /// A short, secret-free description of a transport error.
    static func describe(_ error: any Error) -> String {
        if error is NIOSSLError || String(describing: type(of: error)).contains("SSL") {
            return "TLS handshake failed (\(String(describing: error).prefix(160)))"
        }
        return String(String(describing: error).prefix(200))
    }

    /// `Retry-After` as seconds: delta-seconds or an HTTP-date.
    static func retryAfterSeconds(_ headers: HTTPHeaders) -> Int? {
        guard let v = headers.first(name: "retry-after")?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let n = Int(v), n >= 0 { return n }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = f.date(from: v) else { return nil }
        return max(0, Int(date.timeIntervalSinceNow.rounded(.up)))
    }
}
