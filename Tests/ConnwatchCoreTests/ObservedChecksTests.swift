import Foundation
import Testing

@testable import ConnwatchCore

/// Shared facts for the observed-check tables (SPEC §3b).
enum ObservedFixture {
    static let now = Date(timeIntervalSince1970: 1_795_910_400)  // 2026-11-29
    static let thresholds = ExpiryThresholds(warningDays: 30, criticalDays: 7)
    static func days(_ n: Double) -> Date { now.addingTimeInterval(n * 86400) }
    static func hours(_ n: Double) -> Date { now.addingTimeInterval(n * 3600) }

    static let graph = "00000003-0000-0000-c000-000000000000"
    static let o365 = "c5393580-f805-4401-95e8-94b7a6ef2fc2"
    static let storage = "e406a681-f3d4-42a8-90b6-c2b029497af1"
    static let asm = "797f4846-ba00-4fd7-ba43-dac1f8f63013"

    static func app(
        secrets: [SecretInfo] = [], certificates: [RegisteredCertificate] = []
    )
        -> Observed<ObservedApplication?>
    {
        .value(
            ObservedApplication(
                objectId: "app-oid", appId: "app-id", displayName: "Zscaler CASB",
                credentials: ApplicationCredentials(secrets: secrets, certificates: certificates)))
    }

    static func sp(
        enabled: Bool = true, secrets: [SecretInfo] = [], byMicrosoft: String? = nil
    )
        -> Observed<ObservedServicePrincipal?>
    {
        .value(
            ObservedServicePrincipal(
                objectId: "sp-oid", appId: "app-id", accountEnabled: enabled, disabledByMicrosoftStatus: byMicrosoft,
                credentials: ApplicationCredentials(secrets: secrets, certificates: [])))
    }

    static let observerRefused = ObservedFailure(
        reason: .observerFailed, transient: false, message: "the observer's token was refused")
    static let forbidden = ObservedFailure(
        reason: .badResponse, transient: false, message: "403 Authorization_RequestDenied", forbidden: true)
    static let unlicensed = ObservedFailure(
        reason: .badResponse, transient: false, message: "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
        notLicensed: true)
    static let blip = ObservedFailure(reason: .throttled, transient: true, message: "429")

    static func success(_ at: Date, key: String? = nil, resource: String = graph) -> SignInEvent {
        SignInEvent(
            createdAt: at, resourceAppId: resource, resourceDisplayName: name(resource), errorCode: 0, keyId: key,
            ipAddress: "203.0.113.7")
    }

    static func failure(_ at: Date, code: Int, key: String? = nil, resource: String = graph) -> SignInEvent {
        SignInEvent(
            createdAt: at, resourceAppId: resource, resourceDisplayName: name(resource), errorCode: code,
            failureReason: "AADSTS\(code)", keyId: key, ipAddress: "203.0.113.7")
    }

    static func name(_ appId: String) -> String {
        switch appId {
        case graph: "Microsoft Graph"
        case o365: "Office 365 Management APIs"
        default: appId
        }
    }

    static func log(_ window: [SignInEvent], latestSuccess: SignInEvent? = nil) -> SignInLog {
        SignInLog(
            window: .value(window),
            latestSuccess: .value(latestSuccess ?? window.filter(\.succeeded).max { $0.createdAt < $1.createdAt }))
    }

    static func activity(_ key: String, _ type: String, lastSignIn: Date?) -> CredentialActivity {
        CredentialActivity(keyId: key, keyType: CredentialKeyType(wire: type), lastSignIn: lastSignIn)
    }
}

@Suite struct ObservedAppCheckTests {
    typealias F = ObservedFixture

    @Test(arguments: [
        ("ok", CheckStatus.ok, Reason.ok),
        ("no-app", .critical, .appNotFound),
        ("no-sp", .critical, .consentNone),
        ("disabled", .critical, .appDisabled),
        ("disabled-by-microsoft", .critical, .appDisabled),
        ("observer-refused", .unknown, .observerFailed),
        ("forbidden", .unknown, .permissionMissing),
        ("sp-throttled", .unknown, .throttled),
    ])
    func appVerdicts(_ scenario: String, _ status: CheckStatus, _ reason: Reason) {
        let (app, sp): (Observed<ObservedApplication?>, Observed<ObservedServicePrincipal?>) =
            switch scenario {
            case "no-app": (.value(nil), .value(nil))
            case "no-sp": (F.app(), .value(nil))
            case "disabled": (F.app(), F.sp(enabled: false))
            case "disabled-by-microsoft": (F.app(), F.sp(byMicrosoft: "DisabledDueToViolationOfServicesAgreement"))
            case "observer-refused": (.blocked(F.observerRefused), .blocked(F.observerRefused))
            case "forbidden": (.failed(F.forbidden), .failed(F.forbidden))
            case "sp-throttled": (F.app(), .failed(F.blip))
            default: (F.app(), F.sp())
            }
        let r = AppCheck.evaluate(application: app, servicePrincipal: sp, now: F.now)
        #expect(r.check == .app)
        #expect(r.status == status)
        #expect(r.reason == reason)
        if status == .critical { #expect(r.remediation.contains("(step")) }
        if reason == .permissionMissing { #expect(r.details["permission"] == "Microsoft Graph: Application.Read.All") }
    }

    /// SPEC §3b: the checks `app` blocks report `unknown` with its reason.
    @Test(arguments: [Reason.appNotFound, .consentNone, .appDisabled])
    func appBlocksTheOtherObservedChecks(_ reason: Reason) {
        let (app, sp): (Observed<ObservedApplication?>, Observed<ObservedServicePrincipal?>) =
            switch reason {
            case .appNotFound: (.value(nil), .value(nil))
            case .consentNone: (F.app(), .value(nil))
            default: (F.app(), F.sp(enabled: false))
            }
        let facts = ObservedConnectorFacts(
            application: app, servicePrincipal: sp, signIns: F.log([F.failure(F.hours(-1), code: 7_000_112)]))
        let e = ObservedChecks.evaluate(
            kind: .sharepoint, facts: facts, subscriptionId: nil, thresholds: F.thresholds, now: F.now)
        #expect(e.results.map(\.check) == [.app, .secretExpiry, .certificate, .consent, .signin])
        #expect(e.results[0].status == .critical)
        for r in e.results.dropFirst() {
            #expect(r.status == .unknown)
            #expect(r.reason == reason)
            #expect(r.isBlockedByAnotherCheck, "\(r.check) must not alert on its own")
        }
    }

    @Test func plans() {
        #expect(ObservedChecks.plan(for: .exchange, ownSecret: false) == [.app, .secretExpiry, .consent, .signin])
        #expect(
            ObservedChecks.plan(for: .sharepoint, ownSecret: false)
                == [.app, .secretExpiry, .certificate, .consent, .signin])
        #expect(
            ObservedChecks.plan(for: .azureBlob, ownSecret: false) == [.app, .secretExpiry, .consent, .roles, .signin])
        for kind in ConnectorKind.allCases {
            #expect(ObservedChecks.plan(for: kind, ownSecret: true) == [.app, .signin])
        }
    }

    @Test func observerRefusedMakesEveryObservedCheckUnknown() {
        let facts = ObservedConnectorFacts.blocked(.observerRefused("AADSTS7000222: expired"))
        let e = ObservedChecks.evaluate(
            kind: .azureBlob, facts: facts, subscriptionId: "sub", thresholds: F.thresholds, now: F.now)
        #expect(e.results.count == 5)
        for r in e.results {
            #expect(r.status == .unknown)
            #expect(r.reason == .observerFailed)
            #expect(r.isBlockedByAnotherCheck, "the observer's alert carries it, not \(r.check)")
        }
    }
}

@Suite struct ObservedSecretExpiryTests {
    typealias F = ObservedFixture
    static let a = SecretInfo(keyId: "aaaa", hint: "Aa1", start: F.days(-300), end: F.days(5))
    static let b = SecretInfo(keyId: "bbbb", hint: "Bb2", start: F.days(-10), end: F.days(300))
    static let cert = RegisteredCertificate(keyId: "cccc", thumbprint: "AB12", end: F.days(3))

    static func check(
        signIns: SignInLog? = nil, activity: [CredentialActivity] = [], spSecrets: [SecretInfo] = [],
        secrets: [SecretInfo] = [a, b]
    ) -> CheckResult {
        ObservedSecretExpiryCheck.evaluate(
            application: F.app(secrets: secrets, certificates: [cert]), servicePrincipal: F.sp(secrets: spSecrets),
            activity: .value(activity), signIns: signIns, thresholds: F.thresholds, now: F.now)
    }

    @Test func signInLogSuccessBeatsTheActivityReport() {
        // The report says b was used last (its time may be a failure); the log's success names a.
        let r = Self.check(
            signIns: F.log([F.success(F.hours(-5), key: "aaaa"), F.failure(F.hours(-1), code: 7_000_215, key: "bbbb")]),
            activity: [F.activity("bbbb", "clientSecret", lastSignIn: F.hours(-1))])
        #expect(r.details["in_use"] == "aaaa")
        #expect(r.details["in_use_source"] == "sign_in_log")
        #expect(r.expiry?.credentialId == "aaaa")
        // a expires in 5 days and b is newer and valid: a rotation the service has not taken.
        #expect(r.reason == .rotationPending)
        #expect(r.status == .critical)
    }

    @Test(arguments: ["clientSecret", "secret"])
    func activityReportWhenTheLogIsSilent(_ keyType: String) {
        let r = Self.check(
            signIns: F.log([]),
            activity: [
                F.activity("aaaa", keyType, lastSignIn: F.days(-3)),
                F.activity("bbbb", keyType, lastSignIn: F.days(-1)),
            ])
        #expect(r.details["in_use"] == "bbbb")
        #expect(r.details["in_use_source"] == "credential_activity")
        #expect(r.status == .ok)
    }

    @Test func certificateKeyIdsNeverCountAsTheSecretInUse() {
        let r = Self.check(
            signIns: F.log([F.success(F.hours(-1), key: "cccc")]),
            activity: [F.activity("cccc", "certificate", lastSignIn: F.hours(-1))])
        #expect(r.details["in_use"] == "unknown")
        #expect(r.expiry?.credentialId == "aaaa")  // soonest-expiring valid secret, not the certificate
    }

    @Test func unknownInUseJudgesTheSoonestExpiringValidSecretAndNeverClaimsRotation() {
        let expired = SecretInfo(keyId: "dead", hint: "Dd4", start: F.days(-400), end: F.days(-2))
        let r = Self.check(secrets: [expired, Self.b, Self.a])
        #expect(r.details["in_use"] == "unknown")
        #expect(r.expiry?.credentialId == "aaaa")
        #expect(r.status == .critical)
        #expect(r.reason == .secretExpiring)
        #expect(r.reason != .rotationPending)
        #expect(r.details["newer_secret"] == nil)
    }

    @Test func everySecretExpired() {
        let x = SecretInfo(keyId: "x", start: F.days(-400), end: F.days(-20))
        let y = SecretInfo(keyId: "y", start: F.days(-300), end: F.days(-2))
        let r = Self.check(secrets: [x, y])
        #expect(r.reason == .secretExpired)
        #expect(r.status == .critical)
        #expect(r.expiry?.credentialId == "y")
        #expect(r.remediation.contains("(step 1b)"))
    }

    @Test func servicePrincipalSecretsCountToo() {
        let spSecret = SecretInfo(keyId: "spsp", start: F.days(-10), end: F.days(20))
        let r = Self.check(
            signIns: F.log([F.success(F.hours(-2), key: "SPSP")]), spSecrets: [spSecret], secrets: [Self.b])
        #expect(r.details["in_use"] == "spsp")
        #expect(r.details["credential_origin"] == "servicePrincipal")
        #expect(r.status == .warning)
        #expect(r.reason == .rotationPending)  // b is newer, valid, and not in use
    }

    @Test(arguments: [
        (100.0, CheckStatus.ok, Reason.ok),
        (30.5, .warning, .secretExpiring),
        (7.5, .critical, .secretExpiring),
        (-1, .critical, .secretExpired),
    ])
    func thresholds(_ daysLeft: Double, _ status: CheckStatus, _ reason: Reason) {
        let s = SecretInfo(keyId: "only", start: F.days(-400), end: F.days(daysLeft))
        let r = Self.check(signIns: F.log([F.success(F.hours(-1), key: "only")]), secrets: [s])
        #expect(r.status == status)
        #expect(r.reason == reason)
        #expect(r.details["in_use"] == "only")
    }

    @Test func unreadable() {
        let forbidden = ObservedSecretExpiryCheck.evaluate(
            application: .failed(F.forbidden), servicePrincipal: .failed(F.forbidden), activity: .value([]),
            signIns: nil, thresholds: F.thresholds, now: F.now)
        #expect(forbidden.status == .unknown)
        #expect(forbidden.reason == .permissionMissing)
        #expect(forbidden.isBlockedByAnotherCheck)
        let blip = ObservedSecretExpiryCheck.evaluate(
            application: .failed(F.blip), servicePrincipal: F.sp(), activity: .value([]), signIns: nil,
            thresholds: F.thresholds, now: F.now)
        #expect(blip.reason == .throttled)
        #expect(TransientPolicy.isTransient(blip))
    }
}

@Suite struct ObservedCertificateTests {
    typealias F = ObservedFixture

    @Test(arguments: [
        (400.0, CheckStatus.ok, Reason.ok),
        (20, .warning, .certExpiring),
        (3, .critical, .certExpiring),
        (-3, .critical, .certExpired),
    ])
    func registeredCertificateExpiry(_ daysLeft: Double, _ status: CheckStatus, _ reason: Reason) {
        let c = RegisteredCertificate(keyId: "c1", thumbprint: "AB12", end: F.days(daysLeft))
        let r = ObservedCertificateCheck.evaluate(
            application: F.app(certificates: [c]), servicePrincipal: F.sp(), keyFile: nil, activity: .value([]),
            signIns: nil, thresholds: F.thresholds, now: F.now)
        #expect(r.status == status)
        #expect(r.reason == reason)
        #expect(r.expiry?.credentialId == "AB12")
        #expect(r.details["in_use"] == "unknown")
    }

    @Test func certificateInUseFromTheLogAndSecretKeyIdsIgnored() {
        let old = RegisteredCertificate(keyId: "old", thumbprint: "0001", end: F.days(3))
        let new = RegisteredCertificate(keyId: "new", thumbprint: "0002", end: F.days(300))
        let secret = SecretInfo(keyId: "sec", end: F.days(100))
        let r = ObservedCertificateCheck.evaluate(
            application: F.app(secrets: [secret], certificates: [old, new]), servicePrincipal: F.sp(), keyFile: nil,
            activity: .value([F.activity("sec", "clientSecret", lastSignIn: F.hours(-1))]),
            signIns: F.log([F.success(F.hours(-3), key: "new"), F.success(F.hours(-1), key: "sec")]),
            thresholds: F.thresholds, now: F.now)
        #expect(r.details["in_use"] == "new")
        #expect(r.status == .ok)
    }

    @Test func noneRegisteredAndLocalKeyFile() {
        let none = ObservedCertificateCheck.evaluate(
            application: F.app(), servicePrincipal: F.sp(), keyFile: nil, activity: .value([]), signIns: nil,
            thresholds: F.thresholds, now: F.now)
        #expect(none.reason == .certNotRegistered)
        #expect(none.status == .critical)

        let local = LocalCertificate(thumbprint: "AB12", notAfter: F.days(400), subject: "CN=x")
        let registered = F.app(certificates: [RegisteredCertificate(keyId: "c", thumbprint: "ab12", end: F.days(400))])
        let ok = ObservedCertificateCheck.evaluate(
            application: registered, servicePrincipal: F.sp(), keyFile: .success(local), activity: .value([]),
            signIns: nil, thresholds: F.thresholds, now: F.now)
        #expect(ok.status == .ok)
        let elsewhere = ObservedCertificateCheck.evaluate(
            application: F.app(certificates: [RegisteredCertificate(keyId: "c", thumbprint: "FFFF", end: nil)]),
            servicePrincipal: F.sp(), keyFile: .success(local), activity: .value([]), signIns: nil,
            thresholds: F.thresholds, now: F.now)
        #expect(elsewhere.reason == .certNotRegistered)
    }
}
