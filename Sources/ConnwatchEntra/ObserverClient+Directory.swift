import ConnwatchCore
import Foundation

extension ObserverClient {
    struct DirectoryRead {
        var ownApplication: Observed<ObservedApplication?>
        /// By client ID (lower case); sign-ins and role assignments are added later.
        var facts: [String: ObservedConnectorFacts]
        /// Service principal object ids by client ID (lower case), for ARM.
        var servicePrincipalIds: [String: String]
    }

    /// The lists read per service principal, page by page.
    enum ListKind {
        case assignments(String)
        case grants(String)
        case resource(String)
    }

    /// The observer's own app and every target's app and service principal (one batch
    /// per 20), then their app-role assignments and azure-blob's delegated grants
    /// (paged), then the resource service principals not yet known (their `appRoles`).
    ///
    /// Apps and service principals are read without `$select`: a `$select` naming
    /// `keyCredentials` is limited to 150 requests/min per tenant (observer-facts §1),
    /// which 100 connectors would exceed; the full object carries both credential lists.
    func readDirectory(_ targets: [ObservationTarget], token: AccessToken, pass: Pass) async -> DirectoryRead {
        var items = [GraphBatchWire.Item(id: "own", url: "applications(appId='\(urlEscape(tenant.clientId))')")]
        for (i, t) in targets.enumerated() {
            let appId = urlEscape(t.clientId.lowercased())
            items.append(.init(id: "a\(i)", url: "applications(appId='\(appId)')"))
            items.append(.init(id: "s\(i)", url: "servicePrincipals(appId='\(appId)')"))
        }
        let first = await batch(items, version: "v1.0", token: token, pass: pass)
        let own = object(
            first["own"], endpoint: "graph GET /v1.0/applications(appId=…)", permission: .applicationReadAll,
            pass: pass, ObserverWire.application)

        var apps: [Observed<ObservedApplication?>] = []
        var sps: [Observed<ObservedServicePrincipal?>] = []
        for i in targets.indices {
            apps.append(
                object(
                    first["a\(i)"], endpoint: "graph GET /v1.0/applications(appId=…)",
                    permission: .applicationReadAll, pass: pass, ObserverWire.application))
            sps.append(
                object(
                    first["s\(i)"], endpoint: "graph GET /v1.0/servicePrincipals(appId=…)",
                    permission: .applicationReadAll, pass: pass, ObserverWire.servicePrincipal))
        }

        // Grants, page by page, with the resources they name.
        if let read = resourcesReadAt, pass.now.timeIntervalSince(read) > resourceTTL { resources = [:] }
        var kinds: [String: ListKind] = [:]
        var queue: [GraphBatchWire.Item] = []
        var counter = 0
        var pages: [String: Int] = [:]
        func enqueue(_ kind: ListKind, _ url: String) {
            counter += 1
            let id = "l\(counter)"
            kinds[id] = kind
            queue.append(.init(id: id, url: url))
        }
        var assignments: [String: [ObserverWire.AppRoleAssignment]] = [:]
        var grants: [String: [ObserverWire.DelegatedGrantRow]] = [:]
        var assignmentFailure: [String: ObservedFailure] = [:]
        var grantFailure: [String: ObservedFailure] = [:]
        for (i, t) in targets.enumerated() {
            guard case .value(let sp?) = sps[i] else { continue }
            let id = urlEscape(sp.objectId)
            assignments[sp.objectId] = []
            enqueue(.assignments(sp.objectId), "servicePrincipals/\(id)/appRoleAssignments")
            if t.kind == .azureBlob {
                grants[sp.objectId] = []
                enqueue(.grants(sp.objectId), "oauth2PermissionGrants?$filter=\(urlEscape("clientId eq '\(sp.objectId)'"))")
            }
        }
        var asked = Set<String>()
        while !queue.isEmpty {
            let round = queue
            queue = []
            let replies = await batch(round, version: "v1.0", token: token, pass: pass)
            for item in round {
                switch kinds[item.id]! {
                case .assignments(let sp):
                    let endpoint = "graph GET /v1.0/servicePrincipals/{id}/appRoleAssignments"
                    switch page(
                        replies[item.id], endpoint: endpoint, permission: .applicationReadAll, pass: pass,
                        ObserverWire.appRoleAssignments)
                    {
                    case .failure(let f): assignmentFailure[sp] = f
                    case .success(let p):
                        assignments[sp, default: []] += p.items
                        if let next = p.nextLink {
                            if let url = relative(next, version: "v1.0"), morePages(&pages, "a" + sp) {
                                enqueue(.assignments(sp), url)
                            } else {
                                assignmentFailure[sp] = Self.outside(endpoint)
                            }
                        }
                    }
                case .grants(let sp):
                    let endpoint = "graph GET /v1.0/oauth2PermissionGrants"
                    switch page(
                        replies[item.id], endpoint: endpoint, permission: .directoryReadAll, pass: pass,
                        ObserverWire.delegatedGrantRows)
                    {
                    case .failure(let f): grantFailure[sp] = f
                    case .success(let p):
                        grants[sp, default: []] += p.items
                        if let next = p.nextLink {
                            if let url = relative(next, version: "v1.0"), morePages(&pages, "g" + sp) {
                                enqueue(.grants(sp), url)
                            } else {
                                grantFailure[sp] = Self.outside(endpoint)
                            }
                        }
                    }
                case .resource(let id):
                    // A resource that cannot be read leaves its roles unnamed (unknown, not missing).
                    if case .value(let r?) = object(
                        replies[item.id], endpoint: "graph GET /v1.0/servicePrincipals/{id}",
                        permission: .applicationReadAll, pass: pass, ObserverWire.resourceRoles)
                    {
                        resources[id] = r
                        if resourcesReadAt == nil { resourcesReadAt = pass.now }
                    }
                }
            }
            let named = assignments.values.flatMap { $0.map(\.resourceId) } + grants.values.flatMap { $0.map(\.resourceId) }
            for id in Set(named.map { $0.lowercased() }).sorted() where resources[id] == nil && !asked.contains(id) {
                asked.insert(id)
                enqueue(.resource(id), "servicePrincipals/\(urlEscape(id))?$select=id,appId,displayName,appRoles")
            }
        }

        let known = Array(resources.values)
        var facts: [String: ObservedConnectorFacts] = [:]
        var spIds: [String: String] = [:]
        for (i, t) in targets.enumerated() {
            let key = t.clientId.lowercased()
            var f = ObservedConnectorFacts(application: apps[i], servicePrincipal: sps[i])
            switch sps[i] {
            case .value(let sp?):
                spIds[key] = sp.objectId
                if let failure = assignmentFailure[sp.objectId] {
                    f.appRoles = .failed(failure)
                } else {
                    f.appRoles = .value(ObserverWire.name(assignments[sp.objectId] ?? [], resources: known))
                }
                if t.kind == .azureBlob {
                    if let failure = grantFailure[sp.objectId] {
                        f.delegatedGrants = .failed(failure)
                    } else {
                        f.delegatedGrants = .value(ObserverWire.name(grants[sp.objectId] ?? [], resources: known))
                    }
                }
            case .value(nil):
                break  // no service principal: `app` says consent_none and blocks the rest
            case .failed(let e), .blocked(let e):
                f.appRoles = .blocked(e)
                if t.kind == .azureBlob { f.delegatedGrants = .blocked(e) }
            }
            facts[key] = f
        }
        return DirectoryRead(ownApplication: own, facts: facts, servicePrincipalIds: spIds)
    }

    /// A list that cannot be followed to its end: its next page lies outside the Graph
    /// endpoint (the token is never sent elsewhere), or it runs past ``maxPages``.
    static func outside(_ endpoint: String) -> ObservedFailure {
        ObservedFailure(
            reason: .badResponse, transient: true,
            message:
                "\(endpoint): @odata.nextLink points outside the Graph endpoint, or the list runs past \(maxPages) pages")
    }

    /// Pages followed per list at most (a sign-in page holds up to 1,000).
    static let maxPages = 100

    /// Counts one more page of `list`; false once it would pass ``maxPages``.
    func morePages(_ pages: inout [String: Int], _ list: String) -> Bool {
        pages[list, default: 1] += 1
        return pages[list]! <= Self.maxPages
    }
}
