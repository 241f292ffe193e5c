import ConnwatchCore
import Foundation
import NIOHTTP1

/// The ZIA SaaS Security API, read-only (microsoft-facts §3.1): the SaaS tenant list and
/// one tenant's validation status, with a OneAPI client-credentials token
/// (microsoft-facts §3.2; `audience=https://api.zscaler.com` is required).
///
/// The validation reply carries `tenantAuthorizationInfo` (the connector's client secret,
/// access tokens, `credJson`). The decoders here never read it except its `clientId`:
/// the secret-bearing fields never become values, so nothing can log, store or return
/// them. Error messages name the endpoint and field, never the body.
public actor ZIAClient {
    private let transport: HTTPTransport
    private let settings: ZscalerSettings
    public let gate: ZIARateGate
    private let now: @Sendable () -> Date
    private var token: (value: Secret, expiresAt: Date)?
    private var tokenTask: Task<(Secret, Date), any Error>?
    /// Tenants per page of `/casbTenant/lite`.
    public let pageSize: Int

    public init(
        transport: HTTPTransport, settings: ZscalerSettings, gate: ZIARateGate = ZIARateGate(), pageSize: Int = 1000,
        now: @escaping @Sendable () -> Date = Date.init
    ) {
        self.transport = transport
        self.settings = settings
        self.gate = gate
        self.pageSize = pageSize
        self.now = now
    }

    // MARK: API

    /// `GET /casbTenant/lite?includeDeleted=true`, every page.
    public func tenants() async throws(EntraError) -> [ZscalerTenant] {
        var all: [ZscalerTenant] = []
        var page = 1
        while true {
            let path = "/casbTenant/lite"
            let url = "\(settings.apiBase)\(path)?includeDeleted=true&page=\(page)&pageSize=\(pageSize)"
            let body = try await get(url: url, endpoint: "zia GET \(path)")
            let items = try StrictProblem.decodeList(from: body, endpoint: "zia GET \(path)") {
                (o) throws(StrictProblem) in try LiteTenant(strict: o)
            }
            all += items.map(\.tenant)
            if items.count < pageSize || page >= 100 { return all }
            page += 1
        }
    }

    /// `GET /casbTenant/validate/status/{tenantId}`.
    public func validationStatus(tenantId: Int) async throws(EntraError) -> ZscalerValidation {
        let endpoint = "zia GET /casbTenant/validate/status/{tenantId}"
        let body = try await get(url: "\(settings.apiBase)/casbTenant/validate/status/\(tenantId)", endpoint: endpoint)
        return try StrictProblem.decodeObject(from: body, endpoint: endpoint) { (o) throws(StrictProblem) in
            try ValidationReply(strict: o)
        }.validation
    }

    // MARK: Requests

    /// An authenticated GET through the rate gate. A 429 blocks the gate for its
    /// `Retry-After` and is retried once when that is short; a 401 drops the cached token
    /// and retries once with a new one.
    private func get(url: String, endpoint: String) async throws(EntraError) -> Data {
        var renewedToken = false
        var retriedThrottle = false
        while true {
            let bearer = try await accessToken()
            try await gate.acquire(endpoint: endpoint)
            let response = try await transport.exchange(
                TransportRequest(
                    url: url,
                    headers: [
                        ("Authorization", bearer.withValue { "Bearer \($0)" }), ("Accept", "application/json"),
                    ], endpoint: endpoint))
            switch response.status {
            case 200..<300:
                return response.body
            case 429,
                503 where Self.retryAfter(response) != nil:  // the `where` is the 503's only
                // A 503 with Retry-After is throttling too (SPEC §3: 429/503 Retry-After is
                // honoured): waited out once like a 429, then `throttled`, not a server error.
                let retryAfter = Self.retryAfter(response)
                await gate.throttled(retryAfter: retryAfter)
                if !retriedThrottle, TimeInterval(retryAfter ?? 1) <= gate.maxWait {
                    retriedThrottle = true
                    continue  // acquire() waits out the Retry-After
                }
                throw .throttled(endpoint: endpoint, retryAfter: retryAfter)
            case 401 where !renewedToken:
                renewedToken = true
                token = nil
                continue
            case 500...:
                throw .serverError(endpoint: endpoint, status: response.status)
            default:
                throw .apiError(Self.failure(response, endpoint: endpoint))
            }
        }
    }

    /// `Retry-After` in seconds (header; ZIA also repeats it in the body as "N seconds").
    static func retryAfter(_ response: TransportResponse) -> Int? {
        if let h = HTTPTransport.retryAfterSeconds(response.headers) { return h }
        if let s = CompactJSON.object(response.body)?["Retry-After"]?.stringValue, let n = Int(s.prefix { $0.isNumber }) {
            return n
        }
        return nil
    }

    /// ZIA error bodies: `{"code": "…", "message": "…"}`.
    static func failure(_ response: TransportResponse, endpoint: String) -> APIFailure {
        let json = CompactJSON.object(response.body)
        let code = json?["code"]?.stringValue ?? "HTTP\(response.status)"
        let message = json?["message"]?.stringValue ?? ""
        return APIFailure(
            endpoint: endpoint, status: response.status, code: code, message: String(message.prefix(200)),
            requestId: response.headers.first(name: "x-request-id"), documented: json?["code"]?.stringValue != nil)
    }

    // MARK: OneAPI token

    private func accessToken() async throws(EntraError) -> Secret {
        if let token, token.expiresAt.timeIntervalSince(now()) > 120 { return token.value }
        if let running = tokenTask {
            return try await Self.outcome(of: running).0
        }
        let task = Task { [transport, settings, now] in
            try await Self.requestToken(transport: transport, settings: settings, now: now())
        }
        tokenTask = task
        defer { tokenTask = nil }
        let (value, expiresAt) = try await Self.outcome(of: task)
        token = (value, expiresAt)
        return value
    }

    private static func outcome(of task: Task<(Secret, Date), any Error>) async throws(EntraError) -> (Secret, Date) {
        do { return try await task.value } catch let e as EntraError { throw e } catch {
            throw .unreachable(endpoint: "zscaler token", detail: "cancelled")
        }
    }

    private static func requestToken(
        transport: HTTPTransport, settings: ZscalerSettings, now: Date
    ) async throws(EntraError) -> (Secret, Date) {
        let endpoint = "zscaler POST /oauth2/v1/token"
        var form: [(String, String)] = [
            ("grant_type", "client_credentials"), ("client_id", settings.clientId),
            ("audience", ZscalerSettings.audience),
        ]
        settings.clientSecret.withValue { form.append(("client_secret", $0)) }
        let response = try await transport.send(
            TransportRequest(
                method: .POST, url: settings.tokenEndpoint,
                headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
                body: Data(FormEncoding.encode(form).utf8), endpoint: endpoint))
        let json = CompactJSON.object(response.body)
        guard response.status == 200 else {
            // OAuth error body: {"error": "invalid_client", "error_description": "…"}.
            let error = json?["error"]?.stringValue ?? "HTTP\(response.status)"
            let description = json?["error_description"]?.stringValue.map { String($0.prefix(200)) } ?? ""
            throw .apiError(
                APIFailure(
                    endpoint: endpoint, status: response.status, code: error, message: description,
                    documented: json?["error"]?.stringValue != nil))
        }
        guard let json, let access = json["access_token"]?.stringValue, !access.isEmpty else {
            throw .badResponse(endpoint: endpoint, detail: "access_token is missing")
        }
        let expiresIn: Int
        switch json["expires_in"] {
        case .int(let n)?: expiresIn = Int(clamping: n)
        case .string(let s)?: expiresIn = Int(s) ?? 3600
        default: expiresIn = 3600
        }
        return (Secret(access), now.addingTimeInterval(TimeInterval(max(60, expiresIn))))
    }

    // MARK: Decoding

    /// `lastTenantValidationTime`: epoch seconds (ZIA's usual unit); values that can only
    /// be milliseconds are read as such. 0 means never.
    static func epoch(_ n: Int64?) -> Date? {
        guard let n, n > 0 else { return nil }
        return Date(timeIntervalSince1970: n > 100_000_000_000 ? Double(n) / 1000 : Double(n))
    }

    /// One entry of `/casbTenant/lite` (Go SDK `CasbTenants`).
    struct LiteTenant {
        let tenant: ZscalerTenant

        init(strict o: StrictObject) throws(StrictProblem) {
            tenant = ZscalerTenant(
                tenantId: try o.int("tenantId"),
                tenantName: try o.optionalString("tenantName") ?? "",
                saasApplication: try o.optionalString("saasApplication"),
                enterpriseTenantId: try o.optionalString("enterpriseTenantId"),
                statuses: try o.optionalStrings("status") ?? [],
                lastValidationTime: ZIAClient.epoch(try o.optionalInt64("lastTenantValidationTime")),
                deleted: try o.optionalBool("tenantDeleted") ?? false,
                reAuth: try o.optionalBool("reAuth") ?? false)
        }
    }

    /// `CasbTenantValidationResponse`. `tenantAuthorizationInfo` is opened only for its
    /// `clientId`; `clientSecret`, `accessToken`, `credJson` and the rest are never read.
    struct ValidationReply {
        let validation: ZscalerValidation

        init(strict o: StrictObject) throws(StrictProblem) {
            let message = try o.optionalObject("lastValidationMsg")
            // Only a clientId that is a string is used; anything else there is ignored.
            let clientId = (try? o.optionalObject("tenantAuthorizationInfo")?.optionalString("clientId")) ?? nil
            validation = ZscalerValidation(
                tenantId: try o.int("tenantId"),
                tenantName: try o.optionalString("tenantName") ?? "",
                statuses: try o.optionalStrings("status") ?? [],
                deleted: try o.optionalBool("tenantDeleted") ?? false,
                lastValidationTime: ZIAClient.epoch(try o.optionalInt64("lastTenantValidationTime")),
                errorCode: try message?.optionalInt64("errorCode").map { Int(clamping: $0) },
                errorMessage: try message?.optionalString("errorMsg"),
                authorizedClientId: clientId)
        }
    }
}
