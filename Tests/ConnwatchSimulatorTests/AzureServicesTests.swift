import ConnwatchSimulator
import ConnwatchTestSupport
import Foundation
import Testing

@Suite("ARM, Office 365 Management API, SharePoint")
struct AzureServicesTests {
    static let armScope = "https://management.azure.com/.default"

    @Test("ARM lists only subscriptions with a role and the role assignments of the caller")
    func armAllowed() async throws {
        try await Harness.with { h in
            let token = h.accessToken(try await h.secretToken(scope: Self.armScope))
            let oid = try #require(claims(of: token)["oid"] as? String)
            let subs = try await h.get("/arm/subscriptions?api-version=2020-01-01", bearer: token)
            #expect(subs.status == 200)
            let list = try #require(subs.json["value"] as? [[String: Any]])
            #expect(list.map { $0["subscriptionId"] as? String } == [Fixture.subscription])
            #expect(list.first?["tenantId"] as? String == Fixture.tenant)

            let ra = try await h.get(
                "/arm/subscriptions/\(Fixture.subscription)/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=assignedTo('\(oid)')",
                bearer: token)
            #expect(ra.status == 200)
            let item = try #require((ra.json["value"] as? [[String: Any]])?.first)
            #expect(item["type"] as? String == "Microsoft.Authorization/roleAssignments")
            let props = try #require(item["properties"] as? [String: Any])
            #expect(
                props["roleDefinitionId"] as? String
                    == "/subscriptions/\(Fixture.subscription)/providers/Microsoft.Authorization/roleDefinitions/\(Fixture.storageAccountContributor)"
            )
            #expect(props["principalId"] as? String == oid)
            #expect(props["principalType"] as? String == "ServicePrincipal")
            #expect(props["scope"] as? String == "/subscriptions/\(Fixture.subscription)")
            #expect((item["id"] as? String)?.hasSuffix("/roleAssignments/\(item["name"] as? String ?? "")") == true)
        }
    }

    @Test("ARM: 403 AuthorizationFailed without a role, 404 SubscriptionNotFound, 401 for a Graph token")
    func armForbidden() async throws {
        try await Harness.with { h in
            let path =
                "/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=assignedTo('x')"
            let full = h.accessToken(try await h.secretToken(scope: Self.armScope))
            let noRoleHere = try await h.get("/arm/subscriptions/\(Fixture.otherSubscription)" + path, bearer: full)
            #expect(noRoleHere.status == 403)
            #expect(noRoleHere.errorCode == "AuthorizationFailed")

            let bare = h.accessToken(try await h.secretToken(clientId: Fixture.bare, scope: Self.armScope))
            let subs = try await h.get("/arm/subscriptions?api-version=2020-01-01", bearer: bare)
            #expect(subs.status == 200)
            #expect((subs.json["value"] as? [Any])?.isEmpty == true)
            let denied = try await h.get("/arm/subscriptions/\(Fixture.subscription)" + path, bearer: bare)
            #expect(denied.status == 403)
            let message = (denied.json["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains("does not have authorization to perform action"))

            let unknown = try await h.get(
                "/arm/subscriptions/99999999-9999-4999-8999-999999999999" + path, bearer: full)
            #expect(unknown.status == 404)
            #expect(unknown.errorCode == "SubscriptionNotFound")

            let graph = h.accessToken(try await h.secretToken())
            let wrongAudience = try await h.get("/arm/subscriptions?api-version=2020-01-01", bearer: graph)
            #expect(wrongAudience.status == 401)
            #expect(wrongAudience.errorCode == "InvalidAuthenticationTokenAudience")
            let noVersion = try await h.get("/arm/subscriptions", bearer: full)
            #expect(noVersion.status == 400)
            #expect(noVersion.errorCode == "MissingApiVersionParameter")
        }
    }

    @Test("Office 365 Management: AF10001 without ActivityFeed.Read, AF20010 for another tenant, else the list")
    func officeManagement() async throws {
        try await Harness.with { h in
            let path =
                "/office/api/v1.0/\(Fixture.tenant)/activity/feed/subscriptions/list?PublisherIdentifier=\(Fixture.tenant)"
            let scope = "https://manage.office.com/.default"
            let bare = h.accessToken(try await h.secretToken(clientId: Fixture.bare, scope: scope))
            let denied = try await h.get(path, bearer: bare)
            #expect(denied.status == 403)
            #expect(denied.errorCode == "AF10001")
            let anonymous = try await h.get(path)
            #expect(anonymous.status == 401)
            #expect(anonymous.errorCode == "AF10001")

            let full = h.accessToken(try await h.secretToken(scope: scope))
            let ok = try await h.get(path, bearer: full)
            #expect(ok.status == 200)
            let list = try #require(ok.jsonArray as? [[String: Any]])
            #expect(
                list.contains {
                    $0["contentType"] as? String == "Audit.SharePoint" && $0["status"] as? String == "enabled"
                })

            let other = try await h.get(
                "/office/api/v1.0/\(Fixture.otherTenant)/activity/feed/subscriptions/list", bearer: full)
            #expect(other.status == 400)
            #expect(other.errorCode == "AF20010")
        }
    }

    @Test("SharePoint REST: secret-issued token 401 'Unsupported app only token.', certificate token reads the web")
    func sharePoint() async throws {
        try await Harness.with { h in
            let path = "/sharepoint/\(Fixture.sharePointHost)/_api/web?$select=Title"
            let scope = "https://\(Fixture.sharePointHost)/.default"
            let secretToken = h.accessToken(try await h.secretToken(scope: scope))
            let refused = try await h.get(path, bearer: secretToken)
            #expect(refused.status == 401)
            #expect(refused.json["error_description"] as? String == "Unsupported app only token.")

            let assertion = TestPKI.registered.assertion(clientId: Fixture.full, audience: h.tokenEndpoint)
            let certToken = h.accessToken(try await h.certificateToken(scope: scope, assertion: assertion))
            let ok = try await h.get(
                path, bearer: certToken, headers: [("Accept", "application/json;odata=nometadata")])
            #expect(ok.status == 200)
            #expect(ok.json["Title"] as? String == "Contoso")
            #expect(ok.json.count == 1)
            let verbose = try await h.get(
                path, bearer: certToken, headers: [("Accept", "application/json;odata=verbose")])
            #expect((verbose.json["d"] as? [String: Any])?["Title"] as? String == "Contoso")

            let noSitesAssertion = TestPKI.registered.assertion(
                clientId: Fixture.certNoSites, audience: h.tokenEndpoint)
            let noSites = h.accessToken(
                try await h.certificateToken(clientId: Fixture.certNoSites, scope: scope, assertion: noSitesAssertion))
            let forbidden = try await h.get(path, bearer: noSites)
            #expect(forbidden.status == 403)

            let graph = h.accessToken(try await h.secretToken())
            #expect(try await h.get(path, bearer: graph).status == 401)
        }
    }
}
