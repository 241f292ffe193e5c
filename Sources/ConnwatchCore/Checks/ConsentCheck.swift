import Foundation

/// `consent`: every required application permission is granted, none beyond it — judged
/// from the `roles` claim of each per-resource token (SPEC §3, microsoft-facts §2.3).
public enum ConsentCheck {
    public static func evaluate(kind: ConnectorKind, tokens: [TokenObservation], now: Date) -> CheckResult {
        let req = PermissionCatalog.requirements(for: kind)
        var granted: [ResourceID: Set<String>] = [:]
        var anyRolesClaim = false
        for t in tokens {
            switch t.outcome {
            case .value(let token):
                granted[t.resource] = Set(token.roles)
                anyRolesClaim = anyRolesClaim || token.hasRolesClaim
            case .failed(let f), .blocked(let f):
                // Without every token there is no honest verdict.
                if !req.applicationPermissions(for: t.resource).isEmpty {
                    return f.unknownResult(.consent, what: "granted permissions", now: now, blocked: true)
                }
            }
        }

        return judge(kind: kind, type: .application, granted: granted, anyGranted: anyRolesClaim, now: now)
    }

    /// The verdict once the grants are known, shared with ``ObservedConsentCheck``, which
    /// reads them from the directory instead of the token.
    /// - Parameters:
    ///   - type: which of the kind's permissions are judged (delegated for an observed azure-blob).
    ///   - granted: names granted per resource of the catalog.
    ///   - otherExcess: grants on resources the kind never uses ("API: name"), already named.
    ///   - anyGranted: false when nothing at all is granted: `consent_none`.
    static func judge(
        kind: ConnectorKind, type: PermissionType, granted: [ResourceID: Set<String>], otherExcess: [String] = [],
        anyGranted: Bool, extraDetails: [String: JSONValue] = [:], now: Date
    ) -> CheckResult {
        let req = PermissionCatalog.requirements(for: kind)
        let anyRolesClaim = anyGranted
        var missing: [RequiredPermission] = []
        var excess: [String] = []
        for resource in req.resources {
            let needed = req.permissions.filter { $0.resource == resource && $0.type == type }
            let have = granted[resource] ?? []
            missing += needed.filter { !have.contains($0.name) }
            let neededNames = Set(needed.map(\.name))
            let api = PermissionCatalog.resource(resource).displayName
            excess += have.subtracting(neededNames).sorted().map { "\(api): \($0)" }
        }
        for (resource, have) in granted.sorted(by: { $0.key.rawValue < $1.key.rawValue })
        where !req.resources.contains(resource) {
            let api = PermissionCatalog.resource(resource).displayName
            excess += have.sorted().map { "\(api): \($0)" }
        }
        excess += otherExcess
        let requiredCount = req.permissions.filter { $0.type == type }.count
        var details: [String: JSONValue] = [
            "required": .int(Int64(requiredCount)),
            "granted": .int(Int64(granted.values.reduce(0) { $0 + $1.count })),
        ]
        for (k, v) in extraDetails { details[k] = v }

        if !missing.isEmpty {
            let names = missing.map { "\(PermissionCatalog.resource($0.resource).displayName): \($0.name)" }
            var actions: [String] = []
            for p in missing { for a in p.actions where !actions.contains(a) { actions.append(a) } }
            details["missing_permissions"] = .array(names.map { .string($0) })
            details["failing_actions"] = .array(actions.map { .string($0) })
            if !excess.isEmpty { details["excess_permissions"] = .array(excess.map { .string($0) }) }
            let none = !anyRolesClaim
            let summary =
                none
                ? "no \(type) permission is granted (admin consent missing): all \(missing.count) required permissions absent"
                : "\(missing.count) required permission\(missing.count == 1 ? "" : "s") not granted (\(names.prefix(3).joined(separator: ", "))\(names.count > 3 ? ", …" : "")); failing: \(actions.prefix(4).joined(separator: ", "))\(actions.count > 4 ? ", …" : "")"
            return CheckResult(
                check: .consent, status: .critical, reason: none ? .consentNone : .consentMissing, summary: summary,
                details: details,
                remediation: CheckResult.remediation(
                    .apiPermissions, .authorize,
                    prefix:
                        "add the missing permissions (connwatchctl permissions \(kind.rawValue)) and grant admin consent"
                ),
                checkedAt: now)
        }
        if !excess.isEmpty {
            details["excess_permissions"] = .array(excess.map { .string($0) })
            return CheckResult(
                check: .consent, status: .warning, reason: .excessPermissions,
                summary:
                    "\(excess.count) permission\(excess.count == 1 ? "" : "s") beyond what Zscaler needs (\(excess.prefix(3).joined(separator: ", "))\(excess.count > 3 ? ", …" : ""))",
                details: details,
                remediation: "least privilege: remove the extra permissions from the app's API permissions (step 2)",
                checkedAt: now)
        }
        return CheckResult(
            check: .consent, status: .ok, reason: .ok,
            summary: "all \(requiredCount) required \(type) permissions granted", details: details, checkedAt: now)
    }
}
