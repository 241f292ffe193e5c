import Foundation

/// `consent` of an observed connector (SPEC §3b): the grants as the directory holds
/// them instead of a token's `roles` claim. Application permissions come from the
/// service principal's `appRoleAssignments`, named through each resource's `appRoles`;
/// azure-blob's permissions are delegated, so its consent is the admin-consented
/// (`AllPrincipals`) `oauth2PermissionGrants` of the catalog. Same verdicts as §3.
public enum ObservedConsentCheck {
    public static func evaluate(
        kind: ConnectorKind, appRoles: Observed<[GrantedAppRole]>, delegatedGrants: Observed<[DelegatedGrant]>,
        now: Date
    ) -> CheckResult {
        if kind == .azureBlob {
            switch delegatedGrants {
            case .failed(let f), .blocked(let f):
                return f.observedUnknown(
                    .consent, what: "the delegated permission grants", permission: .directoryReadAll, now: now)
            case .value(let grants):
                var granted: [ResourceID: Set<String>] = [:]
                var other: [String] = []
                let admin = grants.filter(\.isAdminConsent)
                for g in admin {
                    if let r = resourceID(appId: g.resourceAppId) {
                        granted[r, default: []].formUnion(g.scopes)
                    } else {
                        other += g.scopes.map { "\(g.resourceAppId ?? "unknown API"): \($0)" }
                    }
                }
                // App roles on top of the delegated grants are beyond what Zscaler needs too.
                if case .value(let roles) = appRoles {
                    other += roles.map { "\(name(of: $0)): \($0.permission ?? $0.appRoleId) (application)" }
                }
                var extra: [String: JSONValue] = [:]
                let perUser = grants.count - admin.count
                if perUser > 0 { extra["user_consent_grants"] = .int(Int64(perUser)) }
                return ConsentCheck.judge(
                    kind: kind, type: .delegated, granted: granted, otherExcess: other,
                    anyGranted: !admin.isEmpty, extraDetails: extra, now: now)
            }
        }
        switch appRoles {
        case .failed(let f), .blocked(let f):
            return f.observedUnknown(
                .consent, what: "the app-role assignments", permission: .applicationReadAll, now: now)
        case .value(let roles):
            var granted: [ResourceID: Set<String>] = [:]
            var other: [String] = []
            var unnamed: [ResourceID: Int] = [:]
            var unnamedOther: [String] = []
            for role in roles {
                let resource = resourceID(appId: role.resourceAppId)
                switch (resource, role.permission) {
                case (let r?, let p?): granted[r, default: []].insert(p)
                case (let r?, nil): unnamed[r, default: 0] += 1
                case (nil, let p?): other.append("\(name(of: role)): \(p)")
                case (nil, nil): unnamedOther.append(role.appRoleId)
                }
            }
            var extra: [String: JSONValue] = [:]
            if !unnamed.isEmpty || !unnamedOther.isEmpty {
                extra["unnamed_app_roles"] = .int(Int64(unnamed.values.reduce(0, +) + unnamedOther.count))
            }
            let result = ConsentCheck.judge(
                kind: kind, type: .application, granted: granted, otherExcess: other, anyGranted: !roles.isEmpty,
                extraDetails: extra, now: now)
            // A role whose name the resource's `appRoles` did not give may be the missing
            // one: no verdict rather than a false `consent_missing`.
            if result.reason == .consentMissing,
                unnamed.keys.contains(where: { r in
                    PermissionCatalog.requirements(for: kind).applicationPermissions(for: r).contains {
                        !(granted[r] ?? []).contains($0.name)
                    }
                })
            {
                return CheckResult(
                    check: .consent, status: .unknown, reason: .badResponse,
                    summary: "granted app roles could not all be named from their resource's appRoles",
                    details: result.details, checkedAt: now)
            }
            return result
        }
    }

    /// The catalog resource of a well-known appId.
    static func resourceID(appId: String?) -> ResourceID? {
        guard let appId = appId?.lowercased() else { return nil }
        return PermissionCatalog.resources.first { $0.value.appId == appId }?.key
    }

    static func name(of role: GrantedAppRole) -> String {
        role.resourceDisplayName ?? role.resourceAppId ?? "unknown API"
    }
}

/// `roles` of an observed azure-blob connector: the service principal's ARM role
/// assignments read with the observer's `Reader` (SPEC §3b); the verdict is §3's.
public enum ObservedRolesCheck {
    public static func evaluate(
        assignments: Observed<[ObservedRoleAssignment]>, subscriptionId: String, now: Date
    ) -> CheckResult {
        switch assignments {
        case .failed(let f) where f.forbidden:
            return f.observedUnknown(
                .roles, what: "role assignments", permission: .reader(subscriptionId: subscriptionId), now: now)
        case .failed(let f), .blocked(let f):
            return f.observedUnknown(.roles, what: "role assignments", permission: nil, now: now)
        case .value:
            return RolesCheck.evaluate(assignments: assignments, subscriptionId: subscriptionId, now: now)
        }
    }
}
