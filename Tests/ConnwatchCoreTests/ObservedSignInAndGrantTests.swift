import Foundation
import Testing

@testable import ConnwatchCore

@Suite struct ObservedConsentTests {
    typealias F = ObservedFixture

    static func roles(_ names: [String], resource: String = F.graph) -> [GrantedAppRole] {
        names.enumerated().map {
            GrantedAppRole(
                resourceAppId: resource, resourceDisplayName: F.name(resource), appRoleId: "r\($0.offset)",
                permission: $0.element)
        }
    }

    static let exchange = PermissionCatalog.requirements(for: .exchange).permissions.map(\.name)

    @Test(arguments: [
        ("all", CheckStatus.ok, Reason.ok),
        ("partial", .critical, .consentMissing),
        ("none", .critical, .consentNone),
        ("extra", .warning, .excessPermissions),
        ("other-api", .warning, .excessPermissions),
    ])
    func applicationPermissions(_ scenario: String, _ status: CheckStatus, _ reason: Reason) {
        let granted: [GrantedAppRole] =
            switch scenario {
            case "partial": Self.roles(Self.exchange.filter { $0 != "Mail.Send" })
            case "none": []
            case "extra": Self.roles(Self.exchange + ["Directory.ReadWrite.All"])
            case "other-api": Self.roles(Self.exchange) + Self.roles(["ActivityFeed.Read"], resource: F.o365)
            default: Self.roles(Self.exchange)
            }
        let r = ObservedConsentCheck.evaluate(
            kind: .exchange, appRoles: .value(granted), delegatedGrants: .value([]), now: F.now)
        #expect(r.check == .consent)
        #expect(r.status == status)
        #expect(r.reason == reason)
        if scenario == "partial" {
            #expect(r.details["missing_permissions"] == ["Microsoft Graph: Mail.Send"])
            #expect(r.details["failing_actions"] == ["Quarantine"])
        }
        if scenario == "other-api" {
            #expect(r.details["excess_permissions"] == ["Office 365 Management APIs: ActivityFeed.Read"])
        }
    }

    @Test func resourcesAreMatchedByAppIdAcrossApis() {
        let req = PermissionCatalog.requirements(for: .onedrive)
        let graph = req.applicationPermissions(for: .graph).map(\.name)
        let ok = ObservedConsentCheck.evaluate(
            kind: .onedrive,
            appRoles: .value(Self.roles(graph) + Self.roles(["ActivityFeed.Read"], resource: F.o365.uppercased())),
            delegatedGrants: .failed(F.forbidden), now: F.now)
        #expect(ok.status == .ok)
        let missing = ObservedConsentCheck.evaluate(
            kind: .onedrive, appRoles: .value(Self.roles(graph)), delegatedGrants: .value([]), now: F.now)
        #expect(missing.details["missing_permissions"] == ["Office 365 Management APIs: ActivityFeed.Read"])
    }

    @Test(arguments: [
        ("both", CheckStatus.ok, Reason.ok),
        ("storage-only", .critical, .consentMissing),
        ("user-consent-only", .critical, .consentNone),
        ("nothing", .critical, .consentNone),
        ("plus-app-role", .warning, .excessPermissions),
    ])
    func azureBlobDelegatedGrants(_ scenario: String, _ status: CheckStatus, _ reason: Reason) {
        let storage = DelegatedGrant(
            resourceAppId: F.storage, consentType: "AllPrincipals", scopes: ["user_impersonation"])
        let asm = DelegatedGrant(resourceAppId: F.asm, consentType: "AllPrincipals", scopes: ["user_impersonation"])
        let (grants, roles): ([DelegatedGrant], [GrantedAppRole]) =
            switch scenario {
            case "storage-only": ([storage], [])
            case "user-consent-only":
                (
                    [
                        DelegatedGrant(
                            resourceAppId: F.storage, consentType: "Principal", scopes: ["user_impersonation"])
                    ], []
                )
            case "nothing": ([], [])
            case "plus-app-role": ([storage, asm], Self.roles(["User.Read.All"]))
            default: ([storage, asm], [])
            }
        let r = ObservedConsentCheck.evaluate(
            kind: .azureBlob, appRoles: .value(roles), delegatedGrants: .value(grants), now: F.now)
        #expect(r.status == status)
        #expect(r.reason == reason)
        if scenario == "storage-only" {
            #expect(r.details["missing_permissions"] == ["Windows Azure Service Management: user_impersonation"])
        }
    }

    @Test func unreadableGrants() {
        let blob = ObservedConsentCheck.evaluate(
            kind: .azureBlob, appRoles: .value([]), delegatedGrants: .failed(F.forbidden), now: F.now)
        #expect(blob.reason == .permissionMissing)
        #expect(blob.details["permission"] == "Microsoft Graph: Directory.Read.All")
        let unnamed = ObservedConsentCheck.evaluate(
            kind: .exchange,
            appRoles: .value([GrantedAppRole(resourceAppId: F.graph, appRoleId: "x", permission: nil)]),
            delegatedGrants: .value([]), now: F.now)
        #expect(unnamed.status == .unknown)
    }

    @Test func rolesReuseRolesCheckAndNameTheReaderRole() {
        let scope = "/subscriptions/sub-1"
        let both = [
            ObservedRoleAssignment(
                roleDefinitionId: PermissionCatalog.storageBlobDataContributor.roleDefinitionId, scope: scope),
            ObservedRoleAssignment(
                roleDefinitionId: PermissionCatalog.storageAccountContributor.roleDefinitionId, scope: scope),
        ]
        #expect(
            ObservedRolesCheck.evaluate(assignments: .value(both), subscriptionId: "sub-1", now: F.now).status == .ok)
        let one = ObservedRolesCheck.evaluate(assignments: .value([both[0]]), subscriptionId: "sub-1", now: F.now)
        #expect(one.reason == .roleMissing)
        let denied = ObservedRolesCheck.evaluate(assignments: .failed(F.forbidden), subscriptionId: "sub-1", now: F.now)
        #expect(denied.reason == .permissionMissing)
        #expect(denied.details["permission"] == "Azure: Reader on subscription sub-1")
    }
}

@Suite struct ObservedSignInTests {
    typealias F = ObservedFixture
    static let settings = SignInSettings()

    static func run(_ log: SignInLog?, mode: SignInCheck.Mode = .observed) -> SignInCheck.Outcome {
        SignInCheck.evaluate(log: log, settings: settings, mode: mode, now: F.now)
    }

    /// The latest sign-in of a resource failed: critical with the credential reason of its code.
    @Test(arguments: [
        (7_000_222, Reason.secretExpired), (7_000_215, .secretInvalid), (7_000_112, .appDisabled),
        (700_016, .appNotFound), (53003, .blockedByPolicy), (123_456, .idpError),
    ])
    func failuresCarryTheCredentialReason(_ code: Int, _ reason: Reason) throws {
        let log = F.log([
            F.success(F.hours(-20), key: "k1"),
            F.failure(F.hours(-10), code: code, key: "k1"),
            F.failure(F.hours(-2), code: code, key: "k1"),
        ])
        let r = try #require(Self.run(log).result)
        #expect(r.check == .signin)
        #expect(r.status == .critical)
        #expect(r.reason == reason)
        #expect(r.details["count"] == 2)
        #expect(r.details["first_at"] == .string(CivilTime(F.hours(-10)).rfc3339))
        #expect(r.details["last_at"] == .string(CivilTime(F.hours(-2)).rfc3339))
        #expect(r.details["resource"] == "Microsoft Graph")
        #expect(r.details["key_id"] == "k1")
        #expect(r.details["ip_address"] == "203.0.113.7")
        #expect(r.details["aadsts"] == .int(Int64(code)))
        #expect(AlertEventType(check: .signin, reason: r.reason) == .signinFailing)
        #expect(!r.isBlockedByAnotherCheck)
    }

    @Test func judgedPerResource() throws {
        // Graph recovered; Office 365 Management only failed.
        let log = F.log([
            F.failure(F.hours(-5), code: 7_000_222), F.success(F.hours(-1)),
            F.failure(F.hours(-3), code: 7_000_222, resource: F.o365),
        ])
        let r = try #require(Self.run(log).result)
        #expect(r.reason == .secretExpired)
        #expect(r.details["resource"] == "Office 365 Management APIs")
        #expect(r.details["count"] == 1)

        let recovered = try #require(
            Self.run(F.log([F.failure(F.hours(-5), code: 7_000_222), F.success(F.hours(-1))])).result)
        #expect(recovered.status == .ok)
        // A transient token-service code says nothing about the credential.
        let blip = try #require(Self.run(F.log([F.success(F.hours(-3)), F.failure(F.hours(-1), code: 50000)])).result)
        #expect(blip.status == .ok)
        // Outside sign_in_window does not count.
        let old = try #require(
            Self.run(F.log([F.failure(F.hours(-30), code: 7_000_222)], latestSuccess: F.success(F.days(-2)))).result)
        #expect(old.status == .ok)
    }

    @Test func staleWhenNoSuccessWithinStaleAfter() throws {
        let stale = try #require(Self.run(F.log([])).result)
        #expect(stale.status == .warning)
        #expect(stale.reason == .signinStale)
        #expect(AlertEventType(check: .signin, reason: .signinStale) == .signinStale)
        let tooOld = try #require(Self.run(F.log([], latestSuccess: F.success(F.days(-8)))).result)
        #expect(tooOld.reason == .signinStale)
        let fresh = try #require(Self.run(F.log([], latestSuccess: F.success(F.days(-3)))).result)
        #expect(fresh.status == .ok)
    }

    /// Without a P1/P2 licence or the permissions the check is left out with a note —
    /// never a permanent `unknown`.
    @Test func licenceAndPermissionLeaveTheCheckOut() {
        for failure in [F.unlicensed, F.forbidden] {
            let outcome = Self.run(SignInLog(window: .failed(failure), latestSuccess: .failed(failure)))
            guard case .leftOut(let note) = outcome else {
                Issue.record("expected left out, got \(outcome)")
                continue
            }
            #expect(note.hasPrefix("signin: not checked"))
        }
        guard case .leftOut = Self.run(nil) else { return #expect(Bool(false)) }
        let facts = ObservedConnectorFacts(
            application: F.app(secrets: [SecretInfo(keyId: "k", end: F.days(200))]), servicePrincipal: F.sp(),
            appRoles: .value(ObservedConsentTests.roles(ObservedConsentTests.exchange)),
            credentialActivity: .failed(F.unlicensed),
            signIns: SignInLog(window: .failed(F.unlicensed), latestSuccess: .failed(F.unlicensed)))
        let e = ObservedChecks.evaluate(kind: .exchange, facts: facts, thresholds: F.thresholds, now: F.now)
        #expect(e.results.map(\.check) == [.app, .secretExpiry, .consent])
        #expect(e.results.allSatisfy { $0.status == .ok })
        #expect(e.notes.count == 1)
        #expect(e.notes[0].contains("P1/P2"))
        // A transient failure is an ordinary unknown.
        let blip = Self.run(SignInLog(window: .failed(F.blip), latestSuccess: .failed(F.blip))).result
        #expect(blip?.reason == .throttled)
    }

    // MARK: both sets

    static func own(_ status: CheckStatus, _ reason: Reason) -> SignInCheck.Mode {
        .alongsideOwnCredential(
            CheckResult(check: .credential, status: status, reason: reason, summary: "", checkedAt: F.now))
    }

    @Test func withItsOwnSecretFailuresAreTheServicesAndStalenessIsIgnored() throws {
        let failing = F.log([F.success(F.hours(-2)), F.failure(F.hours(-1), code: 7_000_222, key: "old")])
        let r = try #require(Self.run(failing, mode: Self.own(.ok, .ok)).result)
        #expect(r.status == .critical)
        #expect(r.reason == .signinFailingElsewhere)
        #expect(r.remediation == "re-authorize the tenant in the Admin Portal (step 4)")
        #expect(r.details["key_id"] == "old")
        #expect(AlertEventType(check: .signin, reason: .signinFailingElsewhere) == .signinFailing)

        let quiet = try #require(Self.run(F.log([]), mode: Self.own(.ok, .ok)).result)
        #expect(quiet.status == .ok)

        let ownFails = try #require(Self.run(failing, mode: Self.own(.critical, .secretExpired)).result)
        #expect(ownFails.status == .unknown)
        #expect(ownFails.reason == .secretExpired)
        #expect(ownFails.isBlockedByAnotherCheck)

        let ownBlip = try #require(Self.run(failing, mode: Self.own(.unknown, .unreachable)).result)
        #expect(ownBlip.reason == .unreachable)
    }

    @Test func bothSetsGetOnlyAppAndSignin() {
        let facts = ObservedConnectorFacts(
            application: F.app(), servicePrincipal: F.sp(),
            signIns: F.log([F.failure(F.hours(-1), code: 7_000_222)]))
        let own = CheckResult(check: .credential, status: .ok, reason: .ok, summary: "", checkedAt: F.now)
        let e = ObservedChecks.evaluate(
            kind: .onedrive, facts: facts, ownCredential: own, thresholds: F.thresholds, now: F.now)
        #expect(e.results.map(\.check) == [.app, .signin])
        #expect(e.results[1].reason == .signinFailingElsewhere)
    }
}
