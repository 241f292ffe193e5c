import ConnwatchCore
import Foundation
import Synchronization

@testable import ConnwatchCLI

/// Replies of a fixed daemon, for golden output: four connectors in every state, at a fixed now.
enum Fixture {
    static func t(_ s: String) -> Date { RFC3339.date(s)! }

    static let now = t("2026-11-29T12:00:00Z")
    static let tenant = "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41"

    static func id(_ n: Int) -> String { String(format: "d0000000-0000-4000-8000-%012d", n) }

    static func ok(_ check: CheckKind, _ summary: String, at: String) -> CheckResult {
        CheckResult(check: check, status: .ok, reason: .ok, summary: summary, checkedAt: t(at))
    }

    static let exchange = StatusReport.ConnectorStatus(
        identity: ConnectorIdentity(
            name: "contoso-exchange", kind: .exchange, tenantId: tenant, clientId: id(1),
            labels: ["customer": "Contoso", "owner": "secops"]),
        checks: [
            ok(.credential, "credential accepted for 2 resources", at: "2026-11-29T11:57:00Z"),
            CheckResult(
                check: .secretExpiry, status: .warning, reason: .secretExpiring,
                summary: "the client secret expires on 9 Dec 2026 (in 9 days)",
                details: ["days_left": .int(9), "hint": .string("Xq8")],
                remediation: CheckResult.remediation(.clientSecret, .authorize), checkedAt: t("2026-11-29T11:57:00Z"),
                expiry: CredentialExpiry(credentialId: "f4741be2", expiresAt: t("2026-12-09T08:00:00Z"))),
            ok(.consent, "all 9 required application permissions granted", at: "2026-11-29T11:57:00Z"),
            ok(.probe, "Graph users, Office 365 subscriptions/list answered", at: "2026-11-29T11:57:00Z"),
        ])

    static let onedrive = StatusReport.ConnectorStatus(
        identity: ConnectorIdentity(name: "contoso-onedrive", kind: .onedrive, tenantId: tenant, clientId: id(2)),
        checks: [
            ok(.credential, "credential accepted for 2 resources", at: "2026-11-29T11:00:00Z"),
            CheckResult(
                check: .secretExpiry, status: .ok, reason: .ok, summary: "the client secret expires in 300 days",
                checkedAt: t("2026-11-29T11:00:00Z"),
                expiry: CredentialExpiry(credentialId: "0b1c", expiresAt: t("2027-09-25T12:00:00Z"))),
            ok(.consent, "all 12 required application permissions granted", at: "2026-11-29T11:00:00Z"),
            ok(.probe, "Graph groups answered", at: "2026-11-29T11:00:00Z"),
        ])

    static let teams = StatusReport.ConnectorStatus(
        identity: ConnectorIdentity(name: "contoso-teams", kind: .teams, tenantId: tenant, clientId: id(3)),
        checks: [
            ok(.credential, "credential accepted for 1 resource", at: "2026-11-29T11:59:58Z"),
            CheckResult(
                check: .consent, status: .critical, reason: .consentMissing,
                summary: "1 required permission not granted: Chat.UpdatePolicyViolation.All (Quarantine fails)",
                details: ["missing_permissions": .array([.string("Chat.UpdatePolicyViolation.All")])],
                remediation: CheckResult.remediation(.apiPermissions, .authorize), checkedAt: t("2026-11-29T11:59:58Z")),
        ])

    static let blob = StatusReport.ConnectorStatus(
        identity: ConnectorIdentity(name: "contoso-blob", kind: .azureBlob, tenantId: tenant, clientId: id(4)),
        checks: [])

    static let report = StatusReport(
        daemon: .init(version: "0.1.0", startedAt: t("2026-11-29T08:00:00Z"), lastCycleAt: t("2026-11-29T11:30:00Z")),
        connectors: [exchange, onedrive, teams, blob])

    static let history = ControlAPI.HistoryReply(
        connector: "contoso-exchange", since: t("2026-11-22T12:00:00Z"),
        results: [
            .init(id: 7, result: ok(.secretExpiry, "the client secret expires in 31 days", at: "2026-11-08T09:00:00Z")),
            .init(id: 19, result: exchange.checks[1]),
        ],
        transitions: [
            .init(
                id: 3, check: .secretExpiry, from: .ok, to: .warning, reason: "secret_expiring",
                at: t("2026-11-29T11:57:00Z"))
        ])

    static let alerts = ControlAPI.AlertsReply(
        alerts: [
            ControlAPI.Alert(
                AlertNotification(
                    id: "019ad0a0-0000-7000-8000-000000000002", alertId: "019ad0a0-0000-7000-8000-000000000002",
                    connector: "contoso-teams", check: .consent, eventType: .consentMissing, state: .firing,
                    severity: .critical, status: .critical, reason: .consentMissing,
                    summary: "1 required permission not granted: Chat.UpdatePolicyViolation.All (Quarantine fails)",
                    missingPermissions: ["Chat.UpdatePolicyViolation.All"], cause: .firstNotification, suppressed: true,
                    createdAt: t("2026-11-29T11:59:58Z"))),
            ControlAPI.Alert(
                AlertNotification(
                    id: "019ad0a0-0000-7000-8000-000000000001", alertId: "019ad0a0-0000-7000-8000-000000000001",
                    connector: "contoso-exchange", check: .secretExpiry, eventType: .secretExpiring, state: .firing,
                    severity: .warning, status: .warning, reason: .secretExpiring,
                    summary: "the client secret expires on 9 Dec 2026 (in 9 days)", daysLeft: 9,
                    expiresAt: t("2026-12-09T08:00:00Z"), cause: .ladderStep(days: 14),
                    createdAt: t("2026-11-29T09:00:00Z"))),
        ],
        silences: [
            ControlAPI.SilenceInfo(
                Silence(
                    id: 4, connector: "contoso-teams", reason: "consent pending with the customer's admin",
                    author: "alice", createdAt: t("2026-11-29T11:00:00Z"), expiresAt: t("2026-11-30T11:00:00Z")))
        ])

    static let deliveries = ControlAPI.DeliveriesReply(deliveries: [
        .init(
            id: 13, notificationId: "019ad0a0-0000-7000-8000-000000000002", connector: "contoso-exchange",
            webhook: "secops", eventType: "connector.secret.expiring", status: "delivered", attempts: 2,
            nextAttemptAt: t("2026-11-29T09:00:05Z"), lastHTTPStatus: nil,
            lastError: "delivered to ops@example.com; refused: old@example.com (550 5.1.1 no such user)",
            createdAt: t("2026-11-29T09:00:00Z"), finishedAt: t("2026-11-29T09:00:06Z"), sinkKind: "email"),
        .init(
            id: 12, notificationId: "019ad0a0-0000-7000-8000-000000000001", connector: "contoso-exchange",
            webhook: "soc", eventType: "connector.secret.expiring", status: "pending", attempts: 2,
            nextAttemptAt: t("2026-11-29T12:05:00Z"), lastHTTPStatus: 503, lastError: "Service Unavailable",
            createdAt: t("2026-11-29T09:00:00Z"), finishedAt: nil),
        .init(
            id: 9, notificationId: "019ad0a0-0000-7000-8000-000000000000", connector: "contoso-blob", webhook: "slack",
            eventType: "connector.roles.missing", status: "dead", attempts: 8, nextAttemptAt: t("2026-11-28T10:00:00Z"),
            lastHTTPStatus: nil, lastError: "connection refused", createdAt: t("2026-11-26T10:00:00Z"),
            finishedAt: t("2026-11-28T10:00:00Z")),
        .init(
            id: 8, notificationId: "019ad0a0-0000-7000-8000-00000000000f", connector: "contoso-blob", webhook: "soc",
            eventType: "connector.roles.missing", status: "delivered", attempts: 1,
            nextAttemptAt: t("2026-11-26T10:00:00Z"), lastHTTPStatus: 204, lastError: nil,
            createdAt: t("2026-11-26T10:00:00Z"), finishedAt: t("2026-11-26T10:00:01Z")),
    ])

    static func json(_ value: some Encodable) -> Data {
        var d = try! StatusReport.encoder.encode(value)
        d.append(0x0A)
        return d
    }
}

/// A daemon that answers from a table of canned replies and records what it was asked.
final class CannedDaemon: ControlTransport {
    struct Request: Equatable {
        var method: String
        var path: String
        var body: String?
    }

    let replies: [String: Result<HTTPReply, ControlClientError>]
    let requests = Mutex<[Request]>([])

    init(_ replies: [String: Result<HTTPReply, ControlClientError>]) { self.replies = replies }

    convenience init(_ key: String, status: Int = 200, _ body: Data) {
        self.init([key: .success(HTTPReply(status: status, headers: ["content-type": "application/json"], body: body))])
    }

    func send(_ method: String, _ path: String, body: Data?) throws(ControlClientError) -> HTTPReply {
        requests.withLock {
            $0.append(Request(method: method, path: path, body: body.map { String(decoding: $0, as: UTF8.self) }))
        }
        guard let reply = replies["\(method) \(path)"] else {
            return HTTPReply(status: 404, body: Data(#"{"error":"no such route","schema_version":1}"#.utf8))
        }
        return try reply.get()
    }

    func context(json: Bool = false, style: Style = .plain) -> CommandContext {
        CommandContext(
            transport: self, socketPath: "/run/connwatch/connwatch.sock", json: json, now: Fixture.now, style: style)
    }
}

extension String {
    /// Without ANSI colour sequences.
    var uncolored: String { replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression) }
}

/// A daemon with observers (SPEC §3b): one observer refused, one healthy; an observed
/// connector beside one checked with its own secret.
enum ObserverFixture {
    typealias F = Fixture
    static let fabrikam = "fabrikam.onmicrosoft.com"

    static let observers = [
        StatusReport.ObserverStatus(
            tenantId: F.tenant, clientId: F.id(90),
            result: CheckResult(
                check: .observer, status: .critical, reason: .observerFailed,
                summary: "the observer's token was refused: AADSTS7000222: the client secret is expired",
                checkedAt: F.t("2026-11-29T11:58:00Z"))),
        StatusReport.ObserverStatus(
            tenantId: fabrikam, clientId: F.id(91),
            result: CheckResult(
                check: .observer, status: .ok, reason: .ok,
                summary: "token accepted, permissions granted; the observer's certificate expires on 1 Jun 2027",
                checkedAt: F.t("2026-11-29T11:00:00Z"),
                expiry: CredentialExpiry(credentialId: "AB12", expiresAt: F.t("2027-06-01T00:00:00Z")))),
    ]

    static let observed = StatusReport.ConnectorStatus(
        identity: ConnectorIdentity(name: "fabrikam-exchange", kind: .exchange, tenantId: fabrikam, clientId: F.id(5)),
        checks: [
            F.ok(.app, "the app and its service principal exist and are enabled", at: "2026-11-29T11:00:00Z"),
            CheckResult(
                check: .secretExpiry, status: .ok, reason: .ok, summary: "the client secret in use expires in 120 days",
                checkedAt: F.t("2026-11-29T11:00:00Z"),
                expiry: CredentialExpiry(credentialId: "k1", expiresAt: F.t("2027-03-29T12:00:00Z"))),
            F.ok(.consent, "all 9 required application permissions granted", at: "2026-11-29T11:00:00Z"),
        ],
        notes: [
            CheckPlan.observedAbsence(for: .exchange),
            "signin: not checked: the tenant has no Entra ID P1/P2 licence for sign-in logs",
        ])

    static let report = StatusReport(
        daemon: F.report.daemon, connectors: [F.exchange, observed], observers: observers)
}
