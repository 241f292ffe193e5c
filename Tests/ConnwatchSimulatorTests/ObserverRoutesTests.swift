import ConnwatchSimulator
import Foundation
import Testing

/// A tenant with an observer (monitoring app) and connector apps in the states observer
/// mode reads (SPEC §3b), and a second tenant without a P1/P2 licence. Each test signs in
/// with its own observer app: the reports limit (5 per 10 s) is per app and tenant.
enum ObserverFixture {
    static let tenant = Fixture.tenant
    static let unlicensed = "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d"
    static let observers = (1...8).map { String(format: "b0000000-0000-4000-8000-%012d", $0) }
    static let noAudit = "b0000000-0000-4000-8000-000000000099"
    static let unlicensedObserver = "b0000000-0000-4000-8000-000000000098"
    static let healthy = "c0000000-0000-4000-8000-000000000001"
    static let expired = "c0000000-0000-4000-8000-000000000002"
    static let stale = "c0000000-0000-4000-8000-000000000003"
    static let disabled = "c0000000-0000-4000-8000-000000000004"
    static let oldSecret = "c0000000-0000-4000-8000-000000000005"
    static let healthySecretKeyId = "d0000000-0000-4000-8000-000000000001"
    static let expiredSecretKeyId = "d0000000-0000-4000-8000-000000000002"
    static let observerRoles = ["Application.Read.All", "Directory.Read.All", "AuditLog.Read.All"]

    static func scenario(faults: [Fault]? = nil) -> Scenario {
        let future = Date().addingTimeInterval(200 * 86_400)
        let past = Date().addingTimeInterval(-86_400)
        func app(_ id: String, _ name: String, roles: [String] = ["Mail.Send", "User.Read.All"]) -> App {
            App(
                appId: id, displayName: name, secrets: [ClientSecret(value: Fixture.secret, end: future)],
                appRoles: [Fixture.graph: roles])
        }
        var healthy = app(Self.healthy, "Zscaler CASB Exchange")
        healthy.secrets = [ClientSecret(keyId: healthySecretKeyId, displayName: "zscaler", value: "Hh1~x", end: future)]
        healthy.reportSpelling = .example
        var expired = app(Self.expired, "Zscaler CASB OneDrive")
        expired.secrets = [
            ClientSecret(
                keyId: expiredSecretKeyId, value: "Ee2~x", start: past.addingTimeInterval(-90 * 86_400), end: past)
        ]
        expired.appRoles = [Fixture.graph: ["Files.ReadWrite.All"], Fixture.office: ["ActivityFeed.Read"]]
        var stale = app(Self.stale, "Zscaler CASB Teams")
        stale.signIns = .stale
        var disabled = app(Self.disabled, "Zscaler CASB Blob")
        disabled.disabled = true
        var oldSecret = app(Self.oldSecret, "Zscaler CASB SharePoint")
        oldSecret.signIns = .oldSecret
        let observers = Self.observers.map { app($0, "connwatch observer", roles: observerRoles) }
        return Scenario(
            tenants: [
                Tenant(
                    id: tenant, domains: [Fixture.domain], displayName: "Contoso",
                    apps: observers + [
                        app(
                            Self.noAudit, "observer without AuditLog",
                            roles: ["Application.Read.All", "Directory.Read.All"]),
                        healthy, expired, stale, disabled, oldSecret,
                    ]),
                Tenant(
                    id: unlicensed, domains: ["free.onmicrosoft.com"], displayName: "Free",
                    apps: [
                        app(Self.unlicensedObserver, "observer", roles: observerRoles), app(Self.healthy, "connector"),
                    ],
                    premium: false),
            ], faults: faults)
    }

    static func signIns(_ appId: String, extra: String = "") -> String {
        let filter = "appId eq '\(appId)' and signInEventTypes/any(t: t eq 'servicePrincipal')\(extra)"
        return "/graph/beta/auditLogs/signIns?$filter="
            + filter.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
    }

    static func iso(_ d: Date) -> String { ISO8601DateFormatter().string(from: d) }
}

@Suite("Observer routes (/graph beta reports, sign-in log, $batch)")
struct ObserverRoutesTests {
    typealias O = ObserverFixture

    static func token(_ h: Harness, _ clientId: String, tenant: String = O.tenant) async throws -> String {
        h.accessToken(try await h.secretToken(clientId: clientId, tenant: tenant))
    }

    @Test("service principal: accountEnabled and disabledByMicrosoftStatus; resource appRoles; delegated grants")
    func servicePrincipal() async throws {
        try await Harness.with(O.scenario()) { h in
            let token = try await Self.token(h, O.observers[0])
            let ok = try await h.get("/graph/v1.0/servicePrincipals(appId='\(O.healthy)')", bearer: token)
            #expect(ok.status == 200)
            #expect(ok.json["accountEnabled"] as? Bool == true)
            #expect(ok.json.keys.contains("disabledByMicrosoftStatus"))
            #expect(ok.json["passwordCredentials"] as? [Any] != nil)
            let off = try await h.get("/graph/v1.0/servicePrincipals(appId='\(O.disabled)')", bearer: token)
            #expect(off.json["accountEnabled"] as? Bool == false)
            let spId = try #require(ok.json["id"] as? String)
            let grants = try await h.get(
                "/graph/v1.0/oauth2PermissionGrants?$filter=clientId%20eq%20'\(spId)'", bearer: token)
            #expect(grants.status == 200)
            #expect(grants.json["value"] as? [Any] != nil)
            let graph = try await h.get(
                "/graph/v1.0/servicePrincipals(appId='\(Fixture.graph)')?$select=id,appId,appRoles", bearer: token)
            let roles = try #require(graph.json["appRoles"] as? [[String: Any]])
            #expect(roles.contains { $0["value"] as? String == "Mail.Send" })
        }
    }

    @Test(
        "sign-in log: successes for a healthy app, AADSTS7000222 for an expired secret, nothing for ten days when stale"
    )
    func signInLog() async throws {
        try await Harness.with(O.scenario()) { h in
            let token = try await Self.token(h, O.observers[1])
            let healthy = try await h.get(O.signIns(O.healthy), bearer: token)
            #expect(healthy.status == 200, "\(healthy.text)")
            let events = try #require(healthy.json["value"] as? [[String: Any]])
            #expect(!events.isEmpty)
            #expect(events.allSatisfy { ($0["status"] as? [String: Any])?["errorCode"] as? Int == 0 })
            #expect(events.allSatisfy { $0["servicePrincipalCredentialKeyId"] as? String == O.healthySecretKeyId })
            #expect(events.allSatisfy { $0["appId"] as? String == O.healthy })
            let times = events.compactMap { $0["createdDateTime"] as? String }
            #expect(times == times.sorted(by: >), "newest first")
            let first = events[0]
            for key in [
                "id", "createdDateTime", "appDisplayName", "ipAddress", "resourceDisplayName", "resourceId",
                "servicePrincipalId", "servicePrincipalCredentialThumbprint", "clientCredentialType",
                "signInEventTypes",
            ] {
                #expect(first[key] != nil, "\(key)")
            }
            #expect(first["resourceId"] as? String == Fixture.graph)

            let expired = try await h.get(O.signIns(O.expired), bearer: token)
            let failing = try #require(expired.json["value"] as? [[String: Any]])
            let latest = try #require(failing.first)
            let status = try #require(latest["status"] as? [String: Any])
            #expect(status["errorCode"] as? Int == 7_000_222)
            #expect(status["failureReason"] as? String != nil)
            #expect(latest["servicePrincipalCredentialKeyId"] as? String == O.expiredSecretKeyId)
            #expect(Set(failing.compactMap { $0["resourceId"] as? String }) == [Fixture.graph, Fixture.office])
            #expect(failing.contains { ($0["status"] as? [String: Any])?["errorCode"] as? Int == 0 })

            // Stale: the latest success within the last nine days ($top=1, filtered) is none.
            let since = O.iso(Date().addingTimeInterval(-9 * 86_400))
            let recent = try await h.get(
                O.signIns(O.stale, extra: " and createdDateTime ge \(since) and status/errorCode eq 0") + "&$top=1",
                bearer: token)
            #expect(recent.status == 200, "\(recent.text)")
            #expect((recent.json["value"] as? [Any])?.isEmpty == true)
            // Without the servicePrincipal clause beta lists interactive sign-ins only: none.
            let interactive = try await h.get(
                "/graph/beta/auditLogs/signIns?$filter=appId%20eq%20'\(O.healthy)'", bearer: token)
            #expect((interactive.json["value"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("sign-in log: a service holding an unregistered secret fails with AADSTS7000215 for a day, no keyId")
    func oldSecretSignIns() async throws {
        try await Harness.with(O.scenario()) { h in
            let token = try await Self.token(h, O.observers[1])
            let reply = try await h.get(O.signIns(O.oldSecret), bearer: token)
            #expect(reply.status == 200, "\(reply.text)")
            let events = try #require(reply.json["value"] as? [[String: Any]])
            func code(_ e: [String: Any]) -> Int? { (e["status"] as? [String: Any])?["errorCode"] as? Int }
            let failures = events.filter { code($0) == 7_000_215 }
            #expect(!failures.isEmpty)
            #expect(code(events[0]) == 7_000_215, "the latest sign-in failed")
            #expect(events.allSatisfy { code($0) == 0 || code($0) == 7_000_215 })
            #expect(failures.allSatisfy { ($0["servicePrincipalCredentialKeyId"] as? String ?? "").isEmpty })
            // The app's registered secret still works for whoever holds it (connwatch).
            let own = try await h.secretToken(clientId: O.oldSecret, tenant: O.tenant)
            #expect(own.status == 200, "\(own.text)")
        }
    }

    @Test("sign-in log pages with $top and an absolute @odata.nextLink")
    func signInPaging() async throws {
        try await Harness.with(O.scenario()) { h in
            let token = try await Self.token(h, O.observers[2])
            var next: String? = h.sim.baseURL + O.signIns(O.healthy) + "&$top=5"
            var ids: [String] = []
            var pages = 0
            while let url = next, pages < 5 {
                let page = try await h.get(url, bearer: token)
                #expect(page.status == 200, "\(page.text)")
                let value = try #require(page.json["value"] as? [[String: Any]])
                #expect(value.count <= 5)
                ids += value.compactMap { $0["id"] as? String }
                next = page.json["@odata.nextLink"] as? String
                pages += 1
            }
            #expect(pages >= 2)
            #expect(Set(ids).count == ids.count)
            // The documented maximum page size of the sign-in log is 1,000.
            let max = try await h.get(O.signIns(O.healthy) + "&$top=1000", bearer: token)
            #expect(max.status == 200)
            #expect((max.json["value"] as? [Any])?.count == ids.count)
        }
    }

    @Test("appCredentialSignInActivities: the example spelling for one app, the table spelling for another")
    func credentialActivitySpellings() async throws {
        try await Harness.with(O.scenario()) { h in
            let token = try await Self.token(h, O.observers[3])
            func rows(_ appId: String) async throws -> [[String: Any]] {
                let r = try await h.get(
                    "/graph/beta/reports/appCredentialSignInActivities?$filter=appId%20eq%20'\(appId)'", bearer: token)
                #expect(r.status == 200, "\(r.text)")
                return r.json["value"] as? [[String: Any]] ?? []
            }
            let example = try #require(try await rows(O.healthy).first)
            #expect(example["keyType"] as? String == "secret")
            #expect(example["expirationDate"] as? String != nil)
            #expect(example["expirationDateTime"] == nil)
            #expect(example["keyId"] as? String == O.healthySecretKeyId)
            #expect((example["signInActivity"] as? [String: Any])?["lastSignInDateTime"] as? String != nil)
            let table = try #require(try await rows(O.expired).first)
            #expect(table["keyType"] as? String == "clientSecret")
            #expect(table["expirationDateTime"] as? String != nil)
            #expect(table["expirationDate"] == nil)
            for key in ["id", "appId", "appObjectId", "servicePrincipalObjectId", "keyUsage", "credentialOrigin"] {
                #expect(table[key] != nil, "\(key)")
            }
            let sp = try await h.get(
                "/graph/beta/reports/servicePrincipalSignInActivities?$filter=appId%20eq%20'\(O.healthy)'",
                bearer: token)
            let row = try #require((sp.json["value"] as? [[String: Any]])?.first)
            #expect(row["appId"] as? String == O.healthy)
            #expect(
                (row["applicationAuthenticationClientSignInActivity"] as? [String: Any])?["lastSignInDateTime"]
                    as? String != nil)
            // The reports are beta only.
            let v1 = try await h.get("/graph/v1.0/reports/appCredentialSignInActivities", bearer: token)
            #expect(v1.status == 400)
        }
    }

    @Test("no P1/P2 licence: Authentication_RequestFromNonPremiumTenantOrB2CTenant; no AuditLog.Read.All: 403")
    func licenceAndPermission() async throws {
        try await Harness.with(O.scenario()) { h in
            let free = try await Self.token(h, O.unlicensedObserver, tenant: O.unlicensed)
            for path in [O.signIns(O.healthy), "/graph/beta/reports/appCredentialSignInActivities"] {
                let r = try await h.get(path, bearer: free)
                #expect(r.status == 403)
                #expect(r.errorCode == "Authentication_RequestFromNonPremiumTenantOrB2CTenant")
                let message = (r.json["error"] as? [String: Any])?["message"] as? String
                #expect(message == "Neither tenant is B2C or tenant doesn't have premium license")
            }
            // Directory reads need no licence.
            #expect(try await h.get("/graph/v1.0/applications(appId='\(O.healthy)')", bearer: free).status == 200)

            let noAudit = try await Self.token(h, O.noAudit)
            let denied = try await h.get(O.signIns(O.healthy), bearer: noAudit)
            #expect(denied.status == 403)
            #expect(denied.errorCode == "Authorization_RequestDenied")
        }
    }

    @Test("reports: more than 5 requests per 10 s per app and tenant → 429 with Retry-After")
    func reportsLimit() async throws {
        try await Harness.with(O.scenario()) { h in
            let token = try await Self.token(h, O.observers[4])
            var statuses: [Int] = []
            var retryAfter: String?
            for _ in 0..<6 {
                let r = try await h.get("/graph/beta/reports/servicePrincipalSignInActivities", bearer: token)
                statuses.append(r.status)
                if r.status == 429 { retryAfter = r.header("Retry-After") }
            }
            #expect(statuses == [200, 200, 200, 200, 200, 429])
            let seconds = try #require(retryAfter.flatMap { Int($0) })
            #expect((1...10).contains(seconds))
            // Another app of the same tenant has its own budget.
            let other = try await Self.token(h, O.observers[5])
            #expect(try await h.get(O.signIns(O.healthy), bearer: other).status == 200)
        }
    }

    static func batch(_ h: Harness, _ version: String, token: String, urls: [String]) async throws -> Reply {
        let requests = urls.enumerated().map { ["id": String($0.offset + 1), "method": "GET", "url": $0.element] }
        let body = try JSONSerialization.data(withJSONObject: ["requests": requests])
        return try await h.send(
            .POST, "/graph/\(version)/$batch",
            headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")], body: Array(body))
    }

    static func responses(_ r: Reply) -> [String: [String: Any]] {
        var out: [String: [String: Any]] = [:]
        for item in r.json["responses"] as? [[String: Any]] ?? [] { out[item["id"] as? String ?? ""] = item }
        return out
    }

    @Test(
        "$batch: per-request status, headers and body; more than 20 → 400; inner requests count against the reports limit"
    )
    func batching() async throws {
        try await Harness.with(O.scenario()) { h in
            let token = try await Self.token(h, O.observers[6])
            let r = try await Self.batch(
                h, "v1.0", token: token,
                urls: [
                    "/applications(appId='\(O.healthy)')?$select=id,appId,displayName,passwordCredentials,keyCredentials",
                    "/servicePrincipals(appId='\(O.healthy)')",
                    "/applications(appId='\(Fixture.unknownApp)')",
                ])
            #expect(r.status == 200, "\(r.text)")
            let items = Self.responses(r)
            #expect(items["1"]?["status"] as? Int == 200)
            let app = try #require(items["1"]?["body"] as? [String: Any])
            #expect(app["appId"] as? String == O.healthy)
            #expect(
                (app["passwordCredentials"] as? [[String: Any]])?.first?["keyId"] as? String == O.healthySecretKeyId)
            #expect((items["1"]?["headers"] as? [String: Any])?["Content-Type"] as? String != nil)
            #expect((items["2"]?["body"] as? [String: Any])?["accountEnabled"] as? Bool == true)
            #expect(items["3"]?["status"] as? Int == 404)
            #expect(
                ((items["3"]?["body"] as? [String: Any])?["error"] as? [String: Any])?["code"] as? String
                    == "Request_ResourceNotFound")

            let tooMany = try await Self.batch(
                h, "v1.0", token: token, urls: Array(repeating: "/servicePrincipals(appId='\(O.healthy)')", count: 21))
            #expect(tooMany.status == 400)
            #expect(tooMany.errorCode == "BadRequest")
            let twenty = try await Self.batch(
                h, "v1.0", token: token, urls: Array(repeating: "/servicePrincipals(appId='\(O.healthy)')", count: 20))
            #expect(twenty.status == 200)

            // beta: six sign-in reads in one batch, the sixth over the reports limit.
            let signIns = O.signIns(O.healthy).replacingOccurrences(of: "/graph/beta", with: "") + "&$top=1"
            let beta = try await Self.batch(h, "beta", token: token, urls: Array(repeating: signIns, count: 6))
            #expect(beta.status == 200, "\(beta.text)")
            let statuses = (1...6).map { Self.responses(beta)[String($0)]?["status"] as? Int }
            #expect(statuses == [200, 200, 200, 200, 200, 429])
            let retry = (Self.responses(beta)["6"]?["headers"] as? [String: Any])?["Retry-After"] as? String
            #expect(retry.flatMap { Int($0) } != nil)
        }
    }

    @Test("$batch with a throttle fault: 429 with Retry-After inside a 200 batch")
    func throttledInsideBatch() async throws {
        let fault = Fault(service: .graph, path: "servicePrincipals", status: 429, retryAfter: 7, count: 1)
        try await Harness.with(O.scenario(faults: [fault])) { h in
            let token = try await Self.token(h, O.observers[7])
            let r = try await Self.batch(
                h, "v1.0", token: token,
                urls: ["/applications(appId='\(O.healthy)')", "/servicePrincipals(appId='\(O.healthy)')"])
            #expect(r.status == 200, "\(r.text)")
            let items = Self.responses(r)
            #expect(items["1"]?["status"] as? Int == 200)
            #expect(items["2"]?["status"] as? Int == 429)
            #expect((items["2"]?["headers"] as? [String: Any])?["Retry-After"] as? String == "7")
            #expect(
                ((items["2"]?["body"] as? [String: Any])?["error"] as? [String: Any])?["code"] as? String
                    == "TooManyRequests")
            // A bad token refuses the whole batch.
            let anonymous = try await Self.batch(h, "v1.0", token: "x.y.z", urls: ["/organization"])
            #expect(anonymous.status == 401)
        }
    }
}
