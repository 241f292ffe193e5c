import ConnwatchCore
import Foundation

public struct RoleAssignmentInfo: Sendable, Equatable {
    public var id: String
    /// The role definition GUID (last path segment of `roleDefinitionId`), lower-case.
    public var roleDefinitionGuid: String
    public var principalId: String
    public var scope: String
}

public struct SubscriptionInfo: Sendable, Equatable, Decodable {
    public var subscriptionId: String
    public var displayName: String?
    public var state: String?
}

/// Azure Resource Manager reads (microsoft-facts §2.9).
public struct ARMClient: Sendable {
    let api: APIRequester
    let base: String

    public init(transport: HTTPTransport, managementEndpoint: String) {
        api = APIRequester(transport: transport, service: "arm")
        base = managementEndpoint.hasSuffix("/") ? String(managementEndpoint.dropLast()) : managementEndpoint
    }

    struct Wire: Decodable {
        struct Properties: Decodable {
            var roleDefinitionId: String
            var principalId: String
            var scope: String
        }
        var id: String
        var properties: Properties
    }

    struct Page<T: Decodable>: Decodable {
        var value: [T]
        var nextLink: String?
    }

    /// Role assignments of `principalId` (transitively, through groups) at a subscription.
    public func roleAssignments(
        subscriptionId: String, principalId: String, token: AccessToken
    ) async throws(EntraError)
        -> [RoleAssignmentInfo]
    {
        let filter = urlEscape("assignedTo('\(principalId)')")
        var url =
            "\(base)/subscriptions/\(urlEscape(subscriptionId))/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=\(filter)"
        let name = "/subscriptions/{id}/providers/Microsoft.Authorization/roleAssignments"
        var out: [RoleAssignmentInfo] = []
        for _ in 0..<50 {
            let page = try await api.get(strict: Page<Wire>.self, url: url, path: name, token: token)
            for w in page.value {
                let guid = w.properties.roleDefinitionId.split(separator: "/").last.map(String.init) ?? ""
                out.append(
                    RoleAssignmentInfo(
                        id: w.id, roleDefinitionGuid: guid.lowercased(), principalId: w.properties.principalId,
                        scope: w.properties.scope))
            }
            guard let next = page.nextLink else { return out }
            guard next.hasPrefix(base + "/") else {
                throw .badResponse(
                    endpoint: "arm GET \(name)", detail: "nextLink points outside the management endpoint")
            }
            url = next
        }
        return out
    }

    /// Subscriptions the service principal can see (it holds a role there).
    public func subscriptions(token: AccessToken) async throws(EntraError) -> [SubscriptionInfo] {
        try await api.get(
            strict: Page<SubscriptionInfo>.self, url: "\(base)/subscriptions?api-version=2020-01-01",
            path: "/subscriptions", token: token
        ).value
    }
}

/// Office 365 Management Activity API: `subscriptions/list` is the probe (§2.10).
public struct OfficeManagementClient: Sendable {
    let api: APIRequester
    let base: String

    public init(transport: HTTPTransport, officeManagementEndpoint: String) {
        api = APIRequester(transport: transport, service: "office")
        base =
            officeManagementEndpoint.hasSuffix("/")
            ? String(officeManagementEndpoint.dropLast()) : officeManagementEndpoint
    }

    public struct ContentSubscription: Sendable, Equatable, Decodable {
        public var contentType: String
        public var status: String
    }

    /// Needs `ActivityFeed.Read`; `AF10001` otherwise. `PublisherIdentifier` gets the
    /// tenant its own throttling quota (§2.7).
    public func subscriptionsList(
        tenantId: String, token: AccessToken
    ) async throws(EntraError) -> [ContentSubscription] {
        let t = urlEscape(tenantId)
        return try await api.list(
            url: "\(base)/api/v1.0/\(t)/activity/feed/subscriptions/list?PublisherIdentifier=\(t)",
            path: "/api/v1.0/{tenant}/activity/feed/subscriptions/list", token: token
        ) { (o) throws(StrictProblem) in try ContentSubscription(strict: o) }
    }
}

/// SharePoint REST: `/_api/web?$select=Title` with a certificate-issued token (§2.10).
public struct SharePointClient: Sendable {
    let api: APIRequester
    let endpoints: CloudEndpoints

    public init(transport: HTTPTransport, endpoints: CloudEndpoints) {
        api = APIRequester(transport: transport, service: "sharepoint")
        self.endpoints = endpoints
    }

    struct Web: Decodable {
        var Title: String
    }

    public func webTitle(host: String, token: AccessToken) async throws(EntraError) -> String {
        try await api.get(
            Web.self, url: endpoints.sharePointBase(host: host) + "/_api/web?$select=Title", path: "/_api/web",
            token: token, headers: [("Accept", "application/json;odata=nometadata")]
        ).Title
    }
}
