/// The webhook event types of SPEC §5. These strings are API (the `type` of a Standard
/// Webhooks payload and the key of the journal's `MESSAGE_ID`): add new ones, never rename.
public enum AlertEventType: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case secretExpiring = "connector.secret.expiring"
    case secretExpired = "connector.secret.expired"
    case certificateExpiring = "connector.certificate.expiring"
    case certificateExpired = "connector.certificate.expired"
    case certificateInvalid = "connector.certificate.invalid"
    case credentialInvalid = "connector.credential.invalid"
    case consentMissing = "connector.consent.missing"
    case permissionsExcess = "connector.permissions.excess"
    case rolesMissing = "connector.roles.missing"
    case validationFailed = "connector.validation.failed"
    case unreachable = "connector.unreachable"
    case zscalerValidationFailed = "connector.zscaler.validation_failed"
    case zscalerReauthRequired = "connector.zscaler.reauth_required"
    case zscalerInactive = "connector.zscaler.inactive"
    // Observer mode (SPEC §3b).
    case signinFailing = "connector.signin.failing"
    case signinStale = "connector.signin.stale"
    case appDisabled = "connector.app.disabled"
    case appMissing = "connector.app.missing"
    case observerCredentialInvalid = "observer.credential.invalid"
    case observerSecretExpiring = "observer.secret.expiring"
    case observerSecretExpired = "observer.secret.expired"
    case observerPermissionMissing = "observer.permission.missing"

    public var description: String { rawValue }

    /// The event a (check, reason) pair is about. The reason decides where it is specific
    /// (a `secret_expired` is a secret event whichever check saw it); the check decides
    /// for the generic reasons (`ok`, `pending`), which only reach here for ladder steps
    /// or odd inputs.
    public init(check: CheckKind, reason: Reason) {
        // The observed checks' own findings have their own events (SPEC §3b); everything
        // else, and every existing check, keeps the mapping by reason below.
        if let observed = AlertEventType.observed(check: check, reason: reason) {
            self = observed
            return
        }
        switch reason {
        case .unreachable, .throttled, .badResponse:
            self = .unreachable
        case .secretExpiring, .rotationPending:
            self = .secretExpiring
        case .secretExpired:
            self = .secretExpired
        case .certExpiring:
            self = .certificateExpiring
        case .certExpired:
            self = .certificateExpired
        case .certNotRegistered, .keyfileInvalid, .keyMismatch:
            self = .certificateInvalid
        case .secretInvalid, .appNotFound, .tenantNotFound, .tenantInvalid, .appDisabled, .certRejected, .clockSkew,
            .resourceMissing, .blockedByPolicy, .idpError:
            self = .credentialInvalid
        case .consentMissing, .consentNone:
            self = .consentMissing
        case .excessPermissions:
            self = .permissionsExcess
        case .roleMissing, .rolesUnreadable:
            self = .rolesMissing
        // The expiry cannot be read: connwatch could not validate the connector's secret.
        case .probeForbidden, .probeFailed, .expiryUnreadable:
            self = .validationFailed
        case .zscalerValidationFailed:
            self = .zscalerValidationFailed
        case .zscalerReauthRequired:
            self = .zscalerReauthRequired
        // SPEC §5 has no "deleted" or "unmatched" event: from the connector's side both
        // mean that no active Zscaler tenant uses it.
        case .zscalerInactive, .zscalerTenantDeleted, .zscalerUnmatched, .zscalerValidationStale:
            self = .zscalerInactive
        case .zscalerAPIDenied:
            self = .unreachable
        case .signinStale:
            self = .signinStale
        case .signinFailingElsewhere:
            self = .signinFailing
        case .observerFailed:
            self = .observerCredentialInvalid
        case .permissionMissing:
            self = .observerPermissionMissing
        case .ok, .pending:
            self = AlertEventType.fallback(for: check)
        }
    }

    /// The event of a ladder step: an expiring credential of the check that carries the expiry.
    public static func expiring(check: CheckKind) -> AlertEventType {
        switch check {
        case .certificate: .certificateExpiring
        case .observer: .observerSecretExpiring
        default: .secretExpiring
        }
    }

    /// Events of the `app`, `signin` and `observer` checks, or nil where the generic
    /// mapping by reason applies (transient reasons stay `connector.unreachable`).
    private static func observed(check: CheckKind, reason: Reason) -> AlertEventType? {
        switch (check, reason) {
        case (_, .unreachable), (_, .throttled), (_, .badResponse), (_, .pending): nil
        case (.app, .appDisabled): .appDisabled
        case (.app, .appNotFound): .appMissing
        case (.app, .ok): .appMissing
        // consent_none on `app` (no service principal) keeps connector.consent.missing.
        case (.signin, .signinStale): .signinStale
        case (.signin, .ok): .signinFailing
        // A failing sign-in carries the credential reason of its AADSTS code.
        case (.signin, _): .signinFailing
        case (.observer, .secretExpiring), (.observer, .ok): .observerSecretExpiring
        case (.observer, .secretExpired): .observerSecretExpired
        case (.observer, .permissionMissing): .observerPermissionMissing
        case (.observer, _): .observerCredentialInvalid
        default: nil
        }
    }

    private static func fallback(for check: CheckKind) -> AlertEventType {
        switch check {
        case .credential: .credentialInvalid
        case .secretExpiry: .secretExpiring
        case .certificate: .certificateInvalid
        case .consent: .consentMissing
        case .roles: .rolesMissing
        case .probe: .validationFailed
        case .zscaler: .zscalerValidationFailed
        case .app: .appMissing
        case .signin: .signinFailing
        case .observer: .observerCredentialInvalid
        }
    }
}

extension CheckKind {
    /// Reasons this check reports about itself (SPEC §3 table). Any other non-generic
    /// reason on an `unknown` result means the check did not run because another one
    /// failed — SPEC §3 has it carry "the reason of the blocking check".
    var ownReasons: Set<Reason> {
        switch self {
        case .credential:
            [
                .secretInvalid, .secretExpired, .appNotFound, .tenantNotFound, .tenantInvalid, .appDisabled,
                .certRejected, .clockSkew, .resourceMissing, .blockedByPolicy, .idpError,
            ]
        case .secretExpiry: [.secretExpiring, .secretExpired, .expiryUnreadable, .rotationPending]
        case .certificate: [.certExpiring, .certExpired, .certNotRegistered, .keyfileInvalid, .keyMismatch]
        case .consent: [.consentMissing, .consentNone, .excessPermissions]
        case .roles: [.roleMissing, .rolesUnreadable]
        case .probe: [.probeForbidden, .probeFailed]
        case .zscaler:
            [
                .zscalerValidationFailed, .zscalerReauthRequired, .zscalerInactive, .zscalerTenantDeleted,
                .zscalerUnmatched, .zscalerValidationStale, .zscalerAPIDenied,
            ]
        case .app: [.appNotFound, .appDisabled, .consentNone]
        // A failing sign-in carries a credential reason, but always as `critical`: an
        // `unknown` signin with a credential reason was blocked (by `app`, or by the
        // connector's own failing credential check), so only these two count here.
        case .signin: [.signinStale, .signinFailingElsewhere]
        case .observer: [.observerFailed, .secretExpiring, .secretExpired, .permissionMissing]
        }
    }
}

extension CheckResult {
    /// True when this result says nothing about its own check: not yet run (`pending`),
    /// or `unknown` because another check failed first (no token). The alert state
    /// machine neither fires nor resolves on such a result: the blocking check carries
    /// the alert, so one expired secret gives one notification, not one per check.
    public var isBlockedByAnotherCheck: Bool {
        if reason == .pending { return true }
        guard status == .unknown else { return false }
        // Observed checks say so explicitly (`app` blocks them with its reason, which
        // may be one of their own, e.g. consent_none).
        if details["blocked_by"] != nil { return true }
        switch reason {
        case .ok, .unreachable, .throttled, .badResponse: return false
        default: return !check.ownReasons.contains(reason)
        }
    }
}
