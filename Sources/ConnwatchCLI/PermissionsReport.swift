import ConnwatchCore
import Foundation

/// `connwatchctl permissions KIND`: the catalog for one kind, as a table or JSON.
public enum PermissionsReport {
    struct ResourceDTO: Encodable {
        let id: String
        let name: String
        let app_id: String
        let scope: String
        let certificate_only: Bool
    }

    struct PermissionDTO: Encodable {
        let api: String
        let resource: String
        let permission: String
        let type: String
        let actions: [String]
        let inferred: Bool
    }

    struct RoleDTO: Encodable {
        let name: String
        let role_definition_id: String
        let scope: String
    }

    struct ReportDTO: Encodable {
        let schema_version = 1
        let kind: String
        let inferred: Bool
        let resources: [ResourceDTO]
        let permissions: [PermissionDTO]
        let roles: [RoleDTO]
    }

    public static func json(_ kind: ConnectorKind) -> String {
        let req = PermissionCatalog.requirements(for: kind)
        let dto = ReportDTO(
            kind: kind.rawValue, inferred: req.hasInferredEntries,
            resources: req.resources.map {
                let r = PermissionCatalog.resource($0)
                return ResourceDTO(
                    id: r.id.rawValue, name: r.displayName, app_id: r.appId, scope: r.defaultScope(),
                    certificate_only: r.certificateOnly)
            },
            permissions: req.permissions.map {
                PermissionDTO(
                    api: PermissionCatalog.resource($0.resource).displayName, resource: $0.resource.rawValue,
                    permission: $0.name, type: $0.type.rawValue, actions: $0.actions, inferred: $0.inferred)
            },
            roles: req.roles.map { RoleDTO(name: $0.name, role_definition_id: $0.roleDefinitionId, scope: $0.scope) })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! encoder.encode(dto), as: UTF8.self) + "\n"
    }

    public static func text(_ kind: ConnectorKind) -> String {
        let req = PermissionCatalog.requirements(for: kind)
        var out = "\(kind.displayName) (\(kind.rawValue)): API permissions to add in reference step 2\n"
        if req.hasInferredEntries {
            out += "Entries marked * are inferred: the reference table lost its \(kind.displayName) rows.\n"
        }
        out += "\n"
        var table = TextTable(headers: ["API", "PERMISSION", "TYPE", "ZSCALER ACTIONS"])
        for p in req.permissions {
            table.append([
                PermissionCatalog.resource(p.resource).displayName,
                p.name + (p.inferred ? " *" : ""),
                p.type.rawValue,
                p.actions.joined(separator: "\n"),
            ])
        }
        out += table.render()
        if !req.roles.isEmpty {
            out += "\nAzure role assignments at subscription scope (reference step 3):\n\n"
            var roles = TextTable(headers: ["ROLE", "ROLE DEFINITION ID", "SCOPE"])
            for r in req.roles { roles.append([r.name, r.roleDefinitionId, r.scope]) }
            out += roles.render()
        }
        out += "\nTokens requested (client credentials, one per resource):\n\n"
        var res = TextTable(headers: ["API", "APP ID", "SCOPE", "CREDENTIAL"])
        for id in req.resources {
            let r = PermissionCatalog.resource(id)
            res.append([
                r.displayName, r.appId, r.defaultScope(),
                r.certificateOnly ? "certificate only" : "secret or certificate",
            ])
        }
        out += res.render()
        if req.permissions.contains(where: { $0.type == .delegated }) {
            out +=
                "\nDelegated permissions never appear in an app-only token; connwatch judges them through the role assignments.\n"
        }
        return out
    }
}

/// `connwatchctl permissions observer`: what the monitoring app of a `[[tenant]]` needs
/// (SPEC §3b, observer-facts), why each, and what its absence costs (the costs are the
/// observer check's own, ``ObserverPermission/costs``).
public enum ObserverPermissionsReport {
    struct Entry {
        let permission: ObserverPermission
        let name: String
        let required: Bool
        let licence: String?
        let why: String
    }

    /// Azure's built-in Reader role (observer-facts §7 [ROLES]).
    static let readerRoleId = "acdd72a7-3385-48ef-bd42-f606fba81ae7"

    static let graph: [Entry] = [
        Entry(
            permission: .applicationReadAll, name: "Application.Read.All", required: true, licence: nil,
            why:
                "reads each connector's app and service principal: its secrets and certificates with their expiry, accountEnabled, its app-role assignments and the resource apps' appRoles; and the monitoring app's own credentials; for [[email]] sinks with owners = true, each connector app's owners (read only when such a mail goes out)"
        ),
        Entry(
            permission: .directoryReadAll, name: "Directory.Read.All", required: true, licence: nil,
            why:
                "reads delegated grants (oauth2PermissionGrants, which Application.Read.All does not cover); the sign-in log needs it beside AuditLog.Read.All; the owners' mail addresses (owners = true; without a user read permission Graph lists owners by object ID only)"
        ),
        Entry(
            permission: .auditLogReadAll, name: "AuditLog.Read.All", required: false,
            licence: "Microsoft Entra ID P1 or P2",
            why:
                "reads the sign-in log (the signin check: failing and stale sign-ins) and credential sign-in activity (which secret is in use)"
        ),
    ]

    static let readerWhy =
        "lists the role assignments of azure-blob connectors' service principals (the roles check); Graph permissions do not reach Azure RBAC"

    public static func text() -> String {
        var out = """
            The monitoring app of a [[tenant]] observer (SPEC §3b): one read-only app per Entra tenant, \
            never a connector. It reads every connector app of the tenant, so no connector secret is held.

            Microsoft Graph application permissions (API permissions > Add a permission > Microsoft Graph > \
            Application permissions), then grant admin consent (connwatchctl consent-url --observer TENANT_ID):

            """
        out += "\n"
        for e in graph {
            out += "  \(e.name)  "
            out += e.required ? "required\n" : "optional (needs a \(e.licence ?? "") licence)\n"
            out += "    why: \(e.why)\n"
            out += "    without it, connwatch loses \(e.permission.costs)\n"
        }
        out += """

            Azure role assignment (Access control (IAM) on each subscription listed in the tenant's subscriptions):

              Reader (\(readerRoleId))  for observed azure-blob connectors
                why: \(readerWhy)
                without it, connwatch loses \(ObserverPermission.reader(subscriptionId: "").costs)

            Credential: certificate_file (one PEM with the private key and the certificate, mode 0600; \
            upload the certificate under Certificates & secrets) is preferred to client_secret_credential.
            No write permission is needed: connwatch changes nothing in the tenant.

            """
        return out
    }

    struct PermissionDTO: Encodable {
        let api: String
        let permission: String
        let type: String
        let required: Bool
        let licence: String?
        let why: String
        let costs: String

        /// `licence` is written as null when none is needed, not left out.
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(api, forKey: .api)
            try c.encode(permission, forKey: .permission)
            try c.encode(type, forKey: .type)
            try c.encode(required, forKey: .required)
            try c.encode(licence, forKey: .licence)
            try c.encode(why, forKey: .why)
            try c.encode(costs, forKey: .costs)
        }

        enum CodingKeys: String, CodingKey { case api, permission, type, required, licence, why, costs }
    }

    struct RoleDTO: Encodable {
        let name: String
        let role_definition_id: String
        let scope: String
        let required_for: String
        let why: String
        let costs: String
    }

    struct ReportDTO: Encodable {
        let schema_version = 1
        let kind = "observer"
        let permissions: [PermissionDTO]
        let roles: [RoleDTO]
        let preferred_credential = "certificate"
    }

    public static func json() -> String {
        let dto = ReportDTO(
            permissions: graph.map {
                PermissionDTO(
                    api: "Microsoft Graph", permission: $0.name, type: "Application", required: $0.required,
                    licence: $0.licence, why: $0.why, costs: $0.permission.costs)
            },
            roles: [
                RoleDTO(
                    name: "Reader", role_definition_id: readerRoleId, scope: "/subscriptions/{subscriptions[]}",
                    required_for: "azure-blob", why: readerWhy,
                    costs: ObserverPermission.reader(subscriptionId: "").costs)
            ])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! encoder.encode(dto), as: UTF8.self) + "\n"
    }
}
