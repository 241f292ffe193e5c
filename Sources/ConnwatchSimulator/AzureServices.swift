import ConnwatchCore
import Foundation
import HTTPTypes

/// Azure Resource Manager under `/arm` (microsoft-facts §2.9).
struct ARMService: Sendable {
    let auth: ResourceAuth

    /// Built-in role names for role definition lookups.
    static let builtInRoles: [String: String] = [
        "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
        "17d1049b-9a84-46fb-8f53-869881c3d3ab": "Storage Account Contributor",
        "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": "Storage Blob Data Reader",
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
        "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
        "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    ]

    struct Failure: Error {
        let status: HTTPResponse.Status
        let code: String
        let message: String
        var headers: [(String, String)] = []
    }

    func handle(_ request: SimRequest, index: ScenarioIndex) -> SimResponse {
        let requestId = GUID.random()
        let headers = [
            ("x-ms-request-id", requestId), ("x-ms-correlation-request-id", RequestIDs.correlation(request)),
            ("x-ms-routing-request-id", "SIMULATED:\(SimClock.iso8601(Date())):\(requestId)"),
            ("Cache-Control", "no-cache"),
        ]
        do throws(Failure) {
            var response = try route(request, index: index)
            response.headers += headers
            return response
        } catch {
            return SimResponse(
                status: error.status,
                json: .object([
                    ("error", .object([("code", .string(error.code)), ("message", .string(error.message))]))
                ]),
                headers: error.headers + headers)
        }
    }

    private func route(_ request: SimRequest, index: ScenarioIndex) throws(Failure) -> SimResponse {
        let caller = try authenticate(request)
        guard request.method == .get else {
            throw Failure(
                status: .methodNotAllowed, code: "MethodNotAllowed",
                message: "The requested resource does not support http method '\(request.method.rawValue)'.")
        }
        guard request.queryValue("api-version") != nil else {
            throw Failure(
                status: .badRequest, code: "MissingApiVersionParameter",
                message: "The api-version query parameter (?api-version=) is required for all requests.")
        }
        guard let tenant = index.tenant(caller.tenantId) else {
            throw Failure(
                status: .unauthorized, code: "InvalidAuthenticationTokenTenant",
                message: "The access token is from an unknown tenant '\(caller.tenantId)'.")
        }
        let seg = request.segments.map { $0 }
        let lower = seg.map { $0.lowercased() }
        switch lower.count {
        case 1 where lower[0] == "subscriptions":
            let visible = tenant.subscriptionOrder.filter { hasRole(caller, tenant: tenant, subscription: $0) }
            let items = visible.map { subscriptionObject($0, tenant: tenant) }
            return SimResponse(
                json: .object([
                    ("value", .array(items)), ("count", .object([("type", "Total"), ("value", .int(items.count))])),
                ]))
        case 2 where lower[0] == "subscriptions":
            let sub = try authorizedSubscription(lower[1], caller: caller, tenant: tenant, index: index, action: "read")
            return SimResponse(json: subscriptionObject(sub, tenant: tenant))
        case 5
        where lower[0] == "subscriptions" && lower[2] == "providers" && lower[3] == "microsoft.authorization"
            && lower[4] == "roleassignments":
            let sub = try authorizedSubscription(
                lower[1], caller: caller, tenant: tenant, index: index,
                action: "Microsoft.Authorization/roleAssignments/read")
            let principal = try principalFilter(request.queryValue("$filter"))
            let items = (tenant.roleAssignmentsBySubscription[sub] ?? [])
                .filter { principal == nil || $0.principalId == principal }
                .map(roleAssignmentObject)
            return SimResponse(json: .object([("value", .array(items))]))
        case 6
        where lower[0] == "subscriptions" && lower[2] == "providers" && lower[3] == "microsoft.authorization"
            && lower[4] == "roledefinitions":
            let sub = try authorizedSubscription(
                lower[1], caller: caller, tenant: tenant, index: index,
                action: "Microsoft.Authorization/roleDefinitions/read")
            let id = lower[5]
            return SimResponse(
                json: .object([
                    ("id", .string("/subscriptions/\(sub)/providers/Microsoft.Authorization/roleDefinitions/\(id)")),
                    ("name", .string(id)),
                    ("type", "Microsoft.Authorization/roleDefinitions"),
                    (
                        "properties",
                        .object([
                            ("roleName", .string(Self.builtInRoles[id] ?? "Custom Role \(id.prefix(8))")),
                            ("type", .string(Self.builtInRoles[id] != nil ? "BuiltInRole" : "CustomRole")),
                            ("description", ""),
                            ("assignableScopes", ["/"]),
                        ])
                    ),
                ]))
        default:
            throw Failure(
                status: .notFound, code: "InvalidResourceType",
                message: "The resource type could not be found in the namespace for api version.")
        }
    }

    private func authenticate(_ request: SimRequest) throws(Failure) -> Caller {
        switch auth.caller(request, for: .azureServiceManagement) {
        case .success(let caller): return caller
        case .failure(let rejection):
            let www = (
                "WWW-Authenticate", #"Bearer authorization_uri="https://login.windows.net/", error="invalid_token""#
            )
            switch rejection {
            case .missing:
                throw Failure(
                    status: .unauthorized, code: "AuthenticationFailed",
                    message: "Authentication failed. The 'Authorization' header is missing.", headers: [www])
            case .expired:
                throw Failure(
                    status: .unauthorized, code: "ExpiredAuthenticationToken",
                    message: "The access token expiry UTC time is earlier than current UTC time.", headers: [www])
            case .wrongAudience(let aud):
                throw Failure(
                    status: .unauthorized, code: "InvalidAuthenticationTokenAudience",
                    message:
                        "The access token has been obtained for wrong audience or resource '\(aud)'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'.",
                    headers: [www])
            case .malformed, .badSignature, .notAppToken:
                throw Failure(
                    status: .unauthorized, code: "InvalidAuthenticationToken", message: "The access token is invalid.",
                    headers: [www])
            }
        }
    }

    private func hasRole(_ caller: Caller, tenant: TenantEntry, subscription: String) -> Bool {
        (tenant.roleAssignmentsBySubscription[subscription] ?? []).contains { $0.principalId == caller.objectId }
    }

    private func authorizedSubscription(
        _ sub: String, caller: Caller, tenant: TenantEntry, index: ScenarioIndex, action: String
    ) throws(Failure) -> String {
        guard let owner = index.subscriptionTenant[sub] else {
            throw Failure(
                status: .notFound, code: "SubscriptionNotFound",
                message: "The subscription '\(sub)' could not be found.")
        }
        guard owner == tenant.id else {
            throw Failure(
                status: .unauthorized, code: "InvalidAuthenticationTokenTenant",
                message:
                    "The access token is from the wrong issuer 'https://sts.windows.net/\(tenant.id)/'. It must match the tenant 'https://sts.windows.net/\(owner)/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/\(owner)' to get the token."
            )
        }
        guard hasRole(caller, tenant: tenant, subscription: sub) else {
            throw Failure(
                status: .forbidden, code: "AuthorizationFailed",
                message:
                    "The client '\(caller.objectId)' with object id '\(caller.objectId)' does not have authorization to perform action '\(action)' over scope '/subscriptions/\(sub)' or the scope is invalid. If access was recently granted, please refresh your credentials."
            )
        }
        return sub
    }

    /// `assignedTo('{id}')`, `principalId eq '{id}'`, `atScope()` (all) or none.
    private func principalFilter(_ filter: String?) throws(Failure) -> String? {
        guard let filter = filter?.trimmingCharacters(in: .whitespaces), !filter.isEmpty else { return nil }
        func quoted(after marker: String) -> String? {
            guard let r = filter.range(of: marker, options: .caseInsensitive) else { return nil }
            let tail = filter[r.upperBound...]
            guard let end = tail.firstIndex(of: "'") else { return nil }
            return String(tail[..<end]).lowercased()
        }
        if let id = quoted(after: "assignedTo('") { return id }
        if let id = quoted(after: "principalId eq '") { return id }
        if filter.lowercased() == "atscope()" { return nil }
        throw Failure(
            status: .badRequest, code: "UnsupportedQuery", message: "The filter '\(filter)' is not supported.")
    }

    private func subscriptionObject(_ sub: String, tenant: TenantEntry) -> JSONNode {
        let name = tenant.subscriptions[sub]?.displayName ?? ""
        return .object([
            ("id", .string("/subscriptions/\(sub)")),
            ("authorizationSource", "RoleBased"),
            ("managedByTenants", .array([])),
            ("subscriptionId", .string(sub)),
            ("tenantId", .string(tenant.id)),
            ("displayName", .string(name.isEmpty ? "Subscription \(sub.prefix(8))" : name)),
            ("state", "Enabled"),
            (
                "subscriptionPolicies",
                .object([
                    ("locationPlacementId", "Public_2014-09-01"), ("quotaId", "PayAsYouGo_2014-09-01"),
                    ("spendingLimit", "Off"),
                ])
            ),
        ])
    }

    private func roleAssignmentObject(_ ra: RoleAssignmentEntry) -> JSONNode {
        .object([
            (
                "properties",
                .object([
                    (
                        "roleDefinitionId",
                        .string(
                            "/subscriptions/\(ra.subscription)/providers/Microsoft.Authorization/roleDefinitions/\(ra.roleDefinitionId)"
                        )
                    ),
                    ("principalId", .string(ra.principalId)),
                    ("principalType", "ServicePrincipal"),
                    ("scope", .string(ra.scope)),
                    ("condition", .null),
                    ("conditionVersion", .null),
                    ("createdOn", .string(SimClock.iso8601Fraction(ra.createdAt))),
                    ("updatedOn", .string(SimClock.iso8601Fraction(ra.createdAt))),
                    ("createdBy", .null),
                    ("updatedBy", .null),
                    ("delegatedManagedIdentityResourceId", .null),
                    ("description", .null),
                ])
            ),
            ("id", .string("\(ra.scope)/providers/Microsoft.Authorization/roleAssignments/\(ra.name)")),
            ("type", "Microsoft.Authorization/roleAssignments"),
            ("name", .string(ra.name)),
        ])
    }
}

/// The Office 365 Management Activity API under `/office` (microsoft-facts §2.10).
struct OfficeManagementService: Sendable {
    let auth: ResourceAuth

    private func failure(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> SimResponse {
        SimResponse(
            status: status,
            json: .object([("error", .object([("code", .string(code)), ("message", .string(message))]))]))
    }

    func handle(_ request: SimRequest, index: ScenarioIndex) -> SimResponse {
        let seg = request.segments
        guard seg.count == 7, seg[0] == "api", seg[1] == "v1.0", seg[3] == "activity", seg[4] == "feed",
            seg[5] == "subscriptions", seg[6].lowercased() == "list"
        else {
            return failure(.notFound, "AF20000", "The requested resource was not found.")
        }
        let urlTenant = seg[2].lowercased()
        let caller: Caller
        switch auth.caller(request, for: .office365Management) {
        case .success(let c): caller = c
        case .failure:
            return failure(
                .unauthorized, "AF10001",
                "The permission set () sent in the request does not include the expected permission.")
        }
        guard request.method == .get else {
            return failure(.methodNotAllowed, "AF20001", "The HTTP method is not supported for this resource.")
        }
        guard GUID.isValid(urlTenant) else {
            return failure(.badRequest, "AF20013", "The tenant ID passed in the URL (\(seg[2])) is not a valid GUID.")
        }
        guard urlTenant == caller.tenantId.lowercased() else {
            return failure(
                .badRequest, "AF20010",
                "The tenant ID passed in the URL (\(urlTenant)) does not match the tenant ID passed in the access token (\(caller.tenantId))."
            )
        }
        guard let tenant = index.tenant(urlTenant) else {
            return failure(
                .badRequest, "AF20011",
                "Specified tenant ID (\(urlTenant)) does not exist in the system or has been deleted.")
        }
        guard caller.roles.contains("ActivityFeed.Read") else {
            let set = caller.roles.sorted().joined(separator: ",")
            return failure(
                .forbidden, "AF10001",
                "The permission set (\(set)) sent in the request does not include the expected permission.")
        }
        return SimResponse(
            json: .array(
                tenant.activitySubscriptions.map {
                    .object([("contentType", .string($0)), ("status", "enabled"), ("webhook", .null)])
                }))
    }
}

/// SharePoint Online REST under `/sharepoint/{host}/_api/…` (microsoft-facts §2.8, §2.10).
struct SharePointService: Sendable {
    let auth: ResourceAuth

    static let readPermissions = ["Sites.Read.All", "Sites.ReadWrite.All", "Sites.Manage.All", "Sites.FullControl.All"]

    /// A 401 as SharePoint Online words it: the reason in `x-ms-diagnostics`
    /// (`<number>;reason="…";category="…"`) and in the `WWW-Authenticate` Bearer challenge
    /// (`error`, `error_description`; none when no token was sent, RFC 6750 §3.1), and in an
    /// `{"error_description"}` body unless the tenant's SharePoint sends none.
    private func unauthorized(
        _ description: String, diagnostics: (code: Int, reason: String), owner: TenantEntry, tokenSent: Bool = true
    ) -> SimResponse {
        func quoted(_ s: String) -> String {
            "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        var challenge =
            "Bearer realm=\(quoted(owner.id)),client_id=\"00000003-0000-0ff1-ce00-000000000000\","
            + #"trusted_issuers="00000001-0000-0000-c000-000000000000@*,https://sts.windows.net/*/",authorization_uri="https://login.windows.net/common/oauth2/authorize""#
        if tokenSent { challenge += ",error=\"invalid_client\",error_description=\(quoted(description))" }
        let headers = [
            (
                "x-ms-diagnostics",
                "\(diagnostics.code);reason=\(quoted(diagnostics.reason));category=\"invalid_client\""
            ),
            ("WWW-Authenticate", challenge), ("SPRequestGuid", GUID.random()),
        ]
        switch owner.sharepointUnauthorizedBody {
        case .json:
            return SimResponse(
                status: .unauthorized, json: .object([("error_description", .string(description))]), headers: headers)
        case .empty:
            return SimResponse(
                status: .unauthorized, raw: [], contentType: "text/plain; charset=utf-8", headers: headers)
        }
    }

    private func odataError(_ status: HTTPResponse.Status, code: String, message: String, verbose: Bool) -> SimResponse
    {
        SimResponse(
            status: status,
            json: .object([
                (
                    verbose ? "error" : "odata.error",
                    .object([
                        ("code", .string(code)),
                        ("message", .object([("lang", "en-US"), ("value", .string(message))])),
                    ])
                )
            ]),
            headers: [("SPRequestGuid", GUID.random())])
    }

    func handle(_ request: SimRequest, index: ScenarioIndex) -> SimResponse {
        let seg = request.segments
        let accept = request.header("Accept")?.lowercased() ?? ""
        let verbose = accept.contains("odata=verbose")
        guard seg.count >= 3, seg[1].lowercased() == "_api" else {
            return odataError(
                .notFound, code: "-2147024894, System.IO.FileNotFoundException", message: "File Not Found.",
                verbose: verbose)
        }
        let host = seg[0].lowercased()
        guard let owner = index.tenants.first(where: { $0.sharepointHost == host }) else {
            return odataError(
                .notFound, code: "-2147024894, System.IO.FileNotFoundException", message: "File Not Found.",
                verbose: verbose)
        }
        let caller: Caller
        switch auth.caller(request, for: .sharePoint, sharePointHost: host) {
        case .success(let c): caller = c
        case .failure(.missing):
            return unauthorized(
                "Invalid JWT token. No token was supplied.", diagnostics: (3_000_003, "Token is missing."),
                owner: owner, tokenSent: false)
        case .failure(.expired):
            return unauthorized(
                "Invalid JWT token. The token is expired.", diagnostics: (3_000_006, "Token expired."), owner: owner)
        case .failure(.wrongAudience(let aud)):
            return unauthorized(
                "Invalid audience Uri '\(aud)'.", diagnostics: (3_000_003, "Invalid audience Uri '\(aud)'."),
                owner: owner)
        case .failure:
            return unauthorized(
                "Invalid issuer or signature.", diagnostics: (3_000_006, "Token contains invalid signature."),
                owner: owner)
        }
        guard caller.tenantId.lowercased() == owner.id else {
            return unauthorized(
                "Invalid issuer or signature.", diagnostics: (3_000_006, "Token issuer does not match the tenant."),
                owner: owner)
        }
        // SharePoint app-only accepts certificate-issued tokens only (microsoft-facts §2.8).
        guard caller.appidacr == "2" else {
            return unauthorized(
                "Unsupported app only token.", diagnostics: (3_000_003, "Unsupported app only token."), owner: owner)
        }
        guard caller.has(anyOf: Self.readPermissions) else {
            return odataError(
                .forbidden, code: "-2147024891, System.UnauthorizedAccessException",
                message: "Access denied. You do not have permission to perform this action or access this resource.",
                verbose: verbose)
        }
        guard request.method == .get else {
            return odataError(
                .methodNotAllowed, code: "-1, Microsoft.SharePoint.Client.InvalidClientQueryException",
                message: "The HTTP method is not allowed.", verbose: verbose)
        }
        let entity = seg[2].lowercased()
        guard seg.count == 3, entity == "web" || entity == "site" else {
            return odataError(
                .notFound, code: "-1, Microsoft.SharePoint.Client.InvalidClientQueryException",
                message: "The expression \"\(seg.dropFirst(2).joined(separator: "/"))\" is not valid.", verbose: verbose
            )
        }
        let base = "https://\(host)"
        let all: [(String, JSONNode)] =
            entity == "web"
            ? [
                ("Created", "2020-01-01T00:00:00"),
                ("Description", ""),
                ("Id", .string(DeterministicID.uuid("spweb", host))),
                ("Language", .int(1033)),
                ("ServerRelativeUrl", "/"),
                ("Title", .string(owner.displayName)),
                ("Url", .string(base)),
                ("WebTemplate", "SITEPAGEPUBLISHING"),
            ]
            : [
                ("Id", .string(DeterministicID.uuid("spsite", host))),
                ("ServerRelativeUrl", "/"),
                ("Url", .string(base)),
            ]
        var fields = all
        if let select = request.queryValue("$select") {
            let wanted = Set(select.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
            fields = all.filter { wanted.contains($0.0.lowercased()) }
        }
        let type = entity == "web" ? "SP.Web" : "SP.Site"
        let apiPath = entity == "web" ? "Web" : "Site"
        if verbose {
            return SimResponse(
                json: .object([
                    (
                        "d",
                        .object(
                            [
                                (
                                    "__metadata",
                                    .object([
                                        ("id", .string("\(base)/_api/\(apiPath)")),
                                        ("uri", .string("\(base)/_api/\(apiPath)")),
                                        ("type", .string(type)),
                                    ])
                                )
                            ] + fields)
                    )
                ]),
                contentType: "application/json;odata=verbose;charset=utf-8")
        }
        if accept.contains("odata=nometadata") {
            return SimResponse(json: .object(fields), contentType: "application/json;odata=nometadata;charset=utf-8")
        }
        let select = request.queryValue("$select").map { "&$select=\($0)" } ?? ""
        return SimResponse(
            json: .object(
                [
                    ("odata.metadata", .string("\(base)/_api/$metadata#SP.ApiData.\(apiPath)s/@Element\(select)")),
                    ("odata.type", .string(type)),
                    ("odata.id", .string("\(base)/_api/\(apiPath)")),
                    ("odata.editLink", .string(apiPath)),
                ] + fields),
            contentType: "application/json;odata=minimalmetadata;streaming=true;charset=utf-8")
    }
}
