import Foundation

/// What connwatch learned about a tenant's observer (monitoring app) in one cycle.
public struct ObserverFacts: Sendable, Equatable {
    /// How the observer authenticates: the credential whose expiry is watched.
    public enum Credential: Sendable, Equatable {
        /// A client secret, matched on the observer's own app by `hint` (first 3 characters).
        case secret(hint: String)
        /// A certificate, matched by SHA-1 thumbprint (upper-case hex).
        case certificate(thumbprint: String, notAfter: Date?)
    }

    /// The observer's Graph token (its `roles` claim lists its application permissions).
    public var token: Observed<GrantedToken>
    /// The observer's own application object (nil inside `.value`: not found).
    public var ownApplication: Observed<ObservedApplication?>
    public var credential: Credential
    /// `sign_in_logs`: AuditLog.Read.All is needed.
    public var signInLogs: Bool
    /// Permissions the API refused this cycle (403 `Authorization_RequestDenied`,
    /// ARM `AuthorizationFailed`), whatever the token claims.
    public var refused: [ObserverPermission]

    public init(
        token: Observed<GrantedToken>, ownApplication: Observed<ObservedApplication?>, credential: Credential,
        signInLogs: Bool = true, refused: [ObserverPermission] = []
    ) {
        self.token = token
        self.ownApplication = ownApplication
        self.credential = credential
        self.signInLogs = signInLogs
        self.refused = refused
    }
}

/// The observer itself (SPEC §3b): its token (`observer_failed`, and every observed
/// check of the tenant is `unknown` with that reason), its own secret or certificate
/// (`secret_expiring` / `secret_expired` with §3's thresholds, read from its own app
/// object), and its permissions (`permission_missing`, naming each and what it costs).
public enum ObserverCheck {
    public static func evaluate(_ facts: ObserverFacts, thresholds: ExpiryThresholds, now: Date) -> CheckResult {
        let token: GrantedToken
        switch facts.token {
        case .value(let t): token = t
        case .failed(let f), .blocked(let f):
            if f.transient {
                return CheckResult(
                    check: .observer, status: .unknown, reason: f.reason,
                    summary: "the observer's token could not be obtained: \(f.message)", details: f.details,
                    remediation: "transient: connwatch retries on the next check", checkedAt: now)
            }
            var details = f.details
            details["token_reason"] = .string(f.reason.rawValue)
            return CheckResult(
                check: .observer, status: .critical, reason: .observerFailed,
                summary: "the observer's token was refused: \(f.message)", details: details,
                remediation:
                    "the monitoring app's credential was refused (\(f.reason)): renew its certificate or secret under Certificates & secrets and update certificate_file or client_secret_credential in [[tenant]]; every observed check of this tenant is unknown until then",
                checkedAt: now)
        }

        var details: [String: JSONValue] = [:]
        // Missing permissions: the token's roles, and anything refused this cycle.
        let roles = Set(token.roles)
        var missing: [ObserverPermission] = []
        if !roles.contains("Application.Read.All") && !roles.contains("Directory.Read.All")
            && !roles.contains("Application.ReadWrite.All")
        {
            missing.append(.applicationReadAll)
        }
        if !roles.contains("Directory.Read.All") && !roles.contains("Directory.ReadWrite.All") {
            missing.append(.directoryReadAll)
        }
        if facts.signInLogs && !roles.contains("AuditLog.Read.All") { missing.append(.auditLogReadAll) }
        for p in facts.refused where !missing.contains(p) { missing.append(p) }

        var candidates: [CheckResult] = []
        if !missing.isEmpty {
            let status = missing.map(\.severity).max()!
            details["missing_permissions"] = .array(missing.map { .string($0.description) })
            details["costs"] = .array(missing.map { .string("\($0.description): \($0.costs)") })
            candidates.append(
                CheckResult(
                    check: .observer, status: status, reason: .permissionMissing,
                    summary:
                        "the observer lacks \(missing.map(\.description).joined(separator: ", ")): not checked: \(missing[0].costs)",
                    details: details,
                    remediation:
                        "grant the missing permissions to the monitoring app and admin consent (connwatchctl permissions observer; connwatchctl consent-url --observer TENANT)",
                    checkedAt: now))
        }

        // Its own credential's expiry.
        var expiry: CredentialExpiry?
        var label = "the observer's credential"
        switch facts.credential {
        case .certificate(let thumbprint, let notAfter):
            label = "the observer's certificate"
            if case .value(let app?) = facts.ownApplication,
                let c = app.credentials.certificates.first(where: {
                    $0.thumbprint?.uppercased() == thumbprint.uppercased()
                }),
                let end = c.end
            {
                expiry = CredentialExpiry(credentialId: thumbprint.uppercased(), expiresAt: end)
            } else if let notAfter {
                expiry = CredentialExpiry(credentialId: thumbprint.uppercased(), expiresAt: notAfter)
            }
        case .secret(let hint):
            label = "the observer's client secret"
            if case .value(let app?) = facts.ownApplication {
                let matches = app.credentials.secrets.filter { $0.hint == hint }
                let valid = matches.filter { ($0.end ?? .distantFuture) > now }
                if let s = (valid.isEmpty ? matches : valid).min(by: {
                    ($0.end ?? .distantFuture) < ($1.end ?? .distantFuture)
                }), let end = s.end {
                    expiry = CredentialExpiry(credentialId: s.keyId, expiresAt: end)
                }
            }
        }
        if case .failed(let f) = facts.ownApplication { details["own_application"] = .string(f.message) }
        if let expiry {
            let daysLeft = expiry.daysLeft(at: now)
            details["days_left"] = .int(Int64(daysLeft))
            details["expires_at"] = .string(Format.iso(expiry.expiresAt))
            let when = "\(Format.day(expiry.expiresAt)) (\(Format.relative(daysLeft: daysLeft)))"
            let status = thresholds.status(daysLeft: daysLeft)
            if expiry.expiresAt <= now {
                candidates.append(
                    CheckResult(
                        check: .observer, status: .critical, reason: .secretExpired,
                        summary: "\(label) expired on \(when)", details: details,
                        remediation:
                            "renew the monitoring app's credential under Certificates & secrets and update [[tenant]]",
                        checkedAt: now, expiry: expiry))
            } else if status != .ok {
                candidates.append(
                    CheckResult(
                        check: .observer, status: status, reason: .secretExpiring,
                        summary: "\(label) expires on \(when)", details: details,
                        remediation:
                            "renew the monitoring app's credential under Certificates & secrets and update [[tenant]]",
                        checkedAt: now, expiry: expiry))
            }
        }
        // The worst finding speaks; on a tie the credential's expiry (it stops everything).
        if let worst = candidates.reversed().max(by: { $0.status < $1.status }) {
            var r = worst
            r.details = details
            r.expiry = expiry
            return r
        }
        return CheckResult(
            check: .observer, status: .ok, reason: .ok,
            summary: expiry.map {
                "token accepted, permissions granted; \(label) expires on \(Format.day($0.expiresAt))"
            } ?? "token accepted, permissions granted",
            details: details, checkedAt: now, expiry: expiry)
    }
}
