import Foundation

/// `app` (observed, SPEC §3b): the connector's application exists, has a service
/// principal in the tenant (admin consent was given) and that service principal is
/// enabled. Every finding is `critical`: without it nothing the connector does works,
/// and the checks it blocks report `unknown` with its reason (§3's rule).
public enum AppCheck {
    public static func evaluate(
        application: Observed<ObservedApplication?>, servicePrincipal: Observed<ObservedServicePrincipal?>, now: Date
    ) -> CheckResult {
        let app: ObservedApplication
        switch application {
        case .value(nil):
            return CheckResult(
                check: .app, status: .critical, reason: .appNotFound,
                summary: "the app registration does not exist in the tenant (deleted, or a wrong client_id)",
                details: [:],
                remediation: CheckResult.remediation(
                    .registerApp, .authorize,
                    prefix:
                        "check client_id; a deleted app stays restorable for 30 days under App registrations > Deleted applications, else register it again"
                ),
                checkedAt: now)
        case .value(let a?): app = a
        case .failed(let f), .blocked(let f):
            return f.observedUnknown(.app, what: "the app registration", permission: .applicationReadAll, now: now)
        }
        var details: [String: JSONValue] = ["app_object_id": .string(app.objectId)]
        if let name = app.displayName { details["display_name"] = .string(name) }

        let sp: ObservedServicePrincipal
        switch servicePrincipal {
        case .value(nil):
            return CheckResult(
                check: .app, status: .critical, reason: .consentNone,
                summary: "the app has no service principal in the tenant: admin consent was never given",
                details: details,
                remediation: CheckResult.remediation(
                    .apiPermissions, .authorize, prefix: "grant admin consent (connwatchctl consent-url NAME)"),
                checkedAt: now)
        case .value(let s?): sp = s
        case .failed(let f), .blocked(let f):
            var r = f.observedUnknown(
                .app, what: "the app's service principal", permission: .applicationReadAll, now: now)
            r.details.merge(details) { a, _ in a }
            return r
        }
        details["service_principal_id"] = .string(sp.objectId)
        details["account_enabled"] = .bool(sp.accountEnabled)
        if let byMicrosoft = sp.disabledByMicrosoftStatus {
            details["disabled_by_microsoft_status"] = .string(byMicrosoft)
            return CheckResult(
                check: .app, status: .critical, reason: .appDisabled,
                summary: "Microsoft has disabled the app (\(byMicrosoft))", details: details,
                remediation: CheckResult.remediation(
                    .authorize, prefix: "Microsoft disabled the app: open a support request, then"),
                checkedAt: now)
        }
        guard sp.accountEnabled else {
            return CheckResult(
                check: .app, status: .critical, reason: .appDisabled,
                summary: "the app's service principal is disabled (accountEnabled false): no sign-in works",
                details: details,
                remediation: CheckResult.remediation(
                    .authorize,
                    prefix:
                        "enable it: Enterprise applications > the app > Properties > Enabled for users to sign-in = Yes"
                ),
                checkedAt: now)
        }
        return CheckResult(
            check: .app, status: .ok, reason: .ok,
            summary: "the app and its service principal exist and are enabled", details: details, checkedAt: now)
    }
}

extension ObservedFailure {
    /// The `unknown` an observed check reports when its facts could not be read: blocked
    /// by the observer's refused token (or another check), a permission the observer
    /// lacks (`permission_missing`: the observer's own alert carries it, so the connector
    /// does not page once per check), or transient trouble.
    func observedUnknown(_ check: CheckKind, what: String, permission: ObserverPermission?, now: Date) -> CheckResult {
        if case let p? = permission, forbidden {
            var details = self.details
            details["permission"] = .string(p.description)
            return CheckResult(
                check: check, status: .unknown, reason: .permissionMissing,
                summary: "the observer may not read \(what) (\(p.description) missing)", details: details,
                remediation:
                    "grant the observer app \(p.description) and admin consent (connwatchctl permissions observer)",
                checkedAt: now)
        }
        return CheckResult(
            check: check, status: .unknown, reason: reason,
            summary: "\(what) could not be read: \(message)", details: details,
            remediation: reason == .observerFailed
                ? "fix the tenant's observer first (connwatchctl status: observers)"
                : (reason.isTransient ? "transient: connwatch retries on the next check" : ""),
            checkedAt: now)
    }
}

extension CheckResult {
    /// `unknown` with the reason of the check that blocks this one (SPEC §3: "the reason
    /// of the blocking check, not a guess").
    static func blocked(_ check: CheckKind, by blocker: CheckResult, now: Date) -> CheckResult {
        CheckResult(
            check: check, status: .unknown, reason: blocker.reason, summary: "not checked: \(blocker.summary)",
            details: ["blocked_by": .string(blocker.check.rawValue)],
            remediation: "fix the \(blocker.check) check first", checkedAt: now)
    }
}
