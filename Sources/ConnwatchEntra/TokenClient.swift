import ConnwatchCore
import Crypto
import Foundation
import NIOHTTP1

/// How a connector proves who it is.
public enum ClientCredential: Sendable {
    case secret(Secret)
    case certificate(CertificateCredential, CertificateCredential.Algorithm = .ps256)

    /// A fingerprint for the token cache: a changed secret or certificate never reuses a
    /// token obtained with the old one. In memory only.
    var cacheFingerprint: String {
        switch self {
        case .secret(let s):
            "s:" + s.withValue { Self.hex(SHA256.hash(data: Data($0.utf8))) }
        case .certificate(let c, _): "c:" + c.sha1Thumbprint
        }
    }

    private static func hex(_ digest: SHA256.Digest) -> String { Hex.encode(digest, uppercase: false) }
}

/// An access token; the bearer value is a `Secret`.
public struct AccessToken: Sendable {
    public let value: Secret
    public let expiresAt: Date
    public let claims: TokenClaims
    /// The scope it was requested for, e.g. `https://graph.microsoft.com/.default`.
    public let scope: String
}

/// OAuth 2.0 client credentials against `{login}/{tenant}/oauth2/v2.0/token`, one request
/// per resource (microsoft-facts §2.1), with a cache per (tenant, client, resource,
/// credential) until shortly before expiry, and coalescing of concurrent requests.
public actor TokenClient {
    private let transport: HTTPTransport
    private let loginEndpoint: String
    private let now: @Sendable () -> Date
    /// Refresh this long before `expires_in` runs out.
    private let refreshMargin: TimeInterval

    private struct Key: Hashable {
        var tenant: String
        var clientId: String
        var scope: String
        var credential: String
    }

    private var cache: [Key: AccessToken] = [:]
    private var inFlight: [Key: Task<AccessToken, any Error>] = [:]

    public init(
        transport: HTTPTransport, loginEndpoint: String, refreshMargin: TimeInterval = 300,
        now: @escaping @Sendable () -> Date = Date.init
    ) {
        self.transport = transport
        self.loginEndpoint = loginEndpoint.hasSuffix("/") ? String(loginEndpoint.dropLast()) : loginEndpoint
        self.refreshMargin = refreshMargin
        self.now = now
    }

    /// The token endpoint URL for a tenant; also the `aud` of a client assertion.
    public func tokenEndpoint(tenant: String) -> String {
        "\(loginEndpoint)/\(tenant)/oauth2/v2.0/token"
    }

    /// A token for one resource. `forceRefresh` skips the cache (the credential check
    /// proves the credential still works *now*); the fresh token then serves later callers.
    public func token(
        tenant: String, clientId: String, credential: ClientCredential, scope: String, forceRefresh: Bool = false
    ) async throws(EntraError) -> AccessToken {
        let key = Key(tenant: tenant, clientId: clientId, scope: scope, credential: credential.cacheFingerprint)
        if !forceRefresh, let cached = cache[key], cached.expiresAt.timeIntervalSince(now()) > refreshMargin {
            return cached
        }
        if let running = inFlight[key] {
            return try await Self.value(of: running)
        }
        let endpoint = tokenEndpoint(tenant: tenant)
        let task = Task { [transport, now] in
            try await Self.request(
                transport: transport, endpoint: endpoint, clientId: clientId, credential: credential, scope: scope,
                now: now)
        }
        inFlight[key] = task
        defer { inFlight[key] = nil }
        let token = try await Self.value(of: task)
        // A forced token is kept only to replace an older one: callers that force want a
        // fresh proof each time, and keeping a token per connector and resource would hold
        // ~5 KB each for nothing (tens of thousands at 10,000 connectors).
        if !forceRefresh || cache[key] != nil {
            cache[key] = token
            insertions += 1
            if insertions % 1024 == 0 { dropExpired() }
        }
        return token
    }

    private var insertions = 0

    /// Forgets tokens past their refresh margin (they would be fetched anew anyway).
    private func dropExpired() {
        let t = now()
        cache = cache.filter { $0.value.expiresAt.timeIntervalSince(t) > refreshMargin }
    }

    /// Forgets every cached token (on reload, when credentials may have changed).
    public func clear() { cache.removeAll() }

    private static func value(of task: Task<AccessToken, any Error>) async throws(EntraError) -> AccessToken {
        do {
            return try await task.value
        } catch let e as EntraError {
            throw e
        } catch {
            throw .unreachable(endpoint: "token", detail: "cancelled")
        }
    }

    private static func request(
        transport: HTTPTransport, endpoint: String, clientId: String, credential: ClientCredential, scope: String,
        now: @Sendable () -> Date
    ) async throws(EntraError) -> AccessToken {
        let name = "login POST /{tenant}/oauth2/v2.0/token (\(scope))"
        var form: [(String, String)] = [
            ("client_id", clientId), ("scope", scope), ("grant_type", "client_credentials"),
        ]
        switch credential {
        case .secret(let secret):
            secret.withValue { form.append(("client_secret", $0)) }
        case .certificate(let cert, let algorithm):
            let assertion: Secret
            do {
                assertion = try cert.clientAssertion(
                    audience: endpoint, clientId: clientId, now: now(), algorithm: algorithm)
            } catch {
                throw .badResponse(endpoint: name, detail: "cannot sign the client assertion with the key file's key")
            }
            form.append(("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"))
            assertion.withValue { form.append(("client_assertion", $0)) }
        }
        let body = Data(FormEncoding.encode(form).utf8)
        let response = try await transport.send(
            TransportRequest(
                method: .POST, url: endpoint,
                headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
                body: body, endpoint: name))
        return try parse(response, endpoint: name, scope: scope, now: now())
    }

    /// Parses a token endpoint reply: the success JSON or the AADSTS error JSON.
    static func parse(
        _ response: TransportResponse, endpoint: String, scope: String, now: Date
    ) throws(EntraError)
        -> AccessToken
    {
        let json = CompactJSON.object(response.body)
        if response.status == 200 {
            guard let json else { throw .badResponse(endpoint: endpoint, detail: "token reply is not a JSON object") }
            guard let type = json["token_type"]?.stringValue, type.lowercased() == "bearer" else {
                throw .badResponse(endpoint: endpoint, detail: "token_type is missing or not Bearer")
            }
            guard let access = json["access_token"]?.stringValue, !access.isEmpty else {
                throw .badResponse(endpoint: endpoint, detail: "access_token is missing")
            }
            // v2.0 sends a number; v1.0 sent a string: accept both.
            let expiresIn: Int64?
            switch json["expires_in"] {
            case .int(let n)?: expiresIn = n
            case .double(let d)? where d == d.rounded() && d > 0 && d < 1e12: expiresIn = Int64(d)
            case .string(let s)?: expiresIn = Int64(s)
            default: expiresIn = nil
            }
            guard let expiresIn, expiresIn > 0 else {
                throw .badResponse(endpoint: endpoint, detail: "expires_in is missing or not a positive number")
            }
            guard let claims = TokenClaims.decode(access) else {
                throw .badResponse(endpoint: endpoint, detail: "access_token is not a JWT")
            }
            return AccessToken(
                value: Secret(access), expiresAt: now.addingTimeInterval(TimeInterval(expiresIn)), claims: claims,
                scope: scope)
        }
        guard let json, let error = json["error"]?.stringValue else {
            throw .badResponse(endpoint: endpoint, detail: "HTTP \(response.status) without an OAuth error body")
        }
        var codes: [Int] = []
        if case .array(let items)? = json["error_codes"] {
            for item in items {
                switch item {
                case .int(let n): codes.append(Int(truncatingIfNeeded: n))
                case .double(let d) where d == d.rounded() && abs(d) < 1e15: codes.append(Int(d))
                default: break
                }
            }
        }
        let description = json["error_description"]?.stringValue ?? ""
        // Fall back to the AADSTS number in the description when error_codes is absent.
        let code = codes.first ?? TokenClient.aadstsCode(in: description)
        let firstLine =
            description.split(whereSeparator: \.isNewline).first.map(String.init) ?? error
        throw .tokenRejected(
            TokenFailure(
                endpoint: endpoint, httpStatus: response.status, error: error, code: code,
                message: String(firstLine.prefix(500)), traceId: json["trace_id"]?.stringValue,
                correlationId: json["correlation_id"]?.stringValue, timestamp: json["timestamp"]?.stringValue,
                reason: AADSTSMapping.reason(code: code, error: error),
                certificateProblem: AADSTSMapping.certificateProblem(code: code, description: description)))
    }

    static func aadstsCode(in description: String) -> Int? {
        guard let r = description.range(of: "AADSTS") else { return nil }
        let digits = description[r.upperBound...].prefix { $0.isNumber }
        return Int(digits)
    }
}

/// Hex digits of bytes, by table: `String(format: "%02X")` per byte costs more than the
/// hash it prints.
enum Hex {
    private static let lower = Array("0123456789abcdef".utf8)
    private static let upper = Array("0123456789ABCDEF".utf8)

    static func encode(_ bytes: some Sequence<UInt8>, uppercase: Bool) -> String {
        let digits = uppercase ? upper : lower
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// `application/x-www-form-urlencoded` (only RFC 3986 unreserved characters stay as is).
enum FormEncoding {
    static func encode(_ fields: [(String, String)]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(fields.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 2 } + 64)
        for (i, (name, value)) in fields.enumerated() {
            if i > 0 { out.append(UInt8(ascii: "&")) }
            append(name, to: &out)
            out.append(UInt8(ascii: "="))
            append(value, to: &out)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Percent-encodes every UTF-8 byte that is not unreserved: byte by byte rather than
    /// through `CharacterSet` (which was ~2% of a cycle's CPU, mostly on client assertions).
    static func escape(_ s: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count + 16)
        append(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static let hex = Array("0123456789ABCDEF".utf8)

    private static func append(_ s: String, to out: inout [UInt8]) {
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.append(b)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0x0F)])
            }
        }
    }
}
