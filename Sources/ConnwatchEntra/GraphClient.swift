import ConnwatchCore
import Foundation

/// A client secret registered on an application (Graph `passwordCredential`, §2.4).
public struct PasswordCredentialInfo: Sendable, Equatable {
    public var keyId: String
    public var displayName: String?
    /// The first three characters of the secret value.
    public var hint: String?
    public var startDateTime: Date?
    public var endDateTime: Date?
}

/// A certificate registered on an application (Graph `keyCredential`, §2.4).
public struct KeyCredentialInfo: Sendable, Equatable {
    public var keyId: String
    public var displayName: String?
    /// Binary (base64 on the wire); by default the SHA-1 thumbprint of the certificate.
    public var customKeyIdentifier: String?
    public var type: String?
    public var usage: String?
    public var startDateTime: Date?
    public var endDateTime: Date?

    /// The thumbprint as upper-case hex. Graph returns base64 and the portal shows hex:
    /// accept either.
    public var thumbprintHex: String? {
        guard let raw = customKeyIdentifier?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
        if raw.count == 40, raw.allSatisfy(\.isHexDigit) { return raw.uppercased() }
        guard let data = Data(base64Encoded: raw) else { return nil }
        return Hex.encode(data, uppercase: true)
    }
}

public struct ResourceAccessInfo: Sendable, Equatable {
    public var id: String
    /// "Role" (application permission) or "Scope" (delegated).
    public var type: String
}

public struct RequiredResourceAccessInfo: Sendable, Equatable {
    public var resourceAppId: String
    public var resourceAccess: [ResourceAccessInfo]
}

/// The application object: what the portal's "Certificates & secrets" blade shows.
public struct ApplicationInfo: Sendable, Equatable {
    public var id: String
    public var appId: String
    public var displayName: String?
    public var passwordCredentials: [PasswordCredentialInfo]
    public var keyCredentials: [KeyCredentialInfo]
    public var requiredResourceAccess: [RequiredResourceAccessInfo]?
}

public struct AppRoleInfo: Sendable, Equatable {
    public var id: String
    public var value: String?
    public var displayName: String?
}

public struct ServicePrincipalInfo: Sendable, Equatable {
    public var id: String
    public var appId: String
    public var displayName: String?
    public var appRoles: [AppRoleInfo]?
}

public struct AppRoleAssignmentInfo: Sendable, Equatable {
    public var id: String
    public var appRoleId: String
    public var principalId: String
    /// Object id of the resource service principal.
    public var resourceId: String
    public var resourceDisplayName: String?
}

public struct OAuth2PermissionGrantInfo: Sendable, Equatable {
    public var clientId: String
    /// `AllPrincipals` = admin consent for everyone.
    public var consentType: String
    public var resourceId: String
    public var scope: String?
}

/// Graph application permissions actually granted, by resource app ID, with names resolved.
public struct GrantedPermissions: Sendable, Equatable {
    /// resource appId → permission values (e.g. "Sites.Read.All").
    public var byResourceAppId: [String: Set<String>]
}

/// One page of a Graph collection: `{"value": [...], "@odata.nextLink": "..."}`.
struct ODataList<T: StrictDecodable>: StrictDecodable {
    var value: [T]
    var nextLink: String?

    init(strict o: StrictObject) throws(StrictProblem) {
        value = try o.objects("value") { (e) throws(StrictProblem) in try T(strict: e) }
        nextLink = try o.optionalString("@odata.nextLink")
    }
}

/// The cheap reads used as the `probe` check (microsoft-facts §2.10).
public enum GraphProbe: String, Sendable, CaseIterable {
    case organization
    case users
    case groups

    var path: String {
        switch self {
        case .organization: "/v1.0/organization?$select=id"
        case .users: "/v1.0/users?$top=1&$select=id"
        case .groups: "/v1.0/groups?$top=1&$select=id"
        }
    }
}

/// Microsoft Graph reads (microsoft-facts §2.4, §2.5), always with `$select`.
public struct GraphClient: Sendable {
    let api: APIRequester
    let base: String
    /// Safety bound on `@odata.nextLink` pages.
    let maxPages = 100

    public init(transport: HTTPTransport, graphEndpoint: String) {
        api = APIRequester(transport: transport, service: "graph")
        base = graphEndpoint.hasSuffix("/") ? String(graphEndpoint.dropLast()) : graphEndpoint
    }

    /// The app's credentials and requested permissions. 403 when the connector may not
    /// read applications (no Application.Read.All / Directory.Read.All, no self-read).
    public func application(appId: String, token: AccessToken) async throws(EntraError) -> ApplicationInfo {
        let path =
            "/v1.0/applications(appId='\(urlEscape(appId))')?$select=id,appId,displayName,passwordCredentials,keyCredentials,requiredResourceAccess"
        return try await api.get(
            strict: ApplicationInfo.self, url: base + path, path: "/v1.0/applications(appId=…)", token: token)
    }

    public func servicePrincipal(appId: String, token: AccessToken) async throws(EntraError) -> ServicePrincipalInfo {
        let path = "/v1.0/servicePrincipals(appId='\(urlEscape(appId))')?$select=id,appId,displayName"
        return try await api.get(
            strict: ServicePrincipalInfo.self, url: base + path, path: "/v1.0/servicePrincipals(appId=…)",
            token: token)
    }

    public func servicePrincipal(id: String, token: AccessToken) async throws(EntraError) -> ServicePrincipalInfo {
        let path = "/v1.0/servicePrincipals/\(urlEscape(id))?$select=id,appId,displayName,appRoles"
        return try await api.get(
            strict: ServicePrincipalInfo.self, url: base + path, path: "/v1.0/servicePrincipals/{id}", token: token)
    }

    public func appRoleAssignments(
        servicePrincipalId: String, token: AccessToken
    ) async throws(EntraError)
        -> [AppRoleAssignmentInfo]
    {
        try await list(
            AppRoleAssignmentInfo.self,
            path:
                "/v1.0/servicePrincipals/\(urlEscape(servicePrincipalId))/appRoleAssignments?$select=id,appRoleId,principalId,resourceId,resourceDisplayName",
            name: "/v1.0/servicePrincipals/{id}/appRoleAssignments", token: token)
    }

    public func oauth2PermissionGrants(
        clientId: String, token: AccessToken
    ) async throws(EntraError)
        -> [OAuth2PermissionGrantInfo]
    {
        let filter = urlEscape("clientId eq '\(clientId)'")
        return try await list(
            OAuth2PermissionGrantInfo.self, path: "/v1.0/oauth2PermissionGrants?$filter=\(filter)",
            name: "/v1.0/oauth2PermissionGrants", token: token)
    }

    /// App roles granted to the service principal, with `appRoleId`s resolved to names
    /// through each resource service principal's `appRoles` (never hard-coded GUIDs).
    public func grantedPermissions(
        servicePrincipalId: String, token: AccessToken
    ) async throws(EntraError)
        -> GrantedPermissions
    {
        let assignments = try await appRoleAssignments(servicePrincipalId: servicePrincipalId, token: token)
        var out: [String: Set<String>] = [:]
        var resources: [String: ServicePrincipalInfo] = [:]
        for a in assignments {
            if resources[a.resourceId] == nil {
                resources[a.resourceId] = try await servicePrincipal(id: a.resourceId, token: token)
            }
            guard let resource = resources[a.resourceId] else { continue }
            let name = resource.appRoles?.first { $0.id.lowercased() == a.appRoleId.lowercased() }?.value ?? a.appRoleId
            out[resource.appId.lowercased(), default: []].insert(name)
        }
        return GrantedPermissions(byResourceAppId: out)
    }

    /// The app's owners (observer-facts §6), every page: for `[[email]]` sinks with
    /// `owners = true`, read only when a mail is about to go out. 403 when the connector's
    /// app may not read applications (``OwnersWire/failure(_:reader:)`` says so).
    public func owners(appId: String, token: AccessToken) async throws(EntraError) -> AppOwners {
        let endpoint = "graph GET \(OwnersWire.name)"
        return try await OwnersWire.read(
            firstURL: base + OwnersWire.path(appId: appId), base: base, endpoint: endpoint
        ) { (url) throws(EntraError) in
            try await api.fetch(url: url, endpoint: endpoint, token: token)
        }
    }

    public func probe(_ probe: GraphProbe, token: AccessToken) async throws(EntraError) {
        _ = try await api.get(
            strict: ProbePage.self, url: base + probe.path, path: String(probe.path.prefix { $0 != "?" }), token: token)
    }

    /// Follows `@odata.nextLink`, only within the Graph base URL (a reply cannot send the
    /// bearer token elsewhere).
    func list<T: StrictDecodable>(
        _ type: T.Type, path: String, name: String, token: AccessToken
    ) async throws(EntraError) -> [T] {
        var url = base + path
        var out: [T] = []
        for _ in 0..<maxPages {
            let page = try await api.get(strict: ODataList<T>.self, url: url, path: name, token: token)
            out += page.value
            guard let next = page.nextLink else { return out }
            guard next.hasPrefix(base + "/") else {
                throw .badResponse(
                    endpoint: "graph GET \(name)", detail: "@odata.nextLink points outside the Graph endpoint")
            }
            url = next
        }
        throw .badResponse(endpoint: "graph GET \(name)", detail: "more than \(maxPages) pages")
    }
}
