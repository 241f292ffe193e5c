import ConnwatchCore
import Foundation

/// Everything that can go wrong talking to Microsoft, typed so a check can branch on it.
/// Descriptions name the endpoint and never carry a secret, token or assertion.
public enum EntraError: Error, Sendable, Equatable, CustomStringConvertible {
    /// DNS, connection refused, TLS failure, reset: the network, not Microsoft's answer.
    case unreachable(endpoint: String, detail: String)
    /// No complete answer within the deadline.
    case timeout(endpoint: String)
    /// 429 (or 503) that outlasted the bounded retries; `retryAfter` seconds if Microsoft said.
    case throttled(endpoint: String, retryAfter: Int?)
    /// 5xx that outlasted the bounded retries.
    case serverError(endpoint: String, status: Int)
    /// A reply that is not what the documentation promises: malformed JSON, wrong types,
    /// missing fields, a body over the size cap.
    case badResponse(endpoint: String, detail: String)
    /// The token endpoint refused the credential (AADSTS error).
    case tokenRejected(TokenFailure)
    /// Graph / ARM / Office 365 / SharePoint answered with an error body.
    case apiError(APIFailure)

    public var description: String {
        switch self {
        case .unreachable(let e, let d): "\(e): unreachable: \(d)"
        case .timeout(let e): "\(e): no answer in time"
        case .throttled(let e, let r): "\(e): throttled" + (r.map { " (Retry-After \($0)s)" } ?? "")
        case .serverError(let e, let s): "\(e): server error HTTP \(s)"
        case .badResponse(let e, let d): "\(e): unexpected reply: \(d)"
        case .tokenRejected(let f): f.description
        case .apiError(let f): f.description
        }
    }

    /// The one classification of a failure (issue: never a false page): network trouble,
    /// 5xx, 429, timeouts and any reply that cannot be understood — malformed, wrong types,
    /// over the size cap, or an error status without a documented error body (a proxy or a
    /// gateway answering 401/403/404 in Microsoft's place) — count towards the
    /// N-consecutive-failures rule instead of flipping a check at once. Only a documented
    /// answer (an AADSTS code, a Graph/ARM/Office error body) is a verdict.
    public var isTransient: Bool {
        switch self {
        case .unreachable, .timeout, .throttled, .serverError, .badResponse: true
        case .tokenRejected(let f): f.isTransient
        case .apiError(let f): f.status == 429 || f.status >= 500 || !f.documented
        }
    }

    /// The Core reason a check reports for this error when no more specific one applies.
    public var reason: Reason {
        switch self {
        case .unreachable, .timeout, .serverError: .unreachable
        case .throttled: .throttled
        case .badResponse: .badResponse
        case .tokenRejected(let f): f.reason
        case .apiError(let f):
            f.status == 429 ? .throttled : f.status >= 500 ? .unreachable : !f.documented ? .badResponse : .probeFailed
        }
    }
}

/// An AADSTS error from the token endpoint (microsoft-facts §2.1–2.2), reduced to what an
/// operator and Microsoft support need. `trace_id` / `correlation_id` are what a support
/// ticket asks for, so they are kept.
public struct TokenFailure: Sendable, Equatable, CustomStringConvertible {
    public var endpoint: String
    public var httpStatus: Int
    /// OAuth `error`, e.g. `invalid_client`.
    public var error: String
    /// The first of `error_codes`, e.g. 7000215.
    public var code: Int?
    /// The first line of `error_description` ("AADSTS7000215: Invalid client secret …"),
    /// without the Trace/Correlation/Timestamp trailer.
    public var message: String
    public var traceId: String?
    public var correlationId: String?
    public var timestamp: String?
    public var reason: Reason
    /// AADSTS700027's "[Reason - …]" variant, when present.
    public var certificateProblem: CertificateProblem?

    public enum CertificateProblem: String, Sendable, Equatable {
        case keyNotFound = "key_not_found"
        case keyExpired = "key_expired"
        case invalidSignature = "invalid_signature"
    }

    public var isTransient: Bool { reason == .unreachable || reason == .throttled }

    public var description: String {
        var s = "\(endpoint): token request refused (HTTP \(httpStatus) \(error)"
        if let code { s += ", AADSTS\(code)" }
        s += "): \(message)"
        return s
    }

    /// Details for a check result: everything here is safe to store and show.
    public var details: [String: JSONValue] {
        var d: [String: JSONValue] = ["error": .string(error), "http_status": .int(Int64(httpStatus))]
        if let code { d["aadsts"] = .int(Int64(code)) }
        d["error_description"] = .string(message)
        if let traceId { d["trace_id"] = .string(traceId) }
        if let correlationId { d["correlation_id"] = .string(correlationId) }
        if let timestamp { d["timestamp"] = .string(timestamp) }
        if let certificateProblem { d["certificate_problem"] = .string(certificateProblem.rawValue) }
        return d
    }
}

/// An error body from Graph (`{"error":{"code","message","innerError":{"request-id"}}}`),
/// ARM (`{"error":{"code","message"}}`), Office 365 Management (`AF…` codes) or SharePoint.
public struct APIFailure: Sendable, Equatable, CustomStringConvertible {
    public var endpoint: String
    public var status: Int
    public var code: String
    public var message: String
    public var requestId: String?
    /// The error was read from a documented error body (or SharePoint's diagnostics
    /// headers); false when the status came alone or with a body nobody documents — then
    /// it is not Microsoft's answer to trust but a transient `bad_response`.
    public var documented: Bool = true

    /// 403 `Authorization_RequestDenied` (Graph), `AuthorizationFailed` (ARM), `AF10001`
    /// (Office 365): the credential works but lacks a permission — "not permitted", not "down".
    /// Only with a documented body: a bare 403 may be a proxy's.
    public var isForbidden: Bool {
        documented
            && (status == 403 || code == "Authorization_RequestDenied" || code == "AuthorizationFailed"
                || code == "AF10001")
    }

    public var isNotFound: Bool { status == 404 }

    public var description: String {
        "\(endpoint): HTTP \(status) \(code): \(message)" + (requestId.map { " (request-id \($0))" } ?? "")
    }

    public var details: [String: JSONValue] {
        var d: [String: JSONValue] = [
            "http_status": .int(Int64(status)), "code": .string(code), "message": .string(message),
        ]
        if let requestId { d["request_id"] = .string(requestId) }
        return d
    }
}
