import ConnwatchCore
import Foundation
import Testing

@testable import ConnwatchAlerting

/// Which webhooks a notification goes to: `min_severity`, `connectors`, `labels` (SPEC §4/§5).
@Suite struct WebhookFilterTests {
    let identity = ConnectorIdentity(
        name: "contoso-exchange", kind: .exchange, tenantId: "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41",
        clientId: "d0000000-0000-4000-8000-000000000001", labels: ["customer": "contoso", "tier": "gold"])

    func notification(_ severity: Severity, state: AlertPhase = .firing) -> AlertNotification {
        AlertNotification(
            id: "n", alertId: "a", connector: identity.name, check: .secretExpiry, eventType: .secretExpiring,
            state: state, severity: severity, status: .warning, reason: .secretExpiring, summary: "expires soon",
            cause: .firstNotification, createdAt: Date(timeIntervalSince1970: 1_800_000_000))
    }

    func hook(
        _ name: String, min: Severity = .warning, connectors: [String] = [], labels: [String: String] = [:]
    ) -> WebhookConfig {
        var h = WebhookConfig(
            name: name, url: Secret("https://example.invalid/\(name)"), source: SourceLocation(file: "t.toml", line: 1))
        h.minSeverity = min
        h.connectors = connectors
        h.labels = labels
        return h
    }

    @Test func severityThreshold() {
        let hooks = [hook("info", min: .info), hook("warning"), hook("critical", min: .critical)]
        #expect(NotificationRendering.matchingWebhooks(notification(.info), identity: identity, webhooks: hooks) == ["info"])
        #expect(
            NotificationRendering.matchingWebhooks(notification(.warning), identity: identity, webhooks: hooks)
                == ["info", "warning"])
        #expect(
            NotificationRendering.matchingWebhooks(notification(.critical), identity: identity, webhooks: hooks)
                == ["info", "warning", "critical"])
        // A resolution carries its incident's severity: it goes where the firing went.
        #expect(
            NotificationRendering.matchingWebhooks(
                notification(.critical, state: .resolved), identity: identity, webhooks: hooks)
                == ["info", "warning", "critical"])
    }

    @Test func connectorAndLabelFilters() {
        let hooks = [
            hook("mine", connectors: ["contoso-exchange", "other"]), hook("not-mine", connectors: ["other"]),
            hook("gold", labels: ["tier": "gold"]), hook("gold-contoso", labels: ["tier": "gold", "customer": "contoso"]),
            hook("silver", labels: ["tier": "silver"]), hook("unknown-label", labels: ["region": "eu"]),
        ]
        #expect(
            NotificationRendering.matchingWebhooks(notification(.warning), identity: identity, webhooks: hooks)
                == ["mine", "gold", "gold-contoso"])
    }
}
