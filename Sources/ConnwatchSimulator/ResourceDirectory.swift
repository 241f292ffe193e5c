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
        // Hand-rolled hex: index builds derive tens of thousands of IDs for big scenarios.
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, byte) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Lower-case hex of bytes.
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        for byte in bytes {
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
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
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Hand-rolled: every token and opaque ID goes through here, and Foundation's
    /// encoder plus three replacements cost a third of a 10,000-app index build.
    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let input = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity((input.count * 4 + 2) / 3)
        var i = 0
        while i + 3 <= input.count {
            let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)])
            out.append(alphabet[Int(n & 63)])
            i += 3
        }
        let rest = input.count - i
        if rest > 0 {
            let n = UInt32(input[i]) << 16 | (rest == 2 ? UInt32(input[i + 1]) << 8 : 0)
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            if rest == 2 { out.append(alphabet[Int(n >> 6 & 63)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        table[Int(UInt8(ascii: "+"))] = 62  // tolerate the standard alphabet too
        table[Int(UInt8(ascii: "/"))] = 63
        return table
    }()

    /// Decodes base64url (padding optional); nil on any other character.
    static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 3 / 4)
        var buffer: UInt32 = 0
        var bits = 0
        var padding = false
        for c in text.utf8 {
            if c == UInt8(ascii: "=") {
                padding = true
                continue
            }
            let v = decodeTable[Int(c)]
            guard v != 0xFF, !padding else { return nil }
            buffer = buffer << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        guard bits < 6 else { return nil }  // one dangling character is not base64
        return out
    }
}
