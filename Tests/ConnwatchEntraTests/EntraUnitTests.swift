import ConnwatchCore
import Crypto
import Foundation
import NIOHTTP1
import ConnwatchTestSupport
import Testing
import _CryptoExtras

@testable import ConnwatchEntra

@Suite struct AADSTSMappingTests {
    @Test(arguments: [
        (7_000_215, "invalid_client", Reason.secretInvalid),
        (7_000_222, "invalid_client", .secretExpired),
        (700_016, "unauthorized_client", .appNotFound),
        (700_011, "unauthorized_client", .appNotFound),
        (90002, "invalid_request", .tenantNotFound),
        (900_023, "invalid_request", .tenantInvalid),
        (7_000_112, "unauthorized_client", .appDisabled),
        (70001, "unauthorized_client", .appDisabled),
        (700_027, "invalid_client", .certRejected),
        (700_024, "invalid_client", .clockSkew),
        (70011, "invalid_scope", .idpError),
        (500_011, "invalid_resource", .resourceMissing),
        (50001, "invalid_resource", .resourceMissing),
        (53003, "invalid_grant", .blockedByPolicy),
        (530_032, "invalid_grant", .blockedByPolicy),
        (90055, "invalid_request", .throttled),
        (50196, "invalid_request", .throttled),
        (50000, "temporarily_unavailable", .unreachable),
        (90033, "temporarily_unavailable", .unreachable),
        (99_999_999, "invalid_request", .idpError),
    ])
    func codesMapToReasons(code: Int, error: String, reason: Reason) {
        #expect(AADSTSMapping.reason(code: code, error: error) == reason)
    }

    @Test func errorIsTheFallbackWithoutCodes() {
        #expect(AADSTSMapping.reason(code: nil, error: "temporarily_unavailable") == .unreachable)
        #expect(AADSTSMapping.reason(code: nil, error: "invalid_client") == .idpError)
    }

    @Test func certificateProblemVariants() {
        let notFound =
            "AADSTS700027: Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: 'ABC']"
        let expired =
            "AADSTS700027: Client assertion contains an invalid signature. [Reason - The key used is expired., Found key 'Start=…, End=…']"
        #expect(AADSTSMapping.certificateProblem(code: 700_027, description: notFound) == .keyNotFound)
        #expect(AADSTSMapping.certificateProblem(code: 700_027, description: expired) == .keyExpired)
        #expect(AADSTSMapping.certificateProblem(code: 700_027, description: "AADSTS700027: bad") == .invalidSignature)
        #expect(AADSTSMapping.certificateProblem(code: 7_000_215, description: notFound) == nil)
    }
}

@Suite struct TokenReplyParsingTests {
    static func response(_ status: Int, _ json: String) -> TransportResponse {
        TransportResponse(status: status, headers: HTTPHeaders(), body: Data(json.utf8))
    }

    static func jwt(_ payload: [String: Any]) -> String {
        let h = Base64URL.encode(Data(#"{"alg":"RS256","typ":"JWT"}"#.utf8))
        let p = Base64URL.encode(try! JSONSerialization.data(withJSONObject: payload))
        return "\(h).\(p).c2ln"
    }

    @Test func successReadsRolesAndExpiry() throws {
        let token = Self.jwt([
            "roles": ["Mail.Send", "User.Read.All"], "tid": "t", "oid": "o", "appid": "a", "appidacr": "1",
        ])
        let now = Date(timeIntervalSince1970: 1_000_000)
        let t = try TokenClient.parse(
            Self.response(
                200, #"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"\#(token)"}"#),
            endpoint: "e", scope: "s", now: now)
        #expect(t.claims.roles == ["Mail.Send", "User.Read.All"])
        #expect(t.claims.hasRolesClaim)
        #expect(t.claims.objectId == "o")
        #expect(t.claims.authMethod == "1")
        #expect(t.expiresAt == now.addingTimeInterval(3599))
        #expect(t.value.withValue { $0 } == token)
        #expect(!"\(t)".contains(token))
    }

    @Test func noRolesClaimMeansNoConsent() throws {
        let token = Self.jwt(["tid": "t", "appid": "a"])
        let t = try TokenClient.parse(
            Self.response(200, #"{"token_type":"Bearer","expires_in":"3599","access_token":"\#(token)"}"#),
            endpoint: "e",
            scope: "s", now: Date())
        #expect(t.claims.roles.isEmpty)
        #expect(!t.claims.hasRolesClaim)
    }

    @Test func errorReplyKeepsSupportIdentifiers() {
        let body = #"""
            {"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app 'abc'.\r\nTrace ID: 11111111-1111-1111-1111-111111111111\r\nCorrelation ID: 22222222-2222-2222-2222-222222222222\r\nTimestamp: 2026-11-29 06:00:00Z","error_codes":[7000215],"timestamp":"2026-11-29 06:00:00Z","trace_id":"11111111-1111-1111-1111-111111111111","correlation_id":"22222222-2222-2222-2222-222222222222","error_uri":"https://login.microsoftonline.com/error?code=7000215"}
            """#
        #expect(throws: EntraError.self) {
            try TokenClient.parse(Self.response(401, body), endpoint: "e", scope: "s", now: Date())
        }
        do {
            _ = try TokenClient.parse(Self.response(401, body), endpoint: "e", scope: "s", now: Date())
        } catch {
            guard case .tokenRejected(let f) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(f.reason == .secretInvalid)
            #expect(f.code == 7_000_215)
            #expect(f.httpStatus == 401)
            #expect(f.traceId == "11111111-1111-1111-1111-111111111111")
            #expect(f.correlationId == "22222222-2222-2222-2222-222222222222")
            #expect(f.message.hasPrefix("AADSTS7000215: Invalid client secret provided."))
            #expect(!f.message.contains("Trace ID"))
            #expect(f.details["trace_id"] == .string("11111111-1111-1111-1111-111111111111"))
            #expect(!error.isTransient)
        }
    }

    @Test func codeFromDescriptionWhenErrorCodesIsAbsent() {
        do {
            _ = try TokenClient.parse(
                Self.response(
                    400, #"{"error":"invalid_request","error_description":"AADSTS90002: Tenant 'x' not found."}"#),
                endpoint: "e", scope: "s", now: Date())
        } catch {
            guard case .tokenRejected(let f) = error else {
                Issue.record("wrong error")
                return
            }
            #expect(f.reason == .tenantNotFound)
            #expect(f.code == 90002)
        }
    }

    @Test(arguments: [
        (200, "not json"),
        (200, #"{"token_type":"Bearer","expires_in":3599}"#),
        (200, #"{"token_type":"mac","expires_in":3599,"access_token":"a.b.c"}"#),
        (200, #"{"token_type":"Bearer","expires_in":-5,"access_token":"a.b.c"}"#),
        (200, #"{"token_type":"Bearer","expires_in":3599,"access_token":"opaque"}"#),
        (400, "<html>bad gateway</html>"),
        (200, #"["token"]"#),
    ])
    func malformedRepliesAreBadResponses(status: Int, body: String) {
        do {
            _ = try TokenClient.parse(Self.response(status, body), endpoint: "login POST", scope: "s", now: Date())
            Issue.record("accepted \(body)")
        } catch {
            guard case .badResponse(let endpoint, _) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(endpoint == "login POST")
        }
    }
}

@Suite struct TokenClaimsTests {
    static func jws(_ payload: String) -> String {
        "eyJhbGciOiJSUzI1NiJ9." + Base64URL.encode(Data(payload.utf8)) + ".c2ln"
    }

    @Test func decodesOnlyThreePartCompactTokens() throws {
        let claims = try #require(
            TokenClaims.decode(Self.jws(#"{"roles":["Sites.Read.All"],"tid":"t","oid":"o","azp":"a","exp":1800000000}"#)))
        #expect(claims.roles == ["Sites.Read.All"] && claims.hasRolesClaim && claims.tenantId == "t")
        #expect(claims.objectId == "o" && claims.appId == "a")
        #expect(claims.expiresAt == Date(timeIntervalSince1970: 1_800_000_000))
        let token = Self.jws("{}")
        #expect(TokenClaims.decode(token + ".extra") == nil)
        #expect(TokenClaims.decode(String(token.prefix { $0 != "." })) == nil)
        #expect(TokenClaims.decode(token.replacingOccurrences(of: ".c2ln", with: "")) == nil)
        #expect(TokenClaims.decode("a..b") == nil)
        #expect(TokenClaims.decode("") == nil)
        #expect(TokenClaims.decode(Self.jws("{}"))?.hasRolesClaim == false)
    }
}

@Suite struct CertificateTests {
    @Test(arguments: [CertificateCredential.Algorithm.rs256, .ps256])
    func clientAssertionIsSignedWithTheCertificateKey(algorithm: CertificateCredential.Algorithm) throws {
        let pair = try TestPKI.rsaCertificate()
        let cred = try CertificateCredential(certificatePEM: pair.certificatePEM, privateKey: pair.privateKeyPEM)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let aud = "https://login.microsoftonline.com/t/oauth2/v2.0/token"
        let jwt = try cred.clientAssertion(audience: aud, clientId: "cid", now: now, algorithm: algorithm).withValue {
            $0
        }
        let parts = jwt.split(separator: ".").map(String.init)
        #expect(parts.count == 3)
        let header = try JSONSerialization.jsonObject(with: Base64URL.decode(parts[0])!) as! [String: String]
        let claims = try JSONSerialization.jsonObject(with: Base64URL.decode(parts[1])!) as! [String: Any]
        #expect(header["alg"] == algorithm.rawValue)
        #expect(header["typ"] == "JWT")
        let der = Data(cred.certificateDER)
        switch algorithm {
        case .rs256: #expect(header["x5t"] == Base64URL.encode(Data(Insecure.SHA1.hash(data: der))))
        case .ps256: #expect(header["x5t#S256"] == Base64URL.encode(Data(SHA256.hash(data: der))))
        }
        #expect(claims["aud"] as? String == aud)
        #expect(claims["iss"] as? String == "cid")
        #expect(claims["sub"] as? String == "cid")
        #expect(claims["nbf"] as? Int == 1_800_000_000)
        #expect(claims["iat"] as? Int == 1_800_000_000)
        #expect(claims["exp"] as? Int == 1_800_000_600)
        // Compact JSON with sorted keys and unescaped slashes (the byte-level writer).
        let headerText = String(decoding: Base64URL.decode(parts[0])!, as: UTF8.self)
        let thumbprint = header["x5t"] ?? header["x5t#S256"] ?? ""
        let thumbprintKey = algorithm == .rs256 ? "x5t" : "x5t#S256"
        #expect(headerText == #"{"alg":"\#(algorithm.rawValue)","typ":"JWT","\#(thumbprintKey)":"\#(thumbprint)"}"#)
        let claimsText = String(decoding: Base64URL.decode(parts[1])!, as: UTF8.self)
        #expect(claimsText.hasPrefix(#"{"aud":"https://login.microsoftonline.com/t/oauth2/v2.0/token","exp":1800000600,"#))
        #expect((claims["jti"] as? String).map { UUID(uuidString: $0) != nil } == true)
        let sig = _RSA.Signing.RSASignature(rawRepresentation: Base64URL.decode(parts[2])!)
        let digest = SHA256.hash(data: Data("\(parts[0]).\(parts[1])".utf8))
        let padding: _RSA.Signing.Padding = algorithm == .rs256 ? .insecurePKCS1v1_5 : .PSS
        #expect(pair.key.publicKey.isValidSignature(sig, for: digest, padding: padding))
        #expect(cred.sha1Thumbprint == Insecure.SHA1.hash(data: der).map { String(format: "%02X", $0) }.joined())
    }

    @Test func aKeyFromAnotherCertificateIsAMismatch() throws {
        let a = try TestPKI.rsaCertificate(), b = try TestPKI.rsaCertificate(key: 1)
        #expect(throws: CertificateCredential.LoadError.keyMismatch) {
            try CertificateCredential(certificatePEM: a.certificatePEM, privateKey: b.privateKeyPEM)
        }
    }

    @Test func cachedKeyFileFollowsTheFileOnDisk() throws {
        let temporary = try TemporaryDirectory("kf")
        let dir = temporary.path
        let path = dir + "/key.json"
        func text(_ pair: TestPKI.Pair) -> String {
            SharePointKeyFile.render(certificatePEM: pair.certificatePEM, privateKeyPEM: pair.privateKeyPEM)
                .withValue { $0 }
        }
        let a = text(try TestPKI.rsaCertificate())
        let b = text(try TestPKI.rsaCertificate(key: 1))
        let thumbA = try SharePointKeyFile.parse(Data(a.utf8)).sha1Thumbprint
        let thumbB = try SharePointKeyFile.parse(Data(b.utf8)).sha1Thumbprint
        let cache = SharePointKeyFile.Cache()
        func write(_ text: String, to path: String = path, mode: Int = 0o600) throws {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        }
        try write(a)
        #expect(try cache.load(path: path).sha1Thumbprint == thumbA)
        #expect(try cache.load(path: path).sha1Thumbprint == thumbA)
        // Rewritten with another certificate: read again, not the cached one.
        try write(b)
        #expect(try cache.load(path: path).sha1Thumbprint == thumbB)
        // Made readable by others since the configuration was loaded: refused at the check.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        #expect(throws: SharePointKeyFile.ParseError.unsafe(path: path, .looseMode(0o644))) {
            try cache.load(path: path)
        }
        // Replaced by a symlink to a good key file: refused, not followed.
        try write(a, to: dir + "/elsewhere.json")
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: dir + "/elsewhere.json")
        #expect(throws: SharePointKeyFile.ParseError.unsafe(path: path, .symlink)) { try cache.load(path: path) }
        try FileManager.default.removeItem(atPath: path)
        // Broken, then gone: the error each time, never the last good parse.
        try write("{")
        #expect(throws: SharePointKeyFile.ParseError.notJSON("syntax error")) { try cache.load(path: path) }
        try FileManager.default.removeItem(atPath: path)
        #expect(throws: SharePointKeyFile.ParseError.unreadable(path: path)) { try cache.load(path: path) }
    }

    @Test func keyFileRoundTripAndTypographicQuotes() throws {
        let pair = try TestPKI.rsaCertificate()
        let file = SharePointKeyFile.render(certificatePEM: pair.certificatePEM, privateKeyPEM: pair.privateKeyPEM)
        let text = file.withValue { $0 }
        #expect(!text.dropLast().contains("\n"), "one line")
        #expect(text.hasPrefix(#"{"private_key": "-----BEGIN "#))
        let cred = try SharePointKeyFile.parse(Data(text.utf8))
        #expect(cred.notValidAfter == pair.certificate.notValidAfter)

        // The reference document's sample, curly quotes and all.
        let curly =
            "{\u{201C}private_key\u{201D}: \u{201D}<Private Key>\u{201D}, \u{201C}public_cert\u{201D}: \u{201D}<Certificate>\u{201D} }"
        #expect(throws: SharePointKeyFile.ParseError.typographicQuotes(line: 1, column: 2, character: "\u{201C}")) {
            try SharePointKeyFile.parse(Data(curly.utf8))
        }
        #expect(throws: SharePointKeyFile.ParseError.notJSON("syntax error")) {
            try SharePointKeyFile.parse(Data("{".utf8))
        }
        #expect(throws: SharePointKeyFile.ParseError.missingField("public_cert")) {
            try SharePointKeyFile.parse(Data(#"{"private_key": "x"}"#.utf8))
        }
        #expect(throws: SharePointKeyFile.ParseError.notPEM(field: "private_key")) {
            try SharePointKeyFile.parse(Data(#"{"private_key": "x", "public_cert": "y"}"#.utf8))
        }
        let other = try TestPKI.rsaCertificate(key: 1)
        let mismatched = SharePointKeyFile.render(
            certificatePEM: pair.certificatePEM, privateKeyPEM: other.privateKeyPEM)
        #expect(throws: SharePointKeyFile.ParseError.credential(.keyMismatch)) {
            try SharePointKeyFile.parse(Data(mismatched.withValue { $0 }.utf8))
        }
        // No error description carries key material.
        let key = pair.privateKeyPEM.withValue { $0 }
        let body = key.split(separator: "\n")[1]
        for e in [SharePointKeyFile.ParseError.notPEM(field: "private_key"), .credential(.keyMismatch), .notJSON("x")] {
            #expect(!e.description.contains(body))
        }
    }
}

@Suite struct WireDetailTests {
    @Test func keyCredentialThumbprintAcceptsBase64AndHex() {
        let bytes = Data((0..<20).map { UInt8($0 * 7) })
        let hex = bytes.map { String(format: "%02X", $0) }.joined()
        var k = KeyCredentialInfo(keyId: "k", customKeyIdentifier: bytes.base64EncodedString())
        #expect(k.thumbprintHex == hex)
        k.customKeyIdentifier = hex.lowercased()
        #expect(k.thumbprintHex == hex)
        k.customKeyIdentifier = nil
        #expect(k.thumbprintHex == nil)
    }

    @Test func microsoftDatesWithAnyFraction() {
        let expected = Date(timeIntervalSince1970: 1_809_129_600)  // 2027-05-01T00:00:00Z
        #expect(MicrosoftDate.parse("2027-05-01T00:00:00Z") == expected)
        #expect(MicrosoftDate.parse("2027-05-01T00:00:00.1234567Z") == expected)
        #expect(MicrosoftDate.parse("2027-05-01T00:00:00.5+00:00") == expected)
        #expect(MicrosoftDate.parse("2027-05-01") == nil)
    }

    @Test func retryAfterSecondsOrDate() {
        var h = HTTPHeaders()
        h.add(name: "Retry-After", value: "7")
        #expect(HTTPTransport.retryAfterSeconds(h) == 7)
        h.replaceOrAdd(name: "Retry-After", value: "Wed, 21 Oct 2015 07:28:00 GMT")
        #expect(HTTPTransport.retryAfterSeconds(h) == 0)
        h.replaceOrAdd(name: "Retry-After", value: "soon")
        #expect(HTTPTransport.retryAfterSeconds(h) == nil)
    }

    @Test func formEncodingEscapesEverythingButUnreserved() {
        #expect(
            FormEncoding.encode([("client_secret", "a+b/c=d&e f~"), ("scope", "https://graph.microsoft.com/.default")])
                == "client_secret=a%2Bb%2Fc%3Dd%26e%20f~&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default")
    }

    @Test func hexMatchesStringFormat() {
        let all = (0...255).map(UInt8.init)
        #expect(Hex.encode(all, uppercase: true) == all.map { String(format: "%02X", $0) }.joined())
        #expect(Hex.encode(all, uppercase: false) == all.map { String(format: "%02x", $0) }.joined())
        #expect(Hex.encode([UInt8](), uppercase: true) == "")
    }

    /// The byte loop agrees with Foundation's percent-encoding over the unreserved set,
    /// for ASCII, multi-byte UTF-8 and random strings.
    @Test func formEscapingMatchesFoundation() {
        var rng = SystemRandomNumberGenerator()
        var samples = ["", "abcXYZ019-._~", " !\"#$%&'()*+,/:;<=>?@[\\]^`{|}", "é日本🙂\u{0}\u{7F}", "a%20b"]
        let alphabet = Array("aZ9-._~ +/=&%é日🙂\n\t\u{1}")
        for _ in 0..<500 {
            samples.append(String((0..<Int.random(in: 0..<40, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }))
        }
        // RFC 3986 unreserved characters: everything else is percent-encoded.
        let unreserved = CharacterSet(
            charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        for s in samples {
            #expect(FormEncoding.escape(s) == s.addingPercentEncoding(withAllowedCharacters: unreserved))
            #expect(urlEscape(s) == FormEncoding.escape(s))
        }
        #expect(FormEncoding.encode([]) == "")
        #expect(FormEncoding.encode([("a b", "c&d"), ("é", "")]) == "a%20b=c%26d&%C3%A9=")
    }

    @Test func apiFailureParsesEachErrorShape() {
        func f(_ status: Int, _ body: String) -> APIFailure {
            APIRequester.failure(
                TransportResponse(status: status, headers: HTTPHeaders(), body: Data(body.utf8)), endpoint: "e")
        }
        let graph = f(
            403,
            #"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"request-id":"r1","date":"2026-11-29T06:00:00"}}}"#
        )
        #expect(graph.code == "Authorization_RequestDenied")
        #expect(graph.requestId == "r1")
        #expect(graph.isForbidden)
        #expect(f(403, #"{"error":{"code":"AuthorizationFailed","message":"no"}}"#).isForbidden)
        #expect(
            f(
                401,
                #"{"error":{"code":"AF10001","message":"The permission set () sent in the request does not include the expected permission."}}"#
            ).isForbidden)
        let sp = f(401, #"{"error_description":"Unsupported app only token."}"#)
        #expect(sp.message == "Unsupported app only token.")
        #expect(sp.code == "HTTP401")
        #expect(f(500, "<html>").code == "HTTP500")
    }
}
