import Foundation
import Testing

@testable import ConnwatchCore

@Suite struct CheckEvaluationTests {
    static let now = Date(timeIntervalSince1970: 1_795_910_400)  // 2026-11-29
    static let thresholds = ExpiryThresholds(warningDays: 30, criticalDays: 7)
    static func days(_ n: Double) -> Date { now.addingTimeInterval(n * 86400) }

    static func token(_ r: ResourceID, _ roles: [String]?) -> TokenObservation {
        TokenObservation(
            resource: r, outcome: .value(GrantedToken(roles: roles ?? [], hasRolesClaim: roles != nil, objectId: "sp")))
    }

    static func refused(_ r: ResourceID, _ reason: Reason, transient: Bool = false) -> TokenObservation {
        TokenObservation(
            resource: r,
            outcome: .failed(
                ObservedFailure(reason: reason, transient: transient, message: "AADSTS: x", details: ["trace_id": "t1"])
            ))
    }

    // MARK: credential

    @Test func credentialOkWhenEveryTokenIsIssued() {
        let r = CredentialCheck.evaluate(
            tokens: [Self.token(.graph, []), Self.token(.office365Management, [])], secretLooksLikeGUID: false,
            now: Self.now)
        #expect(r.status == .ok)
        #expect(r.reason == .ok)
    }

    @Test(arguments: [
        Reason.secretInvalid, .secretExpired, .appNotFound, .tenantNotFound, .tenantInvalid, .appDisabled,
        .certRejected, .clockSkew, .resourceMissing, .blockedByPolicy, .idpError,
    ])
    func credentialRefusalsAreCritical(reason: Reason) {
        let r = CredentialCheck.evaluate(
            tokens: [Self.token(.graph, []), Self.refused(.office365Management, reason)], secretLooksLikeGUID: false,
            now: Self.now)
        #expect(r.status == .critical)
        #expect(r.reason == reason)
        #expect(r.details["trace_id"] == "t1")
        #expect(!r.remediation.isEmpty)
        #expect(r.summary.contains("Office 365 Management APIs"))
    }

    @Test func credentialRemediationsNameReferenceSteps() {
        #expect(CredentialCheck.remediation(for: .secretExpired).contains("(step 1b)"))
        #expect(CredentialCheck.remediation(for: .secretExpired).contains("(step 4)"))
        #expect(CredentialCheck.remediation(for: .certRejected).contains("(step 5)"))
        #expect(
            CredentialCheck.remediation(for: .secretInvalid, secretLooksLikeGUID: true).contains(
                "secret's ID was probably pasted"))
    }

    @Test func transientTokenFailureIsUnknown() {
        let r = CredentialCheck.evaluate(
            tokens: [Self.refused(.graph, .unreachable, transient: true)], secretLooksLikeGUID: false, now: Self.now)
        #expect(r.status == .unknown)
        #expect(r.reason == .unreachable)
    }

    // MARK: consent

    @Test func consentFullPartialNoneAndExcess() {
        let all = PermissionCatalog.requirements(for: .exchange).permissions.map(\.name)
        #expect(ConsentCheck.evaluate(kind: .exchange, tokens: [Self.token(.graph, all)], now: Self.now).status == .ok)

        let partial = ConsentCheck.evaluate(
            kind: .exchange, tokens: [Self.token(.graph, all.filter { $0 != "Mail.Send" && $0 != "Mail.ReadWrite" })],
            now: Self.now)
        #expect(partial.status == .critical)
        #expect(partial.reason == .consentMissing)
        #expect(
            partial.details["missing_permissions"] == ["Microsoft Graph: Mail.ReadWrite", "Microsoft Graph: Mail.Send"])
        #expect(partial.details["failing_actions"] == ["Apply Email Tag Label", "Quarantine"])
        #expect(partial.remediation.contains("(step 2)"))

        let none = ConsentCheck.evaluate(kind: .exchange, tokens: [Self.token(.graph, nil)], now: Self.now)
        #expect(none.reason == .consentNone)
        #expect(none.status == .critical)

        let excess = ConsentCheck.evaluate(
            kind: .exchange, tokens: [Self.token(.graph, all + ["Directory.ReadWrite.All"])], now: Self.now)
        #expect(excess.status == .warning)
        #expect(excess.reason == .excessPermissions)
        #expect(excess.details["excess_permissions"] == ["Microsoft Graph: Directory.ReadWrite.All"])
    }

    @Test func consentAcrossResourcesAndBlocked() {
        let req = PermissionCatalog.requirements(for: .onedrive)
        let graph = req.applicationPermissions(for: .graph).map(\.name)
        let r = ConsentCheck.evaluate(
            kind: .onedrive, tokens: [Self.token(.graph, graph), Self.token(.office365Management, [])], now: Self.now)
        #expect(r.reason == .consentMissing)
        #expect(r.details["missing_permissions"] == ["Office 365 Management APIs: ActivityFeed.Read"])

        let blocked = ConsentCheck.evaluate(
            kind: .onedrive, tokens: [Self.refused(.graph, .secretInvalid), Self.token(.office365Management, [])],
            now: Self.now)
        #expect(blocked.status == .unknown)
        #expect(blocked.reason == .secretInvalid)
    }

    // MARK: secret_expiry

    static func app(_ secrets: [SecretInfo]) -> Observed<ApplicationCredentials> {
        .value(ApplicationCredentials(secrets: secrets, certificates: []))
    }

    @Test(arguments: [
        (100.0, CheckStatus.ok, Reason.ok),
        (30.5, .warning, .secretExpiring),
        (8.5, .warning, .secretExpiring),
        (7.5, .critical, .secretExpiring),
        (0.5, .critical, .secretExpiring),
        (-1, .critical, .secretExpired),
    ])
    func secretExpiryThresholds(daysLeft: Double, status: CheckStatus, reason: Reason) {
        let r = SecretExpiryCheck.evaluate(
            application: Self.app([
                SecretInfo(keyId: "k1", hint: "Xq8", start: Self.days(-300), end: Self.days(daysLeft))
            ]),
            secretHint: "Xq8", configuredExpiry: nil, thresholds: Self.thresholds, now: Self.now)
        #expect(r.status == status)
        #expect(r.reason == reason)
        #expect(r.expiry?.credentialId == "k1")
        #expect(r.details["key_id"] == "k1")
    }

    @Test func secretMatchedByHintAmongOthersAndRotationPending() {
        let old = SecretInfo(keyId: "old", hint: "Xq8", start: Self.days(-700), end: Self.days(5))
        let new = SecretInfo(keyId: "new", hint: "Ab1", start: Self.days(-1), end: Self.days(700))
        let r = SecretExpiryCheck.evaluate(
            application: Self.app([new, old]), secretHint: "Xq8", configuredExpiry: nil, thresholds: Self.thresholds,
            now: Self.now)
        #expect(r.reason == .rotationPending)
        #expect(r.status == .critical)
        #expect(r.expiry?.credentialId == "old")
        #expect(r.details["newer_secret"] != nil)
        #expect(r.details["other_secrets"] != nil)

        let usingNew = SecretExpiryCheck.evaluate(
            application: Self.app([new, old]), secretHint: "Ab1", configuredExpiry: nil, thresholds: Self.thresholds,
            now: Self.now)
        #expect(usingNew.status == .ok)
        #expect(usingNew.expiry?.credentialId == "new")
    }

    @Test func withoutGraphTheConfiguredDateOrExpiryUnreadable() {
        let forbidden = Observed<ApplicationCredentials>.failed(
            ObservedFailure(
                reason: .probeForbidden, transient: false, message: "403 Authorization_RequestDenied", forbidden: true))
        let unreadable = SecretExpiryCheck.evaluate(
            application: forbidden, secretHint: "Xq8", configuredExpiry: nil, thresholds: Self.thresholds, now: Self.now
        )
        #expect(unreadable.status == .unknown)
        #expect(unreadable.reason == .expiryUnreadable)
        #expect(unreadable.remediation.contains("Application.Read.All"))
        #expect(unreadable.remediation.contains("secret_expires"))

        let configured = SecretExpiryCheck.evaluate(
            application: forbidden, secretHint: "Xq8", configuredExpiry: CalendarDate(parsing: "2026-12-20"),
            thresholds: Self.thresholds, now: Self.now)
        #expect(configured.status == .warning)
        #expect(configured.reason == .secretExpiring)
        #expect(configured.details["source"] == "secret_expires")
        #expect(configured.details["days_left"] == 21)
        #expect(configured.expiry?.credentialId == "secret_expires:2026-12-20")

        let noMatch = SecretExpiryCheck.evaluate(
            application: Self.app([SecretInfo(keyId: "k", hint: "zzz", end: Self.days(10))]), secretHint: "Xq8",
            configuredExpiry: nil, thresholds: Self.thresholds, now: Self.now)
        #expect(noMatch.reason == .expiryUnreadable)
    }

    // MARK: certificate

    static let local = LocalCertificate(thumbprint: "AB12", notAfter: days(400), subject: "CN=x")

    @Test func certificateRegisteredExpiringExpiredAndInvalid() {
        let registered = Observed<ApplicationCredentials>.value(
            ApplicationCredentials(
                secrets: [], certificates: [RegisteredCertificate(keyId: "c", thumbprint: "ab12", end: Self.days(400))])
        )
        #expect(
            CertificateCheck.evaluate(
                keyFile: .success(Self.local), application: registered, thresholds: Self.thresholds, now: Self.now
            ).status == .ok)

        let other = Observed<ApplicationCredentials>.value(
            ApplicationCredentials(
                secrets: [], certificates: [RegisteredCertificate(keyId: "c", thumbprint: "FFFF", end: nil)]))
        let notReg = CertificateCheck.evaluate(
            keyFile: .success(Self.local), application: other, thresholds: Self.thresholds, now: Self.now)
        #expect(notReg.reason == .certNotRegistered)
        #expect(notReg.remediation.contains("(step 5)"))

        var soon = Self.local
        soon.notAfter = Self.days(3)
        let expiring = CertificateCheck.evaluate(
            keyFile: .success(soon), application: registered, thresholds: Self.thresholds, now: Self.now)
        #expect(expiring.status == .critical)
        #expect(expiring.reason == .certExpiring)
        soon.notAfter = Self.days(-3)
        #expect(
            CertificateCheck.evaluate(
                keyFile: .success(soon), application: registered, thresholds: Self.thresholds, now: Self.now
            ).reason == .certExpired)

        #expect(
            CertificateCheck.evaluate(
                keyFile: .failure(.init(.keyMismatch)), application: registered, thresholds: Self.thresholds,
                now: Self.now
            ).reason == .keyMismatch)
        #expect(
            CertificateCheck.evaluate(
                keyFile: .failure(.init(.invalid("x"))), application: registered, thresholds: Self.thresholds,
                now: Self.now
            ).reason == .keyfileInvalid)

        let unreadable = CertificateCheck.evaluate(
            keyFile: .success(Self.local),
            application: .failed(
                ObservedFailure(reason: .probeForbidden, transient: false, message: "403", forbidden: true)),
            thresholds: Self.thresholds, now: Self.now)
        #expect(unreadable.status == .ok)
        #expect(unreadable.expiry?.credentialId == "AB12")
    }

    // MARK: roles

    @Test func rolesAtSubscriptionScope() {
        let sub = "3c7a9e2b-5d1f-4a68-9b04-e6f2c8d1a5b7"
        let both = [
            ObservedRoleAssignment(
                roleDefinitionId: "ba92f5b4-2d11-453d-a403-e96b0029c9fe", scope: "/subscriptions/\(sub)"),
            ObservedRoleAssignment(
                roleDefinitionId: "17d1049b-9a84-46fb-8f53-869881c3d3ab", scope: "/subscriptions/\(sub)"),
        ]
        #expect(RolesCheck.evaluate(assignments: .value(both), subscriptionId: sub, now: Self.now).status == .ok)
        let narrow = [
            both[0],
            ObservedRoleAssignment(
                roleDefinitionId: "17d1049b-9a84-46fb-8f53-869881c3d3ab",
                scope: "/subscriptions/\(sub)/resourceGroups/rg"),
        ]
        let r = RolesCheck.evaluate(assignments: .value(narrow), subscriptionId: sub, now: Self.now)
        #expect(r.reason == .roleMissing)
        #expect(r.details["missing_roles"] == ["Storage Account Contributor"])
        #expect(r.remediation.contains("(step 3)"))
        let forbidden = RolesCheck.evaluate(
            assignments: .failed(
                ObservedFailure(
                    reason: .probeForbidden, transient: false, message: "AuthorizationFailed", forbidden: true)),
            subscriptionId: sub, now: Self.now)
        #expect(forbidden.reason == .rolesUnreadable)
    }

    // MARK: probe

    @Test func probeOutcomes() {
        #expect(
            ProbeCheck.evaluate(calls: [.init(name: "Graph users", outcome: .value(""))], now: Self.now).status == .ok)
        let forbidden = ProbeCheck.evaluate(
            calls: [
                .init(
                    name: "Graph users",
                    outcome: .failed(
                        ObservedFailure(reason: .probeForbidden, transient: false, message: "403", forbidden: true)))
            ], now: Self.now)
        #expect(forbidden.reason == .probeForbidden)
        #expect(forbidden.status == .critical)
        let failed = ProbeCheck.evaluate(
            calls: [
                .init(
                    name: "a",
                    outcome: .failed(ObservedFailure(reason: .unreachable, transient: true, message: "timeout"))),
                .init(
                    name: "b", outcome: .failed(ObservedFailure(reason: .probeFailed, transient: false, message: "400"))
                ),
            ], now: Self.now)
        #expect(failed.status == .critical)
        #expect(failed.reason == .probeFailed)
    }

    @Test func checkPlans() {
        #expect(CheckPlan.checks(for: .sharepoint).contains(.certificate))
        #expect(CheckPlan.checks(for: .azureBlob).contains(.roles))
        #expect(!CheckPlan.checks(for: .azureBlob).contains(.consent))
        for kind in ConnectorKind.allCases { #expect(CheckPlan.checks(for: kind).first == .credential) }
        #expect(CheckPlan.checks(for: .exchange) == [.credential, .secretExpiry, .consent, .probe])
        #expect(CheckPlan.checks(for: .sharepoint) == [.credential, .secretExpiry, .certificate, .consent, .probe])
        #expect(CheckPlan.checks(for: .azureBlob) == [.credential, .secretExpiry, .roles, .probe])
        #expect(CheckPlan.checks(for: .mip) == [.credential, .secretExpiry, .consent])
        // With [zscaler]: last, for every kind but MIP.
        for kind in ConnectorKind.allCases {
            let plan = CheckPlan.checks(for: kind, zscaler: true)
            if kind == .mip {
                #expect(plan == CheckPlan.checks(for: kind))
            } else {
                #expect(plan == CheckPlan.checks(for: kind) + [.zscaler])
            }
        }
    }
}

@Suite struct TransientPolicyTests {
    static let t0 = Date(timeIntervalSince1970: 1_795_910_400)
    static let ok = CheckResult(check: .probe, status: .ok, reason: .ok, summary: "fine", checkedAt: t0)
    static func blip(_ n: Double) -> CheckResult {
        CheckResult(
            check: .probe, status: .unknown, reason: .unreachable, summary: "timeout",
            checkedAt: t0.addingTimeInterval(n * 3600))
    }

    @Test func previousResultStaysUntilTheThirdFailure() {
        var shown = Self.ok
        var failures = 0
        for i in 1...2 {
            (shown, failures) = TransientPolicy.apply(
                fresh: Self.blip(Double(i)), previous: shown, failures: failures, threshold: 3)
            #expect(shown == Self.ok, "failure \(i) keeps the previous result")
            #expect(failures == i)
        }
        (shown, failures) = TransientPolicy.apply(
            fresh: Self.blip(3), previous: shown, failures: failures, threshold: 3)
        #expect(shown.status == .unknown)
        #expect(failures == 3)
        (shown, failures) = TransientPolicy.apply(fresh: Self.ok, previous: shown, failures: failures, threshold: 3)
        #expect(shown == Self.ok)
        #expect(failures == 0)
    }

    @Test func firstRunAndVerdictsAreShownAtOnce() {
        #expect(
            TransientPolicy.apply(fresh: Self.blip(1), previous: nil, failures: 0, threshold: 3).shown.status
                == .unknown)
        let critical = CheckResult(
            check: .probe, status: .critical, reason: .probeForbidden, summary: "403", checkedAt: Self.t0)
        #expect(TransientPolicy.apply(fresh: critical, previous: Self.ok, failures: 2, threshold: 3) == (critical, 0))
        // A reply that cannot be understood is no verdict (SPEC §9): like a timeout, it shows
        // only after the threshold, and it never hides behind a pending first result.
        let malformed = CheckResult(
            check: .probe, status: .unknown, reason: .badResponse, summary: "bad", checkedAt: Self.t0)
        #expect(TransientPolicy.apply(fresh: malformed, previous: Self.ok, failures: 0, threshold: 3) == (Self.ok, 1))
        #expect(
            TransientPolicy.apply(fresh: malformed, previous: Self.ok, failures: 2, threshold: 3) == (malformed, 3))
        #expect(
            TransientPolicy.apply(fresh: Self.blip(1), previous: Self.ok, failures: 0, threshold: 1).shown.status
                == .unknown)
    }
}
