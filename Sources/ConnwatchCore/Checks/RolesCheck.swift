import Foundation

/// `roles` (azure-blob): Storage Blob Data Contributor and Storage Account Contributor
/// assigned at the subscription (reference step 3; microsoft-facts §2.9).
public enum RolesCheck {
    public static func evaluate(
        assignments: Observed<[ObservedRoleAssignment]>, subscriptionId: String, now: Date
    ) -> CheckResult {
        let required = PermissionCatalog.requirements(for: .azureBlob).roles
        switch assignments {
        case .blocked(let f):
            return f.unknownResult(.roles, what: "role assignments", now: now, blocked: true)
        case .failed(let f) where f.forbidden:
            return CheckResult(
                check: .roles, status: .unknown, reason: .rolesUnreadable,
                summary: "the role assignments cannot be read with the connector's credential (\(f.message))",
                details: f.details,
                remediation: CheckResult.remediation(
                    .roleAssignments,
                    prefix:
                        "the service principal cannot list its own assignments, which usually means it holds no role on the subscription"
                ),
                checkedAt: now)
        case .failed(let f):
            return f.unknownResult(.roles, what: "role assignments", now: now, blocked: false)
        case .value(let list):
            let sub = "/subscriptions/\(subscriptionId.lowercased())"
            // An assignment at the subscription or above it (management group, root) covers it.
            func covers(_ scope: String) -> Bool {
                let s = scope.lowercased()
                return s == sub || s == "/" || s.hasPrefix("/providers/microsoft.management/managementgroups/")
            }
            let held = Set(list.filter { covers($0.scope) }.map { $0.roleDefinitionId.lowercased() })
            let narrower = list.filter { !covers($0.scope) }.map(\.scope)
            let missing = required.filter { !held.contains($0.roleDefinitionId) }
            var details: [String: JSONValue] = [
                "subscription_id": .string(subscriptionId),
                "held": .array(required.filter { held.contains($0.roleDefinitionId) }.map { .string($0.name) }),
            ]
            if !narrower.isEmpty { details["narrower_scopes"] = .array(narrower.map { .string($0) }) }
            guard missing.isEmpty else {
                details["missing_roles"] = .array(missing.map { .string($0.name) })
                return CheckResult(
                    check: .roles, status: .critical, reason: .roleMissing,
                    summary: "missing at subscription scope: \(missing.map(\.name).joined(separator: ", "))"
                        + (narrower.isEmpty ? "" : " (assignments at narrower scopes do not count)"),
                    details: details,
                    remediation: CheckResult.remediation(.roleAssignments, prefix: "assign the missing role"),
                    checkedAt: now)
            }
            return CheckResult(
                check: .roles, status: .ok, reason: .ok,
                summary: "both storage roles assigned on subscription \(subscriptionId)", details: details,
                checkedAt: now)
        }
    }
}
