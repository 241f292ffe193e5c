import ConnwatchCore
import Foundation
import Testing

@testable import ConnwatchEntra

/// The observer's replies as Microsoft documents them, both spellings where the
/// documentation contradicts itself (observer-facts §4, UNVERIFIED point 4).
@Suite struct ObserverWireTests {
    static func data(_ s: String) -> Data { Data(s.utf8) }

    @Test func credentialActivityInBothSpellings() throws {
        let example = Self.data(
            #"{"value":[{"id":"x","appId":"a","keyId":"83f45296-0000-0000-0000-000000000001","keyType":"secret","keyUsage":"sign","credentialOrigin":"application","expirationDate":"2026-09-01T00:00:00Z","signInActivity":{"lastSignInDateTime":"2026-06-01T00:00:00Z","lastSignInRequestId":"r"}}]}"#
        )
        let table = Self.data(
            #"{"value":[{"id":"y","appId":"a","keyId":"k2","keyType":"clientSecret","keyUsage":"sign","expirationDateTime":"2026-09-01T00:00:00Z","signInActivity":{"lastSignInDateTime":null}},{"keyId":"c1","keyType":"certificate"}],"@odata.nextLink":"https://graph.microsoft.com/beta/next"}"#
        )
        let a = try ObserverWire.credentialActivities(example, endpoint: "e").items
        #expect(a.count == 1)
        #expect(a[0].keyType == .secret)
        #expect(a[0].expiration == Date(timeIntervalSince1970: 1_788_220_800))
        #expect(a[0].lastSignIn == Date(timeIntervalSince1970: 1_780_272_000))
        let b = try ObserverWire.credentialActivities(table, endpoint: "e")
        #expect(b.items.map(\.keyType) == [.secret, .certificate])
        #expect(b.items[0].expiration == Date(timeIntervalSince1970: 1_788_220_800))
        #expect(b.items[0].lastSignIn == nil)
        #expect(b.nextLink == "https://graph.microsoft.com/beta/next")
    }

    @Test func signInEvents() throws {
        let body = Self.data(
            #"{"value":[{"id":"1","createdDateTime":"2026-06-01T10:00:00Z","appId":"a","ipAddress":"203.0.113.7","resourceDisplayName":"Microsoft Graph","resourceId":"00000003-0000-0000-c000-000000000000","servicePrincipalCredentialKeyId":"0f0c","servicePrincipalCredentialThumbprint":"","clientCredentialType":"clientSecret","signInEventTypes":["servicePrincipal"],"status":{"errorCode":7000222,"failureReason":"expired","additionalDetails":null}}]}"#
        )
        let e = try #require(try ObserverWire.signIns(body, endpoint: "e").items.first)
        #expect(e.errorCode == 7_000_222)
        #expect(e.keyId == "0f0c")
        #expect(e.thumbprint == nil)
        #expect(e.resourceAppId == "00000003-0000-0000-c000-000000000000")
        #expect(e.ipAddress == "203.0.113.7")
        #expect(e.credentialType == .secret)
        #expect(!e.succeeded)
        #expect(throws: EntraError.self) {
            try ObserverWire.signIns(
                Self.data(#"{"value":[{"createdDateTime":"2026-06-01T10:00:00Z","status":{"errorCode":"x"}}]}"#),
                endpoint: "e")
        }
    }

    @Test func servicePrincipalAndApplication() throws {
        let sp = try ObserverWire.servicePrincipal(
            Self.data(
                #"{"id":"00af","appId":"46e6","displayName":"Zscaler","accountEnabled":false,"disabledByMicrosoftStatus":null,"keyCredentials":[],"passwordCredentials":[{"keyId":"s1","hint":"abC","endDateTime":"2026-09-01T00:00:00Z"}]}"#
            ), endpoint: "e")
        #expect(!sp.accountEnabled)
        #expect(sp.credentials.secrets.map(\.keyId) == ["s1"])
        let app = try ObserverWire.application(
            Self.data(
                #"{"id":"7bec","appId":"46e6","passwordCredentials":[],"keyCredentials":[{"customKeyIdentifier":"q83vEjRWeJq83vEjRWeJq83vEjQ=","keyId":"c1","endDateTime":"2027-01-01T00:00:00Z","type":"AsymmetricX509Cert","usage":"Verify","key":null}]}"#
            ), endpoint: "e")
        #expect(app.objectId == "7bec")
        #expect(app.credentials.certificates.first?.thumbprint == "ABCDEF123456789ABCDEF123456789ABCDEF1234")
    }

    /// The licence error is "not licensed" whether it comes as 401 or 403; a plain 403 is "not permitted".
    @Test(arguments: [401, 403])
    func licenceErrorEitherStatus(_ status: Int) {
        let f = ObserverWire.observedFailure(
            .apiError(
                APIFailure(
                    endpoint: "e", status: status, code: "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                    message: "Neither tenant is B2C or tenant doesn't have premium license")))
        #expect(f.notLicensed)
        #expect(!f.transient)
        let denied = ObserverWire.observedFailure(
            .apiError(
                APIFailure(
                    endpoint: "e", status: 403, code: "Authorization_RequestDenied",
                    message: "Insufficient privileges to complete the operation.")))
        #expect(denied.forbidden && !denied.notLicensed)
        let throttled = ObserverWire.observedFailure(.throttled(endpoint: "e", retryAfter: 5))
        #expect(throttled.transient)
        #expect(throttled.reason == .throttled)
    }

    @Test func grantsAreNamedThroughTheResourcesRoles() throws {
        let storage = ObserverWire.ResourceRoles(
            objectId: "1804A6F8", appId: "e406a681-f3d4-42a8-90b6-c2b029497af1", displayName: "Azure Storage",
            roles: [:])
        let graph = try ObserverWire.resourceRoles(
            Self.data(
                #"{"id":"fea94d6d","appId":"00000003-0000-0000-c000-000000000000","displayName":"Microsoft Graph","appRoles":[{"id":"E2A3A72E-5F79-4C64-B1B1-878B674786C9","value":"Mail.Send"}]}"#
            ), endpoint: "e")
        let assignments = try ObserverWire.appRoleAssignments(
            Self.data(
                #"{"value":[{"id":"x","appRoleId":"e2a3a72e-5f79-4c64-b1b1-878b674786c9","principalId":"p","resourceId":"fea94d6d","resourceDisplayName":"Microsoft Graph"},{"id":"y","appRoleId":"00000000-0000-0000-0000-000000000001","resourceId":"unknown-sp"}]}"#
            ), endpoint: "e"
        ).items
        let named = ObserverWire.name(assignments, resources: [graph, storage])
        #expect(named[0].permission == "Mail.Send")
        #expect(named[0].resourceAppId == "00000003-0000-0000-c000-000000000000")
        #expect(named[1].permission == nil && named[1].resourceAppId == nil)
        let grants = try ObserverWire.delegatedGrants(
            Self.data(
                #"{"value":[{"id":"g","clientId":"c","consentType":"AllPrincipals","principalId":null,"resourceId":"1804a6f8","scope":"user_impersonation"}]}"#
            ), endpoint: "e", resources: [graph, storage]
        ).items
        #expect(
            grants == [
                DelegatedGrant(
                    resourceAppId: storage.appId, consentType: "AllPrincipals", scopes: ["user_impersonation"])
            ])
    }
}
