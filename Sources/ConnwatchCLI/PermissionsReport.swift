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
