import Foundation
import NIOHTTP1
import Testing

@testable import ConnwatchEntra

/// The one classification of a failed Microsoft or Zscaler reply: a documented error body
/// is a verdict; anything that cannot be understood — a bare status, an HTML page from a
/// gateway, a body nobody documents — is transient `bad_response`, like a timeout.
@Suite struct ReplyClassificationTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var status: Int
        var body: String
        var headers: [(String, String)] = []
        var transient: Bool
        var reason: String
        var testDescription: String { name }
    }

    static let graph: [Case] = [
        Case(
            name: "403 Authorization_RequestDenied", status: 403,
            body: #"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}"#,
            transient: false, reason: "probe_failed"),
        Case(
            name: "404 Request_ResourceNotFound", status: 404,
            body: #"{"error":{"code":"Request_ResourceNotFound","message":"Resource 'x' does not exist"}}"#,
            transient: false, reason: "probe_failed"),
        Case(name: "403 without a body (a proxy's)", status: 403, body: "", transient: true, reason: "bad_response"),
        Case(
            name: "401 with an HTML page", status: 401, body: "<html><body>Access denied</body></html>",
            transient: true, reason: "bad_response"),
        Case(name: "404 with an empty object", status: 404, body: "{}", transient: true, reason: "bad_response"),
        Case(name: "400 with an error without code", status: 400, body: #"{"error":{}}"#, transient: true, reason: "bad_response"),
        Case(name: "429", status: 429, body: "", transient: true, reason: "throttled"),
        Case(name: "503", status: 503, body: "", transient: true, reason: "unreachable"),
        Case(
            name: "SharePoint 401 with x-ms-diagnostics and no body", status: 401, body: "",
            headers: [("x-ms-diagnostics", #"3000003;reason="Invalid audience Uri 'x'";category="invalid_client""#)],
            transient: false, reason: "probe_failed"),
        Case(
            name: "SharePoint error_description", status: 401, body: #"{"error_description":"Unsupported app only token."}"#,
            transient: false, reason: "probe_failed"),
    ]

    @Test(arguments: graph)
    func microsoftReplies(_ c: Case) {
        let response = TransportResponse(status: c.status, headers: HTTPHeaders(c.headers), body: Data(c.body.utf8))
        let error = EntraError.apiError(APIRequester.failure(response, endpoint: "graph GET /x"))
        #expect(error.isTransient == c.transient)
        #expect(error.reason.rawValue == c.reason)
        if c.transient, case .apiError(let f) = error { #expect(!f.isForbidden, "a bare 403 is not 'not permitted'") }
    }

    @Test func malformedReplyBodiesAreTransient() {
        for error in [
            EntraError.badResponse(endpoint: "graph GET /x", detail: "not valid JSON"),
            .badResponse(endpoint: "arm GET /x", detail: "body exceeds the 4194304-byte cap"),
            .badResponse(endpoint: "login POST /token", detail: "token reply is not a JSON object"),
        ] {
            #expect(error.isTransient && error.reason == .badResponse, "\(error)")
        }
    }

    /// The fault suite's 200s that cannot be read (Tests/e2e/test_faults.py), one row each,
    /// through every adapter's reader: the token reply, a Graph object, an Office 365 list,
    /// the ZIA tenant list. Each is `bad_response`, transient — never a verdict.
    static let unreadable200s: [(name: String, body: String)] = [
        ("empty_body", ""),
        ("wrong_content_type (an HTML page)", "<!DOCTYPE html>\n<html><body><h1>Access denied</h1></body></html>"),
        ("malformed (half the JSON)", #"{"value":[{"id":"5c1e"#),
        ("wrong_types (an object became an array)", "[1]"),
        ("wrong_types (a string became a number)", #"{"appId":36,"passwordCredentials":"2 items"}"#),
        ("JSON null", "null"),
    ]

    @Test(arguments: unreadable200s.map(\.name))
    func unreadable200sAreTransientEverywhere(_ name: String) throws {
        let body = Data(Self.unreadable200s.first { $0.name == name }!.body.utf8)
        let ok = TransportResponse(status: 200, headers: [:], body: body)
        var errors: [EntraError] = []
        do {
            _ = try TokenClient.parse(ok, endpoint: "login POST /token", scope: "x/.default", now: Date())
        } catch { errors.append(error) }
        do {
            _ = try StrictProblem.decode(ApplicationInfo.self, from: body, endpoint: "graph GET /applications")
        } catch { errors.append(error) }
        do {
            _ = try StrictProblem.decodeList(from: body, endpoint: "office GET /subscriptions/list") {
                (o) throws(StrictProblem) in try o.string("contentType")
            }
        } catch { errors.append(error) }
        do {
            _ = try StrictProblem.decodeList(from: body, endpoint: "zia GET /casbTenant/lite") {
                (o) throws(StrictProblem) in try ZIAClient.LiteTenant(strict: o)
            }
        } catch { errors.append(error) }
        #expect(errors.count == 4, "every reader refuses \(name)")
        for error in errors {
            guard case .badResponse = error else {
                Issue.record("\(name): \(error) is not bad_response")
                continue
            }
            #expect(error.isTransient && error.reason == .badResponse, "\(error)")
        }
    }

    @Test func ziaFailuresKnowWhetherTheirBodyIsDocumented() {
        let documented = ZIAClient.failure(
            TransportResponse(status: 401, headers: [:], body: Data(#"{"code":"UNAUTHORIZED","message":"x"}"#.utf8)),
            endpoint: "zia GET /casbTenant/lite")
        #expect(documented.documented && !EntraError.apiError(documented).isTransient)
        let bare = ZIAClient.failure(
            TransportResponse(status: 401, headers: [:], body: Data("<html>gateway</html>".utf8)),
            endpoint: "zia GET /casbTenant/lite")
        #expect(!bare.documented && EntraError.apiError(bare).isTransient)
    }
}
