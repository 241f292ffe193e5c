import Foundation
import Testing

@testable import ConnwatchCore

@Suite struct ObserverCheckTests {
    typealias F = ObservedFixture
    static let allRoles = GrantedToken(
        roles: ["Application.Read.All", "Directory.Read.All", "AuditLog.Read.All"], hasRolesClaim: true, objectId: "o")

    static func ownApp(secretEnd: Date? = nil, certEnd: Date? = nil) -> Observed<ObservedApplication?> {
        F.app(
            secrets: secretEnd.map { [SecretInfo(keyId: "obs-secret", hint: "Ob5", start: F.days(-100), end: $0)] }
                ?? [],
            certificates: certEnd.map { [RegisteredCertificate(keyId: "obs-cert", thumbprint: "CAFE", end: $0)] } ?? [])
    }

    static func run(
        token: Observed<GrantedToken> = .value(ObserverCheckTests.allRoles),
        app: Observed<ObservedApplication?> = ObserverCheckTests.ownApp(certEnd: ObservedFixture.days(300)),
        credential: ObserverFacts.Credential = .certificate(thumbprint: "cafe", notAfter: nil), signInLogs: Bool = true,
        refused: [ObserverPermission] = []
    ) -> CheckResult {
        ObserverCheck.evaluate(
            ObserverFacts(
                token: token, ownApplication: app, credential: credential, signInLogs: signInLogs, refused: refused),
            thresholds: F.thresholds, now: F.now)
    }

    @Test func healthyObserver() {
        let r = Self.run()
        #expect(r.check == .observer)
        #expect(r.status == .ok)
        #expect(r.reason == .ok)
        #expect(r.expiry?.credentialId == "CAFE")
        #expect(r.details["days_left"] == 300)
    }

    @Test func refusedTokenIsObserverFailed() {
        let refused = ObservedFailure(
            reason: .secretExpired, transient: false, message: "AADSTS7000222: expired", details: ["aadsts": 7_000_222])
        let r = Self.run(token: .failed(refused))
        #expect(r.status == .critical)
        #expect(r.reason == .observerFailed)
        #expect(r.details["aadsts"] == 7_000_222)
        #expect(r.details["token_reason"] == "secret_expired")
        #expect(AlertEventType(check: .observer, reason: r.reason) == .observerCredentialInvalid)
        let blip = Self.run(token: .failed(ObservedFailure(reason: .unreachable, transient: true, message: "timeout")))
        #expect(blip.status == .unknown)
        #expect(blip.reason == .unreachable)
    }

    @Test(arguments: [
        (100.0, CheckStatus.ok, Reason.ok),
        (20, .warning, .secretExpiring),
        (5, .critical, .secretExpiring),
        (-1, .critical, .secretExpired),
    ])
    func ownCredentialExpiry(_ daysLeft: Double, _ status: CheckStatus, _ reason: Reason) {
        let secret = Self.run(app: Self.ownApp(secretEnd: F.days(daysLeft)), credential: .secret(hint: "Ob5"))
        #expect(secret.status == status)
        #expect(secret.reason == reason)
        #expect(secret.expiry?.credentialId == "obs-secret")
        let cert = Self.run(app: Self.ownApp(certEnd: F.days(daysLeft)))
        #expect(cert.status == status)
        #expect(cert.reason == reason)
        if reason != .ok {
            #expect(
                AlertEventType(check: .observer, reason: reason)
                    == (reason == .secretExpired ? .observerSecretExpired : .observerSecretExpiring))
        }
        // Its own app unreadable: the local certificate's notAfter still tells.
        let local = Self.run(
            app: .failed(F.forbidden), credential: .certificate(thumbprint: "CAFE", notAfter: F.days(daysLeft)))
        #expect(local.reason == reason)
    }

    @Test func missingPermissionsNameWhatTheyCost() {
        let noAudit = Self.run(
            token: .value(
                GrantedToken(roles: ["Application.Read.All", "Directory.Read.All"], hasRolesClaim: true, objectId: "o"))
        )
        #expect(noAudit.status == .warning)
        #expect(noAudit.reason == .permissionMissing)
        #expect(noAudit.details["missing_permissions"] == ["Microsoft Graph: AuditLog.Read.All"])
        #expect(noAudit.summary.contains("signin"))
        #expect(AlertEventType(check: .observer, reason: .permissionMissing) == .observerPermissionMissing)
        // Not needed when sign-in logs are off.
        let off = Self.run(
            token: .value(
                GrantedToken(roles: ["Application.Read.All", "Directory.Read.All"], hasRolesClaim: true, objectId: "o")),
            signInLogs: false)
        #expect(off.status == .ok)

        let nothing = Self.run(token: .value(GrantedToken(roles: [], hasRolesClaim: false, objectId: "o")))
        #expect(nothing.status == .critical)
        #expect(nothing.reason == .permissionMissing)

        let reader = Self.run(refused: [.reader(subscriptionId: "sub-1")])
        #expect(reader.status == .warning)
        #expect(reader.details["missing_permissions"] == ["Azure: Reader on subscription sub-1"])

        // An expired credential outranks a missing optional permission.
        let both = Self.run(
            token: .value(
                GrantedToken(roles: ["Application.Read.All", "Directory.Read.All"], hasRolesClaim: true, objectId: "o")),
            app: Self.ownApp(certEnd: F.days(-1)))
        #expect(both.reason == .secretExpired)
        #expect(both.details["missing_permissions"] != nil)
    }
}

@Suite struct ObservedEventTypeTests {
    static let cases: [(CheckKind, Reason, AlertEventType)] = [
        (.app, .appNotFound, .appMissing),
        (.app, .appDisabled, .appDisabled),
        (.app, .consentNone, .consentMissing),
        (.app, .unreachable, .unreachable),
        (.signin, .secretExpired, .signinFailing),
        (.signin, .secretInvalid, .signinFailing),
        (.signin, .idpError, .signinFailing),
        (.signin, .signinStale, .signinStale),
        (.signin, .signinFailingElsewhere, .signinFailing),
        (.observer, .observerFailed, .observerCredentialInvalid),
        (.observer, .secretExpiring, .observerSecretExpiring),
        (.observer, .secretExpired, .observerSecretExpired),
        (.observer, .permissionMissing, .observerPermissionMissing),
        (.observer, .throttled, .unreachable),
        // Unchanged for the §3 checks.
        (.secretExpiry, .secretExpired, .secretExpired),
        (.credential, .appDisabled, .credentialInvalid),
        (.credential, .appNotFound, .credentialInvalid),
        (.consent, .consentNone, .consentMissing),
    ]

    @Test(arguments: cases)
    func eventOfObservedChecks(_ check: CheckKind, _ reason: Reason, _ expected: AlertEventType) {
        #expect(AlertEventType(check: check, reason: reason) == expected)
    }

    @Test func newNamesAreTheSpecsStrings() {
        #expect(
            Set(AlertEventType.allCases.map(\.rawValue)).isSuperset(of: [
                "connector.signin.failing", "connector.signin.stale", "connector.app.disabled",
                "connector.app.missing", "observer.credential.invalid", "observer.secret.expiring",
                "observer.secret.expired", "observer.permission.missing",
            ]))
        for code in ["signin_stale", "signin_failing_elsewhere", "observer_failed", "permission_missing"] {
            #expect(Reason(rawValue: code) != nil)
        }
        #expect(AlertEventType.expiring(check: .observer) == .observerSecretExpiring)
    }

    /// The shared AADSTS table: the codes of SPEC §3's credential row.
    @Test func aadstsTable() {
        let table: [(Int, Reason?)] = [
            (7_000_215, .secretInvalid), (7_000_222, .secretExpired), (700_016, .appNotFound), (700_011, .appNotFound),
            (90002, .tenantNotFound), (900_023, .tenantInvalid), (7_000_112, .appDisabled), (70001, .appDisabled),
            (700_027, .certRejected), (700_024, .clockSkew), (500_011, .resourceMissing), (53003, .blockedByPolicy),
            (530_032, .blockedByPolicy), (50000, .unreachable), (1, nil),
        ]
        for (code, reason) in table { #expect(AADSTSCodes.reason(code: code) == reason, "AADSTS\(code)") }
    }

    @Test func credentialKeyTypeSpellings() {
        #expect(CredentialKeyType(wire: "clientSecret") == .secret)
        #expect(CredentialKeyType(wire: "secret") == .secret)
        #expect(CredentialKeyType(wire: "certificate") == .certificate)
        #expect(CredentialKeyType(wire: "unknownFutureValue") == .other)
        #expect(CredentialKeyType(wire: nil) == .other)
    }
}

@Suite struct ObserverStatusJSONTests {
    /// SPEC §3b: `"observers": [{"tenant_id", "client_id", "status", "reason", "summary",
    /// "checked_at", "expires_at"}]`, absent without observers.
    @Test func statusJSONCarriesObservers() throws {
        let now = ObservedFixture.now
        let daemon = StatusReport.DaemonInfo(version: "t", startedAt: now, lastCycleAt: nil)
        let plain = String(
            decoding: try StatusReport.encoder.encode(StatusReport(daemon: daemon, connectors: [])), as: UTF8.self)
        #expect(!plain.contains("observers"))
        let result = ObserverCheck.evaluate(
            ObserverFacts(
                token: .value(ObserverCheckTests.allRoles),
                ownApplication: ObserverCheckTests.ownApp(certEnd: ObservedFixture.days(300)),
                credential: .certificate(thumbprint: "CAFE", notAfter: nil)),
            thresholds: ObservedFixture.thresholds, now: now)
        let report = StatusReport(
            daemon: daemon, connectors: [],
            observers: [
                .init(tenantId: "t1", clientId: "c1", result: result),
                .init(tenantId: "t2", clientId: "c2", result: nil),
            ])
        let json = try #require(
            try JSONSerialization.jsonObject(with: StatusReport.encoder.encode(report)) as? [String: Any])
        let observers = try #require(json["observers"] as? [[String: Any]])
        #expect(
            Set(observers[0].keys) == [
                "tenant_id", "client_id", "status", "reason", "summary", "checked_at", "expires_at",
            ])
        #expect(observers[0]["status"] as? String == "ok")
        #expect(observers[0]["expires_at"] as? String == CivilTime(ObservedFixture.days(300)).rfc3339)
        #expect(observers[1]["reason"] as? String == "pending")
        #expect(try StatusReport.decoder.decode(StatusReport.self, from: StatusReport.encoder.encode(report)) == report)
    }
}
