/// A stable machine reason code (SPEC §3). These strings are API: they appear in
/// JSON, journal fields and webhook bodies. Add new ones; never rename.
public enum Reason: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    // any check
    case ok
    case pending
    case unreachable
    case throttled
    case badResponse = "bad_response"

    // credential
    case secretInvalid = "secret_invalid"
    case secretExpired = "secret_expired"
    case appNotFound = "app_not_found"
    case tenantNotFound = "tenant_not_found"
    case tenantInvalid = "tenant_invalid"
    case appDisabled = "app_disabled"
    case certRejected = "cert_rejected"
    case clockSkew = "clock_skew"
    case resourceMissing = "resource_missing"
    case blockedByPolicy = "blocked_by_policy"
    case idpError = "idp_error"

    // secret_expiry
    case secretExpiring = "secret_expiring"
    case expiryUnreadable = "expiry_unreadable"
    case rotationPending = "rotation_pending"

    // certificate
    case certExpiring = "cert_expiring"
    case certExpired = "cert_expired"
    case certNotRegistered = "cert_not_registered"
    case keyfileInvalid = "keyfile_invalid"
    case keyMismatch = "key_mismatch"

    // consent
    case consentMissing = "consent_missing"
    case consentNone = "consent_none"
    case excessPermissions = "excess_permissions"

    // roles
    case roleMissing = "role_missing"
    case rolesUnreadable = "roles_unreadable"

    // probe
    case probeForbidden = "probe_forbidden"
    case probeFailed = "probe_failed"

    // zscaler
    case zscalerValidationFailed = "zscaler_validation_failed"
    case zscalerReauthRequired = "zscaler_reauth_required"
    case zscalerInactive = "zscaler_inactive"
    case zscalerTenantDeleted = "zscaler_tenant_deleted"
    case zscalerUnmatched = "zscaler_unmatched"
    /// Active, but Zscaler's last validation is older than `[zscaler] max_validation_age`.
    case zscalerValidationStale = "zscaler_validation_stale"
    /// connwatch's own `[zscaler]` API client was refused (OneAPI token or ZIA 401/403):
    /// the connector's state on Zscaler's side is unknown.
    case zscalerAPIDenied = "zscaler_api_denied"

    // signin (observed, SPEC §3b)
    /// No successful sign-in of the connector's service principal within
    /// `sign_in_stale_after`: the service has stopped using the app.
    case signinStale = "signin_stale"
    /// connwatch's own copy of the secret works but the service's sign-ins fail: the
    /// service holds an old secret.
    case signinFailingElsewhere = "signin_failing_elsewhere"

    // observer (SPEC §3b)
    /// The observer's own token was refused (AADSTS code in details).
    case observerFailed = "observer_failed"
    /// The observer lacks a Graph permission or an Azure role; details name it and what it costs.
    case permissionMissing = "permission_missing"

    public var description: String { rawValue }

    /// Reasons that describe a passing condition outside the network's control:
    /// transient ones turn into `unknown` only after N consecutive failures. A reply that
    /// cannot be understood (`bad_response`: malformed, truncated, mistyped, oversized, an
    /// unexpected status without a documented body) is one of them: only a well-formed
    /// answer may make a verdict worse (SPEC §9).
    public var isTransient: Bool {
        switch self {
        case .unreachable, .throttled, .badResponse: true
        default: false
        }
    }
}

/// The checks connwatch runs (SPEC §3).
public enum CheckKind: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case credential
    case secretExpiry = "secret_expiry"
    case certificate
    case consent
    case roles
    case probe
    case zscaler
    /// Observed (SPEC §3b): the connector's application and service principal exist and are enabled.
    case app
    /// Observed (SPEC §3b): the service's own sign-ins, from the tenant's sign-in log.
    case signin
    /// The observer (monitoring app) of a tenant itself: its token, its credential's
    /// expiry, its permissions (SPEC §3b). Reported per tenant, not per connector.
    case observer

    public var description: String { rawValue }
}
