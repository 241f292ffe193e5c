import ConnwatchCore
import Foundation
import Testing

@testable import ConnwatchAlerting

@Suite struct WebhookRetryPolicyTests {
    let policy = WebhookRetryPolicy()

    @Test func productionScheduleIsEightAttemptsOverAboutTwentyEightHours() {
        #expect(policy.maxAttempts == 8)
        // Without jitter (random = 0.5 is the middle), the delays are exactly the schedule.
        let delays = (1..<8).map { attempt -> Duration in
            guard case .retry(let d) = policy.decide(attempt: attempt, result: .failure("x"), random: 0.5) else {
                Issue.record("attempt \(attempt) should be retried")
                return .zero
            }
            return d
        }
        #expect(delays == [.seconds(5), .seconds(300), .seconds(1800), .seconds(7200), .seconds(18000),
                           .seconds(36000), .seconds(36000)])
        #expect(policy.decide(attempt: 8, result: .failure("x")) == .dead)
        #expect(policy.decide(attempt: 9, result: .response(status: 500, retryAfter: nil)) == .dead)
    }

    @Test func jitterStaysWithinTenPercent() {
        #expect(policy.decide(attempt: 2, result: .failure("x"), random: 0) == .retry(after: .seconds(270)))
        #expect(policy.decide(attempt: 2, result: .failure("x"), random: 1) == .retry(after: .seconds(330)))
    }

    @Test func statusClasses() {
        for s in [200, 201, 202, 204, 299] {
            #expect(policy.decide(attempt: 1, result: .response(status: s, retryAfter: nil)) == .delivered)
        }
        #expect(policy.decide(attempt: 1, result: .response(status: 410, retryAfter: nil)) == .gone)
        // Even on the last attempt, 410 is gone, not dead.
        #expect(policy.decide(attempt: 8, result: .response(status: 410, retryAfter: nil)) == .gone)
        for s in [301, 302, 307, 400, 404, 429, 500, 502, 503] {
            guard case .retry = policy.decide(attempt: 1, result: .response(status: s, retryAfter: nil)) else {
                Issue.record("\(s) should be retried")
                continue
            }
        }
        #expect(WebhookAttemptResult.response(status: 302, retryAfter: nil).errorText?.contains("redirects") == true)
        #expect(WebhookAttemptResult.response(status: 204, retryAfter: nil).errorText == nil)
        #expect(WebhookAttemptResult.response(status: 503, retryAfter: nil).errorText == "HTTP 503")
    }

    @Test func retryAfterIsHonouredAndCapped() {
        // Longer than the schedule: wait as asked.
        #expect(
            policy.decide(attempt: 1, result: .response(status: 429, retryAfter: .seconds(120)), random: 0.5)
                == .retry(after: .seconds(120)))
        // Shorter than the schedule: the schedule wins (never earlier than asked, not sooner than planned).
        #expect(
            policy.decide(attempt: 3, result: .response(status: 503, retryAfter: .seconds(10)), random: 0.5)
                == .retry(after: .seconds(1800)))
        // A year is capped at a day.
        #expect(
            policy.decide(attempt: 1, result: .response(status: 429, retryAfter: .seconds(31_536_000)), random: 0.5)
                == .retry(after: .seconds(86400)))
        // A scaled (test) schedule still honours Retry-After literally.
        let fast = WebhookRetryPolicy(scale: 0.001)
        #expect(
            fast.decide(attempt: 1, result: .response(status: 429, retryAfter: .seconds(3)), random: 0.5)
                == .retry(after: .seconds(3)))
    }

    @Test func retryAfterParsing() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(WebhookRetryPolicy.parseRetryAfter("120", now: now) == .seconds(120))
        #expect(WebhookRetryPolicy.parseRetryAfter(" 0 ", now: now) == .seconds(0))
        #expect(WebhookRetryPolicy.parseRetryAfter("-5", now: now) == nil)
        #expect(WebhookRetryPolicy.parseRetryAfter("soon", now: now) == nil)
        #expect(WebhookRetryPolicy.parseRetryAfter(nil, now: now) == nil)
        // HTTP-date, 90 s after now.
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        #expect(WebhookRetryPolicy.parseRetryAfter(f.string(from: now + 90), now: now) == .seconds(90))
        #expect(WebhookRetryPolicy.parseRetryAfter(f.string(from: now - 90), now: now) == .seconds(0))
    }

    @Test func testKnobOnlyShortens() {
        #expect(WebhookRetryPolicy(environment: [:]) == WebhookRetryPolicy())
        #expect(WebhookRetryPolicy(environment: ["CONNWATCH_WEBHOOK_BACKOFF_SCALE": "0.01"]).delays.first == .milliseconds(50))
        // Nonsense or lengthening values keep production.
        for v in ["0", "-1", "2", "abc"] {
            #expect(WebhookRetryPolicy(environment: ["CONNWATCH_WEBHOOK_BACKOFF_SCALE": v]) == WebhookRetryPolicy())
        }
    }
}
