import ConnwatchCore
import Foundation
import Testing
@testable import ConnwatchAlerting

/// Golden files next to this source file (read through `#filePath`, as `UPDATE_GOLDENS`
/// writes them back into the source tree).
enum Golden {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    static let directory = root.appendingPathComponent("webhooks")

    static var updating: Bool { ProcessInfo.processInfo.environment["UPDATE_GOLDENS"] == "1" }

    static func check(
        _ body: Data, _ name: String, in folder: String = "webhooks", sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) throws {
        let directory = root.appendingPathComponent(folder)
        let url = directory.appendingPathComponent(name)
        let expected = body + Data("\n".utf8)
        if updating {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            if (try? Data(contentsOf: url)) != expected {
                try expected.write(to: url)
                Issue.record(
                    "rewrote \(name): review the diff, then run again without UPDATE_GOLDENS",
                    sourceLocation: sourceLocation)
            }
            return
        }
        guard let golden = try? Data(contentsOf: url) else {
            Issue.record("no golden \(name) (UPDATE_GOLDENS=1 writes it)", sourceLocation: sourceLocation)
            return
        }
        #expect(
            golden == expected,
            "\(name) differs:\n  golden: \(String(decoding: golden, as: UTF8.self))  actual: \(String(decoding: expected, as: UTF8.self))",
            sourceLocation: sourceLocation)
    }
}

/// Notifications as the state machine makes them, one per event type and state, at a fixed time.
enum WebhookFixture {
    static func t(_ s: String) -> Date { RFC3339.date(s)! }

    static let now = t("2026-11-29T12:00:00Z")
    static let tenant = "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41"

    static func clientID(_ n: Int) -> String { String(format: "d0000000-0000-4000-8000-%012d", n) }
    static func uuid(_ n: Int) -> String { String(format: "019a5f2c-8a00-7000-8000-%012d", n) }

    static let exchange = ConnectorIdentity(
        name: "contoso-exchange", kind: .exchange, tenantId: tenant, clientId: clientID(1),
        labels: ["customer": "Contoso", "owner": "secops"])
    static let onedrive = ConnectorIdentity(
        name: "contoso-onedrive", kind: .onedrive, tenantId: "contoso.onmicrosoft.com", clientId: clientID(2))
    static let sharepoint = ConnectorIdentity(
        name: "contoso-sharepoint", kind: .sharepoint, tenantId: tenant, clientId: clientID(3),
        labels: ["customer": "Contoso"])
    static let teams = ConnectorIdentity(name: "contoso-teams", kind: .teams, tenantId: tenant, clientId: clientID(4))
    static let blob = ConnectorIdentity(
        name: "contoso-blob", kind: .azureBlob, tenantId: tenant, clientId: clientID(5), labels: ["env": "prod"])
    static let mip = ConnectorIdentity(name: "contoso-mip", kind: .mip, tenantId: tenant, clientId: clientID(6))

    /// What fires for each event type (a check's own words), and what its resolution says.
    struct Firing {
        var identity: ConnectorIdentity
        var check: CheckKind
        var status: CheckStatus
        var reason: Reason
        var severity: Severity
        var summary: String
        var remediation: String
        var details: [String: JSONValue] = [:]
        var expiresAt: String? = nil
        var missingPermissions: [String]? = nil
        var resolvedSummary: String
        var resolvedExpiresAt: String? = nil
    }

    static func firing(_ type: AlertEventType) -> Firing {
        switch type {
        case .secretExpiring:
            Firing(
                identity: exchange, check: .secretExpiry, status: .warning, reason: .secretExpiring, severity: .warning,
                summary: "the client secret expires on 9 Dec 2026 (in 9 days)",
                remediation:
                    "create a new client secret (step 1b), then re-authorize the tenant in the Zscaler Admin Portal (step 4)",
                details: ["hint": "Xq8", "key_id": "f4741be2-8c51-4c1c-9a0e-4b0a8f1d2c3e"],
                expiresAt: "2026-12-09T08:00:00Z",
                resolvedSummary: "the client secret expires on 1 Dec 2028 (in 732 days)",
                resolvedExpiresAt: "2028-12-01T08:00:00Z")
        case .secretExpired:
            Firing(
                identity: onedrive, check: .credential, status: .critical, reason: .secretExpired, severity: .critical,
                summary: "the client secret expired on 20 Nov 2026 (AADSTS7000222)",
                remediation:
                    "create a new client secret (step 1b), then re-authorize the tenant in the Zscaler Admin Portal (step 4)",
                details: ["aadsts": "AADSTS7000222"], expiresAt: "2026-11-20T09:30:00Z",
                resolvedSummary: "credential accepted for 2 resources")
        case .certificateExpiring:
            // A ladder step on a healthy certificate: an `info` notification.
            Firing(
                identity: sharepoint, check: .certificate, status: .ok, reason: .ok, severity: .info,
                summary: "the certificate expires on 28 Jan 2027 (in 60 days)",
                remediation: "", details: ["thumbprint": "3F2A9C0D5E7B1A4C6D8E0F2A4B6C8D0E1F3A5B7C"],
                expiresAt: "2027-01-28T12:00:00Z",
                resolvedSummary: "the certificate expires on 28 Jan 2029 (in 791 days)",
                resolvedExpiresAt: "2029-01-28T12:00:00Z")
        case .certificateExpired:
            Firing(
                identity: sharepoint, check: .certificate, status: .critical, reason: .certExpired, severity: .critical,
                summary: "the certificate expired on 27 Nov 2026",
                remediation:
                    "issue a new certificate: write a new key file (step 5), then re-authorize the tenant in the Zscaler Admin Portal (step 4)",
                details: ["thumbprint": "3F2A9C0D5E7B1A4C6D8E0F2A4B6C8D0E1F3A5B7C"], expiresAt: "2026-11-27T00:00:00Z",
                resolvedSummary: "the certificate expires on 28 Nov 2028 (in 730 days)",
                resolvedExpiresAt: "2028-11-28T00:00:00Z")
        case .certificateInvalid:
            Firing(
                identity: sharepoint, check: .certificate, status: .critical, reason: .certNotRegistered,
                severity: .critical,
                summary: "the key file's certificate (thumbprint 3F2A9C0D…) is not registered on the app",
                remediation: "upload the key file's certificate to the app registration (step 5)",
                details: ["thumbprint": "3F2A9C0D5E7B1A4C6D8E0F2A4B6C8D0E1F3A5B7C"],
                resolvedSummary: "the certificate is registered and valid until 28 Nov 2028")
        case .credentialInvalid:
            Firing(
                identity: exchange, check: .credential, status: .critical, reason: .secretInvalid, severity: .critical,
                summary: "the client secret was rejected (AADSTS7000215: invalid client secret)",
                remediation: "the secret value is wrong: copy the secret's Value, not its Secret ID (step 1b)",
                details: ["aadsts": "AADSTS7000215"], resolvedSummary: "credential accepted for 2 resources")
        case .consentMissing:
            Firing(
                identity: teams, check: .consent, status: .critical, reason: .consentMissing, severity: .critical,
                summary: "1 required permission not granted: Chat.UpdatePolicyViolation.All (Quarantine fails)",
                remediation:
                    "add the missing API permissions and grant admin consent (step 2), then re-authorize the tenant (step 4)",
                details: ["missing_permissions": ["Chat.UpdatePolicyViolation.All"]],
                missingPermissions: ["Chat.UpdatePolicyViolation.All"],
                resolvedSummary: "all 7 required application permissions granted")
        case .permissionsExcess:
            Firing(
                identity: onedrive, check: .consent, status: .warning, reason: .excessPermissions, severity: .warning,
                summary: "2 granted permissions are not needed: Mail.Send, User.ReadWrite.All",
                remediation: "least privilege: remove the extra permissions from the app's API permissions (step 2)",
                details: ["excess_permissions": ["Mail.Send", "User.ReadWrite.All"]],
                resolvedSummary: "all 12 required application permissions granted, none extra")
        case .rolesMissing:
            Firing(
                identity: blob, check: .roles, status: .critical, reason: .roleMissing, severity: .critical,
                summary: "the app lacks Storage Blob Data Reader on subscription 9b0e7c1a-2f4d-4e6b-8a1c-3d5f7e9b1c2d",
                remediation: "assign the missing role to the app on the subscription (step 3)",
                details: ["missing_roles": ["Storage Blob Data Reader"]],
                resolvedSummary: "both storage roles assigned")
        case .validationFailed:
            Firing(
                identity: mip, check: .probe, status: .critical, reason: .probeForbidden, severity: .critical,
                summary: "Graph answered 403 Forbidden to GET /informationProtection/policy/labels",
                remediation: "grant admin consent for InformationProtectionPolicy.Read.All (step 2)",
                details: ["http_status": 403], resolvedSummary: "Graph informationProtection answered")
        case .unreachable:
            Firing(
                identity: exchange, check: .credential, status: .unknown, reason: .unreachable, severity: .warning,
                summary: "login.microsoftonline.com could not be reached after 3 attempts (connection timed out)",
                remediation: "transient: connwatch retries on the next check; check the proxy and DNS if it persists",
                details: ["attempts": 3], resolvedSummary: "credential accepted for 2 resources")
        case .zscalerValidationFailed:
            Firing(
                identity: teams, check: .zscaler, status: .critical, reason: .zscalerValidationFailed,
                severity: .critical, summary: "Zscaler reports the tenant's validation failed",
                remediation: "re-validate the tenant in the Zscaler Admin Portal (SaaS Application Tenants)",
                details: ["zscaler_tenant_id": 12345], resolvedSummary: "Zscaler reports the tenant valid and active")
        case .zscalerReauthRequired:
            Firing(
                identity: exchange, check: .zscaler, status: .warning, reason: .zscalerReauthRequired,
                severity: .warning, summary: "Zscaler asks for the tenant to be re-authorized",
                remediation: "re-authorize the tenant in the Zscaler Admin Portal (step 4)",
                details: ["zscaler_tenant_id": 12346], resolvedSummary: "Zscaler reports the tenant valid and active")
        case .zscalerInactive:
            Firing(
                identity: blob, check: .zscaler, status: .warning, reason: .zscalerInactive, severity: .warning,
                summary: "no active Zscaler tenant uses this connector",
                remediation: "activate the tenant in the Zscaler Admin Portal, or remove the connector from connwatch",
                resolvedSummary: "Zscaler reports the tenant valid and active")
        case .signinFailing:
            Firing(
                identity: onedrive, check: .signin, status: .critical, reason: .secretExpired, severity: .critical,
                summary:
                    "the service's sign-ins to Microsoft Graph fail: AADSTS7000222 (secret_expired), 4 times since 2026-11-29T08:00:00Z",
                remediation:
                    "the client secret has expired; create a new client secret (step 1b), then re-authorize the tenant in the Zscaler Admin Portal (step 4)",
                details: ["aadsts": 7_000_222, "count": 4, "resource": "Microsoft Graph", "ip_address": "203.0.113.7"],
                resolvedSummary: "the service signs in; last success 2026-11-29T14:00:00Z")
        case .signinStale:
            Firing(
                identity: teams, check: .signin, status: .warning, reason: .signinStale, severity: .warning,
                summary: "no successful sign-in for 7d: the service has stopped using this app",
                remediation:
                    "check the tenant's status in the Zscaler Admin Portal; if the connector is no longer used, remove it from connwatch, else re-authorize the tenant in the Zscaler Admin Portal (step 4)",
                details: ["stale_after": "7d"],
                resolvedSummary: "the service signs in; last success 2026-11-29T14:00:00Z")
        case .appDisabled:
            Firing(
                identity: exchange, check: .app, status: .critical, reason: .appDisabled, severity: .critical,
                summary: "the app's service principal is disabled (accountEnabled false): no sign-in works",
                remediation: "enable it, then re-authorize the tenant in the Zscaler Admin Portal (step 4)",
                details: ["account_enabled": false],
                resolvedSummary: "the app and its service principal exist and are enabled")
        case .appMissing:
            Firing(
                identity: mip, check: .app, status: .critical, reason: .appNotFound, severity: .critical,
                summary: "the app registration does not exist in the tenant (deleted, or a wrong client_id)",
                remediation: "check client_id; register the application in Entra ID (step 1a)",
                resolvedSummary: "the app and its service principal exist and are enabled")
        case .observerCredentialInvalid:
            Firing(
                identity: exchange, check: .observer, status: .critical, reason: .observerFailed, severity: .critical,
                summary: "the observer's token was refused: AADSTS700027",
                remediation: "renew the monitoring app's certificate and update certificate_file in [[tenant]]",
                details: ["aadsts": 700_027], resolvedSummary: "token accepted, permissions granted")
        case .observerSecretExpiring:
            Firing(
                identity: exchange, check: .observer, status: .warning, reason: .secretExpiring, severity: .warning,
                summary: "the observer's certificate expires on 20 Dec 2026 (in 21 days)",
                remediation: "renew the monitoring app's credential under Certificates & secrets and update [[tenant]]",
                expiresAt: "2026-12-20T00:00:00Z", resolvedSummary: "token accepted, permissions granted",
                resolvedExpiresAt: "2028-12-20T00:00:00Z")
        case .observerSecretExpired:
            Firing(
                identity: exchange, check: .observer, status: .critical, reason: .secretExpired, severity: .critical,
                summary: "the observer's certificate expired on 28 Nov 2026 (1 day ago)",
                remediation: "renew the monitoring app's credential under Certificates & secrets and update [[tenant]]",
                expiresAt: "2026-11-28T00:00:00Z", resolvedSummary: "token accepted, permissions granted",
                resolvedExpiresAt: "2028-12-20T00:00:00Z")
        case .observerPermissionMissing:
            Firing(
                identity: exchange, check: .observer, status: .warning, reason: .permissionMissing, severity: .warning,
                summary: "the observer lacks Microsoft Graph: AuditLog.Read.All",
                remediation: "grant the missing permissions to the monitoring app and admin consent",
                details: ["missing_permissions": ["Microsoft Graph: AuditLog.Read.All"]],
                resolvedSummary: "token accepted, permissions granted")
        }
    }

    static func notification(_ type: AlertEventType, _ state: AlertPhase) -> (AlertNotification, ConnectorIdentity) {
        let f = firing(type)
        let index = AlertEventType.allCases.firstIndex(of: type)! + 1
        let alertId = uuid(index * 10)
        let resolved = state == .resolved
        let expires = (resolved ? f.resolvedExpiresAt : f.expiresAt).map(t)
        let createdAt = resolved ? now.addingTimeInterval(3 * 3600) : now
        let n = AlertNotification(
            id: resolved ? uuid(index * 10 + 1) : alertId, alertId: alertId, connector: f.identity.name, check: f.check,
            eventType: type, state: state, severity: f.severity, status: resolved ? .ok : f.status,
            reason: resolved ? .ok : f.reason, summary: resolved ? f.resolvedSummary : f.summary,
            remediation: resolved ? "" : f.remediation, details: resolved ? [:] : f.details,
            daysLeft: expires.map { Int(($0.timeIntervalSince(createdAt) / 86400).rounded(.down)) },
            expiresAt: expires, missingPermissions: resolved ? nil : f.missingPermissions,
            cause: resolved ? .resolved : .firstNotification, createdAt: createdAt)
        return (n, f.identity)
    }

    /// What an app's display name or an error text from Microsoft can carry into a summary:
    /// Slack's control sequences (a channel ping, a disguised link), a Markdown link and
    /// emphasis, a terminal hyperlink (OSC 8) and a right-to-left override.
    static let injection =
        "app <!channel> <https://evil.example|x> [click](https://evil.example) *bold* "
        + "\u{1B}]8;;https://evil.example\u{1B}\\y\u{1B}]8;;\u{1B}\\ \u{202E}gnp.exe lacks consent"

    struct ChatScenario: Sendable {
        var name: String
        var make: @Sendable () -> (AlertNotification, ConnectorIdentity)
    }

    /// Slack and Teams, for: firing and resolved, with and without days left, missing
    /// permissions, labels, and text that chat markup would misread.
    static let chatScenarios: [ChatScenario] = [
        ChatScenario(name: "secret-expiring-firing-markup") {
            var (n, identity) = notification(.secretExpiring, .firing)
            n.summary = "the client secret of \"Zscaler <Prod> & Test\" expires on 9 Dec 2026 (in 9 days)"
            identity.labels = ["customer": "Contoso & Sons <EU>", "owner": "secops"]
            return (n, identity)
        },
        ChatScenario(name: "consent-missing-firing-injection") {
            var (n, identity) = notification(.consentMissing, .firing)
            n.summary = injection
            identity.labels = ["customer": "<!here> [t](https://evil.example) _x_"]
            return (n, identity)
        },
        ChatScenario(name: "secret-expiring-resolved") { notification(.secretExpiring, .resolved) },
        ChatScenario(name: "certificate-expired-firing") { notification(.certificateExpired, .firing) },
        ChatScenario(name: "certificate-expiring-info") { notification(.certificateExpiring, .firing) },
        ChatScenario(name: "consent-missing-firing") {
            var (n, identity) = notification(.consentMissing, .firing)
            n.summary = "3 required permissions not granted (Quarantine fails)"
            let missing = ["Chat.UpdatePolicyViolation.All", "ChannelMessage.Read.All", "Files.Read.All"]
            n.missingPermissions = missing
            n.details = ["missing_permissions": .array(missing.map { .string($0) })]
            return (n, identity)
        },
        ChatScenario(name: "consent-missing-resolved") { notification(.consentMissing, .resolved) },
        ChatScenario(name: "unreachable-firing") { notification(.unreachable, .firing) },
    ]
}
