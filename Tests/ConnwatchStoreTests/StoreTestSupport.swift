import ConnwatchCore
import ConnwatchTestSupport
import Foundation
import GRDB
import Testing

@testable import ConnwatchStore

extension TemporaryDirectory {
    /// A new directory for a store.
    static func store() throws -> TemporaryDirectory { try TemporaryDirectory("store") }

    var databasePath: String { path + "/connwatch.sqlite" }
}

/// Which store a contract test runs against (Gatus-style: one suite, every implementation).
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case file
    case memory

    var testDescription: String { rawValue }

    /// The store and the directory that must outlive it (nil for memory).
    func open() throws -> (HistoryStore, TemporaryDirectory?) {
        switch self {
        case .file:
            let dir = try TemporaryDirectory.store()
            return (try HistoryStore.open(path: dir.databasePath), dir)
        case .memory:
            return (try HistoryStore.openInMemory(), nil)
        }
    }
}

enum Fixture {
    static let t0 = Date(timeIntervalSince1970: 1_750_000_000)
    static let hour: TimeInterval = 3600
    static let day: TimeInterval = 86400
    /// Six checks per connector, as in the scale target.
    static let checks: [CheckKind] = [.credential, .secretExpiry, .certificate, .consent, .probe, .zscaler]

    static func identity(_ i: Int) -> ConnectorIdentity {
        ConnectorIdentity(
            name: String(format: "conn-%05d", i), kind: .sharepoint,
            tenantId: "00000000-0000-0000-0000-\(String(format: "%012d", i))",
            clientId: "11111111-1111-1111-1111-\(String(format: "%012d", i))",
            labels: i % 2 == 0 ? ["customer": "Contoso \(i)", "owner": "secops@contoso.example"] : [:])
    }

    static func ok(_ check: CheckKind, at: Date, summary: String? = nil) -> CheckResult {
        var r = CheckResult(
            check: check, status: .ok, reason: .ok, summary: summary ?? "\(check) fine",
            details: ["calls": ["Graph users": "ok"], "required": 12], checkedAt: at)
        if check == .secretExpiry {
            r.details = ["key_id": "6f1c0e0a-0000-4000-8000-000000000001", "hint": "Zq8", "days_left": 200]
            r.expiry = CredentialExpiry(
                credentialId: "6f1c0e0a-0000-4000-8000-000000000001", expiresAt: t0 + 200 * day)
        }
        return r
    }

    static func failing(
        _ check: CheckKind, at: Date, reason: Reason = .consentMissing, status: CheckStatus = .critical
    )
        -> CheckResult
    {
        CheckResult(
            check: check, status: status, reason: reason, summary: "\(check) broken: \(reason)",
            details: ["missing_permissions": ["Microsoft Graph: Mail.Send"], "failing_actions": ["Quarantine"]],
            remediation: "add the API permissions and grant admin consent (step 2)", checkedAt: at)
    }

    static func cycle(_ i: Int, at: Date, override: [CheckKind: CheckResult] = [:]) -> ConnectorCycle {
        ConnectorCycle(
            identity: identity(i),
            outcomes: checks.map { CheckOutcome(result: override[$0] ?? ok($0, at: at)) })
    }

    static func notification(
        _ id: String, alertId: String? = nil, connector: String, check: CheckKind = .consent,
        state: AlertPhase = .firing, severity: Severity = .critical, suppressed: Bool = false, at: Date
    ) -> AlertNotification {
        AlertNotification(
            id: id, alertId: alertId ?? id, connector: connector, check: check, eventType: .consentMissing,
            state: state,
            severity: severity, status: state == .firing ? .critical : .ok,
            reason: state == .firing ? .consentMissing : .ok,
            summary: "1 required permission not granted", remediation: "grant admin consent (step 2)",
            details: ["missing_permissions": ["Microsoft Graph: Mail.Send"]],
            missingPermissions: state == .firing ? ["Microsoft Graph: Mail.Send"] : nil,
            cause: state == .firing ? .firstNotification : .resolved, suppressed: suppressed, createdAt: at)
    }

    static func outgoing(_ n: AlertNotification, webhooks: [String]) -> OutgoingNotification {
        OutgoingNotification(
            notification: n, body: Data(#"{"alert_id":"\#(n.alertId)","state":"\#(n.state.rawValue)"}"#.utf8),
            webhooks: webhooks)
    }
}

extension HistoryStore {
    /// Raw SQL for assertions on rows the API does not expose.
    func count(_ table: String, where condition: String = "1") async throws -> Int {
        try await writer.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table) WHERE \(condition)") ?? 0
        }
    }

    /// Checkpoints the WAL into the main file and returns the file's size in bytes.
    func fileSizeAfterCheckpoint() async throws -> Int {
        try await writer.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            let size = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 0
            return pages * size
        }
    }
}

/// Milliseconds of a `ContinuousClock` duration, for printed timings.
func millis(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
}
