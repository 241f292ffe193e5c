import Foundation
import Testing

@testable import ConnwatchCore

@Suite struct DomainTests {
    @Test func statusOrderIsOkWarningUnknownCritical() {
        #expect(CheckStatus.allCases.sorted() == [.ok, .warning, .unknown, .critical])
        #expect(CheckStatus.worst([.ok, .unknown, .warning]) == .unknown)
        #expect(CheckStatus.worst([.ok, .critical, .unknown]) == .critical)
        #expect(CheckStatus.worst([CheckStatus]()) == .ok)
        #expect(CheckStatus.allCases.map(\.monitoringPluginsExitCode) == [0, 1, 3, 2])
    }

    /// The SPEC §3 reason list is API: every code must exist with exactly this spelling.
    @Test func reasonCodesAreTheSpecsStrings() {
        let spec = [
            "ok", "unreachable", "throttled", "bad_response",
            "secret_invalid", "secret_expired", "app_not_found", "tenant_not_found", "tenant_invalid",
            "app_disabled", "cert_rejected", "clock_skew", "resource_missing", "blocked_by_policy", "idp_error",
            "secret_expiring", "expiry_unreadable", "rotation_pending",
            "cert_expiring", "cert_expired", "cert_not_registered", "keyfile_invalid", "key_mismatch",
            "consent_missing", "consent_none", "excess_permissions",
            "role_missing", "roles_unreadable",
            "probe_forbidden", "probe_failed",
            "zscaler_validation_failed", "zscaler_reauth_required", "zscaler_inactive", "zscaler_tenant_deleted",
            "zscaler_unmatched",
            "pending",
            // Added with the zscaler check (SPEC: "add new ones, never rename").
            "zscaler_validation_stale", "zscaler_api_denied",
            // Added with observer mode (SPEC §3b).
            "signin_stale", "signin_failing_elsewhere", "observer_failed", "permission_missing",
        ]
        for code in spec { #expect(Reason(rawValue: code) != nil, "missing reason \(code)") }
        #expect(Set(Reason.allCases.map(\.rawValue)) == Set(spec))
        #expect(
            CheckKind.allCases.map(\.rawValue) == [
                "credential", "secret_expiry", "certificate", "consent", "roles", "probe", "zscaler",
                "app", "signin", "observer",
            ])
        #expect(
            ConnectorKind.allCases.map(\.rawValue) == [
                "exchange", "onedrive", "sharepoint", "teams", "azure-blob", "mip",
            ])
    }

    @Test func secretNeverPrintsItsValue() throws {
        let value = "Zq8~s3cr3t.value_that-must-not-leak"
        let secret = Secret(value)
        let renderings = [
            "\(secret)", String(describing: secret), String(reflecting: secret), secret.description,
            secret.debugDescription, "\([secret])", "\(Optional(secret) as Any)", dumpString(secret),
        ]
        for r in renderings {
            #expect(!r.contains(value), "leaked in \(r)")
            #expect(!r.contains("s3cr3t"), "leaked in \(r)")
        }
        #expect(secret.description == "<redacted>")
        #expect(secret.hint == "Zq8")
        #expect(secret.withValue { $0 } == value)
        #expect(Secret("0b9d4f2e-5f58-4c1e-8d3a-2f5e7c9a1b3d").looksLikeGUID)
        #expect(!secret.looksLikeGUID)

        // A struct that holds a secret does not leak it through reflection either.
        struct Holder { var name = "x"; var secret: Secret }
        let holder = Holder(secret: secret)
        #expect(!"\(holder)".contains(value))
        #expect(!dumpString(holder).contains(value))
    }

    private func dumpString<T>(_ v: T) -> String {
        var s = ""
        dump(v, to: &s)
        return s
    }

    @Test(arguments: [
        ("90s", Int64(90)), ("15m", 900), ("1h", 3600), ("7d", 604_800), ("400d", 34_560_000), ("1s", 1),
    ])
    func durationsParse(text: String, seconds: Int64) {
        #expect(ConfigDuration(parsing: text)?.seconds == seconds)
    }

    @Test(arguments: ["", "h", "1", "1 h", "1.5h", "-1h", "1H", "1w", "0s", "1h30m", " 1h", "1hh", "99999999999999d"])
    func badDurationsAreRejected(text: String) {
        #expect(ConfigDuration(parsing: text) == nil)
    }

    @Test func durationsPrintInTheirLargestUnit() {
        #expect(ConfigDuration.seconds(90).description == "90s")
        #expect(ConfigDuration.minutes(15).description == "15m")
        #expect(ConfigDuration.hours(24).description == "1d")
        #expect(ConfigDuration.seconds(3660).description == "61m")
    }

    @Test func validators() {
        #expect(Validators.isGUID("00000000-0000-0000-0000-000000000000"))
        #expect(Validators.isGUID("0B9D4F2E-5F58-4C1E-8D3A-2F5E7C9A1B3D"))
        #expect(!Validators.isGUID("0b9d4f2e5f584c1e8d3a2f5e7c9a1b3d"))
        #expect(!Validators.isGUID("0b9d4f2e-5f58-4c1e-8d3a-2f5e7c9a1b3g"))
        #expect(!Validators.isGUID("{0b9d4f2e-5f58-4c1e-8d3a-2f5e7c9a1b3d}"))
        #expect(Validators.isTenant("contoso.onmicrosoft.com"))
        #expect(Validators.isTenant("00000000-0000-0000-0000-000000000000"))
        #expect(!Validators.isTenant("contoso"))
        #expect(!Validators.isTenant("-contoso.com"))
        #expect(!Validators.isTenant("contoso..com"))
        #expect(!Validators.isTenant("con toso.com"))
        #expect(Validators.isName("contoso-onedrive"))
        #expect(Validators.isName("a1"))
        #expect(!Validators.isName("Contoso"))
        #expect(!Validators.isName("-x"))
        #expect(!Validators.isName("a_b"))
        #expect(!Validators.isName(String(repeating: "a", count: 64)))
        #expect(Validators.isName(String(repeating: "a", count: 63)))
        #expect(!Validators.isName(""))
        #expect(!Validators.isName("é"))
        #expect(!Validators.isName("a\u{301}"))
        // Fullwidth hex digits are hex to `Character.isHexDigit`, never in a GUID.
        #expect(!Validators.isGUID("０b9d4f2e-5f58-4c1e-8d3a-2f5e7c9a1b3d"))
        #expect(!Validators.isGUID("0b9d4f2e-5f58-4c1e-8d3a-2f5e7c9a1b3d0"))
        #expect(!Validators.isGUID("0b9d4f2e-5f58-4c1e-8d3a-2f5e7c9a1b3"))
        #expect(!Validators.isGUID("0b9d4f2e-5f58-4c1e-8d3a2f5e7c9a1b3d-"))
        #expect(!Validators.isGUID(""))
        #expect(Validators.isCredentialID("connwatch-od.secret@v2_x"))
        #expect(!Validators.isCredentialID("."))
        #expect(!Validators.isCredentialID(".."))
        #expect(!Validators.isCredentialID("a/b"))
        #expect(!Validators.isCredentialID("é"))
        #expect(!Validators.isCredentialID(String(repeating: "a", count: 256)))
        #expect(Validators.isHTTPURL("https://hooks.example/x?y=1"))
        #expect(Validators.isHTTPURL("https://hooks.example", allowHTTP: false))
        #expect(!Validators.isHTTPURL("http://a.example", allowHTTP: false))
        #expect(!Validators.isHTTPURL("ftp://a.example"))
        #expect(!Validators.isHTTPURL("hooks.example/x"))
    }

    @Test func calendarDates() {
        #expect(CalendarDate(parsing: "2027-05-01")?.description == "2027-05-01")
        #expect(CalendarDate(parsing: "2024-02-29") != nil)
        #expect(CalendarDate(parsing: "2023-02-29") == nil)
        #expect(CalendarDate(parsing: "2027-13-01") == nil)
        #expect(CalendarDate(parsing: "2027-5-1") == nil)
        #expect(CalendarDate(parsing: "1970-01-01")?.unixTime == 0)
        #expect(CalendarDate(parsing: "2026-11-29")?.unixTime == 1_795_910_400)
    }

    @Test func remediationNamesReferenceSteps() {
        #expect(
            CheckResult.remediation(.clientSecret, .authorize)
                == "create a new client secret (step 1b), then re-authorize the tenant in the Zscaler Admin Portal (step 4)"
        )
        // A prefix is a step of its own, unless it leads into the steps ("…, else").
        #expect(
            CheckResult.remediation(.roleAssignments, prefix: "assign the missing role")
                .hasPrefix("assign the missing role; "))
        #expect(
            CheckResult.remediation(.authorize, prefix: "remove it if unused, else")
                == "remove it if unused, else re-authorize the tenant in the Zscaler Admin Portal (step 4)")
        #expect(
            CheckResult.remediation(.authorize, prefix: "open a support request, then")
                == "open a support request, then re-authorize the tenant in the Zscaler Admin Portal (step 4)")
    }

    @Test func checkResultEncodesWithSnakeCase() throws {
        let r = CheckResult(
            check: .secretExpiry, status: .warning, reason: .secretExpiring, summary: "expires in 12 days",
            details: ["days_left": 12, "key_id": "abc"], remediation: "x", checkedAt: Date(timeIntervalSince1970: 0))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.dateEncodingStrategy = .iso8601
        let json = String(decoding: try encoder.encode(r), as: UTF8.self)
        #expect(
            json
                == #"{"check":"secret_expiry","checked_at":"1970-01-01T00:00:00Z","details":{"days_left":12,"key_id":"abc"},"reason":"secret_expiring","remediation":"x","status":"warning","summary":"expires in 12 days"}"#
        )
        let back = try {
            let d = JSONDecoder(); d.dateDecodingStrategy = .iso8601;
            return try d.decode(CheckResult.self, from: Data(json.utf8))
        }()
        #expect(back == r)
    }

    @Test func textTableAlignsAndSpansMultilineCells() {
        var t = TextTable(headers: ["A", "LONGER", "LAST"])
        t.append(["xx", "y", "one\ntwo"])
        t.append(["x", "", ""])
        #expect(t.render() == "A   LONGER  LAST\nxx  y       one\n            two\nx\n")
        var lines: [String] = []
        t.render { lines.append($0) }
        #expect(lines == ["A   LONGER  LAST", "xx  y       one", "            two", "x"])
    }
}
