/// The six kinds of Microsoft custom connector (SPEC §2).
public enum ConnectorKind: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case exchange
    case onedrive
    case sharepoint
    case teams
    case azureBlob = "azure-blob"
    case mip

    public var description: String { rawValue }

    /// The name the Zscaler Admin Portal and the reference document use.
    public var displayName: String {
        switch self {
        case .exchange: "Exchange"
        case .onedrive: "OneDrive"
        case .sharepoint: "SharePoint"
        case .teams: "Teams"
        case .azureBlob: "Microsoft Azure Blob Storage"
        case .mip: "Microsoft Information Protection (MIP)"
        }
    }
}

/// A Microsoft API (a resource service principal) a connector asks tokens for.
public enum ResourceID: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case graph
    case office365Management = "office365-management"
    case azureStorage = "azure-storage"
    case azureServiceManagement = "azure-service-management"
    case mipSyncService = "mip-sync-service"
    case rightsManagement = "rights-management"
    case sharePoint = "sharepoint"

    public var description: String { rawValue }
}

/// Identity of one Microsoft API as Entra ID knows it (microsoft-facts §2.8).
public struct MicrosoftResource: Sendable, Hashable {
    public let id: ResourceID
    /// The API's name in the portal's "Request API permissions" pane.
    public let displayName: String
    /// The resource application's well-known app ID (tenant-independent).
    public let appId: String
    /// The application ID URI used for `scope=<uri>/.default` in the global cloud.
    /// SharePoint's contains the placeholder `{sharepoint_host}`.
    public let resourceURI: String
    /// SharePoint REST app-only accepts certificate credentials only: secrets get 401.
    public let certificateOnly: Bool

    /// The client-credentials scope for this resource: `<resourceURI>/.default`.
    /// - Parameter sharePointHost: e.g. `contoso.sharepoint.com`; required for SharePoint.
    public func defaultScope(sharePointHost: String? = nil) -> String {
        var uri = resourceURI
        if id == .sharePoint {
            uri = uri.replacingOccurrences(of: "{sharepoint_host}", with: sharePointHost ?? "{sharepoint_host}")
        }
        return uri + "/.default"
    }
}

/// Whether a permission is an application permission (an app role, appears in the
/// token's `roles`) or a delegated permission (an OAuth2 scope, never in an app-only token).
public enum PermissionType: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case application
    case delegated

    /// The value of `requiredResourceAccess[].resourceAccess[].type` in the app manifest.
    public var manifestType: String {
        switch self {
        case .application: "Role"
        case .delegated: "Scope"
        }
    }

    public var description: String { rawValue }
}

/// One permission a connector kind needs, and the Zscaler actions that depend on it.
public struct RequiredPermission: Sendable, Hashable {
    public let resource: ResourceID
    public let name: String
    public let type: PermissionType
    /// The "Associated Zscaler Actions" column of the reference table.
    public let actions: [String]
    /// True where the reference table was lost and the entry is inferred (SharePoint).
    public let inferred: Bool

    public init(resource: ResourceID, name: String, type: PermissionType, actions: [String], inferred: Bool = false) {
        self.resource = resource
        self.name = name
        self.type = type
        self.actions = actions
        self.inferred = inferred
    }
}

/// An Azure RBAC role a connector's service principal must hold (reference step 3).
public struct RequiredRole: Sendable, Hashable {
    public let name: String
    /// The built-in role definition GUID.
    public let roleDefinitionId: String
    /// Where the role must be assigned; always the subscription for azure-blob.
    public let scope: String
}

/// Everything one connector kind needs from Entra ID and Azure.
public struct KindRequirements: Sendable {
    public let kind: ConnectorKind
    /// Resources the connector requests tokens for, in check order.
    public let resources: [ResourceID]
    public let permissions: [RequiredPermission]
    public let roles: [RequiredRole]
    /// True when some entries are inferred rather than taken from the reference table.
    public var hasInferredEntries: Bool { permissions.contains { $0.inferred } }

    /// Application permissions grouped by resource: what each token's `roles` must contain.
    public func applicationPermissions(for resource: ResourceID) -> [RequiredPermission] {
        permissions.filter { $0.resource == resource && $0.type == .application }
    }
}
