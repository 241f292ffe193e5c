import ConnwatchCore
import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// A scenario compiled for O(1) lookups. Immutable: an update builds a new index and swaps
/// it in, so requests in flight keep a consistent view.
final class ScenarioIndex: Sendable {
    let scenario: Scenario
    /// Increases with every scenario change (tokens issued before stay valid, like Entra's).
    let generation: Int
    let tenants: [TenantEntry]
    private let tenantsById: [String: TenantEntry]
    private let tenantIdByDomain: [String: String]
    /// Subscription ID (lower case) → owning tenant ID.
    let subscriptionTenant: [String: String]

    /// The clock for credential-expiry decisions: the scenario's `now`, else the real one.
    func now() -> Date { scenario.now ?? Date() }

    /// The tenant addressed by a GUID or one of its domains (case-insensitive).
    func tenant(_ idOrDomain: String) -> TenantEntry? {
        let key = idOrDomain.lowercased()
        if let t = tenantsById[key] { return t }
        if let id = tenantIdByDomain[key] { return tenantsById[id] }
        return nil
    }

    init(_ scenario: Scenario, generation: Int, createdAt: Date) throws(SimulatorError) {
        self.scenario = scenario
        self.generation = generation
        var tenants: [TenantEntry] = []
        var byId: [String: TenantEntry] = [:]
        var byDomain: [String: String] = [:]
        var subscriptionTenant: [String: String] = [:]
        for tenant in scenario.tenants {
            let entry = try TenantEntry(tenant, createdAt: createdAt)
            guard byId[entry.id] == nil else { throw .scenarioInconsistent("tenant \(entry.id) appears twice") }
            byId[entry.id] = entry
            for domain in entry.domains {
                guard byDomain[domain] == nil else {
                    throw .scenarioInconsistent("domain \(domain) belongs to two tenants")
                }
                byDomain[domain] = entry.id
            }
            for sub in entry.subscriptionOrder {
                guard subscriptionTenant[sub] == nil else {
                    throw .scenarioInconsistent("subscription \(sub) belongs to two tenants")
                }
                subscriptionTenant[sub] = entry.id
            }
            tenants.append(entry)
        }
        self.tenants = tenants
        self.tenantsById = byId
        self.tenantIdByDomain = byDomain
        self.subscriptionTenant = subscriptionTenant
    }
}

/// GUID syntax check (8-4-4-4-12 hex digits).
enum GUID {
    static func isValid(_ s: some StringProtocol) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 36 else { return false }
        for (i, c) in u.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard c == UInt8(ascii: "-") else { return false }
            } else {
                guard (48...57).contains(c) || (65...70).contains(c) || (97...102).contains(c) else { return false }
            }
        }
        return true
    }

    static func random() -> String { UUID().uuidString.lowercased() }
}

/// A resource API's service principal in one tenant.
struct ResourcePrincipal: Sendable {
    let resource: SimResource
    let objectId: String
    /// (id, value), sorted by value.
    let appRoles: [(id: String, value: String)]
    let roleIdByValue: [String: String]
    let scopes: [(id: String, value: String)]
}

/// One tenant, compiled.
final class TenantEntry: Sendable {
    let id: String
    let displayName: String
    let domains: [String]
    let sharepointHost: String?
    let sharepointUnauthorizedBody: SharePointUnauthorizedBody
    let subscriptions: [String: Subscription]
    let subscriptionOrder: [String]
    let activitySubscriptions: [String]
    let apps: [AppEntry]
    let appsByAppId: [String: AppEntry]
    let appsByObjectId: [String: AppEntry]
    let appsBySPId: [String: AppEntry]
    /// Provisioned resource principals (absent: listed in `missing_resources`).
    let resources: [ResourceID: ResourcePrincipal]
    let resourcesBySPId: [String: ResourcePrincipal]
    /// Every role assignment in the tenant per subscription (lower case).
    let roleAssignmentsBySubscription: [String: [RoleAssignmentEntry]]
    /// Entra ID P1/P2: the sign-in log and activity reports answer (else the licence error).
    let premium: Bool
    let licenceErrorStatus: Int

    init(_ tenant: Tenant, createdAt: Date) throws(SimulatorError) {
        let id = tenant.id.lowercased()
        premium = tenant.premium
        licenceErrorStatus = tenant.licenceErrorStatus ?? 403
        guard GUID.isValid(id) else { throw .scenarioInconsistent("tenant id '\(tenant.id)' is not a GUID") }
        self.id = id
        displayName = tenant.displayName.isEmpty ? "Tenant \(id.prefix(8))" : tenant.displayName
        domains = tenant.domains.map { $0.lowercased() }
        sharepointHost = tenant.sharepointHost?.lowercased()
        sharepointUnauthorizedBody = tenant.sharepointUnauthorizedBody
        var subs: [String: Subscription] = [:]
        var order: [String] = []
        for s in tenant.subscriptions {
            let key = s.id.lowercased()
            guard GUID.isValid(key) else { throw .scenarioInconsistent("subscription id '\(s.id)' is not a GUID") }
            guard subs[key] == nil else { throw .scenarioInconsistent("subscription \(key) appears twice") }
            subs[key] = s
            order.append(key)
        }
        subscriptions = subs
        subscriptionOrder = order
        activitySubscriptions =
            tenant.activitySubscriptions ?? [
                "Audit.AzureActiveDirectory", "Audit.Exchange", "Audit.SharePoint", "Audit.General", "DLP.All",
            ]

        // Resource principals: the known permissions plus any value a scenario grants, so a
        // scenario may grant permissions the directory does not list.
        let missing = Set(tenant.missingResources.map { $0.lowercased() })
        for m in missing where ResourceDirectory.byAppId[m] == nil {
            throw .scenarioInconsistent("tenant \(id): missing_resources has unknown resource app ID \(m)")
        }
        var extraRoles: [String: Set<String>] = [:]
        for app in tenant.apps {
            for (resourceAppId, values) in app.appRoles {
                extraRoles[resourceAppId.lowercased(), default: []].formUnion(values)
            }
        }
        var resources: [ResourceID: ResourcePrincipal] = [:]
        var resourcesBySPId: [String: ResourcePrincipal] = [:]
        for resource in ResourceDirectory.all.values where !missing.contains(resource.appId) {
            let values = Set(resource.appRoleValues).union(extraRoles[resource.appId] ?? []).sorted()
            let roles = values.map {
                (id: ResourceDirectory.appRoleId(resourceAppId: resource.appId, value: $0), value: $0)
            }
            let principal = ResourcePrincipal(
                resource: resource, objectId: DeterministicID.uuid("resource-sp", id, resource.appId),
                appRoles: roles, roleIdByValue: Dictionary(uniqueKeysWithValues: roles.map { ($0.value, $0.id) }),
                scopes: resource.scopeValues.map {
                    (id: ResourceDirectory.scopeId(resourceAppId: resource.appId, value: $0), value: $0)
                })
            resources[resource.id] = principal
            resourcesBySPId[principal.objectId] = principal
        }
        self.resources = resources
        self.resourcesBySPId = resourcesBySPId

        var apps: [AppEntry] = []
        var byAppId: [String: AppEntry] = [:]
        var byObjectId: [String: AppEntry] = [:]
        var bySPId: [String: AppEntry] = [:]
        var assignments: [String: [RoleAssignmentEntry]] = [:]
        for app in tenant.apps {
            let entry = try AppEntry(app, tenantId: id, resources: resources, subscriptions: subs, createdAt: createdAt)
            guard byAppId[entry.appId] == nil else {
                throw .scenarioInconsistent("tenant \(id): app \(entry.appId) appears twice")
            }
            byAppId[entry.appId] = entry
            byObjectId[entry.objectId] = entry
            if entry.hasServicePrincipal { bySPId[entry.spObjectId] = entry }
            for ra in entry.roleAssignments { assignments[ra.subscription, default: []].append(ra) }
            apps.append(entry)
        }
        self.apps = apps
        appsByAppId = byAppId
        appsByObjectId = byObjectId
        appsBySPId = bySPId
        roleAssignmentsBySubscription = assignments
    }

    /// The resource principal a resolved token resource names, honouring `missing_resources`
    /// and, for SharePoint, the tenant's own host (`-my` and `-admin` variants included).
    func principal(for resolved: ResourceDirectory.Resolved) -> ResourcePrincipal? {
        guard let principal = resources[resolved.id] else { return nil }
        if resolved.id == .sharePoint, let host = resolved.sharePointHost {
            guard let own = sharepointHost else { return nil }
            let prefix = own.hasSuffix(".sharepoint.com") ? String(own.dropLast(".sharepoint.com".count)) : own
            let allowed: Set<String> = [own, prefix + "-my.sharepoint.com", prefix + "-admin.sharepoint.com"]
            guard allowed.contains(host) else { return nil }
        }
        return principal
    }
}

/// A client secret, compiled.
struct SecretEntry: Sendable {
    let keyId: String
    let displayName: String?
    let value: String
    let start: Date
    let end: Date
    var hint: String { String(value.prefix(3)) }
}

/// A registered certificate, compiled.
struct CertificateEntry: Sendable {
    let keyId: String
    let displayName: String?
    let der: [UInt8]
    let sha1: [UInt8]
    let sha256: [UInt8]
    let start: Date
    let end: Date
    /// Nil when the certificate's key is not RSA (Entra ID accepts RSA keys only).
    let rsaKey: _RSA.Signing.PublicKey?
}

/// An application permission granted to an app (an `appRoleAssignment`).
struct AppRoleGrant: Sendable {
    let id: String
    let appRoleId: String
    let value: String
    let resource: ResourcePrincipal
    let createdAt: Date
}

/// An Azure role assignment, compiled.
struct RoleAssignmentEntry: Sendable {
    let name: String
    let roleDefinitionId: String
    let subscription: String
    let scope: String
    let principalId: String
    let createdAt: Date
}

/// An app registration and its service principal, compiled.
final class AppEntry: Sendable {
    let app: App
    let tenantId: String
    let appId: String
    let objectId: String
    let spObjectId: String
    let displayName: String
    let hasServicePrincipal: Bool
    let secrets: [SecretEntry]
    private let secretsByValue: [String: [SecretEntry]]
    let certificates: [CertificateEntry]
    private let certificatesBySHA1: [[UInt8]: CertificateEntry]
    private let certificatesBySHA256: [[UInt8]: CertificateEntry]
    /// Granted application permissions per resource app ID (lower case), in scenario order.
    let rolesByResource: [String: [String]]
    /// Every `appRoleAssignment`, sorted by resource name then permission.
    let appRoleGrants: [AppRoleGrant]
    let delegatedGrants: [DelegatedGrant]
    let roleAssignments: [RoleAssignmentEntry]
    let requiredResourceAccess: [RequiredResourceAccess]
    let createdAt: Date

    init(
        _ app: App, tenantId: String, resources: [ResourceID: ResourcePrincipal], subscriptions: [String: Subscription],
        createdAt: Date
    ) throws(SimulatorError) {
        self.app = app
        self.tenantId = tenantId
        self.createdAt = createdAt
        appId = app.appId.lowercased()
        guard GUID.isValid(appId) else {
            throw .scenarioInconsistent("tenant \(tenantId): app_id '\(app.appId)' is not a GUID")
        }
        let where_ = "tenant \(tenantId) app \(appId)"
        objectId = app.objectId?.lowercased() ?? DeterministicID.uuid("application", tenantId, appId)
        spObjectId = app.spObjectId?.lowercased() ?? DeterministicID.uuid("service-principal", tenantId, appId)
        displayName = app.displayName.isEmpty ? "App \(appId.prefix(8))" : app.displayName
        hasServicePrincipal = app.servicePrincipal

        var secrets: [SecretEntry] = []
        var byValue: [String: [SecretEntry]] = [:]
        for (i, s) in app.secrets.enumerated() {
            guard !s.value.isEmpty else { throw .scenarioInconsistent("\(where_): secret \(i) has an empty value") }
            let entry = SecretEntry(
                keyId: s.keyId?.lowercased() ?? DeterministicID.uuid("secret", tenantId, appId, String(i)),
                displayName: s.displayName, value: s.value,
                start: s.start ?? min(s.end, createdAt.addingTimeInterval(-86_400)), end: s.end)
            secrets.append(entry)
            byValue[s.value, default: []].append(entry)
        }
        self.secrets = secrets
        secretsByValue = byValue

        var certs: [CertificateEntry] = []
        var bySHA1: [[UInt8]: CertificateEntry] = [:]
        var bySHA256: [[UInt8]: CertificateEntry] = [:]
        for (i, c) in app.certificates.enumerated() {
            guard let pem = c.pem else {
                throw .scenarioInconsistent("\(where_): certificate \(i) has neither pem nor a resolved pem_file")
            }
            let entry = try Self.compileCertificate(pem, credential: c, tenantId: tenantId, appId: appId, index: i)
            certs.append(entry)
            bySHA1[entry.sha1] = entry
            bySHA256[entry.sha256] = entry
        }
        certificates = certs
        certificatesBySHA1 = bySHA1
        certificatesBySHA256 = bySHA256

        var roles: [String: [String]] = [:]
        var grants: [AppRoleGrant] = []
        for (resourceAppId, values) in app.appRoles {
            let key = resourceAppId.lowercased()
            guard let resource = ResourceDirectory.byAppId[key] else {
                throw .scenarioInconsistent("\(where_): app_roles names unknown resource app ID \(resourceAppId)")
            }
            var seen = Set<String>()
            let unique = values.filter { seen.insert($0).inserted }
            roles[key] = unique
            // A permission on a resource missing from the tenant cannot be assigned there.
            guard let principal = resources[resource.id] else { continue }
            for value in unique {
                grants.append(
                    AppRoleGrant(
                        id: DeterministicID.opaque("approleassignment", tenantId, spObjectId, key, value),
                        appRoleId: principal.roleIdByValue[value]!, value: value, resource: principal,
                        createdAt: createdAt))
            }
        }
        rolesByResource = roles
        appRoleGrants = grants.sorted {
            ($0.resource.resource.displayName, $0.value) < ($1.resource.resource.displayName, $1.value)
        }

        for grant in app.delegatedGrants where ResourceDirectory.byAppId[grant.resourceAppId.lowercased()] == nil {
            throw .scenarioInconsistent("\(where_): delegated grant on unknown resource app ID \(grant.resourceAppId)")
        }
        delegatedGrants = app.delegatedGrants

        var assignments: [RoleAssignmentEntry] = []
        for ra in app.roleAssignments {
            let sub = ra.subscription.lowercased()
            guard subscriptions[sub] != nil else {
                throw .scenarioInconsistent(
                    "\(where_): role assignment on subscription \(ra.subscription), which the tenant does not list")
            }
            let definition = ra.roleDefinitionId.lowercased()
            guard GUID.isValid(definition) else {
                throw .scenarioInconsistent("\(where_): role_definition_id '\(ra.roleDefinitionId)' is not a GUID")
            }
            let scope = ra.scope ?? "/subscriptions/\(sub)"
            assignments.append(
                RoleAssignmentEntry(
                    name: ra.id?.lowercased()
                        ?? DeterministicID.uuid("role-assignment", tenantId, spObjectId, scope, definition),
                    roleDefinitionId: definition, subscription: sub, scope: scope, principalId: spObjectId,
                    createdAt: createdAt))
        }
        roleAssignments = assignments

        if let explicit = app.requiredResourceAccess {
            requiredResourceAccess = explicit
        } else {
            var derived: [String: RequiredResourceAccess] = [:]
            var order: [String] = []
            for key in app.appRoles.keys.sorted() {
                let k = key.lowercased()
                if derived[k] == nil { order.append(k) }
                derived[k, default: RequiredResourceAccess(resourceAppId: k)].roles.append(contentsOf: roles[k] ?? [])
            }
            for grant in app.delegatedGrants {
                let k = grant.resourceAppId.lowercased()
                if derived[k] == nil { order.append(k) }
                let values = grant.scope.split(separator: " ").map(String.init)
                derived[k, default: RequiredResourceAccess(resourceAppId: k)].scopes.append(contentsOf: values)
            }
            requiredResourceAccess = order.map { derived[$0]! }
        }
    }

    private static func compileCertificate(
        _ pem: String, credential c: CertificateCredential, tenantId: String, appId: String, index: Int
    ) throws(SimulatorError) -> CertificateEntry {
        let fail = { (reason: String) -> SimulatorError in
            .scenarioInconsistent("tenant \(tenantId) app \(appId): certificate \(index): \(reason)")
        }
        guard let der = PEMBlocks.firstCertificateDER(in: pem) else {
            throw fail("no CERTIFICATE block in the PEM")
        }
        let certificate: Certificate
        do {
            certificate = try Certificate(derEncoded: der)
        } catch {
            throw fail("not a parsable X.509 certificate")
        }
        let sha1 = Array(Insecure.SHA1.hash(data: der))
        return CertificateEntry(
            keyId: c.keyId?.lowercased()
                ?? DeterministicID.uuid(
                    "certificate", tenantId, appId, DeterministicID.hex(sha1)),
            displayName: c.displayName ?? certificate.subject.description,
            der: der, sha1: sha1, sha256: Array(SHA256.hash(data: der)),
            start: c.start ?? certificate.notValidBefore, end: c.end ?? certificate.notValidAfter,
            rsaKey: _RSA.Signing.PublicKey(certificate.publicKey))
    }

    /// The secrets whose value is `value` (usually one).
    func secrets(matching value: String) -> [SecretEntry] { secretsByValue[value] ?? [] }

    func certificate(sha1: [UInt8]) -> CertificateEntry? { certificatesBySHA1[sha1] }
    func certificate(sha256: [UInt8]) -> CertificateEntry? { certificatesBySHA256[sha256] }

    /// Granted application permissions on a resource (the token's `roles`).
    func roles(forResourceAppId resourceAppId: String) -> [String] { rolesByResource[resourceAppId] ?? [] }
}

/// Extracts blocks from PEM text.
enum PEMBlocks {
    /// DER of the first `CERTIFICATE` block.
    static func firstCertificateDER(in text: String) -> [UInt8]? {
        // A PEM copied out of a JSON key file may still contain literal "\n" pairs.
        let pem = text.replacingOccurrences(of: "\\n", with: "\n")
        let begin = "-----BEGIN CERTIFICATE-----"
        let end = "-----END CERTIFICATE-----"
        guard let b = pem.range(of: begin), let e = pem.range(of: end, range: b.upperBound..<pem.endIndex) else {
            return nil
        }
        let body = pem[b.upperBound..<e.lowerBound].filter { !$0.isWhitespace }
        return Data(base64Encoded: String(body)).map { Array($0) }
    }
}
