import ConnwatchCore
import Testing

/// `ConnectorConfig` keeps the kind-specific settings in a shared box: value semantics and
/// every field must behave as plain stored properties did.
@Suite struct ConnectorConfigLayoutTests {
    private func connector() -> ConnectorConfig {
        ConnectorConfig(
            name: "contoso-sp", kind: .sharepoint, tenantId: "7e000000-0000-4000-8000-000000000000",
            clientId: "a0000000-0000-4000-8000-000000000000", clientSecret: Secret("s3cr3t-value"),
            source: SourceLocation(file: "/etc/connwatch/connwatch.toml", line: 12))
    }

    @Test func optionalSettingsReadBackAndStayValues() {
        var a = connector()
        #expect(a.keyFile == nil && a.sharePointHost == nil && a.subscriptionId == nil)
        #expect(a.redirectURI == nil && a.zscalerTenantId == nil && a.secretExpires == nil)

        a.keyFile = "/etc/connwatch/sp.json"
        a.sharePointHost = "contoso.sharepoint.com"
        a.subscriptionId = "5b000000-0000-4000-8000-000000000001"
        a.redirectURI = "https://admin.example/callback"
        a.zscalerTenantId = 42
        a.secretExpires = CalendarDate(year: 2027, month: 3, day: 31)
        #expect(a.keyFile == "/etc/connwatch/sp.json")
        #expect(a.sharePointHost == "contoso.sharepoint.com")
        #expect(a.subscriptionId == "5b000000-0000-4000-8000-000000000001")
        #expect(a.redirectURI == "https://admin.example/callback")
        #expect(a.zscalerTenantId == 42)
        #expect(a.secretExpires == CalendarDate(year: 2027, month: 3, day: 31))

        // A copy changed afterwards leaves the original alone, and the other way round.
        var b = a
        b.keyFile = nil
        b.zscalerTenantId = 7
        #expect(a.keyFile == "/etc/connwatch/sp.json" && a.zscalerTenantId == 42)
        #expect(b.keyFile == nil && b.zscalerTenantId == 7 && b.sharePointHost == "contoso.sharepoint.com")
        a.redirectURI = nil
        #expect(b.redirectURI == "https://admin.example/callback")

        // Clearing every one leaves a connector equal in all fields to a fresh one.
        for keyPath in [\ConnectorConfig.keyFile, \.sharePointHost, \.subscriptionId, \.redirectURI] { b[keyPath: keyPath] = nil }
        b.zscalerTenantId = nil
        b.secretExpires = nil
        #expect(b.keyFile == nil && b.sharePointHost == nil && b.subscriptionId == nil && b.redirectURI == nil)
        #expect(b.zscalerTenantId == nil && b.secretExpires == nil)
        #expect(b.name == "contoso-sp" && b.kind == .sharepoint && b.source.line == 12)
    }

    @Test func aConnectorTakesHalfWhatItsFieldsWouldInline() {
        // 224 bytes with every setting stored inline (BENCHMARKS.md: memory at 10,000).
        #expect(MemoryLayout<ConnectorConfig>.stride <= 112)
    }
}
