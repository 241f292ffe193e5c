import ConnwatchCore
import Foundation
import NIOHTTP1
import Testing

@testable import ConnwatchEntra

/// Reading why SharePoint refused a token from its 401's headers, when the body says nothing.
@Suite struct BearerRefusalTests {
    static let challenge =
        #"Bearer realm="5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41",client_id="00000003-0000-0ff1-ce00-000000000000",trusted_issuers="00000001-0000-0000-c000-000000000000@*,https://sts.windows.net/*/",authorization_uri="https://login.windows.net/common/oauth2/authorize""#

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var diagnostics: String?
        var challenge: String?
        var code: String?
        /// nil: no reason found.
        var message: String?
        var testDescription: String { name }
    }

    @Test(arguments: [
        Case(
            name: "secret-issued token",
            diagnostics: #"3000003;reason="Unsupported app only token.";category="invalid_client""#,
            challenge: challenge + #",error="invalid_client",error_description="Unsupported app only token.""#,
            code: "invalid_client",
            message:
                "Unsupported app only token (x-ms-diagnostics 3000003): SharePoint accepts app-only tokens obtained with a certificate, not with a client secret"
        ),
        Case(
            name: "invalid audience, quotes and a ';' inside the reason",
            diagnostics:
                #"3000003;reason="Invalid audience Uri 'https://graph.microsoft.com'; see \"aud\"";category="invalid_client""#,
            challenge: nil, code: "invalid_client",
            message:
                #"Invalid audience Uri 'https://graph.microsoft.com'; see "aud" (x-ms-diagnostics 3000003): the token was issued for another resource than this SharePoint host"#
        ),
        Case(
            name: "challenge only",
            diagnostics: nil,
            challenge: challenge + #", error="invalid_client", error_description="Invalid issuer or signature.""#,
            code: "invalid_client", message: "Invalid issuer or signature: the token was not issued by this tenant"),
        Case(
            name: "another scheme first, lower-case names",
            diagnostics: nil, challenge: #"NTLM, bearer ERROR="invalid_token",Error_Description="The token is odd""#,
            code: "invalid_token", message: "The token is odd"),
        Case(
            name: "diagnostics without a category: the challenge's error",
            diagnostics: #"3000006;reason="Token expired.""#, challenge: challenge + #",error="invalid_client""#,
            code: "invalid_client", message: "Token expired (x-ms-diagnostics 3000006): the token has expired"),
        Case(
            name: "unquoted values", diagnostics: "3000006; reason=Unknown; category=invalid_client", challenge: nil,
            code: "invalid_client", message: "Unknown (x-ms-diagnostics 3000006)"),
        Case(name: "no reason anywhere", diagnostics: #"3000003;category="invalid_client""#, challenge: challenge),
        Case(name: "empty reason", diagnostics: #"3000003;reason="";category="invalid_client""#, challenge: nil),
        Case(name: "no headers"),
        Case(name: "garbage", diagnostics: "\"\";;==;\"", challenge: "Bearer =,=\",\\"),
    ])
    func readsTheReason(_ c: Case) {
        let refusal = BearerRefusal(diagnostics: c.diagnostics, challenge: c.challenge)
        #expect(refusal?.message == c.message)
        if c.message != nil { #expect(refusal?.code == c.code) }
    }

    /// Through the failure parser: a body's reason is kept; an empty one is replaced.
    @Test func failureUsesTheHeadersOnlyWhenTheBodyIsSilent() {
        var headers = HTTPHeaders()
        headers.add(
            name: "x-ms-diagnostics", value: #"3000003;reason="Unsupported app only token.";category="invalid_client""#)
        headers.add(name: "WWW-Authenticate", value: Self.challenge)
        func failure(_ body: String) -> APIFailure {
            APIRequester.failure(
                TransportResponse(status: 401, headers: headers, body: Data(body.utf8)),
                endpoint: "sharepoint GET /_api/web")
        }
        for silent in ["", "{}", #"{"error_description": ""}"#, "<html>Unauthorized</html>"] {
            let f = failure(silent)
            #expect(f.code == "invalid_client", "\(silent)")
            #expect(f.message.hasPrefix("Unsupported app only token (x-ms-diagnostics 3000003)"), "\(silent)")
            #expect(
                f.description.hasPrefix(
                    "sharepoint GET /_api/web: HTTP 401 invalid_client: Unsupported app only token (x-ms-diagnostics"))
        }
        let spoken = failure(#"{"error_description": "Invalid JWT token. The token is expired."}"#)
        #expect(spoken.code == "HTTP401")
        #expect(spoken.message == "Invalid JWT token. The token is expired.")
    }
}
