import ConnwatchCore
import Crypto
import Foundation

/// Stable GUIDs derived from names, so that object IDs, app role IDs and key IDs survive a
/// restart or a scenario update without being written in the scenario — and so that no
/// real Microsoft permission GUID is ever hard-coded (clients must resolve names at runtime,
/// microsoft-facts §2.5).
enum DeterministicID {
    static func uuid(_ parts: String...) -> String {
        uuid(parts)
    }

    static func uuid(_ parts: [String]) -> String {
        var bytes = Array(SHA256.hash(data: Array(("connwatch-sim|" + parts.joined(separator: "|")).utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50  // version 5-style (name-based)
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let h = Array(hex)
        return String(h[0..<8]) + "-" + String(h[8..<12]) + "-" + String(h[12..<16]) + "-" + String(h[16..<20]) + "-"
            + String(h[20..<32])
    }

    /// A Graph-style opaque ID (43 base64url characters), as `appRoleAssignment.id` uses.
    static func opaque(_ parts: String...) -> String {
        Base64URL.encode(Array(SHA256.hash(data: Array(("connwatch-sim|" + parts.joined(separator: "|")).utf8))))
    }
}

/// A Microsoft resource application (an API) as the simulator provisions it in tenants.
struct SimResource: Sendable {
    let id: ResourceID
    let appId: String
    let displayName: String
    /// Application permissions (app roles) the resource exposes.
    let appRoleValues: [String]
    /// Delegated permissions (OAuth2 scopes) the resource exposes.
    let scopeValues: [String]
}

/// The resources of microsoft-facts §2.8, their identifier URIs and their permissions.
enum ResourceDirectory {
    /// Application permissions beyond the connector catalog that scenarios commonly grant.
    private static let extraRoles: [ResourceID: [String]] = [
        .graph: [
            "Application.ReadWrite.All", "Application.ReadWrite.OwnedBy", "AppRoleAssignment.ReadWrite.All",
            "DelegatedPermissionGrant.Read.All", "DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All",
            "Group.ReadWrite.All", "Organization.ReadWrite.All", "Sites.FullControl.All", "Sites.Read.All",
            "Team.ReadBasic.All", "TeamSettings.Read.All", "User.Read.All", "User.ReadWrite.All",
        ],
        .office365Management: ["ActivityFeed.ReadDlp", "ServiceHealth.Read"],
        .sharePoint: [
            "Sites.FullControl.All", "Sites.Manage.All", "Sites.ReadWrite.All", "Sites.Selected", "User.Read.All",
        ],
    ]

    private static let scopes: [ResourceID: [String]] = [
        .graph: ["User.Read", "openid", "profile", "offline_access"],
        .azureStorage: ["user_impersonation"],
        .azureServiceManagement: ["user_impersonation"],
        .office365Management: ["ActivityFeed.Read"],
        .sharePoint: ["AllSites.Read"],
    ]

    /// Every resource, by ID.
    static let all: [ResourceID: SimResource] = {
        var catalogRoles: [ResourceID: Set<String>] = [:]
        for kind in ConnectorKind.allCases {
            for permission in PermissionCatalog.requirements(for: kind).permissions
            where permission.type == .application {
                catalogRoles[permission.resource, default: []].insert(permission.name)
            }
        }
        var out: [ResourceID: SimResource] = [:]
        for id in ResourceID.allCases {
            let meta = PermissionCatalog.resource(id)
            let roles = catalogRoles[id, default: []].union(extraRoles[id] ?? [])
            out[id] = SimResource(
                id: id, appId: meta.appId, displayName: meta.displayName, appRoleValues: roles.sorted(),
                scopeValues: scopes[id] ?? [])
        }
        return out
    }()

    /// Resource by its (lower-case) app ID.
    static let byAppId: [String: SimResource] = Dictionary(
        uniqueKeysWithValues: all.values.map { ($0.appId.lowercased(), $0) })

    /// Fixed identifier URIs (lower case, no trailing slash) → resource. SharePoint's are
    /// per tenant and handled by `resolve`.
    private static let identifierURIs: [String: ResourceID] = [
        "https://graph.microsoft.com": .graph,
        "https://manage.office.com": .office365Management,
        "https://storage.azure.com": .azureStorage,
        "https://management.azure.com": .azureServiceManagement,
        "https://management.core.windows.net": .azureServiceManagement,
        "https://syncservice.o365syncservice.com": .mipSyncService,
        "https://aadrm.com": .rightsManagement,
        "https://api.aadrm.com": .rightsManagement,
    ]

    /// What a token scope's resource part (or an access token's `aud`) names.
    struct Resolved: Sendable, Equatable {
        let id: ResourceID
        /// The SharePoint host for SharePoint, nil otherwise.
        let sharePointHost: String?
        /// The `aud` an access token for it carries: the identifier as requested, without
        /// a trailing slash.
        let audience: String
    }

    /// Resolves a resource identifier: an identifier URI (`https://graph.microsoft.com`,
    /// `https://contoso.sharepoint.com/`) or an app ID GUID. Nil for unknown resources.
    static func resolve(_ identifier: String) -> Resolved? {
        var trimmed = identifier
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        let lower = trimmed.lowercased()
        if let id = identifierURIs[lower] {
            return Resolved(id: id, sharePointHost: nil, audience: trimmed)
        }
        if let resource = byAppId[lower] {
            return Resolved(id: resource.id, sharePointHost: nil, audience: lower)
        }
        if lower.hasPrefix("https://") {
            let host = String(lower.dropFirst("https://".count))
            if !host.contains("/"), host.hasSuffix(".sharepoint.com"), host.count > ".sharepoint.com".count {
                return Resolved(id: .sharePoint, sharePointHost: host, audience: "https://" + host)
            }
        }
        return nil
    }

    /// The deterministic app role ID of `value` on a resource.
    static func appRoleId(resourceAppId: String, value: String) -> String {
        DeterministicID.uuid("approle", resourceAppId.lowercased(), value)
    }

    /// The deterministic OAuth2 scope ID of `value` on a resource.
    static func scopeId(resourceAppId: String, value: String) -> String {
        DeterministicID.uuid("scope", resourceAppId.lowercased(), value)
    }
}

/// Base64url without padding (RFC 7515 §2).
enum Base64URL {
    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var s = String(text)
        while s.hasSuffix("=") { s.removeLast() }
        s = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        switch s.count % 4 {
        case 0: break
        case 2: s += "=="
        case 3: s += "="
        default: return nil
        }
        return Data(base64Encoded: s).map { Array($0) }
    }
}
