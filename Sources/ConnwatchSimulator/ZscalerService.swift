import Crypto
import Foundation
import HTTPTypes
import Synchronization

/// Zscaler's side of a scenario: the OneAPI API clients and the SaaS application tenants
/// the ZIA SaaS Security API reports (microsoft-facts §3.1–3.2).
///
/// JSON (snake_case): `{"api_clients": [{"client_id", "client_secret"}], "tenants":
/// [{"tenant_id": 101, "tenant_name", "saas_application", "enterprise_tenant_id",
/// "status": ["VALIDATION_FAILED"], "last_validation_time": "2026-11-28T00:00:00Z",
/// "tenant_deleted", "re_auth", "error_code": 401, "error_msg", "authorization":
/// {"client_id", "client_secret", "access_token", "cred_json"}}], "enforce_rate_limit": true}`.
/// The `authorization` values are served in `tenantAuthorizationInfo` exactly like the
/// real API serves the connector's credentials: tests plant recognisable values there
/// and check that connwatch never lets them out.
public struct ZscalerScenario: Codable, Sendable, Equatable {
    public var apiClients: [ZscalerAPIClient]
    public var tenants: [ZscalerSaaSTenant]
    /// Answer 429 beyond 2 requests/s or 1,000/h per API client (default true).
    public var enforceRateLimit: Bool?

    public init(apiClients: [ZscalerAPIClient], tenants: [ZscalerSaaSTenant], enforceRateLimit: Bool? = nil) {
        self.apiClients = apiClients
        self.tenants = tenants
        self.enforceRateLimit = enforceRateLimit
    }
}

public struct ZscalerAPIClient: Codable, Sendable, Equatable {
    public var clientId: String
    public var clientSecret: String

    public init(clientId: String, clientSecret: String) {
        self.clientId = clientId
        self.clientSecret = clientSecret
    }
}

public struct ZscalerSaaSTenant: Codable, Sendable, Equatable {
    public var tenantId: Int
    public var tenantName: String
    public var saasApplication: String?
    public var enterpriseTenantId: String?
    public var status: [String]?
    public var lastValidationTime: Date?
    public var tenantDeleted: Bool?
    public var reAuth: Bool?
    public var errorCode: Int?
    public var errorMsg: String?
    public var authorization: ZscalerAuthorization?

    public init(
        tenantId: Int, tenantName: String, saasApplication: String? = nil, enterpriseTenantId: String? = nil,
        status: [String]? = nil, lastValidationTime: Date? = nil, tenantDeleted: Bool? = nil, reAuth: Bool? = nil,
        errorCode: Int? = nil, errorMsg: String? = nil, authorization: ZscalerAuthorization? = nil
    ) {
        self.tenantId = tenantId
        self.tenantName = tenantName
        self.saasApplication = saasApplication
        self.enterpriseTenantId = enterpriseTenantId
        self.status = status
        self.lastValidationTime = lastValidationTime
        self.tenantDeleted = tenantDeleted
        self.reAuth = reAuth
        self.errorCode = errorCode
        self.errorMsg = errorMsg
        self.authorization = authorization
    }
}

/// What Zscaler stored when the tenant was authorized: the connector's credentials.
public struct ZscalerAuthorization: Codable, Sendable, Equatable {
    public var clientId: String
    public var clientSecret: String?
    public var accessToken: String?
    public var credJson: String?

    public init(clientId: String, clientSecret: String? = nil, accessToken: String? = nil, credJson: String? = nil) {
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.accessToken = accessToken
        self.credJson = credJson
    }
}

/// `/zslogin/oauth2/v1/token` (OneAPI) and `/zia/api/v1/casbTenant/...` (ZIA).
final class ZscalerService: Sendable {
    /// Signs the opaque OneAPI tokens: `zs1.<client id b64url>.<expiry>.<mac>`.
    private let key = SymmetricKey(size: .bits256)
    private let window = Mutex<[String: [Date]]>([:])
    private let limited = Mutex(0)

    static let audience = "https://api.zscaler.com"

    /// 429s answered because a client exceeded the rate limit.
    var rateLimited: Int { limited.withLock { $0 } }

    func resetStats() {
        limited.withLock { $0 = 0 }
        window.withLock { $0 = [:] }
    }

    // MARK: OneAPI token

    func token(_ request: SimRequest, scenario: ZscalerScenario?) -> SimResponse {
        guard request.method == .post, request.segments == ["oauth2", "v1", "token"] else {
            return oauthError(.notFound, "invalid_request", "Unknown endpoint.")
        }
        let form = URLCoding.parseForm(String(decoding: request.body, as: UTF8.self)).values
        guard form["grant_type"] == "client_credentials" else {
            return oauthError(.badRequest, "unsupported_grant_type", "Only client_credentials is supported.")
        }
        guard form["audience"] == Self.audience else {
            return oauthError(.badRequest, "invalid_request", "The audience parameter is required: \(Self.audience).")
        }
        guard let id = form["client_id"], let secret = form["client_secret"],
            let client = scenario?.apiClients.first(where: { $0.clientId == id }), client.clientSecret == secret
        else {
            return oauthError(.unauthorized, "invalid_client", "Client authentication failed.")
        }
        let expiry = Int(Date().timeIntervalSince1970) + 3600
        return SimResponse(
            json: .object([
                ("access_token", .string(mint(clientId: client.clientId, expiry: expiry))),
                ("token_type", "Bearer"), ("expires_in", .int(3600)),
            ]))
    }

    private func oauthError(_ status: HTTPResponse.Status, _ error: String, _ description: String) -> SimResponse {
        SimResponse(status: status, json: .object([("error", .string(error)), ("error_description", .string(description))]))
    }

    private func mint(clientId: String, expiry: Int) -> String {
        let body = "zs1.\(Data(clientId.utf8).base64EncodedString()).\(expiry)"
        let mac = HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: key)
        return body + "." + Data(mac).base64EncodedString()
    }

    /// The API client a bearer token was issued to, when valid and unexpired.
    private func verify(_ token: String?) -> String? {
        guard let token else { return nil }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "zs1", let expiry = Int(parts[2]),
            expiry > Int(Date().timeIntervalSince1970),
            let idData = Data(base64Encoded: String(parts[1])), let mac = Data(base64Encoded: String(parts[3]))
        else { return nil }
        let body = parts[0...2].joined(separator: ".")
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data(body.utf8), using: key) else {
            return nil
        }
        return String(decoding: idData, as: UTF8.self)
    }

    // MARK: ZIA

    func zia(_ request: SimRequest, scenario: ZscalerScenario?) -> SimResponse {
        guard let scenario, let client = verify(request.bearerToken) else {
            return ziaError(.unauthorized, "AUTHENTICATION_FAILED", "Authentication failed: invalid or expired token.")
        }
        if scenario.enforceRateLimit ?? true, let retryAfter = admit(client) {
            return SimResponse(
                status: .tooManyRequests,
                json: .object([
                    ("message", .string(retryAfter.limit)), ("Retry-After", .string("\(retryAfter.seconds) seconds")),
                ]), headers: [("Retry-After", String(retryAfter.seconds))])
        }
        guard request.method == .get, request.segments.count >= 3, request.segments[0] == "api",
            request.segments[1] == "v1", request.segments[2] == "casbTenant"
        else {
            return ziaError(.notFound, "RESOURCE_NOT_FOUND", "Resource does not exist.")
        }
        let rest = Array(request.segments.dropFirst(3))
        switch rest.count {
        case 1 where rest[0] == "lite":
            let includeDeleted = request.query["includeDeleted"] == "true"
            let pageSize = max(1, min(10_000, Int(request.query["pageSize"] ?? "") ?? 100))
            let page = max(1, Int(request.query["page"] ?? "") ?? 1)
            let all = scenario.tenants.filter { includeDeleted || !($0.tenantDeleted ?? false) }
            let slice = all.dropFirst((page - 1) * pageSize).prefix(pageSize)
            return SimResponse(json: .array(slice.map(lite)))
        case 3 where rest[0] == "validate" && rest[1] == "status":
            guard let id = Int(rest[2]), let t = scenario.tenants.first(where: { $0.tenantId == id }) else {
                return ziaError(.notFound, "RESOURCE_NOT_FOUND", "Resource does not exist.")
            }
            return SimResponse(json: validation(t))
        default:
            return ziaError(.notFound, "RESOURCE_NOT_FOUND", "Resource does not exist.")
        }
    }

    /// 2 requests per second and 1,000 per hour per API client (sliding windows).
    private func admit(_ client: String) -> (limit: String, seconds: Int)? {
        let now = Date()
        let verdict: (limit: String, seconds: Int)? = window.withLock { w -> (limit: String, seconds: Int)? in
            var times = (w[client] ?? []).filter { now.timeIntervalSince($0) < 3600 }
            defer { w[client] = times }
            let lastSecond = times.filter { now.timeIntervalSince($0) < 1 }
            if lastSecond.count >= 2 { return (limit: "Rate Limit (2/SECOND) exceeded", seconds: 1) }
            if times.count >= 1000 {
                return (
                    limit: "Rate Limit (1000/HOUR) exceeded",
                    seconds: Int((3600 - now.timeIntervalSince(times[0])).rounded(.up))
                )
            }
            times.append(now)
            return nil
        }
        if verdict != nil { limited.withLock { $0 += 1 } }
        return verdict
    }

    private func ziaError(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> SimResponse {
        SimResponse(status: status, json: .object([("code", .string(code)), ("message", .string(message))]))
    }

    private func epoch(_ d: Date?) -> JSONNode { .int(d.map { Int($0.timeIntervalSince1970) } ?? 0) }

    private func statusArray(_ t: ZscalerSaaSTenant) -> JSONNode { .array((t.status ?? ["ACTIVE"]).map { .string($0) }) }

    /// A `/casbTenant/lite` entry (Go SDK `CasbTenants`).
    private func lite(_ t: ZscalerSaaSTenant) -> JSONNode {
        .object([
            ("tenantId", .int(t.tenantId)), ("tenantName", .string(t.tenantName)),
            ("saasApplication", .string(t.saasApplication ?? "MSFT_ONE_DRIVE_FOR_BUSINESS")),
            ("enterpriseTenantId", t.enterpriseTenantId.map { .string($0) } ?? .null),
            ("status", statusArray(t)), ("lastTenantValidationTime", epoch(t.lastValidationTime)),
            ("modifiedTime", epoch(t.lastValidationTime)), ("tenantDeleted", .bool(t.tenantDeleted ?? false)),
            ("tenantWebhookEnabled", false), ("reAuth", .bool(t.reAuth ?? false)),
            ("featuresSupported", .array(["CASB", "DLP"])),
            ("zscalerAppTenantId", .object([("id", .int(t.tenantId + 70_000)), ("name", .string(t.tenantName))])),
        ])
    }

    /// `CasbTenantValidationResponse`, with the secret-bearing `tenantAuthorizationInfo`.
    private func validation(_ t: ZscalerSaaSTenant) -> JSONNode {
        var members: [(String, JSONNode)] = [
            ("tenantId", .int(t.tenantId)), ("tenantName", .string(t.tenantName)),
            ("tenantDeleted", .bool(t.tenantDeleted ?? false)),
            ("lastTenantValidationTime", epoch(t.lastValidationTime)), ("status", statusArray(t)),
        ]
        if let code = t.errorCode {
            members.append(
                ("lastValidationMsg", .object([("errorCode", .int(code)), ("errorMsg", .string(t.errorMsg ?? ""))])))
        }
        if let a = t.authorization {
            members.append(
                (
                    "tenantAuthorizationInfo",
                    .object([
                        ("type", "MSFT_ONE_DRIVE_FOR_BUSINESS"), ("clientId", .string(a.clientId)),
                        ("clientSecret", a.clientSecret.map { .string($0) } ?? .null),
                        ("accessToken", a.accessToken.map { .string($0) } ?? .null),
                        ("credJson", a.credJson.map { .string($0) } ?? .null),
                        ("tokenEndpoint", .string("https://login.microsoftonline.com/\(t.enterpriseTenantId ?? "common")/oauth2/v2.0/token")),
                        ("tenantId", .string(t.enterpriseTenantId ?? "")),
                    ])
                ))
        }
        return .object(members)
    }
}
