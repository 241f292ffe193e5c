import ConnwatchCore
import ConnwatchSimulator
import ConnwatchTestSupport
import Foundation
import NIOHTTP1
import Testing

@testable import ConnwatchEntra

/// `applications(appId=…)/owners` (observer-facts §6) for `[[email]]` sinks with
/// `owners = true`: the reply parser over a table of replies, then the connector's
/// ``GraphClient`` and the tenant's ``ObserverClient`` against the simulator over HTTPS.
@Suite struct OwnersWireTests {
    static let base = "https://graph.example"
    static let first = base + OwnersWire.path(appId: "c0000000-0000-4000-8000-000000000001")

    /// Serves `pages` by URL; a URL not listed is a test failure.
    static func read(_ pages: [String: String]) async throws(EntraError) -> AppOwners {
        try await OwnersWire.read(firstURL: first, base: base, endpoint: "graph GET owners") {
            (url) throws(EntraError) in
            guard let body = pages[url] else {
                throw .badResponse(endpoint: "test", detail: "unexpected URL \(url)")
            }
            return Data(body.utf8)
        }
    }

    static func user(_ name: String, mail: String?, upn: String? = nil) -> String {
        let m = mail.map { "\"\($0)\"" } ?? "null"
        return
            ##"{"@odata.type":"#microsoft.graph.user","id":"\##(UUID().uuidString)","displayName":"\##(name)","mail":\##(m),"userPrincipalName":"\##(upn ?? name + "@contoso.com")"}"##
    }

    static let limited = ##"{"@odata.type":"#microsoft.graph.user","id":"0f0e0d0c-0000-4000-8000-000000000001"}"##
    static let servicePrincipal =
        ##"{"@odata.type":"#microsoft.graph.servicePrincipal","id":"0f0e0d0c-0000-4000-8000-000000000002","displayName":"automation"}"##

    static func page(_ entries: [String], next: String? = nil) -> String {
        var s = ##"{"@odata.context":"https://graph.example/v1.0/$metadata#directoryObjects","##
        if let next { s += ##""@odata.nextLink":"\##(next)","## }
        return s + ##""value":["## + entries.joined(separator: ",") + "]}"
    }

    @Test func usersWithMailAreAddressesTheRestAreCounted() async throws {
        let owners = try await Self.read([
            Self.first: Self.page([
                Self.user("Ana Admin", mail: "ana@contoso.com"),
                Self.user("No Mailbox", mail: nil),
                Self.limited,
                Self.servicePrincipal,
                Self.user("Not An Address", mail: "ana at contoso"),
                Self.user("ANA again", mail: "ANA@contoso.com"),
            ])
        ])
        #expect(owners.addresses.map(\.description) == ["Ana Admin <ana@contoso.com>"])
        #expect(owners.total == 6)
        #expect(owners.withoutMail == 3)
        #expect(owners.limited == 1)
        #expect(owners.notUsers == 1)
        #expect(
            owners.note
                == "owners: 3 of 6 have no mail address (1 not readable: the reader needs User.ReadBasic.All), 1 of 6 is not a user"
        )
    }

    @Test func noOwnersAndEveryOwnerMailable() async throws {
        let none = try await Self.read([Self.first: Self.page([])])
        #expect(none == AppOwners())
        #expect(none.note == "owners: the app has no owners")
        let all = try await Self.read([Self.first: Self.page([Self.user("B", mail: "b@contoso.com")])])
        #expect(all.addresses.map(\.address) == ["b@contoso.com"] && all.note == nil)
    }

    @Test func pagesAreFollowedWithinTheGraphEndpoint() async throws {
        let second = Self.base + "/v1.0/applications(appId='x')/owners?$skiptoken=2"
        let owners = try await Self.read([
            Self.first: Self.page([Self.user("A", mail: "a@contoso.com")], next: second),
            second: Self.page([Self.user("B", mail: "b@contoso.com"), Self.user("a", mail: "A@contoso.com")]),
        ])
        #expect(owners.addresses.map(\.address) == ["a@contoso.com", "b@contoso.com"])
        #expect(owners.total == 3)

        await #expect(throws: EntraError.badResponse(
            endpoint: "graph GET owners", detail: "@odata.nextLink points outside the Graph endpoint")) {
            _ = try await Self.read([Self.first: Self.page([], next: "https://evil.example/v1.0/x")])
        }
        // A reply that pages forever is cut off (bounded), not followed.
        let loop = Self.page([Self.user("A", mail: "a@contoso.com")], next: Self.first)
        await #expect(throws: EntraError.badResponse(
            endpoint: "graph GET owners", detail: "more than \(OwnersWire.maxPages) pages of owners")) {
            _ = try await Self.read([Self.first: loop])
        }
    }

    @Test(arguments: [
        ("not json", "not valid JSON"),
        (##"{"value":{}}"##, "field \"value\" has the wrong type"),
        (##"{"nothing":[]}"##, "field \"value\" is missing"),
        (##"{"value":[{"id":"1"}]}"##, "field \"@odata.type\" is missing"),
        (##"{"value":[{"@odata.type":"#microsoft.graph.user","id":"1","mail":7}]}"##, "has the wrong type"),
        (##"{"value":[{"@odata.type":"#microsoft.graph.user","id":null}]}"##, "is null"),
    ])
    func malformedRepliesAreTransient(body: String, detail: String) async {
        do {
            _ = try await Self.read([Self.first: body])
            Issue.record("parsed \(body)")
        } catch {
            guard case .badResponse(_, let d) = error else { return #expect(Bool(false), "\(error)") }
            #expect(d.contains(detail), "\(d)")
            #expect(error.isTransient)
            #expect(OwnersWire.failure(error, reader: "observer").hasPrefix("owners not read: "))
        }
    }

    static func apiFailure(_ status: Int, _ body: String) -> EntraError {
        .apiError(
            APIRequester.failure(
                TransportResponse(status: status, headers: HTTPHeaders(), body: Data(body.utf8)),
                endpoint: "graph GET owners"))
    }

    @Test func refusalNamesThePermissionsAnythingElseSaysWhatHappened() {
        let denied = Self.apiFailure(
            403, ##"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges"}}"##)
        #expect(
            OwnersWire.failure(denied, reader: "observer")
                == "the observer may not read owners (needs Application.Read.All; User.ReadBasic.All for their addresses)")
        #expect(
            OwnersWire.failure(denied, reader: "connector's app")
                == "the connector's app may not read owners (needs Application.Read.All; User.ReadBasic.All for their addresses)")
        // A bare 403 (a proxy's) is not Microsoft's refusal: transient words, no advice.
        let bare = Self.apiFailure(403, "")
        #expect(OwnersWire.failure(bare, reader: "observer").hasPrefix("owners not read: graph GET owners: HTTP 403"))
        #expect(
            OwnersWire.failure(.serverError(endpoint: "graph GET owners", status: 503), reader: "observer")
                == "owners not read: graph GET owners: server error HTTP 503")
    }
}

/// The owners route of the simulator, read by the real clients over loopback HTTPS.
@Suite(.serialized) struct OwnersVsSimulatorTests {
    static let tenant = "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41"
    static let graphApp = "00000003-0000-0000-c000-000000000000"
    /// Reads apps and users' basic profiles.
    static let reader = "b1000000-0000-4000-8000-000000000001"
    /// Reads apps, not users: owners come back as `@odata.type` + `id`.
    static let appsOnly = "b1000000-0000-4000-8000-000000000002"
    /// Reads nothing.
    static let bare = "b1000000-0000-4000-8000-000000000003"
    /// The connector app whose owners are read: four, over two pages of the simulator's three.
    static let target = "b1000000-0000-4000-8000-000000000004"
    /// Its owners read is refused whatever the reader (`owners_forbidden`).
    static let locked = "b1000000-0000-4000-8000-000000000005"

    let secret = "Ow1~" + UUID().uuidString.replacingOccurrences(of: "-", with: "")

    func scenario() -> Scenario {
        let future = Date().addingTimeInterval(200 * 86400)
        func app(_ id: String, _ roles: [String]) -> App {
            App(
                appId: id, displayName: "app \(id.suffix(2))",
                secrets: [ClientSecret(displayName: "s", value: secret, end: future)],
                appRoles: roles.isEmpty ? [:] : [Self.graphApp: roles])
        }
        var target = app(Self.target, ["Application.Read.All", "User.ReadBasic.All"])
        target.owners = [
            AppOwner(displayName: "Ana Admin", mail: "ana@contoso.com", upn: "ana@contoso.com"),
            AppOwner(displayName: "Bo Builder", mail: nil, upn: "bo@contoso.com"),
            AppOwner(displayName: "deploy pipeline", type: .servicePrincipal),
            AppOwner(displayName: "Cy Cloud", mail: "cy@contoso.com", upn: "cy@contoso.com"),
        ]
        var locked = app(Self.locked, ["Application.Read.All", "User.ReadBasic.All"])
        locked.owners = target.owners
        locked.ownersForbidden = true
        return Scenario(tenants: [
            Tenant(
                id: Self.tenant, domains: ["contoso.onmicrosoft.com"], displayName: "Contoso",
                apps: [
                    app(Self.reader, ["Application.Read.All", "User.ReadBasic.All"]),
                    app(Self.appsOnly, ["Application.Read.All"]), app(Self.bare, []), target, locked,
                ])
        ])
    }

    @Test func connectorTokenAndObserverReadOwners() async throws {
        let sim = try await SimulatorFixture.start(scenario())
        var settings = TransportSettings()
        settings.caFile = sim.caFile
        settings.requestTimeout = .seconds(60)
        let transport = try HTTPTransport(settings: settings)
        defer {
            Task {
                await transport.shutdown()
                await sim.stop()
            }
        }
        let tokens = TokenClient(transport: transport, loginEndpoint: sim.endpoints.login)
        let graph = GraphClient(transport: transport, graphEndpoint: sim.endpoints.graph)
        func token(_ app: String) async throws -> AccessToken {
            try await tokens.token(
                tenant: Self.tenant, clientId: app, credential: .secret(Secret(secret)),
                scope: "https://graph.microsoft.com/.default")
        }

        // The connector's own token (it may read apps and users): two pages, two addresses.
        let own = try await graph.owners(appId: Self.target, token: try await token(Self.target))
        #expect(own.addresses.map(\.description) == ["Ana Admin <ana@contoso.com>", "Cy Cloud <cy@contoso.com>"])
        #expect(own.total == 4 && own.withoutMail == 1 && own.limited == 0 && own.notUsers == 1)

        // Reading apps but not users: every user is limited.
        let limited = try await graph.owners(appId: Self.target, token: try await token(Self.appsOnly))
        #expect(limited.addresses.isEmpty && limited.withoutMail == 3 && limited.limited == 3 && limited.notUsers == 1)

        // No permission: Graph's documented 403, and the words that say what to grant.
        let bareToken = try await token(Self.bare)
        do throws(EntraError) {
            _ = try await graph.owners(appId: Self.target, token: bareToken)
            Issue.record("owners read without permission")
        } catch {
            #expect(
                OwnersWire.failure(error, reader: "connector's app")
                    == "the connector's app may not read owners (needs Application.Read.All; User.ReadBasic.All for their addresses)")
        }

        // The observer's token, through ObserverClient.
        func observer(_ clientId: String) -> ObserverClient {
            ObserverClient(
                tenant: TenantConfig(
                    tenantId: Self.tenant, clientId: clientId, credential: .secret(Secret(secret)),
                    source: SourceLocation(file: "test.toml")),
                endpoints: sim.endpoints, transport: transport)
        }
        let watcher = observer(Self.reader)
        guard case .read(let seen) = await watcher.owners(appId: Self.target) else {
            Issue.record("the observer did not read the owners")
            return
        }
        #expect(seen == own)
        #expect(
            await watcher.owners(appId: Self.locked)
                == .unavailable(
                    "the observer may not read owners (needs Application.Read.All; User.ReadBasic.All for their addresses)"))
        #expect(
            await observer(Self.bare).owners(appId: Self.target)
                == .unavailable(
                    "the observer may not read owners (needs Application.Read.All; User.ReadBasic.All for their addresses)"))
        // A refused observer token is words too, never a crash or a verdict.
        let wrong = ObserverClient(
            tenant: TenantConfig(
                tenantId: Self.tenant, clientId: Self.reader, credential: .secret(Secret("wrong")),
                source: SourceLocation(file: "test.toml")),
            endpoints: sim.endpoints, transport: transport)
        guard case .unavailable(let why) = await wrong.owners(appId: Self.target) else {
            Issue.record("read with a wrong secret")
            return
        }
        #expect(why.hasPrefix("owners not read: the observer has no token: "), "\(why)")
        #expect(!why.contains(secret))

        // Throttled once: the observer waits out Retry-After and reads them.
        try await sim.setFaults([Fault(service: .graph, path: "/owners", status: 429, retryAfter: 1, count: 1)])
        #expect(await watcher.owners(appId: Self.target) == .read(own))
        // Replies that cannot be understood are words, never owners and never a verdict.
        for (mode, words) in [
            (Fault.Mode.malformed, "not valid JSON"), (.wrongTypes, "has the wrong type"),
            (.oversized, "byte cap"), (.wrongContentType, "not valid JSON"),
        ] {
            try await sim.setFaults([Fault(service: .graph, path: "/owners", mode: mode, sizeMb: 5)])
            guard case .unavailable(let why) = await watcher.owners(appId: Self.target) else {
                Issue.record("\(mode): read")
                continue
            }
            #expect(why.hasPrefix("owners not read: graph GET /v1.0/applications(appId=…)/owners: "), "\(mode): \(why)")
            #expect(why.contains(words), "\(mode): \(why)")
        }
        try await sim.setFaults([])
    }
}
