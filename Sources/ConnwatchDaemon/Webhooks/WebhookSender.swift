import ConnwatchAlerting
import ConnwatchCore
import ConnwatchEntra
import Foundation
import NIOCore

/// Posts one webhook attempt: verified TLS (system trust plus `[daemon] ca_file`), the
/// configured proxy, no redirects, the webhook's own timeout, no retries (the outbox
/// keeps the schedule). What it returns is free of the URL: Slack and Teams URLs carry
/// a token, so errors never quote them.
public struct WebhookSender: Sendable {
    let transport: HTTPTransport

    public init(
        caFile: String?, proxy: String?, proxyCredentials: Secret? = nil, noProxy: [String] = []
    ) throws(EntraError) {
        var settings = TransportSettings()
        settings.caFile = caFile
        settings.proxy = proxy
        settings.proxyCredentials = proxyCredentials
        settings.noProxy = noProxy
        settings.maxAttempts = 1
        settings.maxBodyBytes = 1 << 20
        // An endpoint that does not take a connection within 3 s fails this attempt (the
        // HTTP client keeps retrying a refused connect until then); the schedule tries again.
        settings.connectTimeout = .seconds(3)
        settings.connectionsPerHost = DeliveryWorker.Limits().perWebhook
        transport = try HTTPTransport(settings: settings)
    }

    public func shutdown() async { await transport.shutdown() }

    /// One POST. `webhook` names the endpoint in errors instead of its URL.
    /// - Parameter clock: what an HTTP-date `Retry-After` is measured from.
    public func send(
        webhook: String, url: Secret, headers: [(String, String)], body: Data, timeout: Duration, clock: WallClock
    ) async -> WebhookAttemptResult {
        let urlString = url.withValue { $0 }
        var request = TransportRequest(
            method: .POST, url: urlString, headers: headers, body: body, endpoint: "webhook \(webhook)")
        let seconds = max(1, timeout.components.seconds)
        request.timeout = .seconds(seconds)
        do {
            let response = try await transport.exchange(request)
            let retryAfter = WebhookRetryPolicy.parseRetryAfter(
                response.headers.first(name: "retry-after"), now: clock.now())
            return .response(status: response.status, retryAfter: retryAfter)
        } catch {
            return .failure(WebhookSender.redact(WebhookSender.describe(error, timeout: seconds), url: urlString))
        }
    }

    static func describe(_ error: EntraError, timeout: Int64) -> String {
        switch error {
        case .timeout: return "no complete answer within \(timeout)s"
        case .unreachable(_, let detail):
            if detail.contains("Connection refused") || detail.contains("connectionRefused") {
                return "connection refused"
            }
            if detail.hasPrefix("TLS") { return detail }
            if detail.contains("dns") || detail.contains("DNS") || detail.contains("resolve") {
                return "could not resolve the host name"
            }
            return "could not connect: \(detail)"
        case .badResponse(_, let detail): return "bad response: \(detail)"
        default: return "could not send: \(error)"
        }
    }

    /// Belt and braces: whatever a lower layer put into an error, the URL's path and
    /// query (where Slack/Teams tokens live) never leave this function.
    static func redact(_ text: String, url: String) -> String {
        var out = text
        if let u = URLComponents(string: url) {
            for part in [url, u.percentEncodedQuery, u.percentEncodedPath].compactMap({ $0 })
            where part.count > 1 {
                out = out.replacingOccurrences(of: part, with: "<redacted>")
            }
        }
        return String(out.prefix(300))
    }
}
