import Foundation

/// `credential`: the secret / certificate still authenticates, for every resource the
/// kind needs a token for (SPEC §3).
public enum CredentialCheck {
    public static func evaluate(
        tokens: [TokenObservation], secretLooksLikeGUID: Bool, now: Date
    ) -> CheckResult {
        var details: [String: JSONValue] = [:]
        var perResource: [String: JSONValue] = [:]
        var refused: [(ResourceID, ObservedFailure)] = []
        var transient: [(ResourceID, ObservedFailure)] = []
        for t in tokens {
            let name = PermissionCatalog.resource(t.resource).displayName
            switch t.outcome {
            case .value: perResource[name] = "ok"
            case .failed(let f), .blocked(let f):
                perResource[name] = .string(f.reason.rawValue)
                if f.transient { transient.append((t.resource, f)) } else { refused.append((t.resource, f)) }
            }
        }
        details["resources"] = .object(perResource)

        if let (resource, failure) = refused.first {
            for (k, v) in failure.details { details[k] = v }
            let api = PermissionCatalog.resource(resource).displayName
            let extra = refused.count > 1 ? " (and \(refused.count - 1) more)" : ""
            return CheckResult(
                check: .credential, status: .critical, reason: failure.reason,
                summary: "token for \(api) refused: \(failure.message)\(extra)", details: details,
                remediation: remediation(for: failure.reason, secretLooksLikeGUID: secretLooksLikeGUID), checkedAt: now)
        }
        if let (resource, failure) = transient.first {
            for (k, v) in failure.details { details[k] = v }
            let api = PermissionCatalog.resource(resource).displayName
            return CheckResult(
                check: .credential, status: .unknown, reason: failure.reason,
                summary: "token for \(api) not obtained: \(failure.message)", details: details,
                remediation: "transient: connwatch retries on the next check", checkedAt: now)
        }
        let n = tokens.count
        return CheckResult(
            check: .credential, status: .ok, reason: .ok,
            summary: "credential accepted for \(n) resource\(n == 1 ? "" : "s")", details: details, checkedAt: now)
    }

    /// What to do for each refusal, naming the reference step to redo.
    public static func remediation(for reason: Reason, secretLooksLikeGUID: Bool = false) -> String {
        switch reason {
        case .secretInvalid:
            let guid =
                secretLooksLikeGUID
                ? "the configured secret looks like a GUID — the secret's ID was probably pasted instead of its value; "
                : ""
            return guid
                + CheckResult.remediation(
                    .clientSecret, .authorize,
                    prefix: "the secret is not one of the app's secrets: store the secret's value (not its ID)")
        case .secretExpired:
            return CheckResult.remediation(.clientSecret, .authorize, prefix: "the client secret has expired")
        case .appNotFound:
            return CheckResult.remediation(
                .authorize,
                prefix:
                    "the app is not in this tenant: check tenant_id and client_id, and grant admin consent with the URL from connwatchctl consent-url"
            )
        case .tenantNotFound, .tenantInvalid:
            return CheckResult.remediation(
                .registerApp, prefix: "check tenant_id: use the Directory (tenant) ID from the app's Overview page")
        case .appDisabled:
            return CheckResult.remediation(
                .authorize, prefix: "the application or its service principal is disabled: enable it in Entra ID")
        case .certRejected:
            return CheckResult.remediation(
                .keyFile, .authorize, prefix: "the certificate is not registered on the app, or has expired there")
        case .clockSkew:
            return
                "this host's clock is off: fix time synchronisation (NTP); the client assertion is checked against Microsoft's clock"
        case .resourceMissing:
            return CheckResult.remediation(
                .apiPermissions,
                prefix:
                    "a Microsoft API this connector needs has no service principal in the tenant (for MIP: New-AzADServicePrincipal -ApplicationId 870c4f2e-85b6-4d43-bdda-6ed9a579b725), or sharepoint_host is wrong"
            )
        case .blockedByPolicy:
            return
                "a Conditional Access or security policy blocks this app's sign-in: exclude the connector's service principal from the workload-identity policy"
        case .throttled, .unreachable:
            return "transient: connwatch retries on the next check"
        default:
            return "see details (AADSTS code, trace_id and correlation_id for a Microsoft support request)"
        }
    }
}
