import Foundation

/// `zscaler`: Zscaler's own verdict on the connector's SaaS tenant (SPEC §3), explained
/// by what the Entra-side checks of the same run found.
public enum ZscalerCheck {
    /// What the ZIA rate budget does to the refresh interval (reported in details and,
    /// when it stretches the interval, in `status`).
    public struct Budget: Sendable, Equatable {
        public var configuredInterval: TimeInterval
        public var effectiveInterval: TimeInterval
        public var requestsPerCycle: Int

        public init(configuredInterval: TimeInterval, effectiveInterval: TimeInterval, requestsPerCycle: Int) {
            self.configuredInterval = configuredInterval
            self.effectiveInterval = effectiveInterval
            self.requestsPerCycle = requestsPerCycle
        }

        public var isStretched: Bool { effectiveInterval > configuredInterval }

        /// "Zscaler data is refreshed every 2m instead of every 1m: 21 ZIA requests per cycle exceed the rate budget (900 of the 1,000 requests/hour ZIA allows)"
        public var note: String {
            "Zscaler data is refreshed every \(human(effectiveInterval)) instead of every \(human(configuredInterval)): \(requestsPerCycle) ZIA requests per cycle exceed the rate budget (\(ZscalerRateBudget.plannedPerHour) of the \(ZscalerRateBudget.perHour) requests/hour ZIA allows)"
        }

        private func human(_ t: TimeInterval) -> String { ConfigDuration(seconds: Int64(t.rounded(.up))).description }
    }

    /// The Entra-side check that explains a Zscaler failure, in the order an operator
    /// would look: the credential, its expiry, the certificate, consent, roles, the probe.
    static let explanationOrder: [CheckKind] = [.secretExpiry, .credential, .certificate, .consent, .roles, .probe]

    /// - Parameters:
    ///   - match: the tenant list and matching; `.failed` when the list could not be read.
    ///   - validation: the tenant's validation status, when it was read (only for tenants
    ///     that are not Active); nil when not needed.
    ///   - entra: this run's results of the connector's other checks.
    public static func evaluate(
        match: Observed<ZscalerMatch>, validation: Observed<ZscalerValidation>?, entra: [CheckResult],
        maxValidationAge: ConfigDuration, budget: Budget?, now: Date
    ) -> CheckResult {
        var details: [String: JSONValue] = [:]
        if let budget {
            details["refresh_interval_seconds"] = .int(Int64(budget.effectiveInterval.rounded(.up)))
            details["zia_requests_per_cycle"] = .int(Int64(budget.requestsPerCycle))
            if budget.isStretched { details["rate_budget_note"] = .string(budget.note) }
        }
        func result(_ status: CheckStatus, _ reason: Reason, _ summary: String, _ remediation: String) -> CheckResult {
            CheckResult(
                check: .zscaler, status: status, reason: reason, summary: "Zscaler: " + summary, details: details,
                remediation: remediation, checkedAt: now)
        }

        let tenant: ZscalerTenant
        switch match {
        case .failed(let f), .blocked(let f):
            for (k, v) in f.details { details[k] = v }
            return result(
                .unknown, f.reason, "the SaaS tenant list could not be read: \(f.message)",
                f.transient
                    ? "transient: connwatch retries on the next check"
                    : "check the [zscaler] API client (client_id, secret, token_endpoint, api_base) and its role in ZIdentity")
        case .value(.unmatched(let why)):
            details["match"] = "none"
            return result(
                .warning, .zscalerUnmatched, "no SaaS tenant matches this connector: \(why)",
                "add the connector's tenant in the Admin Portal (Policies > Common Configuration > Out-of-band CASB > SaaS Application Tenants, step 4), or set zscaler_tenant_id")
        case .value(.ambiguous(let found, let why)):
            details["match"] = "ambiguous"
            details["candidates"] = .array(found.map { .int(Int64($0.tenantId)) })
            return result(
                .warning, .zscalerUnmatched, why,
                "set zscaler_tenant_id to the right tenant's ID (Admin Portal, SaaS Application Tenants)")
        case .value(.matched(let t, let how)):
            tenant = t
            details["match"] = .string(how)
        }

        details["tenant_id"] = .int(Int64(tenant.tenantId))
        details["tenant_name"] = .string(tenant.tenantName)
        if let app = tenant.saasApplication { details["saas_application"] = .string(app) }

        var statuses = tenant.statuses
        var deleted = tenant.deleted
        var lastValidation = tenant.lastValidationTime
        var code: Int?
        switch validation {
        case .value(let v)?:
            statuses = v.statuses.isEmpty ? statuses : v.statuses
            deleted = deleted || v.deleted
            lastValidation = v.lastValidationTime ?? lastValidation
            code = v.errorCode
            if let c = v.errorCode {
                details["error_code"] = .int(Int64(c))
                details["error_class"] = .string(ZscalerErrorClass(code: c).rawValue)
            }
            if let m = v.errorMessage, !m.isEmpty { details["error_message"] = .string(String(m.prefix(300))) }
        case .failed(let f)?, .blocked(let f)?:
            for (k, v) in f.details { details[k] = v }
            details["statuses"] = .array(tenant.statuses.map { .string($0) })
            return result(
                .unknown, f.reason,
                "tenant \(tenant.tenantId) \"\(tenant.tenantName)\" is \(tenant.state.label); its validation status could not be read: \(f.message)",
                f.transient ? "transient: connwatch retries on the next check" : "see details")
        case nil:
            break
        }
        details["statuses"] = .array(statuses.map { .string($0) })
        if let lastValidation { details["last_tenant_validation_time"] = .string(RFC3339.string(lastValidation)) }

        let state = ZscalerTenantState(statuses: statuses, deleted: deleted, reAuth: tenant.reAuth)
        details["state"] = .string(state.rawValue)
        let name = "tenant \"\(tenant.tenantName)\" (\(tenant.tenantId))"
        let reauthorize = "re-authorize the tenant in the Zscaler Admin Portal (step 4): \(ZscalerHelp.reauthorizePath)"
        let entraCause = explanation(entra)
        if let entraCause { details["explained_by"] = .string(entraCause.check.rawValue) }
        // Expiry and credential summaries read on their own ("the client secret expired on
        // 3 Dec 2026"); the others need their check's name ("roles: missing at …").
        let because =
            entraCause.map {
                " — Entra: " + ([.secretExpiry, .credential, .certificate].contains($0.check) ? "" : "\($0.check): ")
                    + $0.summary
            } ?? ""
        let fixEntraFirst =
            entraCause.map {
                "fix the Entra side first (\($0.check): \($0.remediation)); the re-authorization is done in the Admin Portal: \(ZscalerHelp.reauthorizePath)"
            }

        switch state {
        case .deleted:
            return result(
                .warning, .zscalerTenantDeleted, "\(name) is deleted in Zscaler",
                "add the SaaS tenant again in the Admin Portal (step 4), or remove this connector from connwatch")
        case .validationFailed:
            let codeText = code.map { " (code \($0))" } ?? ""
            let cls = code.map { ZscalerErrorClass(code: $0) }
            switch cls {
            case .transient?, .serialization?:
                // Zscaler's own trouble: counts as a transient failure (unknown after N).
                return result(
                    .unknown, .zscalerValidationFailed,
                    "validation failed\(codeText): \(cls!.meaning)",
                    "transient on Zscaler's side: it retries; connwatch turns this unknown only after repeated failures")
            default:
                return result(
                    .critical, .zscalerValidationFailed, "validation failed\(codeText)\(because)",
                    fixEntraFirst ?? reauthorize)
            }
        case .reauthRequired:
            return result(
                .warning, .zscalerReauthRequired, "\(name) requires reauthorization\(because)", fixEntraFirst ?? reauthorize)
        case .inactive:
            return result(
                .warning, .zscalerInactive, "\(name) is inactive\(because)",
                fixEntraFirst ?? "activate the tenant, or \(reauthorize)")
        case .unrecognised:
            return result(
                .unknown, .badResponse, "\(name) has status \(statuses.joined(separator: ", ")), which connwatch does not know",
                "see the tenant in the Admin Portal")
        case .active:
            guard let lastValidation else {
                return result(.ok, .ok, "\(name) is Active", "")
            }
            let age = now.timeIntervalSince(lastValidation)
            if age > maxValidationAge.timeInterval {
                return result(
                    .warning, .zscalerValidationStale,
                    "\(name) is Active but Zscaler last validated it on \(Format.day(lastValidation)), more than \(maxValidationAge) ago\(because)",
                    "open the tenant in the Admin Portal and validate it again (step 4); raise [zscaler] max_validation_age if this is expected")
            }
            return result(.ok, .ok, "\(name) is Active, last validated \(Format.day(lastValidation))", "")
        }
    }

    /// The first failing Entra-side check that is not itself blocked by another.
    static func explanation(_ entra: [CheckResult]) -> CheckResult? {
        let failing = entra.filter {
            $0.check != .zscaler && ($0.status == .critical || $0.status == .warning) && !$0.isBlockedByAnotherCheck
        }
        guard !failing.isEmpty else { return nil }
        // The worst status first, then the operator's order.
        let worst = failing.map(\.status).max()!
        return explanationOrder.lazy.compactMap { kind in
            failing.first { $0.check == kind && $0.status == worst }
        }.first
    }
}

/// Where the operator acts in the Zscaler Admin Portal (reference procedure step 4).
public enum ZscalerHelp {
    public static let reauthorizePath =
        "Policies > Common Configuration > Out-of-band CASB > SaaS Application Tenants, edit the tenant and authorize it again with the connector's Client ID, Client Secret and Tenant ID, then Save and activate the change"

    /// `connwatchctl reauthorize` text.
    public static func text() -> String {
        """
        Re-authorizing a connector in the Zscaler Admin Portal (reference procedure step 4)

        SaaS application tenants (Exchange, OneDrive, SharePoint, Teams, Azure Blob):
          1. Fix the Entra side first: `connwatchctl status NAME` shows the failing check
             (an expired secret needs a new one, step 1b; missing consent, step 2).
          2. In the Admin Portal, go to Policies > Common Configuration > Out-of-band CASB >
             SaaS Application Tenants and edit the tenant (zscaler check details: tenant_id).
          3. Grant admin consent again when asked: `connwatchctl consent-url NAME` prints the
             correct URL (the procedure's own template swaps the client and tenant IDs).
          4. Enter the Client ID, the new Client Secret and the Tenant ID, authorize, then
             click Save and activate the change.
          5. `connwatchctl check NAME` reads Zscaler's verdict again. Zscaler's
             Validation Failed / Reauthorization Required clears once it has revalidated.

        MIP accounts (no Zscaler API reports their status; connwatch checks only Entra):
          Policies > Data Protection > Common Resources > MIP Labels, edit the MIP account,
          click Reauthorize on the Edit MIP Account window.

        Zscaler validation error codes (lastValidationMsg.errorCode):
          1, 2, 4, 500, 501-599  temporary (Zscaler or Microsoft side); Zscaler retries
          201-299                JSON serialisation failed; retry later
          400-499                authentication/authorization to Microsoft failed: check the
                                 Entra side (secret, consent, tenant ID), then re-authorize
        """
    }
}
