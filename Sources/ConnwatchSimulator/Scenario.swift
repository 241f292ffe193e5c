import Foundation

/// The simulated Microsoft cloud's state: tenants, their app registrations, credentials,
/// grants and Azure role assignments, plus optional faults.
///
/// The JSON form uses snake_case keys (see `config/demo/scenario.template.json`). Dates are
/// ISO 8601 (`2027-01-15T00:00:00Z`, fractional seconds allowed, or a bare `2027-01-15`
/// meaning midnight UTC). Secret values are plain text: scenarios are generated at run time
/// by tests and the demo script and never committed with real secrets or private keys.
public struct Scenario: Codable, Sendable, Equatable {
    /// Overrides the simulator's clock for credential-expiry decisions (expired secrets and
    /// certificates). Token lifetimes and assertion time checks always use the real clock,
    /// because clients build assertions and cache tokens with theirs.
    public var now: Date?
    public var tenants: [Tenant]
    /// Faults active from the start; `setFaults` and `PUT /_sim/faults` replace them.
    public var faults: [Fault]?
    /// Zscaler's side: OneAPI clients and ZIA SaaS tenants (absent: the routes answer 401).
    public var zscaler: ZscalerScenario?

    public init(now: Date? = nil, tenants: [Tenant], faults: [Fault]? = nil, zscaler: ZscalerScenario? = nil) {
        self.now = now
        self.tenants = tenants
        self.faults = faults
        self.zscaler = zscaler
    }

    /// Reads a scenario file. `pem_file` paths are resolved against the file's directory
    /// and replaced by the certificate text they name.
    public static func load(from path: String) throws(SimulatorError) -> Scenario {
        let url = URL(fileURLWithPath: path)
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw .scenarioUnreadable(path: path, reason: "\(error.localizedDescription)")
        }
        var scenario = try decode(data, source: path)
        try scenario.resolveCertificateFiles(relativeTo: url.deletingLastPathComponent().path)
        return scenario
    }

    /// Decodes scenario JSON; `source` names it in error messages.
    public static func decode(_ data: Data, source: String = "scenario") throws(SimulatorError) -> Scenario {
        do {
            return try ScenarioCoding.decoder().decode(Scenario.self, from: data)
        } catch let error as DecodingError {
            throw .scenarioInvalid(ScenarioCoding.describe(error, source: source))
        } catch {
            throw .scenarioInvalid("\(source): \(error)")
        }
    }

    /// The scenario as pretty-printed JSON.
    public func encoded() throws(SimulatorError) -> Data {
        do {
            return try ScenarioCoding.encoder().encode(self)
        } catch {
            throw .scenarioInvalid("cannot encode the scenario: \(error)")
        }
    }

    /// Replaces every certificate's `pem_file` by its contents (`pem`), so the scenario
    /// no longer depends on the working directory.
    public mutating func resolveCertificateFiles(relativeTo directory: String) throws(SimulatorError) {
        for t in tenants.indices {
            for a in tenants[t].apps.indices {
                for c in tenants[t].apps[a].certificates.indices {
                    let cert = tenants[t].apps[a].certificates[c]
                    guard cert.pem == nil, let file = cert.pemFile else { continue }
                    let path = file.hasPrefix("/") ? file : directory + "/" + file
                    guard let data = FileManager.default.contents(atPath: path),
                        let text = String(data: data, encoding: .utf8)
                    else {
                        throw .scenarioUnreadable(
                            path: path, reason: "certificate file of app \(tenants[t].apps[a].appId)")
                    }
                    tenants[t].apps[a].certificates[c].pem = text
                    tenants[t].apps[a].certificates[c].pemFile = nil
                }
            }
        }
    }
}

/// How SharePoint Online words a 401 (`sharepoint_unauthorized_body`). It always sends
/// `x-ms-diagnostics` and `WWW-Authenticate`; the body is not always there.
public enum SharePointUnauthorizedBody: String, Codable, Sendable, Equatable {
    /// `{"error_description": "…"}` as well.
    case json
    /// No body: the reason is in the headers only.
    case empty
}

/// An Entra ID tenant (directory).
public struct Tenant: Codable, Sendable, Equatable {
    /// The directory (tenant) ID, a GUID.
    public var id: String
    /// Verified domains, e.g. `contoso.onmicrosoft.com`; any of them addresses the tenant
    /// on the token endpoint.
    public var domains: [String]
    public var displayName: String
    public var subscriptions: [Subscription]
    /// App IDs of Microsoft resources not provisioned in this tenant: a token request for
    /// them fails with AADSTS500011 (e.g. the MIP Sync Service before `New-AzADServicePrincipal`).
    public var missingResources: [String]
    /// The tenant's SharePoint Online host, e.g. `contoso.sharepoint.com`.
    public var sharepointHost: String?
    /// How its SharePoint words a 401 (default: a JSON body as well as the headers).
    public var sharepointUnauthorizedBody: SharePointUnauthorizedBody
    /// Office 365 Management Activity API content types subscribed (default: the five
    /// standard ones, all enabled).
    public var activitySubscriptions: [String]?
    public var apps: [App]
    /// False: no Entra ID P1/P2 licence. The sign-in log and the sign-in activity reports
    /// answer `Authentication_RequestFromNonPremiumTenantOrB2CTenant` (observer-facts).
    public var premium: Bool
    /// The status of that licence error: 403 (default) or 401 — both are seen in the
    /// wild and no source says which (observer-facts, UNVERIFIED point 1).
    public var licenceErrorStatus: Int?

    public init(
        id: String, domains: [String] = [], displayName: String = "", subscriptions: [Subscription] = [],
        missingResources: [String] = [], sharepointHost: String? = nil,
        sharepointUnauthorizedBody: SharePointUnauthorizedBody = .json, activitySubscriptions: [String]? = nil,
        apps: [App] = [], premium: Bool = true, licenceErrorStatus: Int? = nil
    ) {
        self.premium = premium
        self.licenceErrorStatus = licenceErrorStatus
        self.id = id
        self.domains = domains
        self.displayName = displayName
        self.subscriptions = subscriptions
        self.missingResources = missingResources
        self.sharepointHost = sharepointHost
        self.sharepointUnauthorizedBody = sharepointUnauthorizedBody
        self.activitySubscriptions = activitySubscriptions
        self.apps = apps
    }

    enum CodingKeys: String, CodingKey {
        case id, domains, displayName, subscriptions, missingResources, sharepointHost, sharepointUnauthorizedBody
        case activitySubscriptions, apps
        case premium, licenceErrorStatus
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        domains = try c.decodeIfPresent([String].self, forKey: .domains) ?? []
        displayName = try c.decodeIfPresent(String.self, forKey: .displayName) ?? ""
        subscriptions = try c.decodeIfPresent([Subscription].self, forKey: .subscriptions) ?? []
        missingResources = try c.decodeIfPresent([String].self, forKey: .missingResources) ?? []
        sharepointHost = try c.decodeIfPresent(String.self, forKey: .sharepointHost)
        sharepointUnauthorizedBody =
            try c.decodeIfPresent(SharePointUnauthorizedBody.self, forKey: .sharepointUnauthorizedBody) ?? .json
        activitySubscriptions = try c.decodeIfPresent([String].self, forKey: .activitySubscriptions)
        apps = try c.decodeIfPresent([App].self, forKey: .apps) ?? []
        premium = try c.decodeIfPresent(Bool.self, forKey: .premium) ?? true
        licenceErrorStatus = try c.decodeIfPresent(Int.self, forKey: .licenceErrorStatus)
    }
}

/// An Azure subscription trusting the tenant.
public struct Subscription: Codable, Sendable, Equatable {
    public var id: String
    public var displayName: String

    public init(id: String, displayName: String = "") {
        self.id = id
        self.displayName = displayName
    }

    enum CodingKeys: String, CodingKey { case id, displayName }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        displayName = try c.decodeIfPresent(String.self, forKey: .displayName) ?? ""
    }
}

/// An app registration (application object) and its service principal in one tenant.
public struct App: Codable, Sendable, Equatable {
    /// Application (client) ID.
    public var appId: String
    /// Application object ID; derived from tenant and app ID when absent.
    public var objectId: String?
    /// Service principal object ID (the token's `oid`); derived when absent.
    public var spObjectId: String?
    public var displayName: String
    /// Disabled by an administrator: token requests fail with AADSTS7000112.
    public var disabled: Bool
    /// False when the app has no service principal in the tenant (never consented or
    /// provisioned): token requests fail with AADSTS700016.
    public var servicePrincipal: Bool
    /// The app may read its own application object and service principal through Graph
    /// without any permission (community-observed behaviour, microsoft-facts §2.4).
    public var selfRead: Bool
    /// A Conditional Access policy blocks this workload identity: AADSTS53003.
    public var blockedByPolicy: Bool
    public var secrets: [ClientSecret]
    public var certificates: [CertificateCredential]
    /// Granted application permissions: resource app ID → permission values.
    public var appRoles: [String: [String]]
    public var delegatedGrants: [DelegatedGrant]
    public var roleAssignments: [RoleAssignment]
    /// Requested permissions; derived from `app_roles` and `delegated_grants` when absent.
    public var requiredResourceAccess: [RequiredResourceAccess]?
    /// What the tenant's sign-in log shows for this app's service: absent or `auto`
    /// follows the app's truth (disabled, blocked, every secret expired → failures with
    /// that AADSTS code; else successes); `stale` shows nothing for ten days; `none` nothing.
    public var signIns: SignInPattern?
    /// How `appCredentialSignInActivities` spells this app's rows: `table` (default:
    /// `expirationDateTime`, `keyType: clientSecret`) or `example` (`expirationDate`,
    /// `keyType: secret`), the two spellings Microsoft's documentation shows.
    public var reportSpelling: ReportSpelling?
    /// The app's owners (`applications/{id}/owners`, observer-facts §6).
    public var owners: [AppOwner]
    /// Every owners read of this app is refused (403 `Authorization_RequestDenied`) whatever
    /// the reader's permissions, as when a tenant restricts it.
    public var ownersForbidden: Bool

    public init(
        appId: String, objectId: String? = nil, spObjectId: String? = nil, displayName: String = "",
        disabled: Bool = false, servicePrincipal: Bool = true, selfRead: Bool = false, blockedByPolicy: Bool = false,
        secrets: [ClientSecret] = [], certificates: [CertificateCredential] = [], appRoles: [String: [String]] = [:],
        delegatedGrants: [DelegatedGrant] = [], roleAssignments: [RoleAssignment] = [],
        requiredResourceAccess: [RequiredResourceAccess]? = nil, signIns: SignInPattern? = nil,
        reportSpelling: ReportSpelling? = nil, owners: [AppOwner] = [], ownersForbidden: Bool = false
    ) {
        self.owners = owners
        self.ownersForbidden = ownersForbidden
        self.signIns = signIns
        self.reportSpelling = reportSpelling
        self.appId = appId
        self.objectId = objectId
        self.spObjectId = spObjectId
        self.displayName = displayName
        self.disabled = disabled
        self.servicePrincipal = servicePrincipal
        self.selfRead = selfRead
        self.blockedByPolicy = blockedByPolicy
        self.secrets = secrets
        self.certificates = certificates
        self.appRoles = appRoles
        self.delegatedGrants = delegatedGrants
        self.roleAssignments = roleAssignments
        self.requiredResourceAccess = requiredResourceAccess
    }

    enum CodingKeys: String, CodingKey {
        case appId, objectId, spObjectId, displayName, disabled, servicePrincipal, selfRead, blockedByPolicy
        case secrets, certificates, appRoles, delegatedGrants, roleAssignments, requiredResourceAccess
        case signIns, reportSpelling, owners, ownersForbidden
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        appId = try c.decode(String.self, forKey: .appId)
        objectId = try c.decodeIfPresent(String.self, forKey: .objectId)
        spObjectId = try c.decodeIfPresent(String.self, forKey: .spObjectId)
        displayName = try c.decodeIfPresent(String.self, forKey: .displayName) ?? ""
        disabled = try c.decodeIfPresent(Bool.self, forKey: .disabled) ?? false
        servicePrincipal = try c.decodeIfPresent(Bool.self, forKey: .servicePrincipal) ?? true
        selfRead = try c.decodeIfPresent(Bool.self, forKey: .selfRead) ?? false
        blockedByPolicy = try c.decodeIfPresent(Bool.self, forKey: .blockedByPolicy) ?? false
        secrets = try c.decodeIfPresent([ClientSecret].self, forKey: .secrets) ?? []
        certificates = try c.decodeIfPresent([CertificateCredential].self, forKey: .certificates) ?? []
        // `app_roles` keys are GUIDs: decode as a plain dictionary so the key strategy
        // (snake_case conversion) cannot touch them.
        appRoles = try c.decodeIfPresent(RawKeyDictionary.self, forKey: .appRoles)?.values ?? [:]
        delegatedGrants = try c.decodeIfPresent([DelegatedGrant].self, forKey: .delegatedGrants) ?? []
        roleAssignments = try c.decodeIfPresent([RoleAssignment].self, forKey: .roleAssignments) ?? []
        requiredResourceAccess = try c.decodeIfPresent(
            [RequiredResourceAccess].self, forKey: .requiredResourceAccess)
        signIns = try c.decodeIfPresent(SignInPattern.self, forKey: .signIns)
        reportSpelling = try c.decodeIfPresent(ReportSpelling.self, forKey: .reportSpelling)
        owners = try c.decodeIfPresent([AppOwner].self, forKey: .owners) ?? []
        ownersForbidden = try c.decodeIfPresent(Bool.self, forKey: .ownersForbidden) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(appId, forKey: .appId)
        try c.encodeIfPresent(objectId, forKey: .objectId)
        try c.encodeIfPresent(spObjectId, forKey: .spObjectId)
        try c.encode(displayName, forKey: .displayName)
        try c.encode(disabled, forKey: .disabled)
        try c.encode(servicePrincipal, forKey: .servicePrincipal)
        try c.encode(selfRead, forKey: .selfRead)
        try c.encode(blockedByPolicy, forKey: .blockedByPolicy)
        try c.encode(secrets, forKey: .secrets)
        try c.encode(certificates, forKey: .certificates)
        try c.encode(RawKeyDictionary(values: appRoles), forKey: .appRoles)
        try c.encode(delegatedGrants, forKey: .delegatedGrants)
        try c.encode(roleAssignments, forKey: .roleAssignments)
        try c.encodeIfPresent(requiredResourceAccess, forKey: .requiredResourceAccess)
        try c.encodeIfPresent(signIns, forKey: .signIns)
        try c.encodeIfPresent(reportSpelling, forKey: .reportSpelling)
        if !owners.isEmpty { try c.encode(owners, forKey: .owners) }
        if ownersForbidden { try c.encode(ownersForbidden, forKey: .ownersForbidden) }
    }
}

/// One owner of an app registration: a user (with or without a mailbox) or a service
/// principal (`type`), as `applications/{id}/owners` lists it.
public struct AppOwner: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case user
        case servicePrincipal = "service_principal"
    }

    public var displayName: String
    public var mail: String?
    public var upn: String?
    public var type: Kind
    /// Object ID; derived from the app and the owner's position when absent.
    public var id: String?

    public init(displayName: String, mail: String? = nil, upn: String? = nil, type: Kind = .user, id: String? = nil) {
        self.displayName = displayName
        self.mail = mail
        self.upn = upn
        self.type = type
        self.id = id
    }

    enum CodingKeys: String, CodingKey { case displayName, mail, upn, type, id }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        displayName = try c.decodeIfPresent(String.self, forKey: .displayName) ?? ""
        mail = try c.decodeIfPresent(String.self, forKey: .mail)
        upn = try c.decodeIfPresent(String.self, forKey: .upn)
        type = try c.decodeIfPresent(Kind.self, forKey: .type) ?? .user
        id = try c.decodeIfPresent(String.self, forKey: .id)
    }
}

/// What the sign-in log shows for an app (see ``App/signIns``).
public enum SignInPattern: String, Codable, Sendable, Equatable {
    case auto
    case stale
    case none
    /// The service holds a secret that is not (or no longer) registered on the app — an
    /// old one deleted after a rotation nobody finished: every sign-in of the last day
    /// fails with AADSTS7000215 and names no keyId, whatever the registered secrets are.
    case oldSecret = "old_secret"
}

/// The spelling of `appCredentialSignInActivities` rows (see ``App/reportSpelling``).
public enum ReportSpelling: String, Codable, Sendable, Equatable {
    case table
    case example
}

/// A client secret (`passwordCredential`). `hint` on Graph is the first three characters.
public struct ClientSecret: Codable, Sendable, Equatable {
    /// The secret's ID (`keyId`); derived when absent.
    public var keyId: String?
    public var displayName: String?
    /// The secret value itself, as a client sends it.
    public var value: String
    public var start: Date?
    public var end: Date

    public init(keyId: String? = nil, displayName: String? = nil, value: String, start: Date? = nil, end: Date) {
        self.keyId = keyId
        self.displayName = displayName
        self.value = value
        self.start = start
        self.end = end
    }
}

/// A certificate credential (`keyCredential`, type AsymmetricX509Cert, usage Verify).
public struct CertificateCredential: Codable, Sendable, Equatable {
    public var keyId: String?
    public var displayName: String?
    /// The PEM certificate (a bundle is fine: the first CERTIFICATE block is used; any
    /// private key in it is ignored).
    public var pem: String?
    /// A file holding the PEM, relative to the scenario file.
    public var pemFile: String?
    /// Registration window; defaults to the certificate's own validity.
    public var start: Date?
    public var end: Date?

    public init(
        keyId: String? = nil, displayName: String? = nil, pem: String? = nil, pemFile: String? = nil,
        start: Date? = nil, end: Date? = nil
    ) {
        self.keyId = keyId
        self.displayName = displayName
        self.pem = pem
        self.pemFile = pemFile
        self.start = start
        self.end = end
    }
}

/// A delegated permission grant (`oauth2PermissionGrant`).
public struct DelegatedGrant: Codable, Sendable, Equatable {
    public var resourceAppId: String
    /// Space-separated scope values, e.g. `user_impersonation`.
    public var scope: String
    /// `AllPrincipals` (admin consent) or `Principal` (one user).
    public var consentType: String
    /// The consenting user for `Principal` grants.
    public var principalId: String?

    public init(resourceAppId: String, scope: String, consentType: String = "AllPrincipals", principalId: String? = nil)
    {
        self.resourceAppId = resourceAppId
        self.scope = scope
        self.consentType = consentType
        self.principalId = principalId
    }

    enum CodingKeys: String, CodingKey { case resourceAppId, scope, consentType, principalId }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        resourceAppId = try c.decode(String.self, forKey: .resourceAppId)
        scope = try c.decode(String.self, forKey: .scope)
        consentType = try c.decodeIfPresent(String.self, forKey: .consentType) ?? "AllPrincipals"
        principalId = try c.decodeIfPresent(String.self, forKey: .principalId)
    }
}

/// An Azure RBAC role assignment of the app's service principal.
public struct RoleAssignment: Codable, Sendable, Equatable {
    /// The role definition GUID, e.g. `17d1049b-9a84-46fb-8f53-869881c3d3ab`.
    public var roleDefinitionId: String
    /// The subscription ID; must be one of the tenant's subscriptions.
    public var subscription: String
    /// The assignment's scope; defaults to `/subscriptions/{subscription}`.
    public var scope: String?
    /// The assignment's name (a GUID); derived when absent.
    public var id: String?

    public init(roleDefinitionId: String, subscription: String, scope: String? = nil, id: String? = nil) {
        self.roleDefinitionId = roleDefinitionId
        self.subscription = subscription
        self.scope = scope
        self.id = id
    }
}

/// One requested resource in `requiredResourceAccess`, by permission value.
public struct RequiredResourceAccess: Codable, Sendable, Equatable {
    public var resourceAppId: String
    /// Application permissions (`type: Role`).
    public var roles: [String]
    /// Delegated permissions (`type: Scope`).
    public var scopes: [String]

    public init(resourceAppId: String, roles: [String] = [], scopes: [String] = []) {
        self.resourceAppId = resourceAppId
        self.roles = roles
        self.scopes = scopes
    }

    enum CodingKeys: String, CodingKey { case resourceAppId, roles, scopes }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        resourceAppId = try c.decode(String.self, forKey: .resourceAppId)
        roles = try c.decodeIfPresent([String].self, forKey: .roles) ?? []
        scopes = try c.decodeIfPresent([String].self, forKey: .scopes) ?? []
    }
}

/// A dictionary whose keys survive `convertFromSnakeCase` untouched.
struct RawKeyDictionary: Codable {
    var values: [String: [String]]

    init(values: [String: [String]]) { self.values = values }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        var values: [String: [String]] = [:]
        for key in c.allKeys {
            values[key.stringValue] = try c.decode([String].self, forKey: key)
        }
        self.values = values
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        for key in values.keys.sorted() {
            try c.encode(values[key], forKey: Key(stringValue: key))
        }
    }
}

/// JSON coding conventions of scenario and fault files.
enum ScenarioCoding {
    static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        d.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            let text = try c.decode(String.self)
            guard let date = SimClock.parseISO8601(text) else {
                throw DecodingError.dataCorruptedError(
                    in: c, debugDescription: "'\(text)' is not an ISO 8601 date (e.g. 2027-01-15T00:00:00Z)")
            }
            return date
        }
        return d
    }

    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(SimClock.iso8601(date))
        }
        return e
    }

    /// A one-line description of a decoding error with the JSON path of the culprit.
    static func describe(_ error: DecodingError, source: String) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch error {
        case .keyNotFound(let key, let ctx):
            return "\(source): \(path(ctx.codingPath)).\(key.stringValue): required key missing"
        case .typeMismatch(let type, let ctx):
            return "\(source): \(path(ctx.codingPath)): expected \(type)"
        case .valueNotFound(let type, let ctx):
            return "\(source): \(path(ctx.codingPath)): expected \(type), found null"
        case .dataCorrupted(let ctx):
            return "\(source): \(path(ctx.codingPath)): \(ctx.debugDescription)"
        @unknown default:
            return "\(source): \(error)"
        }
    }
}
