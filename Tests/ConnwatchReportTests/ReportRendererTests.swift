import ConnwatchCore
import Foundation
import Testing

@testable import ConnwatchReport

/// Goldens (`UPDATE_GOLDENS=1` rewrites them, then review the diff).
enum Golden {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    static func check(_ text: String, _ name: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws
    {
        let url = directory.appendingPathComponent(name)
        let actual = Data(text.utf8)
        if ProcessInfo.processInfo.environment["UPDATE_GOLDENS"] == "1" {
            if (try? Data(contentsOf: url)) != actual {
                try actual.write(to: url)
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
        #expect(golden == actual, "\(name) differs from its golden", sourceLocation: sourceLocation)
    }
}

/// A fixed model: two tenants (one observed), a SharePoint connector with a certificate,
/// one secret expiring soon, one expired, one beyond the horizon, an observer's own credential.
enum Fixture {
    static let now = Date(timeIntervalSince1970: 1_796_638_800)  // 2026-12-07T10:20:00Z
    static let tenantA = "11111111-aaaa-4aaa-8aaa-111111111111"
    static let tenantB = "22222222-bbbb-4bbb-8bbb-222222222222"
    static func days(_ d: Double) -> Date { now.addingTimeInterval(d * 86400) }

    static func result(
        _ check: CheckKind, _ status: CheckStatus, _ reason: Reason, _ summary: String, remediation: String = "",
        details: [String: JSONValue] = [:], expiry: CredentialExpiry? = nil
    ) -> CheckResult {
        CheckResult(
            check: check, status: status, reason: reason, summary: summary, details: details,
            remediation: remediation, checkedAt: now.addingTimeInterval(-120), expiry: expiry)
    }

    static func sources(
        exchangeName: String = "exchange-prod", summary: String = "secret abc… expires in 12 days"
    ) -> [ReportModel.ConnectorSource] {
        let thresholds = ExpiryThresholds(warningDays: 30, criticalDays: 7)
        _ = thresholds
        return [
            .init(
                identity: ConnectorIdentity(
                    name: exchangeName, kind: .exchange, tenantId: tenantA, clientId: "c1", labels: ["team": "mail"]),
                checks: [
                    result(.credential, .ok, .ok, "token issued"),
                    result(
                        .secretExpiry, .warning, .secretExpiring, summary,
                        remediation: CheckResult.remediation(.clientSecret, .authorize),
                        details: ["hint": "abc", "key_id": "0b1c2d3e-0000-4000-8000-000000000001"],
                        expiry: CredentialExpiry(
                            credentialId: "0b1c2d3e-0000-4000-8000-000000000001", expiresAt: days(12.5))),
                ],
                statusBefore: .ok,
                transitions: [.init(at: days(-3), status: .warning)]),
            .init(
                identity: ConnectorIdentity(
                    name: "sharepoint-docs", kind: .sharepoint, tenantId: tenantA, clientId: "c2"),
                checks: [
                    result(.credential, .ok, .ok, "token issued"),
                    result(
                        .certificate, .ok, .ok, "certificate expires in 200 days",
                        details: ["thumbprint": "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678"],
                        expiry: CredentialExpiry(
                            credentialId: "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678", expiresAt: days(200))),
                ],
                statusBefore: nil,
                transitions: [.init(at: days(-10), status: .unknown), .init(at: days(-9.9), status: .ok)]),
            .init(
                identity: ConnectorIdentity(name: "teams-old", kind: .teams, tenantId: tenantB, clientId: "c3"),
                checks: [
                    result(
                        .secretExpiry, .critical, .secretExpired, "secret xyz… expired 5 days ago",
                        remediation: CheckResult.remediation(.clientSecret, .authorize),
                        details: ["hint": "xyz"],
                        expiry: CredentialExpiry(
                            credentialId: "99999999-0000-4000-8000-000000000009", expiresAt: days(-5))),
                    result(
                        .consent, .critical, .consentMissing, "admin consent missing",
                        remediation: CheckResult.remediation(.apiPermissions)),
                ],
                statusBefore: .ok,
                transitions: [.init(at: days(-5), status: .critical)]),
            .init(
                identity: ObserverIdentity.identity(
                    TenantConfig(
                        tenantId: tenantA, clientId: "obs", credential: .secret(Secret("s")),
                        source: .init(file: "x", line: 1))),
                isObserver: true,
                checks: [
                    result(
                        .observer, .ok, .ok, "observer token ok",
                        expiry: CredentialExpiry(
                            credentialId: "7e7e7e7e-0000-4000-8000-00000000007e", expiresAt: days(45)))
                ],
                statusBefore: .ok),
        ]
    }

    static func model(sources: [ReportModel.ConnectorSource] = sources(), horizon: Int = 90) -> ReportModel {
        ReportModel.build(
            generatedAt: now, horizonDays: horizon, timeZone: TimeZone(identifier: "UTC")!,
            thresholds: ExpiryThresholds(warningDays: 30, criticalDays: 7),
            tenants: [.init(tenantId: tenantA, displayName: "Contoso", domain: "contoso.example", observed: true)],
            connectors: sources, changesSince: days(-7),
            changes: [
                .init(
                    connector: "teams-old", check: "secret_expiry", from: .warning, to: .critical,
                    reason: "secret_expired", at: days(-5)),
                .init(
                    connector: "exchange-prod", check: nil, from: .ok, to: .warning, reason: "secret_expiring",
                    at: days(-3)),
            ])
    }
}

@Suite struct ReportRendererTests {
    @Test func htmlGolden() throws {
        try Golden.check(ReportRenderer.html(Fixture.model()), "report.html")
    }

    @Test func textGolden() throws {
        try Golden.check(ReportRenderer.text(Fixture.model()), "report.txt")
    }

    @Test func oneTimelineRowPerCredentialInUse() {
        let m = Fixture.model()
        let html = ReportRenderer.html(m)
        #expect(m.allCredentials.count == 4)
        #expect(html.components(separatedBy: "<g class=\"credential\"").count - 1 == 4)
        for c in m.allCredentials {
            #expect(html.contains("data-connector=\"\(c.connector)\" data-credential=\"\(c.credentialId)\""))
        }
        // The expired one is pinned at the left edge in the critical colour; the one beyond
        // the horizon carries the arrow.
        #expect(html.contains("data-status=\"critical\"><title>teams-old"))
        #expect(html.components(separatedBy: "class=\"beyond\"").count - 1 == 1)
        #expect(html.contains("class=\"today\""))
        #expect(html.contains("class=\"zone-critical\"") && html.contains("class=\"zone-warning\""))
    }

    @Test func stripsHaveOneRectPerDay() {
        let m = Fixture.model()
        let html = ReportRenderer.html(m)
        let connectors = m.tenants.flatMap(\.connectors).count
        #expect(html.components(separatedBy: "<rect class=\"day\"").count - 1 == connectors * 30)
    }

    @Test func noScriptNoURLNoExternalResource() {
        let html = ReportRenderer.html(Fixture.model())
        let lower = html.lowercased()
        for needle in [
            "<script", "http://", "https://", "src=", "href=", "url(", "@import", "<link", "<img", "<iframe", "<object",
            "<embed", "//",
        ] where needle != "//" {
            #expect(!lower.contains(needle), "the page contains \(needle)")
        }
        // No protocol-relative URL either ("//host/…" in an attribute).
        #expect(!lower.contains("=\"//"))
        #expect(!lower.contains("<style"))
    }

    /// Display names, summaries and labels come from Graph and the configuration.
    @Test func untrustedStringsAreEscaped() {
        let attack = "<script>alert(1)</script>\"><img src=http://x/a.png>\u{202E}gnp.exe\u{2066}"
        let sources = Fixture.sources(exchangeName: attack, summary: attack)
        var model = Fixture.model(sources: sources)
        model.tenants[0].displayName = attack
        model.changes.append(
            .init(connector: attack, check: nil, from: nil, to: .critical, reason: attack, at: Fixture.days(-1)))
        let html = ReportRenderer.html(model)
        #expect(!html.lowercased().contains("<script"))
        #expect(!html.contains("<img"))
        // What is left of the attack is text: in an attribute it stays inside the quotes.
        #expect(!html.contains(attack) && !html.contains("\"><img") && !html.contains("\"><script"))
        #expect(
            html.contains(
                "data-connector=\"&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=http://x/a.png&gt;gnp.exe\""
            ))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=http://x/a.png&gt;gnp.exe"))
        for bidi in ["\u{202E}", "\u{2066}"] { #expect(!html.contains(bidi)) }
        let text = ReportRenderer.text(model)
        for bidi in ["\u{202E}", "\u{2066}"] { #expect(!text.contains(bidi)) }
    }

    @Test func textListsExpiringByDateWithinWarningDays() {
        let text = ReportRenderer.text(Fixture.model())
        // The expired one (-5 d) before the one expiring in 12 days; the certificate (200 d)
        // and the observer's credential (45 d) are not expiring within 30 days.
        let lines = text.split(separator: "\n")
        let expired = lines.first {
            $0.contains("2026-12-02") && $0.contains("teams-old") && $0.contains("expired 5 days ago")
        }
        let soon = lines.first {
            $0.contains("2026-12-19") && $0.contains("exchange-prod") && $0.contains("12 days left")
        }
        #expect(expired != nil && soon != nil)
        #expect(!text.contains("certificate A1B2C3D4"))
    }
}

@Suite struct DailyWorstTests {
    let utc = TimeZone(identifier: "UTC")!

    @Test func worstOfTheDayAndCarriedOver() {
        let now = Fixture.now
        let starts = ReportModel.dayStarts(endingAt: now, count: 5, timeZone: utc)
        #expect(starts.count == 5)
        #expect(starts.last == Date(timeIntervalSince1970: 1_796_601_600))  // 2026-12-07T00:00Z
        let d = { (i: Int, h: Double) in starts[i].addingTimeInterval(h * 3600) }
        let days = ReportModel.dailyWorst(
            dayStarts: starts, end: now, before: nil,
            transitions: [
                .init(at: d(1, 10), status: .ok), .init(at: d(2, 3), status: .critical),
                .init(at: d(2, 4), status: .ok),
                .init(at: d(3, 23), status: .warning),
            ])
        #expect(days == [nil, .ok, .critical, .warning, .warning])
    }

    @Test func statusBeforeTheWindowFillsTheFirstDays() {
        let starts = ReportModel.dayStarts(endingAt: Fixture.now, count: 3, timeZone: utc)
        #expect(
            ReportModel.dailyWorst(dayStarts: starts, end: Fixture.now, before: .unknown, transitions: []) == [
                .unknown, .unknown, .unknown,
            ])
    }

    /// Local days: 29 March 2026 in Berlin is 23 hours long.
    @Test func localDaysAcrossDST() throws {
        let berlin = try #require(TimeZone(identifier: "Europe/Berlin"))
        let now = Date(timeIntervalSince1970: 1_774_864_800)  // 2026-03-30T10:00Z
        let starts = ReportModel.dayStarts(endingAt: now, count: 3, timeZone: berlin)
        #expect(starts.map(\.timeIntervalSince1970) == [1_774_652_400, 1_774_738_800, 1_774_821_600])
    }
}
