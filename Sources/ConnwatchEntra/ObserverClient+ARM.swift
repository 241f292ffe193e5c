import ConnwatchCore
import Foundation

extension ObserverClient {
    /// Role assignments of the azure-blob targets' service principals (the `roles` check),
    /// read with the observer's `Reader`: one list per subscription (paged by `nextLink`),
    /// split by `principalId` — one request per subscription whatever the number of
    /// connectors in it. The ARM token is requested only when such a target exists.
    func readRoleAssignments(
        _ targets: [ObservationTarget], servicePrincipalIds: [String: String], pass: Pass
    ) async -> [String: Observed<[ObservedRoleAssignment]>] {
        let blobs = targets.filter { $0.kind == .azureBlob }
        guard !blobs.isEmpty else { return [:] }
        var out: [String: Observed<[ObservedRoleAssignment]>] = [:]
        let listed = Set(tenant.subscriptions.map { $0.lowercased() })
        var wanted: [String] = []
        for t in blobs {
            let key = t.clientId.lowercased()
            guard let sub = t.subscriptionId?.lowercased(), listed.contains(sub) else {
                let sub = t.subscriptionId ?? "(none)"
                out[key] = .failed(
                    ObservedFailure(
                        reason: .permissionMissing, transient: false,
                        message: "subscription \(sub) is not listed in the [[tenant]]'s subscriptions", forbidden: true))
                continue
            }
            if servicePrincipalIds[key] != nil, !wanted.contains(sub) { wanted.append(sub) }
        }
        guard !wanted.isEmpty else {
            for t in blobs where out[t.clientId.lowercased()] == nil { out[t.clientId.lowercased()] = .value([]) }
            return out
        }

        let token: AccessToken
        switch await self.token(scope: PermissionCatalog.resource(.azureServiceManagement).defaultScope()) {
        case .success(let (t, _)): token = t
        case .failure(let f):
            for t in blobs where out[t.clientId.lowercased()] == nil { out[t.clientId.lowercased()] = .failed(f.observed) }
            return out
        }

        var bySubscription: [String: Read<[(principal: String, assignment: ObservedRoleAssignment)]>] = [:]
        for sub in wanted {
            bySubscription[sub] = await listAssignments(subscription: sub, token: token, pass: pass)
        }
        for t in blobs {
            let key = t.clientId.lowercased()
            guard out[key] == nil else { continue }
            guard let sp = servicePrincipalIds[key]?.lowercased(), let sub = t.subscriptionId?.lowercased(),
                let list = bySubscription[sub]
            else {
                out[key] = .value([])  // no service principal: `app` blocks `roles`
                continue
            }
            switch list {
            case .failure(let f): out[key] = .failed(f)
            case .success(let all): out[key] = .value(all.filter { $0.principal == sp }.map(\.assignment))
            }
        }
        return out
    }

    private func listAssignments(
        subscription: String, token: AccessToken, pass: Pass
    ) async -> Read<[(principal: String, assignment: ObservedRoleAssignment)]> {
        let name = "arm GET /subscriptions/{id}/providers/Microsoft.Authorization/roleAssignments"
        var url =
            "\(managementBase)/subscriptions/\(urlEscape(subscription))/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01"
        var out: [(principal: String, assignment: ObservedRoleAssignment)] = []
        for _ in 0..<50 {
            do throws(EntraError) {
                let response = try await send(
                    TransportRequest(
                        url: url,
                        headers: [
                            ("Authorization", token.value.withValue { "Bearer \($0)" }), ("Accept", "application/json"),
                        ], endpoint: name), pass: pass)
                guard (200..<300).contains(response.status) else {
                    throw EntraError.apiError(APIRequester.failure(response, endpoint: name))
                }
                let page = try StrictProblem.decode(
                    ARMClient.Page<ARMClient.Wire>.self, from: response.body, endpoint: name)
                for w in page.value {
                    let guid = w.properties.roleDefinitionId.split(separator: "/").last.map(String.init) ?? ""
                    out.append(
                        (
                            w.properties.principalId.lowercased(),
                            ObservedRoleAssignment(roleDefinitionId: guid.lowercased(), scope: w.properties.scope)
                        ))
                }
                guard let next = page.nextLink else { return .success(out) }
                guard next.hasPrefix(managementBase + "/") else {
                    throw EntraError.badResponse(endpoint: name, detail: "nextLink points outside the management endpoint")
                }
                url = next
            } catch {
                return .failure(observed(error, permission: .reader(subscriptionId: subscription), pass: pass))
            }
        }
        return .failure(
            ObservedFailure(reason: .badResponse, transient: true, message: "\(name): more than 50 pages"))
    }
}
