import AsyncHTTPClient
import ConnwatchCore
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL

/// How connwatch talks HTTP to Microsoft: verified TLS (system trust plus an optional
/// extra CA file), an optional proxy, connect/request timeouts, a body-size cap, and
/// bounded retries that honour `Retry-After` (microsoft-facts §2.7).
public struct TransportSettings: Sendable {
    /// PEM file of extra trust anchors, added to the system's (TLS-inspecting proxies, the simulator).
    public var caFile: String?
    /// `http://host:port` proxy; nil: none (use ``fromEnvironment(_:)`` for `HTTPS_PROXY`).
    public var proxy: String?
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
    /// HTTP/1 connections kept per host: should match the check concurrency.
    public var connectionsPerHost: Int = 16

    public init() {}

    /// `proxy` from config, else `HTTPS_PROXY` / `https_proxy`.
    public static func proxy(configured: String?, environment: [String: String]) -> String? {
        if let configured { return configured }
        return environment["HTTPS_PROXY"] ?? environment["https_proxy"]
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
    private let client: HTTPClient
    private let sleep: @Sendable (Duration) async throws -> Void

    public init(
        settings: TransportSettings,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) throws(EntraError) {
        self.settings = settings
        self.sleep = sleep
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        if let caFile = settings.caFile {
            do {
                tls.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(caFile))]
            } catch {
                throw .badResponse(endpoint: "ca_file \(caFile)", detail: "not a PEM certificate file")
            }
        }
        var config = HTTPClient.Configuration(
            tlsConfiguration: tls,
            redirectConfiguration: .disallow,
            timeout: .init(connect: settings.connectTimeout, read: settings.requestTimeout),
            proxy: try HTTPTransport.proxy(settings.proxy),
            decompression: .disabled)
        config.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, settings.connectionsPerHost))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    private static func proxy(_ value: String?) throws(EntraError) -> HTTPClient.Configuration.Proxy? {
        guard let value, !value.isEmpty else { return nil }
        guard let url = URL(string: value), let host = url.host, ["http", "https"].contains(url.scheme ?? "") else {
            throw .badResponse(endpoint: "proxy", detail: "not an http:// proxy URL")
        }
        let port = url.port ?? (url.scheme == "https" ? 443 : 80)
        if let user = url.user {
            return .server(host: host, port: port, authorization: .basic(username: user, password: url.password ?? ""))
        }
        return .server(host: host, port: port)
    }

    public func shutdown() async {
        try? await client.shutdown()
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
                // Connection failures get one more try: AHC already retried the connect
                // until its timeout, and N consecutive failures are judged a level up.
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
        var r = HTTPClientRequest(url: request.url)
        r.method = request.method
        for (k, v) in request.headers { r.headers.add(name: k, value: v) }
        if let body = request.body { r.body = .bytes(ByteBuffer(data: body)) }
        do {
            let response = try await client.execute(r, timeout: request.timeout ?? settings.requestTimeout)
            let contentLength = response.headers.first(name: "content-length").flatMap(Int.init)
            if let contentLength, contentLength > settings.maxBodyBytes {
                throw EntraError.badResponse(
                    endpoint: request.endpoint,
                    detail: "body of \(contentLength) bytes exceeds the \(settings.maxBodyBytes)-byte cap")
            }
            let buffer = try await response.body.collect(upTo: settings.maxBodyBytes)
            return TransportResponse(
                status: Int(response.status.code), headers: response.headers, body: Data(buffer: buffer))
        } catch let e as EntraError {
            throw e
        } catch is NIOTooManyBytesError {
            throw .badResponse(endpoint: request.endpoint, detail: "body exceeds the \(settings.maxBodyBytes)-byte cap")
        } catch let e as HTTPClientError {
            switch e {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout:
                throw .timeout(endpoint: request.endpoint)
            default:
                throw .unreachable(endpoint: request.endpoint, detail: HTTPTransport.describe(e))
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
        if let e = error as? HTTPClientError { return String(describing: e) }
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
