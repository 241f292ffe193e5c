import ConnwatchSimulator
import ConnwatchTestSupport
import Crypto
import Foundation
import Testing

@Suite("Microsoft Graph (/graph)")
struct GraphTests {
    static func appPath(_ appId: String) -> String { "/graph/v1.0/applications(appId='\(appId)')" }

    @Test("without a token: 401 InvalidAuthenticationToken; without permission: 403 Authorization_RequestDenied")
    func authentication() async throws {
        try await Harness.with { h in
            let anonymous = try await h.get(Self.appPath(Fixture.full))
            #expect(anonymous.status == 401)
            #expect(anonymous.errorCode == "InvalidAuthenticationToken")
            #expect(anonymous.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)

            let forged = try await h.get(Self.appPath(Fixture.full), bearer: "eyJhbGciOiJub25lIn0.eyJ9.c2ln")
            #expect(forged.status == 401)

            // A token for another resource is refused.
            let office = h.accessToken(try await h.secretToken(scope: "https://manage.office.com/.default"))
            #expect(try await h.get(Self.appPath(Fixture.full), bearer: office).status == 401)

            let bare = h.accessToken(try await h.secretToken(clientId: Fixture.bare))
            let clientRequestId = UUID().uuidString.lowercased()
            let denied = try await h.get(
                Self.appPath(Fixture.full), bearer: bare, headers: [("client-request-id", clientRequestId)])
            #expect(denied.status == 403)
            let error = try #require(denied.json["error"] as? [String: Any])
            #expect(error["code"] as? String == "Authorization_RequestDenied")
            #expect(error["message"] as? String == "Insufficient privileges to complete the operation.")
            let inner = try #require(error["innerError"] as? [String: Any])
            #expect(inner["date"] as? String != nil)
            #expect(inner["request-id"] as? String != nil)
            #expect(inner["client-request-id"] as? String == clientRequestId)
            #expect(denied.header("request-id") == inner["request-id"] as? String)
        }
    }

    @Test("applications(appId=…) returns passwordCredentials and keyCredentials in Graph's shape")
    func application() async throws {
        try await Harness.with { h in
            let token = h.accessToken(try await h.secretToken())
            let reply = try await h.get(Self.appPath(Fixture.full), bearer: token)
            #expect(reply.status == 200)
            #expect((reply.json["@odata.context"] as? String)?.contains("$metadata#applications") == true)
            #expect(reply.json["appId"] as? String == Fixture.full)
            let secrets = try #require(reply.json["passwordCredentials"] as? [[String: Any]])
            #expect(secrets.count == 1)
            let secret = secrets[0]
            #expect(secret["hint"] as? String == String(Fixture.secret.prefix(3)))
            #expect(secret["secretText"] is NSNull)
            #expect(secret["customKeyIdentifier"] is NSNull)
            #expect(secret["displayName"] as? String == "zscaler")
            #expect((secret["keyId"] as? String)?.count == 36)
            #expect((secret["endDateTime"] as? String)?.hasSuffix("Z") == true)
            #expect(secret["startDateTime"] as? String != nil)

            let keys = try #require(reply.json["keyCredentials"] as? [[String: Any]])
            #expect(keys.count == 1)
            let key = keys[0]
            let thumbprint = Data(Insecure.SHA1.hash(data: TestPKI.registered.der)).base64EncodedString()
            #expect(key["customKeyIdentifier"] as? String == thumbprint)
            #expect(key["type"] as? String == "AsymmetricX509Cert")
            #expect(key["usage"] as? String == "Verify")
            #expect(key["key"] is NSNull)
            #expect(key["startDateTime"] as? String != nil && key["endDateTime"] as? String != nil)
            let rra = try #require(reply.json["requiredResourceAccess"] as? [[String: Any]])
            #expect(rra.contains { $0["resourceAppId"] as? String == Fixture.graph })

            // $select narrows the object, and the public key comes back only then.
            let selected = try await h.get(Self.appPath(Fixture.full) + "?$select=appId,keyCredentials", bearer: token)
            #expect(Set(selected.json.keys) == ["@odata.context", "appId", "keyCredentials"])
            let der = (selected.json["keyCredentials"] as? [[String: Any]])?.first?["key"] as? String
            #expect(der == Data(TestPKI.registered.der).base64EncodedString())

            let filtered = try await h.get(
                "/graph/v1.0/applications?$filter=appId%20eq%20'\(Fixture.full)'&$select=id,appId", bearer: token)
            let value = try #require(filtered.json["value"] as? [[String: Any]])
            #expect(value.count == 1 && value[0]["appId"] as? String == Fixture.full)

            let missing = try await h.get(Self.appPath(Fixture.unknownApp), bearer: token)
            #expect(missing.status == 404)
            #expect(missing.errorCode == "Request_ResourceNotFound")

            let badSelect = try await h.get(Self.appPath(Fixture.full) + "?$select=nonsense", bearer: token)
            #expect(badSelect.status == 400)
        }
    }

    @Test("self_read lets an app read only its own application object")
    func selfRead() async throws {
        try await Harness.with { h in
            let token = h.accessToken(try await h.secretToken(clientId: Fixture.selfReader))
            #expect(try await h.get(Self.appPath(Fixture.selfReader), bearer: token).status == 200)
            #expect(try await h.get(Self.appPath(Fixture.full), bearer: token).status == 403)
            let bare = h.accessToken(try await h.secretToken(clientId: Fixture.bare))
            #expect(try await h.get(Self.appPath(Fixture.bare), bearer: bare).status == 403)
        }
    }

    @Test("appRoleAssignments page through absolute @odata.nextLink URLs and resolve to appRoles values")
    func appRoleAssignmentsPaging() async throws {
        try await Harness.with { h in
            let token = h.accessToken(try await h.secretToken())
            let sp = try await h.get("/graph/v1.0/servicePrincipals(appId='\(Fixture.full)')", bearer: token)
            #expect(sp.status == 200)
            let spId = try #require(sp.json["id"] as? String)
            #expect(spId == claims(of: token)["oid"] as? String)

            var next: String? = h.sim.baseURL + "/graph/v1.0/servicePrincipals/\(spId)/appRoleAssignments"
            var items: [[String: Any]] = []
            var pages = 0
            while let url = next {
                #expect(url.hasPrefix(h.sim.baseURL + "/graph/v1.0/"))
                let page = try await h.get(url, bearer: token)
                #expect(page.status == 200, "\(page.text)")
                let value = try #require(page.json["value"] as? [[String: Any]])
                #expect(value.count <= 10)
                items += value
                next = page.json["@odata.nextLink"] as? String
                pages += 1
                if pages > 20 { break }
            }
            let expected = Fixture.graphRoles.count + 2  // + ActivityFeed.Read, SharePoint Sites.Read.All
            #expect(items.count == expected)
            #expect(pages == (expected + 9) / 10)
            #expect(Set(items.compactMap { $0["id"] as? String }).count == expected)
            #expect(items.allSatisfy { $0["principalType"] as? String == "ServicePrincipal" })
            #expect(items.allSatisfy { $0["principalId"] as? String == spId })

            // Resolve the Graph grants to permission names through the resource SP's appRoles.
            let graphItems = items.filter { $0["resourceDisplayName"] as? String == "Microsoft Graph" }
            let resourceId = try #require(graphItems.first?["resourceId"] as? String)
            let resource = try await h.get(
                "/graph/v1.0/servicePrincipals/\(resourceId)?$select=appId,displayName,appRoles", bearer: token)
            #expect(resource.json["appId"] as? String == Fixture.graph)
            let roles = try #require(resource.json["appRoles"] as? [[String: Any]])
            #expect(
                roles.allSatisfy {
                    ($0["allowedMemberTypes"] as? [String]) == ["Application"] && $0["isEnabled"] as? Bool == true
                })
            var byId: [String: String] = [:]
            for role in roles { byId[role["id"] as? String ?? ""] = role["value"] as? String }
            let names = Set(graphItems.compactMap { byId[$0["appRoleId"] as? String ?? ""] })
            #expect(names == Set(Fixture.graphRoles))

            // Deterministic: the same permission keeps its GUID in another simulator run.
            try await Harness.with { other in
                let t = other.accessToken(try await other.secretToken())
                let r = try await other.get(
                    "/graph/v1.0/servicePrincipals(appId='\(Fixture.graph)')?$select=appRoles", bearer: t)
                let roles2 = (r.json["appRoles"] as? [[String: Any]]) ?? []
                #expect(roles2.map { $0["id"] as? String } == roles.map { $0["id"] as? String })
            }
        }
    }

    @Test("oauth2PermissionGrants, organization, users, groups need their permissions")
    func directoryReads() async throws {
        try await Harness.with { h in
            let token = h.accessToken(try await h.secretToken())
            let spId = claims(of: token)["oid"] as? String ?? ""
            let grants = try await h.get(
                "/graph/v1.0/oauth2PermissionGrants?$filter=clientId%20eq%20'\(spId)'", bearer: token)
            #expect(grants.status == 200)
            let grant = try #require((grants.json["value"] as? [[String: Any]])?.first)
            #expect(grant["clientId"] as? String == spId)
            #expect(grant["consentType"] as? String == "AllPrincipals")
            #expect(grant["scope"] as? String == "user_impersonation")
            #expect(grant["principalId"] is NSNull)

            let org = try await h.get("/graph/v1.0/organization", bearer: token)
            #expect(org.status == 200)
            #expect((org.json["value"] as? [[String: Any]])?.first?["id"] as? String == Fixture.tenant)
            let users = try await h.get("/graph/v1.0/users?$top=1&$select=id", bearer: token)
            #expect(users.status == 200)
            #expect((users.json["value"] as? [[String: Any]])?.count == 1)
            #expect(try await h.get("/graph/v1.0/groups?$top=1", bearer: token).status == 200)

            let bare = h.accessToken(try await h.secretToken(clientId: Fixture.bare))
            for path in [
                "/graph/v1.0/oauth2PermissionGrants?$filter=clientId eq '\(spId)'", "/graph/v1.0/organization",
                "/graph/v1.0/users?$top=1", "/graph/v1.0/groups?$top=1",
                "/graph/v1.0/servicePrincipals/\(spId)/appRoleAssignments",
            ] {
                let reply = try await h.get(path.replacingOccurrences(of: " ", with: "%20"), bearer: bare)
                #expect(reply.status == 403, "\(path)")
                #expect(reply.errorCode == "Authorization_RequestDenied")
            }
        }
    }
}
