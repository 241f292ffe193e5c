import ConnwatchCore
import Foundation

/// What one webhook attempt came back with, as far as the retry decision cares.
public enum WebhookAttemptResult: Sendable, Equatable {
    /// An HTTP response. `retryAfter`: the `Retry-After` header as a delay, when given.
    case response(status: Int, retryAfter: Duration?)
    /// No response: timeout, connection refused, TLS, DNS. The text is already secret-free.
    case failure(String)

    /// The text recorded with the attempt; nil for a success.
    public var errorText: String? {
        switch self {
        case .response(let status, _) where (200..<300).contains(status): nil
        case .response(let status, _) where (300..<400).contains(status):
            "HTTP \(status): redirects are not followed (point the webhook at the final URL)"
        case .response(410, _): "HTTP 410 Gone: the endpoint asked connwatch to stop"
        case .response(let status, _): "HTTP \(status)"
        case .failure(let text): text
        }
    }
}

/// The decision after one attempt.
public enum WebhookAttemptDecision: Sendable, Equatable {
    case delivered
    case retry(after: Duration)
    /// That was the last attempt.
    case dead
    /// 410 Gone: stop this delivery and every other one to the webhook.
    case gone
}

/// The retry schedule of SPEC §5 / ops-facts §2.2 (Svix's): attempt 1 immediately, then
/// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after each failure — eight attempts over about
/// 28 hours — each delay with ±`jitter` so many failing deliveries do not retry in step.
/// `Retry-After` is honoured: the next attempt is never earlier than the endpoint asked.
/// 2xx delivers; 3xx is a failure (redirects are not followed); 410 is gone.
public struct WebhookRetryPolicy: Sendable, Equatable {
    /// Delays after failed attempt 1, 2, …; its length + 1 is the number of attempts.
    public static let productionDelays: [Duration] = [
        .seconds(5), .seconds(300), .seconds(1800), .seconds(7200), .seconds(18000), .seconds(36000),
        .seconds(36000),
    ]

    public var delays: [Duration]
    /// Fraction of each delay added or taken at random (0.1 = ±10 %).
    public var jitter: Double
    /// A `Retry-After` longer than this is capped (a broken endpoint cannot park a delivery for a year).
    public var maxRetryAfter: Duration

    /// - Parameter scale: multiplies every delay; 1 in production. Tests shorten the
    ///   schedule with `CONNWATCH_WEBHOOK_BACKOFF_SCALE` (see ``init(environment:)``).
    public init(scale: Double = 1, jitter: Double = 0.1, maxRetryAfter: Duration = .seconds(86400)) {
        self.delays = WebhookRetryPolicy.productionDelays.map { $0 * max(0, scale) }
        self.jitter = jitter
        self.maxRetryAfter = maxRetryAfter
    }

    /// The production schedule, unless `CONNWATCH_WEBHOOK_BACKOFF_SCALE` (a number in
    /// (0, 1]) shortens it — a knob for tests and demos, documented as such.
    public init(environment: [String: String]) {
        if let raw = environment["CONNWATCH_WEBHOOK_BACKOFF_SCALE"], let scale = Double(raw), scale > 0, scale <= 1 {
            self.init(scale: scale)
        } else {
            self.init()
        }
    }

    /// Attempts before a delivery is dead.
    public var maxAttempts: Int { delays.count + 1 }

    /// - Parameters:
    ///   - attempt: the number of the attempt that just ended, 1-based.
    ///   - random: a value in 0...1 for the jitter (injected in tests).
    public func decide(attempt: Int, result: WebhookAttemptResult, random: Double = Double.random(in: 0...1))
        -> WebhookAttemptDecision
    {
        var retryAfter: Duration?
        switch result {
        case .response(let status, _) where (200..<300).contains(status): return .delivered
        case .response(410, _): return .gone
        case .response(_, let after): retryAfter = after
        case .failure: break
        }
        guard attempt >= 1, attempt < maxAttempts else { return .dead }
        let base = delays[attempt - 1]
        let factor = 1 + jitter * (2 * min(1, max(0, random)) - 1)
        var delay = base * factor
        if let retryAfter { delay = max(delay, min(retryAfter, maxRetryAfter)) }
        return .retry(after: delay)
    }

    /// `Retry-After` (RFC 9110 §10.2.3): delta-seconds or an HTTP-date, as a delay from `now`.
    public static func parseRetryAfter(_ value: String?, now: Date) -> Duration? {
        guard let v = value?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
        if let n = Int(v) { return n >= 0 ? .seconds(n) : nil }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = f.date(from: v) else { return nil }
        return .seconds(max(0, Int(date.timeIntervalSince(now).rounded(.up))))
    }
}
