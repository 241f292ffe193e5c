import ConnwatchCore
import Foundation
import HTTPTypes

/// Microsoft Graph under `/graph/{v1.0|beta}/…` (microsoft-facts §2.4, §2.5).
struct GraphService: Sendable {
    let auth: ResourceAuth
    /// Counts reports requests per app and tenant (observer mode's 5 per 10 s).
    let reportsGate = ReportsGate()

    /// Server-driven page size of `appRoleAssignments`, small on purpose: a connector's
    /// 30-odd grants then span several pages and the client's `@odata.nextLink` handling
    /// is exercised. Graph may return fewer items than `$top`, so this is legitimate.
    static let appRoleAssignmentPageSize = 10
    static let defaultPageSize = 100

    // Permissions per entity set (application permissions; Directory.* satisfies reads).
    static let readApplications = [
        "Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All",
    ]
    static let readAppRoleAssignments = readApplications + ["AppRoleAssignment.ReadWrite.All"]
    static let readGrants = [
        "Directory.Read.All", "Directory.ReadWrite.All", "DelegatedPermissionGrant.Read.All",
        "DelegatedPermissionGrant.ReadWrite.All",
    ]
    static let readOrganization = [
        "Organization.Read.All", "Organization.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All",
    ]
    static let readUsers = ["User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"]
    static let readGroups = [
        "GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All",
        "Directory.ReadWrite.All",
    ]
    static let readTeams = [
        "Team.ReadBasic.All", "TeamSettings.Read.All", "TeamSettings.ReadWrite.All", "Directory.Read.All",
        "Directory.ReadWrite.All",
    ]

    /// A Graph error: `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`.
    struct Failure: Error {
        let status: HTTPResponse.Status
        let code: String
        let message: String
        var headers: [(String, String)] = []
    }

    func handle(_ request: SimRequest, index: ScenarioIndex) -> SimResponse {
        let requestId = GUID.random()
        let clientRequestId = request.header("client-request-id") ?? requestId
        do throws(Failure) {
            var response = try route(request, index: index)
            response.headers += Self.standardHeaders(requestId: requestId, clientRequestId: clientRequestId)
            return response
        } catch {
            return Self.errorResponse(error, requestId: requestId, clientRequestId: clientRequestId)
        }
    }

    static func standardHeaders(requestId: String, clientRequestId: String) -> [(String, String)] {
        [
            ("request-id", requestId), ("client-request-id", clientRequestId), ("OData-Version", "4.0"),
            (
                "x-ms-ags-diagnostic",
                #"{"ServerInfo":{"DataCenter":"Simulated","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"SIM"}}"#
            ),
            ("Strict-Transport-Security", "max-age=31536000"),
        ]
    }

    static let jsonContentType =
        "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

    static func errorResponse(_ failure: Failure, requestId: String, clientRequestId: String) -> SimResponse {
        SimResponse(
            status: failure.status,
            json: .object([
                (
                    "error",
                    .object([
                        ("code", .string(failure.code)),
                        ("message", .string(failure.message)),
                        (
                            "innerError",
                            .object([
                                ("date", .string(SimClock.iso8601(Date()))),
                                ("request-id", .string(requestId)),
                                ("client-request-id", .string(clientRequestId)),
                            ])
                        ),
                    ])
                )
            ]),
            headers: failure.headers + standardHeaders(requestId: requestId, clientRequestId: clientRequestId),
            contentType: jsonContentType)
    }

    static let denied = Failure(
        status: .forbidden, code: "Authorization_RequestDenied",
        message: "Insufficient privileges to complete the operation.")

    static func notFound(_ id: String) -> Failure {
        Failure(
            status: .notFound, code: "Request_ResourceNotFound",
            message: "Resource '\(id)' does not exist or one of its queried reference-property objects are not present."
        )
    }

    private static func badSegment(_ segment: String) -> Failure {
        Failure(status: .badRequest, code: "BadRequest", message: "Resource not found for the segment '\(segment)'.")
    }

    // MARK: Routing

    private func route(_ request: SimRequest, index: ScenarioIndex) throws(Failure) -> SimResponse {
        let seg = request.segments
        guard let version = seg.first, version == "v1.0" || version == "beta" else {
            throw Failure(
                status: .badRequest, code: "BadRequest",
                message: "Invalid version: \(seg.first ?? "")")
        }
        guard seg.count >= 2 else { throw Self.badSegment("") }
        let caller = try authenticate(request)
        guard let tenant = index.tenant(caller.tenantId) else {
            throw Failure(
                status: .unauthorized, code: "InvalidAuthenticationToken",
                message: "Access token validation failure. The tenant of the token does not exist.")
        }
        guard request.method == .get else {
            throw Failure(
                status: .methodNotAllowed, code: "Request_BadRequest",
                message: "Specified HTTP method is not allowed for the request target.")
        }
        let context = GraphContext(
            request: request, tenant: tenant, caller: caller,
            root: request.origin + "/graph/" + version, now: index.now())
        let first = EntitySegment(seg[1])
        let rest = Array(seg.dropFirst(2))

        switch first.name {
        case "applications":
            return try applications(first, rest, context)
        case "servicePrincipals":
            return try servicePrincipals(first, rest, context)
        case "oauth2PermissionGrants":
            guard first.key == nil, rest.isEmpty else { throw Self.badSegment(seg[1]) }
            guard caller.has(anyOf: Self.readGrants) else { throw Self.denied }
            let filter = try context.filter(allowed: ["clientId", "resourceId", "consentType"])
            var grants: [JSONNode] = []
            for app in tenant.apps where app.hasServicePrincipal {
                if let f = filter, f.property == "clientId", f.value.lowercased() != app.spObjectId { continue }
                grants += grantObjects(app, tenant: tenant)
            }
            if let f = filter, f.property != "clientId" {
                grants = grants.filter { $0[f.property]?.stringValue?.lowercased() == f.value.lowercased() }
            }
            return try context.collection(grants, contextPath: "oauth2PermissionGrants", pageSize: Self.defaultPageSize)
        case "reports":
            return try reports(first, rest, context)
        case "auditLogs":
            return try auditLogs(first, rest, context)
        case "organization":
            guard first.key == nil, rest.isEmpty else { throw Self.badSegment(seg[1]) }
            guard caller.has(anyOf: Self.readOrganization) else { throw Self.denied }
            return try context.collection(
                [organization(tenant)], contextPath: "organization", pageSize: Self.defaultPageSize)
        case "users":
            guard first.key == nil, rest.isEmpty else { throw Self.badSegment(seg[1]) }
            guard caller.has(anyOf: Self.readUsers) else { throw Self.denied }
            return try context.collection(users(tenant), contextPath: "users", pageSize: Self.defaultPageSize)
        case "groups":
            guard first.key == nil, rest.isEmpty else { throw Self.badSegment(seg[1]) }
            guard caller.has(anyOf: Self.readGroups) else { throw Self.denied }
            return try context.collection(groups(tenant), contextPath: "groups", pageSize: Self.defaultPageSize)
        case "teams":
            guard first.key == nil, rest.isEmpty else { throw Self.badSegment(seg[1]) }
            guard caller.has(anyOf: Self.readTeams) else { throw Self.denied }
            return try context.collection(teams(tenant), contextPath: "teams", pageSize: Self.defaultPageSize)
        default:
            throw Self.badSegment(seg[1])
        }
    }

    private func authenticate(_ request: SimRequest) throws(Failure) -> Caller {
        let wwwAuthenticate = (
            "WWW-Authenticate",
            #"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000""#
        )
        switch auth.caller(request, for: .graph) {
        case .success(let caller): return caller
        case .failure(let rejection):
            let message: String =
                switch rejection {
                case .missing: "Access token is empty."
                case .malformed: "IDX14100: JWT is not well formed, there are no dots (.)."
                case .badSignature: "Access token validation failure. Invalid signature."
                case .expired: "Lifetime validation failed, the token is expired."
                case .wrongAudience: "Access token validation failure. Invalid audience."
                case .notAppToken: "Access token validation failure."
                }
            throw Failure(
                status: .unauthorized, code: "InvalidAuthenticationToken", message: message, headers: [wwwAuthenticate])
        }
    }

    // MARK: applications

    private func applications(
        _ first: EntitySegment, _ rest: [String], _ c: GraphContext
    ) throws(Failure) -> SimResponse {
        if rest == ["owners"], let key = first.key { return try owners(first, key, c) }
        guard rest.isEmpty else { throw Self.badSegment(rest[0]) }
        let canRead = c.caller.has(anyOf: Self.readApplications)
        if let key = first.key {
            let app: AppEntry?
            switch key.property?.lowercased() {
            case "appid": app = c.tenant.appsByAppId[key.value.lowercased()]
            case nil, "id": app = c.tenant.appsByObjectId[key.value.lowercased()]
            default: throw Self.badSegment(first.raw)
            }
            // Self-read without permissions (microsoft-facts §2.4 [U]) only where the scenario allows it.
            let isSelf = app.map { $0.appId == c.caller.appId.lowercased() && $0.app.selfRead } ?? false
            guard canRead || isSelf else { throw Self.denied }
            guard let app else { throw Self.notFound(key.value) }
            return try c.single(applicationObject(app, c, single: true), contextPath: "applications")
        }
        guard canRead else { throw Self.denied }
        let filter = try c.filter(allowed: ["appId", "displayName", "id"])
        var apps = c.tenant.apps
        if let f = filter {
            apps = apps.filter { app in
                switch f.property {
                case "appId": app.appId == f.value.lowercased()
                case "id": app.objectId == f.value.lowercased()
                default: app.displayName == f.value
                }
            }
        }
        return try c.collection(
            apps.map { applicationObject($0, c, single: false) }, contextPath: "applications",
            pageSize: Self.defaultPageSize)
    }

    /// Server-driven page size of an app's owners, small on purpose (Graph may return fewer
    /// than asked): three owners or more span pages and exercise `@odata.nextLink`.
    static let ownersPageSize = 3
    /// Who may read a user's profile (`mail`, `userPrincipalName`): an owner the reader may
    /// not read is listed with only `@odata.type` and `id` (observer-facts §6 [LIMITED]).
    static let readUserProfiles = readUsers + ["User.ReadBasic.All"]

    /// `applications(appId='…')/owners` / `applications('…')/owners` (observer-facts §6):
    /// needs an application read permission (403 otherwise, or always with
    /// `owners_forbidden`); users' properties need a user read permission.
    private func owners(_ first: EntitySegment, _ key: Key, _ c: GraphContext) throws(Failure) -> SimResponse {
        let app: AppEntry?
        switch key.property?.lowercased() {
        case "appid": app = c.tenant.appsByAppId[key.value.lowercased()]
        case nil, "id": app = c.tenant.appsByObjectId[key.value.lowercased()]
        default: throw Self.badSegment(first.raw)
        }
        guard c.caller.has(anyOf: Self.readApplications) else { throw Self.denied }
        guard let app else { throw Self.notFound(key.value) }
        if app.app.ownersForbidden { throw Self.denied }
        let readsUsers = c.caller.has(anyOf: Self.readUserProfiles)
        var objects: [JSONNode] = []
        for (i, owner) in app.app.owners.enumerated() {
            let id = owner.id?.lowercased() ?? DeterministicID.uuid("owner", app.tenantId, app.appId, String(i))
            switch owner.type {
            case .user where !readsUsers:
                objects.append(.object([("@odata.type", "#microsoft.graph.user"), ("id", .string(id))]))
            case .user:
                objects.append(
                    .object([
                        ("@odata.type", "#microsoft.graph.user"), ("id", .string(id)),
                        ("displayName", .string(owner.displayName)), ("mail", JSONNode.optional(owner.mail)),
                        ("userPrincipalName", JSONNode.optional(owner.upn)),
                    ]))
            case .servicePrincipal:
                objects.append(
                    .object([
                        ("@odata.type", "#microsoft.graph.servicePrincipal"), ("id", .string(id)),
                        ("displayName", .string(owner.displayName)),
                    ]))
            }
        }
        return try c.collection(
            objects, contextPath: "directoryObjects", pageSize: Self.ownersPageSize, maxPageSize: Self.ownersPageSize,
            polymorphic: true)
    }

    private func applicationObject(_ app: AppEntry, _ c: GraphContext, single: Bool) -> JSONNode {
        // The public key is returned only when keyCredentials is $select-ed on one object (§2.4).
        let withKey = single && c.selected.contains("keycredentials")
        let domain = c.tenant.domains.first ?? "\(c.tenant.id).onmicrosoft.com"
        return .object([
            ("id", .string(app.objectId)),
            ("deletedDateTime", .null),
            ("appId", .string(app.appId)),
            ("applicationTemplateId", .null),
            ("disabledByMicrosoftStatus", .null),
            ("createdDateTime", .string(SimClock.iso8601(app.createdAt))),
            ("displayName", .string(app.displayName)),
            ("description", .null),
            ("groupMembershipClaims", .null),
            ("identifierUris", .array([])),
            ("isDeviceOnlyAuthSupported", .null),
            ("isFallbackPublicClient", .null),
            ("notes", .null),
            ("publisherDomain", .string(domain)),
            ("serviceManagementReference", .null),
            ("signInAudience", "AzureADMultipleOrgs"),
            ("tags", .array([])),
            ("tokenEncryptionKeyId", .null),
            ("api", .object([("requestedAccessTokenVersion", .null), ("oauth2PermissionScopes", .array([]))])),
            ("appRoles", .array([])),
            ("info", .object([("logoUrl", .null), ("marketingUrl", .null), ("privacyStatementUrl", .null)])),
            (
                "keyCredentials",
                .array(
                    app.certificates.map { cert in
                        .object([
                            ("customKeyIdentifier", .string(Data(cert.sha1).base64EncodedString())),
                            ("displayName", JSONNode.optional(cert.displayName)),
                            ("endDateTime", .string(SimClock.iso8601(cert.end))),
                            ("key", withKey ? .string(Data(cert.der).base64EncodedString()) : .null),
                            ("keyId", .string(cert.keyId)),
                            ("startDateTime", .string(SimClock.iso8601(cert.start))),
                            ("type", "AsymmetricX509Cert"),
                            ("usage", "Verify"),
                        ])
                    })
            ),
            (
                "passwordCredentials",
                .array(
                    app.secrets.map { secret in
                        .object([
                            ("customKeyIdentifier", .null),
                            ("displayName", JSONNode.optional(secret.displayName)),
                            ("endDateTime", .string(SimClock.iso8601(secret.end))),
                            ("hint", .string(secret.hint)),
                            ("keyId", .string(secret.keyId)),
                            ("secretText", .null),
                            ("startDateTime", .string(SimClock.iso8601(secret.start))),
                        ])
                    })
            ),
            (
                "requiredResourceAccess",
                .array(
                    app.requiredResourceAccess.map { rra in
                        let resourceAppId = rra.resourceAppId.lowercased()
                        let access: [JSONNode] =
                            rra.roles.map {
                                .object([
                                    (
                                        "id",
                                        .string(ResourceDirectory.appRoleId(resourceAppId: resourceAppId, value: $0))
                                    ),
                                    ("type", "Role"),
                                ])
                            }
                            + rra.scopes.map {
                                .object([
                                    ("id", .string(ResourceDirectory.scopeId(resourceAppId: resourceAppId, value: $0))),
                                    ("type", "Scope"),
                                ])
                            }
                        return .object([("resourceAppId", .string(resourceAppId)), ("resourceAccess", .array(access))])
                    })
            ),
            (
                "web",
                .object([
                    ("homePageUrl", .null), ("logoutUrl", .null),
                    ("redirectUris", .array(["https://admin.zscalertwo.net/"])),
                ])
            ),
        ])
    }

    // MARK: servicePrincipals

    private func servicePrincipals(
        _ first: EntitySegment, _ rest: [String], _ c: GraphContext
    ) throws(Failure)
        -> SimResponse
    {
        let canRead = c.caller.has(anyOf: Self.readApplications)
        guard let key = first.key ?? rest.first.map({ Key(property: nil, value: $0) }) else {
            guard rest.isEmpty else { throw Self.badSegment(rest[0]) }
            guard canRead else { throw Self.denied }
            let filter = try c.filter(allowed: ["appId", "displayName", "id"])
            var objects: [JSONNode] = []
            for app in c.tenant.apps where app.hasServicePrincipal { objects.append(clientSP(app, c.tenant)) }
            for principal in c.tenant.resources.values.sorted(by: { $0.resource.displayName < $1.resource.displayName })
            {
                objects.append(resourceSP(principal, c.tenant))
            }
            if let f = filter {
                objects = objects.filter { $0[f.property]?.stringValue?.lowercased() == f.value.lowercased() }
            }
            return try c.collection(objects, contextPath: "servicePrincipals", pageSize: Self.defaultPageSize)
        }
        // servicePrincipals(appId='…')[/nav] or servicePrincipals/{id}[/nav]
        let navigation = first.key != nil ? rest : Array(rest.dropFirst())
        let lookup = key.value.lowercased()
        var app: AppEntry?
        var principal: ResourcePrincipal?
        switch key.property?.lowercased() {
        case "appid":
            app = c.tenant.appsByAppId[lookup].flatMap { $0.hasServicePrincipal ? $0 : nil }
            if app == nil { principal = c.tenant.resources.values.first { $0.resource.appId == lookup } }
        case nil, "id":
            app = c.tenant.appsBySPId[lookup]
            if app == nil { principal = c.tenant.resourcesBySPId[lookup] }
        default:
            throw Self.badSegment(first.raw)
        }
        let isSelf = app.map { $0.appId == c.caller.appId.lowercased() && $0.app.selfRead } ?? false
        guard let nav = navigation.first else {
            guard canRead || isSelf else { throw Self.denied }
            if let app { return try c.single(clientSP(app, c.tenant), contextPath: "servicePrincipals") }
            if let principal { return try c.single(resourceSP(principal, c.tenant), contextPath: "servicePrincipals") }
            throw Self.notFound(key.value)
        }
        guard navigation.count == 1 else { throw Self.badSegment(navigation[1]) }
        let spId = app?.spObjectId ?? principal?.objectId ?? lookup
        switch nav {
        case "appRoleAssignments":
            guard c.caller.has(anyOf: Self.readAppRoleAssignments) else { throw Self.denied }
            guard app != nil || principal != nil else { throw Self.notFound(key.value) }
            let items = (app?.appRoleGrants ?? []).map { grant in
                JSONNode.object([
                    ("id", .string(grant.id)),
                    ("deletedDateTime", .null),
                    ("appRoleId", .string(grant.appRoleId)),
                    ("createdDateTime", .string(SimClock.iso8601Fraction(grant.createdAt))),
                    ("principalDisplayName", .string(app!.displayName)),
                    ("principalId", .string(app!.spObjectId)),
                    ("principalType", "ServicePrincipal"),
                    ("resourceDisplayName", .string(grant.resource.resource.displayName)),
                    ("resourceId", .string(grant.resource.objectId)),
                ])
            }
            return try c.collection(
                items, contextPath: "servicePrincipals('\(spId)')/appRoleAssignments",
                pageSize: Self.appRoleAssignmentPageSize, maxPageSize: Self.appRoleAssignmentPageSize)
        case "oauth2PermissionGrants":
            guard c.caller.has(anyOf: Self.readGrants) else { throw Self.denied }
            guard app != nil || principal != nil else { throw Self.notFound(key.value) }
            return try c.collection(
                app.map { grantObjects($0, tenant: c.tenant) } ?? [],
                contextPath: "oauth2PermissionGrants", pageSize: Self.defaultPageSize)
        default:
            throw Self.badSegment(nav)
        }
    }

    private func clientSP(_ app: AppEntry, _ tenant: TenantEntry) -> JSONNode {
        servicePrincipalObject(
            id: app.spObjectId, appId: app.appId, displayName: app.displayName, enabled: !app.app.disabled,
            owner: tenant.id, createdAt: app.createdAt, names: [app.appId], appRoles: [], scopes: [])
    }

    private func resourceSP(_ principal: ResourcePrincipal, _ tenant: TenantEntry) -> JSONNode {
        let r = principal.resource
        var names = [r.appId]
        switch r.id {
        case .graph: names.append("https://graph.microsoft.com")
        case .office365Management: names.append("https://manage.office.com")
        case .azureStorage: names.append("https://storage.azure.com")
        case .azureServiceManagement:
            names += ["https://management.azure.com/", "https://management.core.windows.net/"]
        case .mipSyncService: names.append("https://syncservice.o365syncservice.com/")
        case .rightsManagement: names.append("https://aadrm.com")
        case .sharePoint: if let host = tenant.sharepointHost { names.append("https://\(host)") }
        }
        return servicePrincipalObject(
            id: principal.objectId, appId: r.appId, displayName: r.displayName, enabled: true,
            owner: "f8cdef31-a31e-4b4a-93e4-5f571e91255a", createdAt: Date(timeIntervalSince1970: 1_500_000_000),
            names: names,
            appRoles: principal.appRoles.map { role in
                .object([
                    ("allowedMemberTypes", ["Application"]),
                    ("description", .string("Allows the app to \(role.value) without a signed-in user.")),
                    ("displayName", .string(role.value)),
                    ("id", .string(role.id)),
                    ("isEnabled", true),
                    ("origin", "Application"),
                    ("value", .string(role.value)),
                ])
            },
            scopes: principal.scopes.map { scope in
                .object([
                    (
                        "adminConsentDescription",
                        .string("Allows the app to \(scope.value) on behalf of the signed-in user.")
                    ),
                    ("adminConsentDisplayName", .string(scope.value)),
                    ("id", .string(scope.id)),
                    ("isEnabled", true),
                    ("type", "User"),
                    ("userConsentDescription", .null),
                    ("userConsentDisplayName", .null),
                    ("value", .string(scope.value)),
                ])
            })
    }

    private func servicePrincipalObject(
        id: String, appId: String, displayName: String, enabled: Bool, owner: String, createdAt: Date,
        names: [String], appRoles: [JSONNode], scopes: [JSONNode]
    ) -> JSONNode {
        .object([
            ("id", .string(id)),
            ("deletedDateTime", .null),
            ("accountEnabled", .bool(enabled)),
            ("disabledByMicrosoftStatus", .null),
            ("alternativeNames", .array([])),
            ("appDisplayName", .string(displayName)),
            ("appDescription", .null),
            ("appId", .string(appId)),
            ("applicationTemplateId", .null),
            ("appOwnerOrganizationId", .string(owner)),
            ("appRoleAssignmentRequired", false),
            ("createdDateTime", .string(SimClock.iso8601(createdAt))),
            ("description", .null),
            ("displayName", .string(displayName)),
            ("homepage", .null),
            ("loginUrl", .null),
            ("logoutUrl", .null),
            ("notes", .null),
            ("notificationEmailAddresses", .array([])),
            ("preferredSingleSignOnMode", .null),
            ("preferredTokenSigningKeyThumbprint", .null),
            ("replyUrls", .array([])),
            ("servicePrincipalNames", .array(names.map(JSONNode.string))),
            ("servicePrincipalType", "Application"),
            ("signInAudience", "AzureADMultipleOrgs"),
            ("tags", .array([])),
            ("tokenEncryptionKeyId", .null),
            ("appRoles", .array(appRoles)),
            ("keyCredentials", .array([])),
            ("oauth2PermissionScopes", .array(scopes)),
            ("passwordCredentials", .array([])),
        ])
    }

    private func grantObjects(_ app: AppEntry, tenant: TenantEntry) -> [JSONNode] {
        app.delegatedGrants.compactMap { grant in
            guard let resource = ResourceDirectory.byAppId[grant.resourceAppId.lowercased()],
                let principal = tenant.resources[resource.id]
            else { return nil }
            return .object([
                ("clientId", .string(app.spObjectId)),
                ("consentType", .string(grant.consentType)),
                (
                    "id",
                    .string(
                        DeterministicID.opaque(
                            "grant", tenant.id, app.spObjectId, principal.objectId, grant.consentType))
                ),
                ("principalId", grant.consentType == "AllPrincipals" ? .null : .optional(grant.principalId)),
                ("resourceId", .string(principal.objectId)),
                ("scope", .string(grant.scope)),
            ])
        }
    }

    // MARK: Directory basics

    private func organization(_ tenant: TenantEntry) -> JSONNode {
        let initial = tenant.domains.first { $0.hasSuffix(".onmicrosoft.com") } ?? tenant.domains.first
        return .object([
            ("id", .string(tenant.id)),
            ("deletedDateTime", .null),
            ("businessPhones", .array([])),
            ("city", .null),
            ("country", .null),
            ("countryLetterCode", "US"),
            ("createdDateTime", "2020-01-01T00:00:00Z"),
            ("displayName", .string(tenant.displayName)),
            ("tenantType", "AAD"),
            (
                "verifiedDomains",
                .array(
                    tenant.domains.map { domain in
                        .object([
                            ("capabilities", "Email, OfficeCommunicationsOnline"),
                            ("isDefault", .bool(domain == tenant.domains.first)),
                            ("isInitial", .bool(domain == initial)),
                            ("name", .string(domain)),
                            ("type", "Managed"),
                        ])
                    })
            ),
        ])
    }

    private func users(_ tenant: TenantEntry) -> [JSONNode] {
        let domain = tenant.domains.first ?? "\(tenant.id).onmicrosoft.com"
        return [
            .object([
                ("businessPhones", .array([])),
                ("displayName", "Adele Vance"),
                ("givenName", "Adele"),
                ("jobTitle", "Retail Manager"),
                ("mail", .string("AdeleV@\(domain)")),
                ("mobilePhone", .null),
                ("officeLocation", .null),
                ("preferredLanguage", "en-US"),
                ("surname", "Vance"),
                ("userPrincipalName", .string("AdeleV@\(domain)")),
                ("id", .string(DeterministicID.uuid("user", tenant.id, "adelev"))),
            ])
        ]
    }

    private func groups(_ tenant: TenantEntry) -> [JSONNode] {
        [
            .object([
                ("id", .string(DeterministicID.uuid("group", tenant.id, "all-company"))),
                ("deletedDateTime", .null),
                ("displayName", "All Company"),
                ("groupTypes", ["Unified"]),
                ("mailEnabled", true),
                ("securityEnabled", false),
                ("resourceProvisioningOptions", ["Team"]),
            ])
        ]
    }

    private func teams(_ tenant: TenantEntry) -> [JSONNode] {
        [
            .object([
                ("id", .string(DeterministicID.uuid("group", tenant.id, "all-company"))),
                ("displayName", "All Company"),
                ("description", "Everyone"),
                ("isArchived", false),
            ])
        ]
    }
}
