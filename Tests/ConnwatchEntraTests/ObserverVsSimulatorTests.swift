import ConnwatchCore
import ConnwatchSimulator
import Foundation
import Testing

@testable import ConnwatchEntra

/// The observer's reads against the simulated cloud over real loopback HTTPS, parsed by
/// ``ObserverWire`` and judged by the Core observed checks: the verdicts must match the
/// scenario's truth (the same rig as ``ClientVsSimulatorTests``; its `full` app holds
/// Application.Read.All, Directory.Read.All and AuditLog.Read.All, so it can observe).
@Suite(.serialized) struct ObserverVsSimulatorTests {
    typealias C = ClientVsSimulatorTests
    struct Reader {
        let rig: C.Rig
        let token: AccessToken

        /// The body of a 2xx, nil for 404, else the classified failure.
        func get(_ path: String) async throws -> Data? {
            let url = rig.sim.baseURL + "/graph" + path
            let response = try await rig.transport.send(
                TransportRequest(
                    url: url, headers: [("Authorization", token.value.withValue { "Bearer \($0)" })],
                    endpoint: "graph GET"))
            if response.status == 404 { return nil }
            #expect((200..<300).contains(response.status), "\(path): \(response.status)")
            return response.body
        }

        /// - Parameter logs: also read the sign-in log and the activity report (two of the
        ///   five reports requests per 10 s the observer may make).
        func facts(_ appId: String, logs: Bool = true) async throws -> ObservedConnectorFacts {
            let app = try await get(
                "/v1.0/applications(appId='\(appId)')?$select=id,appId,displayName,passwordCredentials,keyCredentials")
            let sp = try await get("/v1.0/servicePrincipals(appId='\(appId)')")
            guard logs else {
                return ObservedConnectorFacts(
                    application: .value(try app.map { try ObserverWire.application($0, endpoint: "app") }),
                    servicePrincipal: .value(try sp.map { try ObserverWire.servicePrincipal($0, endpoint: "sp") }))
            }
            let filter = "appId eq '\(appId)' and signInEventTypes/any(t: t eq 'servicePrincipal')"
                .addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let signIns = try #require(try await get("/beta/auditLogs/signIns?$filter=\(filter)"))
            let activity = try #require(
                try await get("/beta/reports/appCredentialSignInActivities?$filter=appId%20eq%20'\(appId)'"))
            let events = try ObserverWire.signIns(signIns, endpoint: "signIns").items
            return ObservedConnectorFacts(
                application: .value(try app.map { try ObserverWire.application($0, endpoint: "app") }),
                servicePrincipal: .value(try sp.map { try ObserverWire.servicePrincipal($0, endpoint: "sp") }),
                credentialActivity: .value(try ObserverWire.credentialActivities(activity, endpoint: "a").items),
                signIns: SignInLog(
                    window: .value(events),
                    latestSuccess: .value(events.filter(\.succeeded).max { $0.createdAt < $1.createdAt })))
        }
    }

    static let thresholds = ExpiryThresholds(warningDays: 30, criticalDays: 7)

    @Test func observedVerdictsMatchTheScenario() async throws {
        let base = try C()
        let rig = try await base.rig()
        defer { Task { await rig.stop() } }
        let token = try await rig.tokens.token(
            tenant: C.tenant, clientId: C.full, credential: .secret(Secret(base.secret)), scope: C.graphScope)
        let reader = Reader(rig: rig, token: token)
        let now = Date()

        // Every secret expired: the service's sign-ins fail with AADSTS7000222.
        let expired = try await reader.facts(C.expired)
        let e = ObservedChecks.evaluate(kind: .exchange, facts: expired, thresholds: Self.thresholds, now: now)
        let signin = try #require(e.results.first { $0.check == .signin })
        #expect(signin.status == .critical)
        #expect(signin.reason == .secretExpired)
        let expiry = try #require(e.results.first { $0.check == .secretExpiry })
        #expect(expiry.reason == .secretExpired)
        #expect(expiry.details["in_use_source"] == "sign_in_log")

        // Disabled and never consented.
        let disabled = try await reader.facts(C.disabled, logs: false)
        #expect(
            AppCheck.evaluate(application: disabled.application, servicePrincipal: disabled.servicePrincipal, now: now)
                .reason == .appDisabled)
        let noSP = try await reader.facts(C.noSP, logs: false)
        #expect(
            AppCheck.evaluate(application: noSP.application, servicePrincipal: noSP.servicePrincipal, now: now).reason
                == .consentNone)

        // Healthy, but the service still uses the old secret that expires in 5 days.
        let full = try await reader.facts(C.full)
        let f = ObservedChecks.evaluate(kind: .teams, facts: full, thresholds: Self.thresholds, now: now)
        #expect(f.results.first { $0.check == .app }?.status == .ok)
        #expect(f.results.first { $0.check == .signin }?.status == .ok)
        let rotation = try #require(f.results.first { $0.check == .secretExpiry })
        #expect(rotation.reason == .rotationPending)
        #expect(rotation.details["newer_secret"] != nil)

        // Consent from the directory: assignments named through each resource's appRoles.
        let sp = try #require(try await reader.get("/v1.0/servicePrincipals(appId='\(C.full)')"))
        let spId = try ObserverWire.servicePrincipal(sp, endpoint: "sp").objectId
        var assignments: [ObserverWire.AppRoleAssignment] = []
        var next: String? = "/v1.0/servicePrincipals/\(spId)/appRoleAssignments"
        while let path = next {
            let page = try ObserverWire.appRoleAssignments(try #require(try await reader.get(path)), endpoint: "ara")
            assignments += page.items
            next = page.nextLink.map { String($0.dropFirst((rig.sim.baseURL + "/graph").count)) }
        }
        var resources: [ObserverWire.ResourceRoles] = []
        for id in Set(assignments.map(\.resourceId)) {
            let body = try #require(
                try await reader.get("/v1.0/servicePrincipals/\(id)?$select=id,appId,displayName,appRoles"))
            resources.append(try ObserverWire.resourceRoles(body, endpoint: "sp"))
        }
        let granted = ObserverWire.name(assignments, resources: resources)
        #expect(granted.allSatisfy { $0.permission != nil })
        let consent = ObservedConsentCheck.evaluate(
            kind: .teams, appRoles: .value(granted), delegatedGrants: .value([]), now: now)
        // Teams' Graph and Office 365 roles are all there; SharePoint's Sites.Read.All is not Teams'.
        #expect(consent.reason == .excessPermissions)
        #expect(consent.details["excess_permissions"] == ["SharePoint: Sites.Read.All"])
    }
}
