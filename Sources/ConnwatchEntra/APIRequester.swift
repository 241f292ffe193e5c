import ConnwatchCore
import Foundation
import NIOHTTP1

/// Authenticated JSON GETs with error-body parsing shared by the Graph, ARM, Office 365
/// and SharePoint readers. Every reply is read with the strict reader (``StrictProblem``,
/// over ``CompactJSON``): a wrong type or a missing field is a `badResponse` naming the
/// endpoint and the field, never a crash and never its value.
struct APIRequester: Sendable {
    let transport: HTTPTransport
    /// Service name for error messages: "graph", "arm", "office", "sharepoint".
    let service: String

    /// A GET whose reply is one JSON object, read with ``StrictDecodable``.
    func get<T: StrictDecodable>(
        strict type: T.Type, url: String, path: String, token: AccessToken, headers: [(String, String)] = []
    ) async throws(EntraError) -> T {
        let endpoint = "\(service) GET \(path)"
        let body = try await fetch(url: url, endpoint: endpoint, token: token, headers: headers)
        return try StrictProblem.decode(T.self, from: body, endpoint: endpoint)
    }

    /// A GET whose reply is a JSON array of objects, read with ``StrictObject``.
    func list<T>(
        url: String, path: String, token: AccessToken, _ element: (StrictObject) throws(StrictProblem) -> T
    ) async throws(EntraError) -> [T] {
        let endpoint = "\(service) GET \(path)"
        let body = try await fetch(url: url, endpoint: endpoint, token: token, headers: [])
        return try StrictProblem.decodeList(from: body, endpoint: endpoint, element)
    }

    /// The body of a 2xx reply; any other status is an `apiError`.
    func fetch(
        url: String, endpoint: String, token: AccessToken, headers: [(String, String)] = []
    ) async throws(EntraError) -> Data {
        var all = [("Authorization", token.value.withValue { "Bearer \($0)" })]
        if !headers.contains(where: { $0.0.lowercased() == "accept" }) { all.append(("Accept", "application/json")) }
        let response = try await transport.send(TransportRequest(url: url, headers: all + headers, endpoint: endpoint))
        guard (200..<300).contains(response.status) else {
            throw .apiError(APIRequester.failure(response, endpoint: endpoint))
        }
        return response.body
    }

    /// Graph `{"error":{"code","message","innerError":{"request-id"}}}`, ARM
    /// `{"error":{"code","message"}}`, Office 365 `{"error":{"code":"AF…"}}`, SharePoint
    /// `{"error_description"}` or `{"odata.error":{"code","message":{"value"}}}`; without a
    /// message there, the reason in `x-ms-diagnostics` / `WWW-Authenticate` (``BearerRefusal``).
    static func failure(_ response: TransportResponse, endpoint: String) -> APIFailure {
        let json = CompactJSON.object(response.body)
        var code = "HTTP\(response.status)"
        var message = ""
        var requestId = response.headers.first(name: "request-id") ?? response.headers.first(name: "x-ms-request-id")
        if case .object(let err)? = json?["error"] {
            code = err["code"]?.stringValue ?? code
            message = err["message"]?.stringValue ?? ""
            if case .object(let inner)? = err["innerError"] ?? err["innererror"],
                let id = inner["request-id"]?.stringValue
            {
                requestId = id
            }
        } else if case .object(let odata)? = json?["odata.error"] {
            code = odata["code"]?.stringValue ?? code
            if case .object(let m)? = odata["message"] { message = m["value"]?.stringValue ?? "" }
        } else if let d = json?["error_description"]?.stringValue {
            message = d
        }
        // An empty body, or one that says nothing: SharePoint's 401s say why in headers.
        if message.isEmpty,
            let refusal = BearerRefusal(
                diagnostics: response.headers.first(name: "x-ms-diagnostics"),
                challenge: response.headers.first(name: "WWW-Authenticate"))
        {
            if code == "HTTP\(response.status)", let c = refusal.code { code = c }
            message = refusal.message
        }
        return APIFailure(
            endpoint: endpoint, status: response.status, code: code, message: String(message.prefix(300)),
            requestId: requestId, documented: code != "HTTP\(response.status)" || !message.isEmpty)
    }
}

/// ISO 8601 as Microsoft writes it: `2027-05-01T00:00:00Z`, with 0–7 fractional digits.
/// Whole seconds (the fraction is dropped). A missing zone (`…T00:00:00.123`) means UTC.
enum MicrosoftDate {
    static func parse(_ s: String) -> Date? {
        // Integer parsing, not ISO8601DateFormatter (~0.2 ms to create one): a cycle reads
        // several dates per connector.
        if let d = CivilTime.parseTimestamp(s, keepFraction: false) { return d }
        if s.contains("."), !s.hasSuffix("Z"), !s.hasSuffix("z") {
            return CivilTime.parseTimestamp(s + "Z", keepFraction: false)
        }
        return nil
    }
}

/// Percent-encodes a value for use inside a URL path or query.
func urlEscape(_ s: String) -> String {
    FormEncoding.escape(s)
}
