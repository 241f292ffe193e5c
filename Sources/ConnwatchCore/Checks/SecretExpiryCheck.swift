import Foundation

/// `secret_expiry`: days until the secret in use expires (SPEC §3). The secret in use is
/// found by Graph's `hint` (its first three characters); without Graph, the operator's
/// `secret_expires`; else `unknown`/`expiry_unreadable` — never a guess.
public enum SecretExpiryCheck {
    public static func evaluate(
        application: Observed<ApplicationCredentials>, secretHint: String, configuredExpiry: CalendarDate?,
        thresholds: ExpiryThresholds, now: Date
    ) -> CheckResult {
        switch application {
        case .value(let app):
            return fromGraph(app, hint: secretHint, configured: configuredExpiry, thresholds: thresholds, now: now)
        case .blocked(let f):
            if let configuredExpiry {
                return fromConfigured(configuredExpiry, thresholds: thresholds, now: now, why: nil)
            }
            return f.unknownResult(.secretExpiry, what: "the app's secrets", now: now, blocked: true)
        case .failed(let f) where f.forbidden:
            if let configuredExpiry {
                return fromConfigured(
                    configuredExpiry, thresholds: thresholds, now: now, why: "Graph refused to read the app")
            }
            return CheckResult(
                check: .secretExpiry, status: .unknown, reason: .expiryUnreadable,
                summary: "the secret's expiry cannot be read: the app may not read its own registration (\(f.message))",
                details: f.details,
                remediation:
                    "grant Application.Read.All to the app (step 2, then admin consent in step 4), or set secret_expires = \"YYYY-MM-DD\" for this connector (the Expires date under Certificates & secrets)",
                checkedAt: now)
        case .failed(let f):
            if !f.transient, let configuredExpiry {
                return fromConfigured(configuredExpiry, thresholds: thresholds, now: now, why: f.message)
            }
            return f.unknownResult(.secretExpiry, what: "the app's secrets", now: now, blocked: false)
        }
    }

    static func describe(_ s: SecretInfo) -> JSONValue {
        var o: [String: JSONValue] = ["key_id": .string(s.keyId)]
        if let n = s.displayName { o["display_name"] = .string(n) }
        if let h = s.hint { o["hint"] = .string(h) }
        if let e = s.end { o["expires_at"] = .string(Format.iso(e)) }
        return .object(o)
    }

    static func fromGraph(
        _ app: ApplicationCredentials, hint: String, configured: CalendarDate?, thresholds: ExpiryThresholds, now: Date
    ) -> CheckResult {
        var details: [String: JSONValue] = ["secrets_on_app": .int(Int64(app.secrets.count))]
        let matches = app.secrets.filter { $0.hint == hint }
        // Several secrets can share a hint: prefer one that is still valid, and among
        // those the one expiring first (the pessimistic choice).
        let valid = matches.filter { ($0.end ?? .distantFuture) > now }
        guard
            let inUse = (valid.isEmpty ? matches : valid).min(by: {
                ($0.end ?? .distantFuture) < ($1.end ?? .distantFuture)
            })
        else {
            details["other_secrets"] = .array(app.secrets.map(describe))
            if let configured {
                return fromConfigured(
                    configured, thresholds: thresholds, now: now, why: "no secret on the app matches the configured one"
                )
            }
            return CheckResult(
                check: .secretExpiry, status: .unknown, reason: .expiryUnreadable,
                summary: "none of the app's \(app.secrets.count) secrets matches the configured one (hint \(hint))",
                details: details,
                remediation:
                    "the configured secret is not on this app registration: check client_id, or create a new client secret (step 1b) and re-authorize (step 4)",
                checkedAt: now)
        }
        if matches.count > 1 { details["ambiguous_hint"] = .int(Int64(matches.count)) }
        details["key_id"] = .string(inUse.keyId)
        details["hint"] = .string(hint)
        if let n = inUse.displayName { details["display_name"] = .string(n) }
        let others = app.secrets.filter { $0.keyId != inUse.keyId }
        if !others.isEmpty { details["other_secrets"] = .array(others.map(describe)) }

        guard let end = inUse.end else {
            details["source"] = "graph"
            return CheckResult(
                check: .secretExpiry, status: .ok, reason: .ok, summary: "the secret in use has no expiry date",
                details: details, checkedAt: now)
        }
        details["source"] = "graph"
        let expiry = CredentialExpiry(credentialId: inUse.keyId, expiresAt: end)
        let daysLeft = expiry.daysLeft(at: now)
        details["days_left"] = .int(Int64(daysLeft))
        details["expires_at"] = .string(Format.iso(end))
        let successor = others.filter {
            ($0.start ?? .distantPast) <= now && ($0.end ?? .distantPast) > end && ($0.end ?? .distantPast) > now
        }.max { ($0.end ?? .distantPast) < ($1.end ?? .distantPast) }
        if let successor { details["newer_secret"] = describe(successor) }
        return verdict(
            daysLeft: daysLeft, end: end, expiry: expiry, successor: successor, thresholds: thresholds,
            details: details, now: now, label: "the client secret")
    }

    static func fromConfigured(
        _ date: CalendarDate, thresholds: ExpiryThresholds, now: Date, why: String?
    )
        -> CheckResult
    {
        let end = Date(timeIntervalSince1970: TimeInterval(date.unixTime))
        let expiry = CredentialExpiry(credentialId: "secret_expires:\(date)", expiresAt: end)
        let daysLeft = expiry.daysLeft(at: now)
        var details: [String: JSONValue] = [
            "source": "secret_expires", "days_left": .int(Int64(daysLeft)), "expires_at": .string(Format.iso(end)),
        ]
        if let why { details["graph"] = .string(why) }
        return verdict(
            daysLeft: daysLeft, end: end, expiry: expiry, successor: nil, thresholds: thresholds, details: details,
            now: now, label: "the client secret (per secret_expires)")
    }

    static func verdict(
        daysLeft: Int, end: Date, expiry: CredentialExpiry, successor: SecretInfo?, thresholds: ExpiryThresholds,
        details: [String: JSONValue], now: Date, label: String
    ) -> CheckResult {
        let status = thresholds.status(daysLeft: daysLeft)
        let when = "\(Format.day(end)) (\(Format.relative(daysLeft: daysLeft)))"
        if end <= now {
            return CheckResult(
                check: .secretExpiry, status: .critical, reason: .secretExpired, summary: "\(label) expired on \(when)",
                details: details,
                remediation: CheckResult.remediation(
                    .clientSecret, .authorize,
                    prefix: successor != nil ? "a newer secret exists: give it to Zscaler" : nil),
                checkedAt: now, expiry: expiry)
        }
        if status == .ok {
            return CheckResult(
                check: .secretExpiry, status: .ok, reason: .ok, summary: "\(label) expires on \(when)",
                details: details, checkedAt: now, expiry: expiry)
        }
        if successor != nil {
            return CheckResult(
                check: .secretExpiry, status: status, reason: .rotationPending,
                summary: "\(label) expires on \(when); a newer secret exists but the old one is still in use",
                details: details,
                remediation: CheckResult.remediation(
                    .authorize,
                    prefix: "enter the newer secret's value in the Admin Portal and in connwatch's credential"),
                checkedAt: now, expiry: expiry)
        }
        return CheckResult(
            check: .secretExpiry, status: status, reason: .secretExpiring, summary: "\(label) expires on \(when)",
            details: details, remediation: CheckResult.remediation(.clientSecret, .authorize), checkedAt: now,
            expiry: expiry)
    }
}
