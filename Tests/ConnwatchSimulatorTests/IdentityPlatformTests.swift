import ConnwatchSimulator
import ConnwatchTestSupport
import Crypto
import Foundation
import Testing
import _CryptoExtras

@Suite("Identity platform (/login)")
struct IdentityPlatformTests {
    @Test("a secret yields a v1.0 app token carrying the granted roles")
    func tokenWithRoles() async throws {
        try await Harness.with { h in
            let reply = try await h.secretToken()
            #expect(reply.status == 200)
            #expect(reply.json["token_type"] as? String == "Bearer")
            #expect(reply.json["expires_in"] as? Int == 3599)
            #expect(reply.json["ext_expires_in"] as? Int == 3599)
            #expect(reply.json["refresh_token"] == nil)
            #expect(reply.header("Cache-Control")?.contains("no-store") == true)
            let c = claims(of: h.accessToken(reply))
            #expect(c["aud"] as? String == "https://graph.microsoft.com")
            #expect(c["iss"] as? String == "https://sts.windows.net/\(Fixture.tenant)/")
            #expect(c["tid"] as? String == Fixture.tenant)
            #expect(c["appid"] as? String == Fixture.full)
            #expect(c["appidacr"] as? String == "1")
            #expect(c["idtyp"] as? String == "app")
            #expect(c["ver"] as? String == "1.0")
            #expect(c["oid"] as? String != nil)
            #expect(c["sub"] as? String == c["oid"] as? String)
            let iat = try #require(c["iat"] as? Int)
            let exp = try #require(c["exp"] as? Int)
            #expect(exp > Int(Date().timeIntervalSince1970) + 3500)
            #expect(c["nbf"] as? Int ?? .max <= iat)
            #expect(Set(c["roles"] as? [String] ?? []) == Set(Fixture.graphRoles))
        }
    }

    @Test("no granted permission means no roles claim at all, not an error")
    func tokenWithoutRoles() async throws {
        try await Harness.with { h in
            let c = claims(of: h.accessToken(try await h.secretToken(clientId: Fixture.bare)))
            #expect(c["appid"] as? String == Fixture.bare)
            #expect(c["roles"] == nil)
        }
    }

    @Test("roles follow the resource; the tenant may be addressed by domain; HTTP Basic authenticates")
    func resourcesDomainsAndBasic() async throws {
        try await Harness.with { h in
            let office = claims(
                of: h.accessToken(
                    try await h.secretToken(scope: "https://manage.office.com/.default", tenant: Fixture.domain)))
            #expect(office["aud"] as? String == "https://manage.office.com")
            #expect(office["roles"] as? [String] == ["ActivityFeed.Read"])
            #expect(office["tid"] as? String == Fixture.tenant)

            // management.core.windows.net is the same resource as management.azure.com.
            let arm = claims(
                of: h.accessToken(try await h.secretToken(scope: "https://management.core.windows.net//.default")))
            #expect((arm["aud"] as? String)?.hasPrefix("https://management.core.windows.net") == true)
            #expect(arm["roles"] == nil)

            let basic = Data(
                "\(Fixture.full):\(Fixture.secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)".utf8
            )
            .base64EncodedString()
            let reply = try await h.tokenRequest(
                [("grant_type", "client_credentials"), ("scope", "https://graph.microsoft.com/.default")],
                headers: [("Authorization", "Basic \(basic)")])
            #expect(claims(of: h.accessToken(reply))["appid"] as? String == Fixture.full)
        }
    }

    /// One row per AADSTS code of microsoft-facts §2.2 that the simulator must produce.
    struct ErrorCase: Sendable, CustomTestStringConvertible {
        let name: String
        let tenant: String
        let form: [String: String]
        let status: Int
        let error: String
        let code: Int
        let messageContains: String
        var testDescription: String { "\(code) \(name)" }
    }

    static let graphScope = "https://graph.microsoft.com/.default"
    static func form(
        _ clientId: String, secret: String? = Fixture.secret, scope: String = graphScope
    ) -> [String: String] {
        var f = ["grant_type": "client_credentials", "client_id": clientId, "scope": scope]
        if let secret { f["client_secret"] = secret }
        return f
    }

    static let errorCases: [ErrorCase] = [
        ErrorCase(
            name: "unknown tenant GUID", tenant: "99999999-9999-4999-8999-999999999999", form: form(Fixture.full),
            status: 400, error: "invalid_request", code: 90002, messageContains: "not found"),
        ErrorCase(
            name: "unknown tenant domain", tenant: "nowhere.onmicrosoft.com", form: form(Fixture.full), status: 400,
            error: "invalid_request", code: 90002, messageContains: "Tenant 'nowhere.onmicrosoft.com' not found"),
        ErrorCase(
            name: "malformed tenant", tenant: "not_a_tenant", form: form(Fixture.full), status: 400,
            error: "invalid_request", code: 900023, messageContains: "neither a valid DNS name"),
        ErrorCase(
            name: "app not in tenant", tenant: Fixture.tenant, form: form(Fixture.unknownApp), status: 400,
            error: "unauthorized_client", code: 700016, messageContains: "was not found in the directory"),
        ErrorCase(
            name: "no service principal", tenant: Fixture.tenant, form: form(Fixture.noServicePrincipal), status: 400,
            error: "unauthorized_client", code: 700016, messageContains: Fixture.noServicePrincipal),
        ErrorCase(
            name: "app disabled", tenant: Fixture.tenant, form: form(Fixture.disabled), status: 400,
            error: "unauthorized_client", code: 7000112, messageContains: "is disabled"),
        ErrorCase(
            name: "wrong secret", tenant: Fixture.tenant, form: form(Fixture.full, secret: "wrong-secret-value"),
            status: 401, error: "invalid_client", code: 7000215,
            messageContains: "client secret value, not the client secret ID"),
        ErrorCase(
            name: "secret ID pasted as the value", tenant: Fixture.tenant,
            form: form(Fixture.full, secret: "2f0e9c4e-6a1b-4c3d-8e5f-7a9b1c3d5e7f"), status: 401,
            error: "invalid_client", code: 7000215, messageContains: "Invalid client secret provided"),
        ErrorCase(
            name: "expired secret", tenant: Fixture.tenant,
            form: form(Fixture.expiredSecret, secret: Fixture.otherSecret),
            status: 401, error: "invalid_client", code: 7000222, messageContains: "are expired"),
        ErrorCase(
            name: "no credential", tenant: Fixture.tenant, form: form(Fixture.full, secret: nil), status: 401,
            error: "invalid_client", code: 7000218, messageContains: "'client_assertion' or 'client_secret'"),
        ErrorCase(
            name: "two resources", tenant: Fixture.tenant,
            form: form(Fixture.full, scope: "https://graph.microsoft.com/.default https://manage.office.com/.default"),
            status: 400, error: "invalid_scope", code: 70011, messageContains: "is not valid"),
        ErrorCase(
            name: "scope without /.default", tenant: Fixture.tenant,
            form: form(Fixture.full, scope: "https://graph.microsoft.com/User.Read.All"), status: 400,
            error: "invalid_scope", code: 70011, messageContains: "/.default"),
        ErrorCase(
            name: "unknown resource", tenant: Fixture.tenant,
            form: form(Fixture.full, scope: "https://api.example.com/.default"),
            status: 400, error: "invalid_resource", code: 500011, messageContains: "https://api.example.com"),
        ErrorCase(
            name: "resource not provisioned in the tenant", tenant: Fixture.tenant,
            form: form(Fixture.full, scope: "https://syncservice.o365syncservice.com/.default"), status: 400,
            error: "invalid_resource", code: 500011, messageContains: "was not found in the tenant named Contoso"),
        ErrorCase(
            name: "another tenant's SharePoint", tenant: Fixture.tenant,
            form: form(Fixture.full, scope: "https://fabrikam.sharepoint.com/.default"), status: 400,
            error: "invalid_resource", code: 500011, messageContains: "fabrikam.sharepoint.com"),
        ErrorCase(
            name: "conditional access", tenant: Fixture.tenant, form: form(Fixture.blocked), status: 400,
            error: "invalid_grant", code: 53003, messageContains: "Conditional Access"),
        ErrorCase(
            name: "unsupported grant", tenant: Fixture.tenant,
            form: ["grant_type": "password", "client_id": Fixture.full, "scope": graphScope], status: 400,
            error: "unsupported_grant_type", code: 70003, messageContains: "password"),
        ErrorCase(
            name: "common endpoint", tenant: "common", form: form(Fixture.full), status: 400, error: "invalid_request",
            code: 9001023, messageContains: "/common"),
    ]

    @Test("AADSTS errors have Microsoft's status, error, code and description format", arguments: errorCases)
    func aadstsErrors(_ c: ErrorCase) async throws {
        try await Harness.with { h in
            let correlation = UUID().uuidString.lowercased()
            let reply = try await h.tokenRequest(
                tenant: c.tenant, c.form.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                headers: [("client-request-id", correlation)])
            #expect(reply.status == c.status, "\(reply.text)")
            #expect(reply.json["error"] as? String == c.error)
            #expect(reply.aadCode == c.code)
            let description = try #require(reply.json["error_description"] as? String)
            #expect(description.hasPrefix("AADSTS\(c.code): "))
            #expect(description.contains(c.messageContains), "\(description)")
            let traceId = try #require(reply.json["trace_id"] as? String)
            let timestamp = try #require(reply.json["timestamp"] as? String)
            #expect(reply.json["correlation_id"] as? String == correlation)
            #expect(
                description.hasSuffix(
                    "\r\nTrace ID: \(traceId)\r\nCorrelation ID: \(correlation)\r\nTimestamp: \(timestamp)"))
            #expect(timestamp.wholeMatch(of: /\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z/) != nil)
            #expect(reply.json["error_uri"] as? String == "https://login.microsoftonline.com/error?code=\(c.code)")
            #expect(reply.json["access_token"] == nil)
        }
    }

    @Test("a certificate assertion (RS256 + x5t, PS256 + x5t#S256) yields a token with appidacr 2")
    func certificateAssertion() async throws {
        try await Harness.with { h in
            let cert = TestPKI.registered
            for pss in [false, true] {
                let assertion = cert.assertion(clientId: Fixture.full, audience: h.tokenEndpoint, pss: pss)
                let reply = try await h.certificateToken(
                    scope: "https://\(Fixture.sharePointHost)/.default", assertion: assertion)
                let c = claims(of: h.accessToken(reply))
                #expect(c["appidacr"] as? String == "2")
                #expect(c["aud"] as? String == "https://\(Fixture.sharePointHost)")
                #expect(c["roles"] as? [String] == ["Sites.Read.All"])
            }
            // The audience may name the real login host and the tenant's domain.
            let real = cert.assertion(
                clientId: Fixture.full,
                audience: "https://login.microsoftonline.com/\(Fixture.domain)/oauth2/v2.0/token")
            #expect(
                try await h.certificateToken(scope: "https://graph.microsoft.com/.default", assertion: real).status
                    == 200)
        }
    }

    @Test("AADSTS700027 names the reason: key not found, key expired, bad signature")
    func assertionKeyErrors() async throws {
        try await Harness.with { h in
            let scope = "https://\(Fixture.sharePointHost)/.default"
            let stranger = TestPKI.stranger
            let notFound = try await h.certificateToken(
                scope: scope, assertion: stranger.assertion(clientId: Fixture.full, audience: h.tokenEndpoint))
            #expect(notFound.status == 401)
            #expect(notFound.json["error"] as? String == "invalid_client")
            #expect(notFound.aadCode == 700027)
            let d1 = notFound.json["error_description"] as? String ?? ""
            #expect(
                d1.contains("[Reason - The key was not found., Thumbprint of key used by client: '\(stranger.thumbprint)'")
            )

            let expired = try await h.certificateToken(
                clientId: Fixture.expiredCert, scope: scope,
                assertion: TestPKI.registered.assertion(clientId: Fixture.expiredCert, audience: h.tokenEndpoint))
            #expect(expired.status == 401)
            #expect(expired.aadCode == 700027)
            let d2 = expired.json["error_description"] as? String ?? ""
            #expect(d2.contains("[Reason - The key used is expired."))
            #expect(d2.contains("Found key 'Start="))

            let forged = try await h.certificateToken(
                scope: scope,
                assertion: TestPKI.registered.assertion(
                    clientId: Fixture.full, audience: h.tokenEndpoint, signWith: stranger))
            #expect(forged.status == 401)
            #expect(forged.aadCode == 700027)
            let d3 = forged.json["error_description"] as? String ?? ""
            #expect(d3.contains("invalid signature"))
            #expect(!d3.contains("The key was not found"))
        }
    }

    @Test("an assertion outside its time range (beyond 5 minutes of skew) is AADSTS700024")
    func assertionTimeRange() async throws {
        try await Harness.with { h in
            let scope = "https://graph.microsoft.com/.default"
            let cert = TestPKI.registered
            let stale = cert.assertion(
                clientId: Fixture.full, audience: h.tokenEndpoint, lifetime: 600, issuedAgo: 1200)
            let reply = try await h.certificateToken(scope: scope, assertion: stale)
            #expect(reply.status == 401)
            #expect(reply.json["error"] as? String == "invalid_client")
            #expect(reply.aadCode == 700024)
            // Four minutes past expiry is inside the skew allowance.
            let skewed = cert.assertion(clientId: Fixture.full, audience: h.tokenEndpoint, lifetime: 60, issuedAgo: 300)
            #expect(try await h.certificateToken(scope: scope, assertion: skewed).status == 200)
            // Fractional NumericDates (MSAL Python) are accepted.
            let fractional = cert.assertion(clientId: Fixture.full, audience: h.tokenEndpoint, fractionalTimes: true)
            #expect(try await h.certificateToken(scope: scope, assertion: fractional).status == 200)
            // Issued ten minutes in the future.
            let future = cert.assertion(clientId: Fixture.full, audience: h.tokenEndpoint, issuedAgo: -600)
            #expect(try await h.certificateToken(scope: scope, assertion: future).aadCode == 700024)
        }
    }

    @Test("assertions for another client or another tenant's endpoint are refused")
    func assertionIssuerAndAudience() async throws {
        try await Harness.with { h in
            let scope = "https://graph.microsoft.com/.default"
            let wrongIssuer = TestPKI.registered.assertion(clientId: Fixture.bare, audience: h.tokenEndpoint)
            let r1 = try await h.certificateToken(scope: scope, assertion: wrongIssuer)
            #expect(r1.status == 401)
            #expect(r1.json["error"] as? String == "invalid_client")
            let wrongAudience = TestPKI.registered.assertion(
                clientId: Fixture.full,
                audience: "https://login.microsoftonline.com/\(Fixture.otherTenant)/oauth2/v2.0/token")
            let r2 = try await h.certificateToken(scope: scope, assertion: wrongAudience)
            #expect(r2.status == 401)
            #expect(r2.json["error"] as? String == "invalid_client")
        }
    }

    @Test("OpenID discovery points back at the simulator and the JWKS verifies issued tokens")
    func discoveryAndJWKS() async throws {
        try await Harness.with { h in
            let config = try await h.get("/login/\(Fixture.domain)/v2.0/.well-known/openid-configuration")
            #expect(config.status == 200)
            #expect(config.json["token_endpoint"] as? String == h.tokenEndpoint)
            #expect((config.json["authorization_endpoint"] as? String)?.hasPrefix(h.sim.baseURL + "/login/") == true)
            #expect(config.json["issuer"] as? String == h.sim.baseURL + "/login/\(Fixture.tenant)/v2.0")
            let jwksURI = try #require(config.json["jwks_uri"] as? String)
            let jwks = try await h.get(jwksURI)
            let key = try #require((jwks.json["keys"] as? [[String: Any]])?.first)
            #expect(key["kty"] as? String == "RSA")
            let n = try #require(b64urlDecode(key["n"] as? String ?? ""))
            let e = try #require(b64urlDecode(key["e"] as? String ?? ""))
            let publicKey = try _RSA.Signing.PublicKey(n: n, e: e)

            let token = h.accessToken(try await h.secretToken())
            let parts = token.split(separator: ".")
            let header = try JSONSerialization.jsonObject(with: Data(b64urlDecode(parts[0])!)) as? [String: Any]
            #expect(header?["alg"] as? String == "RS256")
            #expect(header?["kid"] as? String == key["kid"] as? String)
            let signature = _RSA.Signing.RSASignature(rawRepresentation: b64urlDecode(parts[2])!)
            let digest = SHA256.hash(data: Array("\(parts[0]).\(parts[1])".utf8))
            #expect(publicKey.isValidSignature(signature, for: digest, padding: .insecurePKCS1v1_5))

            let unknown = try await h.get("/login/nowhere.onmicrosoft.com/v2.0/.well-known/openid-configuration")
            #expect(unknown.status == 400)
            #expect(unknown.aadCode == 90002)
        }
    }

    @Test("the token endpoint only accepts POST")
    func postOnly() async throws {
        try await Harness.with { h in
            let reply = try await h.get("/login/\(Fixture.tenant)/oauth2/v2.0/token")
            #expect(reply.status == 400)
            #expect(reply.aadCode == 900561)
        }
    }
}
