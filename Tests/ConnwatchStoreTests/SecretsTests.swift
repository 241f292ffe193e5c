import ConnwatchCore
import ConnwatchTestSupport
import Foundation
import GRDB
import Testing

@testable import ConnwatchStore

/// SPEC §6/§9: no secret, token or key material is ever stored — only fingerprints.
@Suite struct SecretsTests {
    /// Builds check results and notifications the way checks do: from code that holds
    /// the `Secret` and puts only its hint (and its redacted description, by mistake) in
    /// what it reports.
    private struct SecretHoldingCheck {
        let secret: Secret
        let keyId = "kid-SENTINEL-6f1c0e0a"
        let thumbprint = "THUMB-SENTINEL-A1B2C3"

        func result(at now: Date) -> CheckResult {
            CheckResult(
                check: .credential, status: .critical, reason: .secretInvalid,
                summary: "secret \(secret.hint)… rejected (value \(secret))",
                details: [
                    "hint": .string(secret.hint), "key_id": .string(keyId), "thumbprint": .string(thumbprint),
                    "configured": .string("\(secret)"), "length": .int(Int64(secret.count)),
                    "debug": .string(String(reflecting: secret)),
                ],
                remediation: "create a new client secret (step 1b)", checkedAt: now,
                expiry: CredentialExpiry(credentialId: keyId, expiresAt: now + 86400))
        }
    }

    @Test func noSecretReachesTheDatabaseFileOrItsWAL() async throws {
        let value = "Zq8~SENTINEL-s3cr3t.Value_7f1e"
        let check = SecretHoldingCheck(secret: Secret(value))
        let dir = try TemporaryDirectory.store()
        let store = try HistoryStore.open(path: dir.databasePath)
        let t0 = Fixture.t0
        let result = check.result(at: t0)
        var n = 0
        let (state, actions) = AlertStateMachine.evaluate(
            previous: nil, connector: "conn-00001", result: result,
            context: AlertContext(now: t0, settings: AlertSettings()),
            nextID: {
                n += 1
                return "n\(n)"
            })
        let body = try JSONEncoder().encode(["summary": result.summary, "hint": check.secret.hint])
        try await store.commit(
            CycleBatch(
                at: t0, connectors: [Fixture.cycle(1, at: t0, override: [.credential: result])],
                alertStates: [AlertKey(connector: "conn-00001", check: .credential): state],
                notifications: actions.map {
                    OutgoingNotification(notification: $0.notification, body: body, webhooks: ["soc"])
                }))
        // The failure path too: a rejected batch's error carries no value.
        let error = await #expect(throws: StoreError.self) {
            try await store.commit(
                CycleBatch(
                    at: t0,
                    notifications: actions.map {
                        OutgoingNotification(notification: $0.notification, body: body, webhooks: ["soc"])
                    }))
        }
        let message = error?.description ?? ""
        #expect(!message.isEmpty)
        #expect(!message.contains("SENTINEL"))
        try await store.recordDaemonEvent(.reloadFailed, message: "secret file \(check.secret) unreadable", at: t0)

        // Before close (the WAL holds the data) and after (checkpointed into the main file).
        func scan() throws -> Data {
            var bytes = Data()
            for file in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
                bytes += try Data(contentsOf: URL(fileURLWithPath: dir.path + "/" + file))
            }
            return bytes
        }
        let open = try scan()
        try store.close()
        let closed = try scan()
        for bytes in [open, closed] {
            #expect(bytes.range(of: Data(value.utf8)) == nil, "the secret value is in the database files")
            #expect(bytes.range(of: Data("SENTINEL-s3cr3t".utf8)) == nil, "part of the secret is in the database files")
            // The scan sees what was stored: the fingerprints are there.
            #expect(bytes.range(of: Data(check.keyId.utf8)) != nil)
            #expect(bytes.range(of: Data(check.thumbprint.utf8)) != nil)
            #expect(bytes.range(of: Data("<redacted>".utf8)) != nil)
        }
    }
}
