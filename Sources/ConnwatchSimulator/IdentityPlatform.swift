import ConnwatchCore
import Crypto
import Foundation
import HTTPTypes
import _CryptoExtras

/// An identity-platform error as `login.microsoftonline.com` sends it (microsoft-facts §2.1).
struct AADError: Error, Sendable {
    let code: Int
    let error: String
    let status: HTTPResponse.Status
    /// The message after `AADSTS<code>: `.
    let message: String

    func response(correlationId: String, now: Date = Date()) -> SimResponse {
        let traceId = GUID.random()
        let timestamp = SimClock.aadTimestamp(now)
        let description =
            "AADSTS\(code): \(message)\r\nTrace ID: \(traceId)\r\nCorrelation ID: \(correlationId)\r\nTimestamp: \(timestamp)"
        return SimResponse(
            status: status,
            json: .object([
                ("error", .string(error)),
                ("error_description", .string(description)),
                ("error_codes", .array([.int(code)])),
                ("timestamp", .string(timestamp)),
                ("trace_id", .string(traceId)),
                ("correlation_id", .string(correlationId)),
                ("error_uri", .string("https://login.microsoftonline.com/error?code=\(code)")),
            ]),
            headers: IdentityPlatform.noStoreHeaders(traceId: traceId, correlationId: correlationId))
    }

    // MARK: The codes of microsoft-facts §2.2

    static func tenantNotFound(_ tenant: String) -> AADError {
        AADError(
            code: 90002, error: "invalid_request", status: .badRequest,
            message:
                "Tenant '\(tenant)' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscribed service provider, this may happen if there are no active subscriptions for the tenant."
        )
    }

    static func tenantMalformed(_ tenant: String) -> AADError {
        AADError(
            code: 900023, error: "invalid_request", status: .badRequest,
            message: "Specified tenant identifier '\(tenant)' is neither a valid DNS name, nor a valid external domain."
        )
    }

    static func appNotFound(_ appId: String, tenant: TenantEntry) -> AADError {
        AADError(
            code: 700016, error: "unauthorized_client", status: .badRequest,
            message:
                "Application with identifier '\(appId)' was not found in the directory '\(tenant.displayName)'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
        )
    }

    static func appDisabled(_ app: AppEntry) -> AADError {
        AADError(
            code: 7000112, error: "unauthorized_client", status: .badRequest,
            message: "Application '\(app.appId)'(\(app.displayName)) is disabled.")
    }

    static func secretInvalid(_ appId: String) -> AADError {
        AADError(
            code: 7000215, error: "invalid_client", status: .unauthorized,
            message:
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '\(appId)'."
        )
    }

    static func secretExpired(_ appId: String) -> AADError {
        AADError(
            code: 7000222, error: "invalid_client", status: .unauthorized,
            message:
                "The provided client secret keys for app '\(appId)' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds."
        )
    }

    static func noCredential() -> AADError {
        AADError(
            code: 7000218, error: "invalid_client", status: .unauthorized,
            message: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
    }

    private static let graphHint =
        "Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%@'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/%@'"

    static func keyNotFound(thumbprint: String, appId: String) -> AADError {
        AADError(
            code: 700027, error: "invalid_client", status: .unauthorized,
            message:
                "Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '\(thumbprint)', \(String(format: graphHint, appId, appId))]"
        )
    }

    static func keyExpired(thumbprint: String, key: CertificateEntry, appId: String) -> AADError {
        AADError(
            code: 700027, error: "invalid_client", status: .unauthorized,
            message:
                "Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: '\(thumbprint)', Found key 'Start=\(SimClock.aadKeyWindow(key.start)), End=\(SimClock.aadKeyWindow(key.end))', \(String(format: graphHint, appId, appId))]"
        )
    }

    static func badSignature(thumbprint: String, key: CertificateEntry) -> AADError {
        AADError(
            code: 700027, error: "invalid_client", status: .unauthorized,
            message:
                "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '\(thumbprint)', Found key 'Start=\(SimClock.aadKeyWindow(key.start)), End=\(SimClock.aadKeyWindow(key.end))']"
        )
    }

    static func assertionTimeRange(now: Date, notBefore: Date?, expiry: Date?) -> AADError {
        let nbf = notBefore.map(SimClock.iso8601) ?? "(none)"
        let exp = expiry.map(SimClock.iso8601) ?? "(none)"
        return AADError(
            code: 700024, error: "invalid_client", status: .unauthorized,
            message:
                "Client assertion is not within its valid time range. Current time: \(SimClock.iso8601(now)), assertion valid from \(nbf), expiry time of assertion \(exp). Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials ."
        )
    }

    static func assertionMalformed(_ detail: String) -> AADError {
        AADError(
            code: 50027, error: "invalid_request", status: .badRequest,
            message: "JWT token is invalid or malformed. \(detail)")
    }

    static func assertionWrongAudience(_ audience: String) -> AADError {
        AADError(
            code: 700212, error: "invalid_client", status: .unauthorized,
            message:
                "The audience claim value of the client assertion ('\(audience)') does not match the token endpoint of the tenant."
        )
    }

    static func assertionWrongIssuer() -> AADError {
        AADError(
            code: 700021, error: "invalid_client", status: .unauthorized,
            message:
                "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials ."
        )
    }

    static func invalidScope(_ scope: String, reason: String) -> AADError {
        AADError(
            code: 70011, error: "invalid_scope", status: .badRequest,
            message:
                "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope \(scope) is not valid. \(reason)"
        )
    }

    static func resourceNotFound(_ resource: String, tenant: TenantEntry) -> AADError {
        AADError(
            code: 500011, error: "invalid_resource", status: .badRequest,
            message:
                "The resource principal named \(resource) was not found in the tenant named \(tenant.displayName). This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
        )
    }

    static func blockedByPolicy() -> AADError {
        AADError(
            code: 53003, error: "invalid_grant", status: .badRequest,
            message:
                "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."
        )
    }

    static func missingParameter(_ name: String) -> AADError {
        AADError(
            code: 900144, error: "invalid_request", status: .badRequest,
            message: "The request body must contain the following parameter: '\(name)'.")
    }

    static func unsupportedGrant(_ grant: String) -> AADError {
        AADError(
            code: 70003, error: "unsupported_grant_type", status: .badRequest,
            message: "The app requested an unsupported grant type '\(grant)'.")
    }

    static func postOnly(_ method: String) -> AADError {
        AADError(
            code: 900561, error: "invalid_request", status: .badRequest,
            message: "The endpoint only accepts POST, OPTIONS requests. Received a \(method) request.")
    }

    static func commonEndpoint() -> AADError {
        AADError(
            code: 9001023, error: "invalid_request", status: .badRequest,
            message:
                "The grant type is not supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint."
        )
    }

    static func assertionTypeInvalid() -> AADError {
        AADError(
            code: 90014, error: "invalid_request", status: .badRequest,
            message:
                "The required field 'client_assertion_type' is missing from the credential. Ensure that you have all the necessary parameters for the login request."
        )
    }

    /// A throttling or outage fault on `/login`.
    static func fault(status: Int, code: String?) -> AADError {
        let number = code.flatMap { Int($0) } ?? (status == 429 ? 90055 : 50000)
        let message: String =
            switch number {
            case 90055: "The request is throttled temporarily. Please try after some time."
            case 50196:
                "The server terminated an operation because it encountered a client request loop. Please contact your app vendor."
            default:
                "There was an error issuing a token or an issue with our sign-in service. Please retry the request."
            }
        return AADError(
            code: number, error: status == 400 ? "invalid_request" : "temporarily_unavailable",
            status: HTTPResponse.Status(code: status), message: message)
    }
}

/// The identity platform under `/login` (microsoft-facts §2.1–2.3, §2.12).
struct IdentityPlatform: Sendable {
    let signer: TokenSigner

    static func noStoreHeaders(traceId: String, correlationId: String) -> [(String, String)] {
        [
            ("Cache-Control", "no-store, no-cache"), ("Pragma", "no-cache"), ("x-ms-request-id", traceId),
            ("client-request-id", correlationId),
        ]
    }

    /// Tenant path segments that are not a directory.
    private static let multiTenantSegments: Set<String> = ["common", "organizations", "consumers"]

    func handle(_ request: SimRequest, index: ScenarioIndex) -> SimResponse {
        let correlation = RequestIDs.correlation(request)
        let seg = request.segments
        // JWKS without a tenant: /login/discovery/keys, /login/discovery/v2.0/keys
        if seg.first == "discovery" { return jwks() }
        guard let tenantSegment = seg.first, seg.count >= 2 else {
            return notFound(request)
        }
        let rest = Array(seg.dropFirst())
        let isMultiTenant = Self.multiTenantSegments.contains(tenantSegment.lowercased())

        switch rest {
        case ["v2.0", ".well-known", "openid-configuration"], [".well-known", "openid-configuration"]:
            let v2 = rest.first == "v2.0"
            if isMultiTenant {
                return openIDConfiguration(tenantPath: tenantSegment, tid: "{tenantid}", v2: v2, request)
            }
            switch lookupTenant(tenantSegment, index: index) {
            case .success(let tenant):
                return openIDConfiguration(tenantPath: tenant.id, tid: tenant.id, v2: v2, request)
            case .failure(let error):
                // The discovery documents answer an unknown tenant with error "invalid_tenant".
                return AADError(code: error.code, error: "invalid_tenant", status: error.status, message: error.message)
                    .response(correlationId: correlation)
            }
        case ["discovery", "v2.0", "keys"], ["discovery", "keys"]:
            return jwks()
        case ["oauth2", "v2.0", "token"], ["oauth2", "token"]:
            do throws(AADError) {
                return try token(request, tenantSegment: tenantSegment, v1: rest.count == 2, index: index)
            } catch {
                return error.response(correlationId: correlation)
            }
        default:
            return notFound(request)
        }
    }

    private func notFound(_ request: SimRequest) -> SimResponse {
        SimResponse(
            status: .notFound, json: .object([("error", "not_found"), ("error_description", "No such endpoint.")]))
    }

    private func lookupTenant(_ segment: String, index: ScenarioIndex) -> Result<TenantEntry, AADError> {
        if let tenant = index.tenant(segment) { return .success(tenant) }
        if GUID.isValid(segment) || Self.isDNSName(segment) { return .failure(.tenantNotFound(segment)) }
        return .failure(.tenantMalformed(segment))
    }

    /// A plausible domain: at least two labels of letters, digits and hyphens.
    static func isDNSName(_ s: String) -> Bool {
        let labels = s.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, s.count <= 253 else { return false }
        return labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    // MARK: Discovery

    private func openIDConfiguration(tenantPath: String, tid: String, v2: Bool, _ request: SimRequest) -> SimResponse {
        let base = request.origin + "/login/" + tenantPath
        let issuer = v2 ? request.origin + "/login/\(tid)/v2.0" : "https://sts.windows.net/\(tid)/"
        let oauth = v2 ? "/oauth2/v2.0" : "/oauth2"
        return SimResponse(
            json: .object([
                ("token_endpoint", .string(base + oauth + "/token")),
                (
                    "token_endpoint_auth_methods_supported",
                    ["client_secret_post", "private_key_jwt", "client_secret_basic"]
                ),
                (
                    "jwks_uri",
                    .string(request.origin + "/login/\(tenantPath)/discovery" + (v2 ? "/v2.0" : "") + "/keys")
                ),
                ("response_modes_supported", ["query", "fragment", "form_post"]),
                ("subject_types_supported", ["pairwise"]),
                ("id_token_signing_alg_values_supported", ["RS256"]),
                ("response_types_supported", ["code", "id_token", "code id_token", "id_token token"]),
                ("scopes_supported", ["openid", "profile", "email", "offline_access"]),
                ("issuer", .string(issuer)),
                ("request_uri_parameter_supported", false),
                ("userinfo_endpoint", .string(request.origin + "/graph/oidc/userinfo")),
                ("authorization_endpoint", .string(base + oauth + "/authorize")),
                ("device_authorization_endpoint", .string(base + oauth + "/devicecode")),
                ("http_logout_supported", true),
                ("frontchannel_logout_supported", true),
                ("end_session_endpoint", .string(base + oauth + "/logout")),
                (
                    "claims_supported",
                    [
                        "sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
                        "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name",
                        "tid", "ver", "at_hash", "c_hash", "email",
                    ]
                ),
                ("kerberos_endpoint", .string(base + "/kerberos")),
                ("tenant_region_scope", "EU"),
                ("cloud_instance_name", "microsoftonline.com"),
                ("cloud_graph_host_name", "graph.windows.net"),
                ("msgraph_host", "graph.microsoft.com"),
                ("rbac_url", "https://pas.windows.net"),
            ]),
            headers: [("Access-Control-Allow-Origin", "*"), ("Cache-Control", "max-age=86400, private")])
    }

    private func jwks() -> SimResponse {
        SimResponse(
            json: .object([("keys", .array([signer.jwk]))]), headers: [("Cache-Control", "max-age=86400, private")])
    }

    // MARK: Token endpoint

    private struct Credential {
        enum Kind { case secret(String), assertion(String) }
        let kind: Kind
    }

    private func token(
        _ request: SimRequest, tenantSegment: String, v1: Bool, index: ScenarioIndex
    ) throws(AADError)
        -> SimResponse
    {
        guard request.method == .post else { throw .postOnly(request.method.rawValue) }
        if Self.multiTenantSegments.contains(tenantSegment.lowercased()) { throw .commonEndpoint() }
        let tenant = try lookupTenant(tenantSegment, index: index).get()

        let contentType = request.header("Content-Type")?.lowercased() ?? ""
        let form =
            contentType.hasPrefix("application/x-www-form-urlencoded")
            ? URLCoding.parseForm(String(decoding: request.body, as: UTF8.self))
            : (values: [:], repeated: [])
        let p = form.values

        // RFC 6749 §2.3.1: HTTP Basic with the form-encoded client ID and secret.
        var basic: (id: String, secret: String)?
        if let auth = request.header("Authorization"), auth.lowercased().hasPrefix("basic "),
            let decoded = Data(base64Encoded: String(auth.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
        {
            basic = (
                URLCoding.decode(text[..<colon], plusIsSpace: true),
                URLCoding.decode(text[text.index(after: colon)...], plusIsSpace: true)
            )
        }

        guard let grant = p["grant_type"], !grant.isEmpty else { throw .missingParameter("grant_type") }
        guard grant == "client_credentials" else { throw .unsupportedGrant(grant) }
        guard let clientId = (p["client_id"] ?? basic?.id)?.lowercased(), !clientId.isEmpty else {
            throw .missingParameter("client_id")
        }

        // Scope: exactly one resource with /.default (v1: resource=<uri>).
        var scopeText = p["scope"]
        if v1, scopeText == nil, let resource = p["resource"] { scopeText = resource + "/.default" }
        guard let scopeText, !scopeText.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw .missingParameter("scope")
        }
        if form.repeated.contains("scope") {
            throw .invalidScope(scopeText, reason: "The scope parameter is repeated.")
        }
        let reserved: Set<String> = ["openid", "profile", "offline_access", "email"]
        let scopes = scopeText.split(whereSeparator: { $0 == " " }).map(String.init).filter {
            !reserved.contains($0.lowercased())
        }
        guard scopes.count == 1 else {
            throw .invalidScope(
                scopeText,
                reason: "A client credentials request names exactly one resource, as '<resource URI>/.default'.")
        }
        let scope = scopes[0]
        guard scope.lowercased().hasSuffix("/.default") else {
            throw .invalidScope(
                scopeText,
                reason:
                    "Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            )
        }
        let resourceIdentifier = String(scope.dropLast("/.default".count))

        // The app and its service principal in this tenant.
        guard let app = tenant.appsByAppId[clientId], app.hasServicePrincipal else {
            throw .appNotFound(clientId, tenant: tenant)
        }
        if app.app.disabled { throw .appDisabled(app) }

        // Client authentication.
        let now = Date()
        let credentialClock = index.now()
        let acr: String
        if let assertion = p["client_assertion"] {
            guard p["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" else {
                throw .assertionTypeInvalid()
            }
            try verifyAssertion(
                assertion, app: app, tenant: tenant, index: index, now: now, credentialClock: credentialClock)
            acr = "2"
        } else if let secret = p["client_secret"] ?? basic?.secret {
            let matches = app.secrets(matching: secret)
            guard !matches.isEmpty else { throw .secretInvalid(app.appId) }
            let live = matches.contains { $0.start <= credentialClock && credentialClock < $0.end }
            if !live {
                if matches.contains(where: { credentialClock >= $0.end }) { throw .secretExpired(app.appId) }
                throw .secretInvalid(app.appId)
            }
            acr = "1"
        } else {
            throw .noCredential()
        }

        // The resource must exist in the tenant.
        guard let resolved = ResourceDirectory.resolve(resourceIdentifier),
            let principal = tenant.principal(for: resolved)
        else {
            throw .resourceNotFound(resourceIdentifier, tenant: tenant)
        }
        if app.app.blockedByPolicy { throw .blockedByPolicy() }

        let roles = app.roles(forResourceAppId: principal.resource.appId)
        let accessToken = try issue(
            app: app, tenant: tenant, audience: resolved.audience, roles: roles, acr: acr, now: now)
        let traceId = GUID.random()
        return SimResponse(
            json: .object([
                ("token_type", "Bearer"),
                ("expires_in", .int(AccessToken.lifetime)),
                ("ext_expires_in", .int(AccessToken.lifetime)),
                ("access_token", .string(accessToken)),
            ]),
            headers: Self.noStoreHeaders(traceId: traceId, correlationId: RequestIDs.correlation(request)))
    }

    /// Signs a v1.0 app-only access token (the shape Graph receives, microsoft-facts §2.3).
    private func issue(
        app: AppEntry, tenant: TenantEntry, audience: String, roles: [String], acr: String, now: Date
    )
        throws(AADError) -> String
    {
        let iat = Int(now.timeIntervalSince1970)
        var claims: [(String, JSONNode)] = [
            ("aud", .string(audience)),
            ("iss", .string("https://sts.windows.net/\(tenant.id)/")),
            ("iat", .int(iat - 300)),
            ("nbf", .int(iat - 300)),
            ("exp", .int(iat + AccessToken.lifetime)),
            ("aio", .string(Base64URL.encode((0..<48).map { _ in UInt8.random(in: 0...255) }))),
            ("app_displayname", .string(app.displayName)),
            ("appid", .string(app.appId)),
            ("appidacr", .string(acr)),
            ("idp", .string("https://sts.windows.net/\(tenant.id)/")),
            ("idtyp", "app"),
            ("oid", .string(app.spObjectId)),
            ("rh", .string("0.A" + Base64URL.encode((0..<40).map { _ in UInt8.random(in: 0...255) }) + ".")),
        ]
        // No permission granted → no `roles` claim at all (microsoft-facts §2.3).
        if !roles.isEmpty { claims.append(("roles", .array(roles.map(JSONNode.string)))) }
        claims += [
            ("sub", .string(app.spObjectId)),
            ("tid", .string(tenant.id)),
            ("uti", .string(Base64URL.encode((0..<16).map { _ in UInt8.random(in: 0...255) }))),
            ("ver", "1.0"),
            ("xms_tcdt", .int(1_600_000_000)),
        ]
        do {
            return try signer.sign(.object(claims))
        } catch {
            throw AADError(
                code: 50000, error: "temporarily_unavailable", status: .internalServerError,
                message: "There was an error issuing a token.")
        }
    }

    // MARK: Client assertion (microsoft-facts §2.12)

    private func verifyAssertion(
        _ assertion: String, app: AppEntry, tenant: TenantEntry, index: ScenarioIndex, now: Date, credentialClock: Date
    ) throws(AADError) {
        guard let jwt = CompactJWT(assertion) else { throw .assertionMalformed("The client assertion is not a JWT.") }
        let claims = jwt.payload
        guard claims["iss"]?.stringValue?.lowercased() == app.appId,
            claims["sub"]?.stringValue?.lowercased() == app.appId
        else { throw .assertionWrongIssuer() }

        // aud: the token endpoint of this tenant (by GUID or domain), any host — clients
        // may build it from the real login host or from the simulator's.
        let audience = claims["aud"]?.stringValue ?? claims["aud"]?.arrayValue?.first?.stringValue ?? ""
        guard Self.audienceMatches(audience, tenant: tenant, index: index) else {
            throw .assertionWrongAudience(audience)
        }

        // The key: x5t (SHA-1, RS256) or x5t#S256 (SHA-256, PS256), or the x5c certificate.
        let alg = jwt.header["alg"]?.stringValue ?? ""
        var key: CertificateEntry?
        var thumbprintHex = ""
        if let x5t = jwt.header["x5t#S256"]?.stringValue, let digest = Base64URL.decode(x5t) {
            thumbprintHex = Self.hex(digest)
            key = app.certificate(sha256: digest)
        } else if let x5t = jwt.header["x5t"]?.stringValue, let digest = Base64URL.decode(x5t) {
            thumbprintHex = Self.hex(digest)
            key = app.certificate(sha1: digest)
        } else if let x5c = jwt.header["x5c"]?.arrayValue?.first?.stringValue, let der = Data(base64Encoded: x5c) {
            let digest = Array(Insecure.SHA1.hash(data: der))
            thumbprintHex = Self.hex(digest)
            key = app.certificate(sha1: digest)
        } else {
            throw .assertionMalformed("The client assertion header has no x5t, x5t#S256 or x5c.")
        }
        guard let key else { throw .keyNotFound(thumbprint: thumbprintHex, appId: app.appId) }
        if credentialClock >= key.end || credentialClock < key.start {
            throw .keyExpired(thumbprint: thumbprintHex, key: key, appId: app.appId)
        }
        guard let publicKey = key.rsaKey else { throw .badSignature(thumbprint: thumbprintHex, key: key) }
        let signature = _RSA.Signing.RSASignature(rawRepresentation: jwt.signature)
        let digest = SHA256.hash(data: jwt.signingInput)
        let valid: Bool =
            switch alg {
            case "RS256": publicKey.isValidSignature(signature, for: digest, padding: .insecurePKCS1v1_5)
            case "PS256": publicKey.isValidSignature(signature, for: digest, padding: .PSS)
            default: false
            }
        guard valid else { throw .badSignature(thumbprint: thumbprintHex, key: key) }

        // Lifetime with Entra's 5-minute clock skew allowance.
        let skew: TimeInterval = 300
        let exp = claims["exp"]?.intValue.map { Date(timeIntervalSince1970: TimeInterval($0)) }
        let nbf = claims["nbf"]?.intValue.map { Date(timeIntervalSince1970: TimeInterval($0)) }
        guard let exp, now < exp.addingTimeInterval(skew) else {
            throw .assertionTimeRange(now: now, notBefore: nbf, expiry: exp)
        }
        if let nbf, now < nbf.addingTimeInterval(-skew) {
            throw .assertionTimeRange(now: now, notBefore: nbf, expiry: exp)
        }
    }

    static func audienceMatches(_ audience: String, tenant: TenantEntry, index: ScenarioIndex) -> Bool {
        var path = audience
        if let schemeEnd = path.range(of: "://") {
            let afterScheme = path[schemeEnd.upperBound...]
            path = afterScheme.firstIndex(of: "/").map { String(afterScheme[$0...]) } ?? ""
        }
        while path.hasSuffix("/") { path.removeLast() }
        let parts = path.split(separator: "/").map(String.init)
        let tail: [String]
        if parts.suffix(3) == ["oauth2", "v2.0", "token"] {
            tail = Array(parts.dropLast(3))
        } else if parts.suffix(2) == ["oauth2", "token"] {
            tail = Array(parts.dropLast(2))
        } else {
            return false
        }
        guard let tenantPart = tail.last else { return false }
        return index.tenant(tenantPart)?.id == tenant.id
    }

    static func hex(_ bytes: [UInt8]) -> String {
        DeterministicID.hex(bytes).uppercased()
    }
}

/// Access-token conventions shared by the issuer and the resource services.
enum AccessToken {
    /// `expires_in` of a fresh token, as Entra ID reports it.
    static let lifetime = 3599
}
