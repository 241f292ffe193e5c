import ConnwatchSimulator
import ConnwatchTestSupport
import Foundation
import Testing

/// `applications(appId='…')/owners` (observer-facts §6): a `directoryObject` collection,
/// paged; users' properties only for a reader that may read users (else `@odata.type` and
/// `id` alone, [LIMITED]); 403 without an application read permission or with
/// `owners_forbidden`.
@Suite("Graph owners (/graph/v1.0/applications(appId=…)/owners)")
struct OwnersRouteTests {
    static let appsOnly = "a0000000-0000-4000-8000-0000000000a1"
    static let locked = "a0000000-0000-4000-8000-0000000000a2"
    static let select = "?$select=id,displayName,mail,userPrincipalName"

    static func scenario() -> Scenario {
        var s = Fixture.scenario()
        let owners = [
            AppOwner(displayName: "Ana Admin", mail: "ana@contoso.com", upn: "ana@contoso.com"),
            AppOwner(displayName: "Bo Builder", upn: "bo@contoso.com"),
            AppOwner(displayName: "deploy pipeline", type: .servicePrincipal),
            AppOwner(displayName: "Cy Cloud", mail: "cy@contoso.com", upn: "cy@contoso.com", id: "0C0C0C0C-0000-4000-8000-000000000001"),
        ]
        let future = Date().addingTimeInterval(86_400)
        for i in s.tenants[0].apps.indices where s.tenants[0].apps[i].appId == Fixture.full {
            s.tenants[0].apps[i].owners = owners
        }
        var appsOnly = App(
            appId: appsOnly, displayName: "Apps only",
            secrets: [ClientSecret(displayName: "s", value: Fixture.secret, end: future)])
        appsOnly.appRoles = [Fixture.graph: ["Application.Read.All"]]
        var locked = App(
            appId: locked, displayName: "Locked",
            secrets: [ClientSecret(displayName: "s", value: Fixture.secret, end: future)])
        locked.owners = owners
        locked.ownersForbidden = true
        s.tenants[0].apps += [appsOnly, locked]
        return s
    }

    static func path(_ appId: String) -> String { "/graph/v1.0/applications(appId='\(appId)')/owners" + select }

    @Test("owners page by three, users in full for a reader of users, limited otherwise; 403 when refused")
    func owners() async throws {
        try await Harness.with(Self.scenario()) { h in
            let token = h.accessToken(try await h.secretToken())
            var next: String? = h.sim.baseURL + Self.path(Fixture.full)
            var items: [[String: Any]] = []
            var pages = 0
            while let url = next, pages < 5 {
                let page = try await h.get(url, bearer: token)
                #expect(page.status == 200, "\(page.text)")
                #expect((page.json["@odata.context"] as? String)?.contains("$metadata#directoryObjects") == true)
                items += try #require(page.json["value"] as? [[String: Any]])
                next = page.json["@odata.nextLink"] as? String
                pages += 1
            }
            #expect(pages == 2 && items.count == 4)
            #expect(items.map { $0["@odata.type"] as? String } == [
                "#microsoft.graph.user", "#microsoft.graph.user", "#microsoft.graph.servicePrincipal",
                "#microsoft.graph.user",
            ])
            #expect(items[0]["mail"] as? String == "ana@contoso.com")
            #expect(items[0]["displayName"] as? String == "Ana Admin")
            #expect(items[1]["mail"] is NSNull && items[1]["userPrincipalName"] as? String == "bo@contoso.com")
            #expect(items[2]["mail"] == nil && items[2]["displayName"] as? String == "deploy pipeline")
            #expect(items[3]["id"] as? String == "0c0c0c0c-0000-4000-8000-000000000001")
            #expect(Set(items.compactMap { $0["id"] as? String }).count == 4)

            // May read apps, not users: entries with only @odata.type and id.
            let appsOnly = h.accessToken(try await h.secretToken(clientId: Self.appsOnly))
            let limited = try await h.get(Self.path(Fixture.full), bearer: appsOnly)
            let first = try #require((limited.json["value"] as? [[String: Any]])?.first)
            #expect(Set(first.keys) == ["@odata.type", "id"])

            let bare = h.accessToken(try await h.secretToken(clientId: Fixture.bare))
            let denied = try await h.get(Self.path(Fixture.full), bearer: bare)
            #expect(denied.status == 403 && denied.errorCode == "Authorization_RequestDenied")
            let locked = try await h.get(Self.path(Self.locked), bearer: token)
            #expect(locked.status == 403 && locked.errorCode == "Authorization_RequestDenied")
            let missing = try await h.get(Self.path(Fixture.unknownApp), bearer: token)
            #expect(missing.status == 404 && missing.errorCode == "Request_ResourceNotFound")
        }
    }

    @Test("owners and owners_forbidden round-trip through the scenario JSON")
    func scenarioJSON() throws {
        let json = #"""
            {"tenants":[{"id":"5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41","apps":[{"app_id":"a0000000-0000-4000-8000-000000000001",
            "owners":[{"display_name":"Ana","mail":"ana@contoso.com","upn":"ana@contoso.com"},
            {"display_name":"pipeline","type":"service_principal"}],"owners_forbidden":true}]}]}
            """#
        let s = try Scenario.decode(Data(json.utf8))
        let app = try #require(s.tenants.first?.apps.first)
        #expect(app.owners == [
            AppOwner(displayName: "Ana", mail: "ana@contoso.com", upn: "ana@contoso.com"),
            AppOwner(displayName: "pipeline", type: .servicePrincipal),
        ])
        #expect(app.ownersForbidden)
        let again = try Scenario.decode(try s.encoded())
        #expect(again.tenants.first?.apps.first == app)
    }
}
