import ConnwatchCore
import Crypto
import Foundation
import Testing

@testable import ConnwatchAlerting

@Suite struct StandardWebhooksTests {
    /// The spec's own test vector (standard-webhooks libraries/go/webhook_test.go, ops-facts §2.1).
    @Test func specTestVector() throws {
        let key = try StandardWebhooks.key(Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        let sig = StandardWebhooks.signature(
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Data(#"{"test": 2432232314}"#.utf8),
            key: key)
        #expect(sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test func rotationSendsEverySignature() throws {
        let a = try StandardWebhooks.key(Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        let b = try StandardWebhooks.key(Secret("whsec_" + Data(repeating: 9, count: 32).base64EncodedString()))
        let h = StandardWebhooks.headers(id: "n1", timestamp: 1, body: Data("{}".utf8), keys: [a, b])
        #expect(h[0] == ("webhook-id", "n1") && h[1] == ("webhook-timestamp", "1"))
        let entries = h[2].1.split(separator: " ")
        #expect(h[2].0 == "webhook-signature")
        #expect(entries.count == 2 && entries.allSatisfy { $0.hasPrefix("v1,") })
        #expect(StandardWebhooks.headers(id: "n1", timestamp: 1, body: Data(), keys: []).count == 2)
    }

    @Test func badKeysAreRefusedWithoutEchoingThem() {
        for bad in ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_c2hvcnQ=", "whsec_***"] {
            #expect(throws: StandardWebhooks.KeyError.notAKey) { try StandardWebhooks.key(Secret(bad)) }
        }
        #expect(!StandardWebhooks.KeyError.notAKey.description.contains("MfKQ"))
    }

    /// Signing from the configured secrets: all of them, or an error naming which one cannot
    /// be used (never its value), so a delivery is never sent with fewer signatures than
    /// configured, or none.
    @Test func headersFromSecretsSignWithEveryKeyOrThrow() throws {
        let good = Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        let body = Data("{}".utf8)
        let fromSecrets = try StandardWebhooks.headers(id: "n1", timestamp: 1, body: body, secrets: [good])
        let fromKeys = StandardWebhooks.headers(
            id: "n1", timestamp: 1, body: body, keys: [try StandardWebhooks.key(good)])
        #expect(fromSecrets.map(\.0) == fromKeys.map(\.0) && fromSecrets.map(\.1) == fromKeys.map(\.1))
        #expect(try StandardWebhooks.headers(id: "n1", timestamp: 1, body: body, secrets: []).count == 2)

        #expect(throws: StandardWebhooks.SigningKeyError(position: 1, count: 1, reason: .notAKey)) {
            try StandardWebhooks.headers(id: "n1", timestamp: 1, body: body, secrets: [Secret("whsec_***")])
        }
        do {
            _ = try StandardWebhooks.headers(
                id: "n1", timestamp: 1, body: body, secrets: [good, Secret("not-a-key-value")])
            Issue.record("a rotation with a bad second key was signed")
        } catch {
            #expect(error == StandardWebhooks.SigningKeyError(position: 2, count: 2, reason: .notAKey))
            #expect(error.description.contains("signing key 2 of 2"))
            #expect(error.description.contains("never sent unsigned"))
            #expect(!error.description.contains("not-a-key-value"))
        }
    }
}
