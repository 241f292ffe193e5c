import Foundation

/// Which registered credential the service uses, from what the observer can see
/// (SPEC §3b "In use"): the sign-in log's *successful* sign-ins first — their
/// `servicePrincipalCredentialKeyId` names the credential that worked — then the
/// `appCredentialSignInActivities` report, whose timestamp may include failed or
/// partial sign-ins. Only keyIds of the right kind count: a certificate's keyId never
/// makes a secret "in use", and the other way round.
public struct CredentialInUse: Sendable, Equatable {
    public enum Source: String, Sendable, Equatable {
        case signInLog = "sign_in_log"
        case credentialActivity = "credential_activity"
    }

    public var keyId: String
    public var source: Source
    public var lastUsed: Date

    public init(keyId: String, source: Source, lastUsed: Date) {
        self.keyId = keyId
        self.source = source
        self.lastUsed = lastUsed
    }

    /// - Parameters:
    ///   - keyIds: the keyIds that may be in use (the secrets', or the certificates').
    ///   - thumbprints: certificate thumbprints (upper-case hex) → keyId, for sign-ins that
    ///     name the certificate only by thumbprint.
    ///   - wanted: `.secret` or `.certificate`: activity rows of the other kind are skipped.
    public static func find(
        keyIds: Set<String>, thumbprints: [String: String] = [:], wanted: CredentialKeyType, signIns: SignInLog?,
        activity: Observed<[CredentialActivity]>
    ) -> CredentialInUse? {
        let ids = Set(keyIds.map { $0.lowercased() })
        var successes: [SignInEvent] = []
        if let signIns {
            if case .value(let list) = signIns.window { successes += list.filter(\.succeeded) }
            if case .value(let latest?) = signIns.latestSuccess, latest.succeeded { successes.append(latest) }
        }
        func keyId(of e: SignInEvent) -> String? {
            if let k = e.keyId?.lowercased(), ids.contains(k) { return k }
            if let t = e.thumbprint?.uppercased(), let k = thumbprints[t] { return k.lowercased() }
            return nil
        }
        if let best = successes.compactMap({ e in keyId(of: e).map { (e, $0) } }).max(by: {
            $0.0.createdAt < $1.0.createdAt
        }) {
            return CredentialInUse(keyId: best.1, source: .signInLog, lastUsed: best.0.createdAt)
        }
        guard case .value(let rows) = activity else { return nil }
        let used = rows.filter { row in
            row.keyType != (wanted == .secret ? .certificate : .secret) && ids.contains(row.keyId.lowercased())
                && row.lastSignIn != nil
        }
        guard let best = used.max(by: { $0.lastSignIn! < $1.lastSignIn! }) else { return nil }
        return CredentialInUse(keyId: best.keyId.lowercased(), source: .credentialActivity, lastUsed: best.lastSignIn!)
    }
}

/// `secret_expiry` of an observed connector (SPEC §3b): every secret on the application
/// and on its service principal, judged by the one in use; when that is unknown, by the
/// soonest-expiring valid one, with `in_use: "unknown"` and never `rotation_pending`
/// (a newer secret proves nothing when connwatch cannot tell which one the service holds).
public enum ObservedSecretExpiryCheck {
    public static func evaluate(
        application: Observed<ObservedApplication?>, servicePrincipal: Observed<ObservedServicePrincipal?>,
        activity: Observed<[CredentialActivity]>, signIns: SignInLog?, thresholds: ExpiryThresholds, now: Date
    ) -> CheckResult {
        let app: ObservedApplication
        switch application {
        case .value(let a?): app = a
        case .value(nil):
            return CheckResult(
                check: .secretExpiry, status: .unknown, reason: .appNotFound,
                summary: "not checked: the app registration does not exist", checkedAt: now)
        case .failed(let f), .blocked(let f):
            return f.observedUnknown(
                .secretExpiry, what: "the app's secrets", permission: .applicationReadAll, now: now)
        }
        var spSecrets: [SecretInfo] = []
        if case .value(let sp?) = servicePrincipal { spSecrets = sp.credentials.secrets }
        let secrets = app.credentials.secrets + spSecrets
        let origin = Dictionary(
            secrets.map { ($0.keyId.lowercased(), spSecrets.contains($0) ? "servicePrincipal" : "application") },
            uniquingKeysWith: { a, _ in a })
        var details: [String: JSONValue] = [
            "secrets_on_app": .int(Int64(app.credentials.secrets.count)),
            "secrets_on_service_principal": .int(Int64(spSecrets.count)),
        ]
        guard !secrets.isEmpty else {
            details["in_use"] = "unknown"
            return CheckResult(
                check: .secretExpiry, status: .critical, reason: .secretExpired,
                summary: "the app has no client secret: the connector cannot sign in with one", details: details,
                remediation: CheckResult.remediation(.clientSecret, .authorize), checkedAt: now)
        }
        let inUse = CredentialInUse.find(
            keyIds: Set(secrets.map(\.keyId)), wanted: .secret, signIns: signIns, activity: activity)
        let judged: SecretInfo
        var successor: SecretInfo?
        let label: String
        if let inUse, let s = secrets.first(where: { $0.keyId.lowercased() == inUse.keyId }) {
            judged = s
            details["in_use"] = .string(s.keyId)
            details["in_use_source"] = .string(inUse.source.rawValue)
            details["last_used_at"] = .string(Format.iso(inUse.lastUsed))
            label = "the client secret in use"
            if let end = s.end {
                successor = secrets.filter {
                    $0.keyId != s.keyId && ($0.start ?? .distantPast) <= now && ($0.end ?? .distantPast) > end
                        && ($0.end ?? .distantPast) > now
                }.max { ($0.end ?? .distantPast) < ($1.end ?? .distantPast) }
            }
        } else {
            details["in_use"] = "unknown"
            let valid = secrets.filter { ($0.end ?? .distantFuture) > now }
            // No valid one left: the one that expired last is the best case, and it is expired.
            judged =
                valid.min { ($0.end ?? .distantFuture) < ($1.end ?? .distantFuture) }
                ?? secrets.max { ($0.end ?? .distantPast) < ($1.end ?? .distantPast) }!
            label =
                valid.isEmpty
                ? "every client secret (the one in use is unknown)"
                : "the soonest-expiring valid client secret (the one in use is unknown)"
        }
        details["key_id"] = .string(judged.keyId)
        details["credential_origin"] = .string(origin[judged.keyId.lowercased()] ?? "application")
        if let h = judged.hint { details["hint"] = .string(h) }
        if let n = judged.displayName { details["display_name"] = .string(n) }
        let others = secrets.filter { $0.keyId != judged.keyId }
        if !others.isEmpty { details["other_secrets"] = .array(others.map(SecretExpiryCheck.describe)) }
        details["source"] = "graph"
        guard let end = judged.end else {
            return CheckResult(
                check: .secretExpiry, status: .ok, reason: .ok, summary: "\(label) has no expiry date",
                details: details, checkedAt: now)
        }
        let expiry = CredentialExpiry(credentialId: judged.keyId, expiresAt: end)
        let daysLeft = expiry.daysLeft(at: now)
        details["days_left"] = .int(Int64(daysLeft))
        details["expires_at"] = .string(Format.iso(end))
        if let successor { details["newer_secret"] = SecretExpiryCheck.describe(successor) }
        return SecretExpiryCheck.verdict(
            daysLeft: daysLeft, end: end, expiry: expiry, successor: successor, thresholds: thresholds,
            details: details, now: now, label: label)
    }
}

/// `certificate` of an observed SharePoint connector (SPEC §3b): the certificates
/// registered on the app and its service principal (expiry, thumbprint); with a local
/// `key_file`, that file is judged as in §3 against the registered thumbprints.
public enum ObservedCertificateCheck {
    public static func evaluate(
        application: Observed<ObservedApplication?>, servicePrincipal: Observed<ObservedServicePrincipal?>,
        keyFile: Result<LocalCertificate, KeyFileProblemError>?, activity: Observed<[CredentialActivity]>,
        signIns: SignInLog?, thresholds: ExpiryThresholds, now: Date
    ) -> CheckResult {
        let app: ObservedApplication
        switch application {
        case .value(let a?): app = a
        case .value(nil):
            return CheckResult(
                check: .certificate, status: .unknown, reason: .appNotFound,
                summary: "not checked: the app registration does not exist", checkedAt: now)
        case .failed(let f), .blocked(let f):
            if let keyFile, f.forbidden {
                // The key file alone still tells its own expiry.
                return CertificateCheck.evaluate(
                    keyFile: keyFile, application: .failed(f), thresholds: thresholds, now: now)
            }
            return f.observedUnknown(
                .certificate, what: "the app's certificates", permission: .applicationReadAll, now: now)
        }
        var certificates = app.credentials.certificates
        if case .value(let sp?) = servicePrincipal { certificates += sp.credentials.certificates }
        if let keyFile {
            return CertificateCheck.evaluate(
                keyFile: keyFile, application: .value(ApplicationCredentials(secrets: [], certificates: certificates)),
                thresholds: thresholds, now: now)
        }
        var details: [String: JSONValue] = ["registered_certificates": .int(Int64(certificates.count))]
        guard !certificates.isEmpty else {
            return CheckResult(
                check: .certificate, status: .critical, reason: .certNotRegistered,
                summary: "no certificate is registered on the app (SharePoint accepts certificates only)",
                details: details,
                remediation: CheckResult.remediation(
                    .keyFile, .authorize, prefix: "upload the certificate under Certificates & secrets"),
                checkedAt: now)
        }
        var byThumbprint: [String: String] = [:]
        for c in certificates { if let t = c.thumbprint?.uppercased() { byThumbprint[t] = c.keyId } }
        let inUse = CredentialInUse.find(
            keyIds: Set(certificates.map(\.keyId)), thumbprints: byThumbprint, wanted: .certificate,
            signIns: signIns, activity: activity)
        let judged: RegisteredCertificate
        if let inUse, let c = certificates.first(where: { $0.keyId.lowercased() == inUse.keyId }) {
            judged = c
            details["in_use"] = .string(c.keyId)
            details["in_use_source"] = .string(inUse.source.rawValue)
        } else {
            details["in_use"] = "unknown"
            let valid = certificates.filter { ($0.end ?? .distantFuture) > now }
            judged =
                valid.min { ($0.end ?? .distantFuture) < ($1.end ?? .distantFuture) }
                ?? certificates.max { ($0.end ?? .distantPast) < ($1.end ?? .distantPast) }!
        }
        details["key_id"] = .string(judged.keyId)
        if let t = judged.thumbprint { details["thumbprint"] = .string(t) }
        guard let end = judged.end else {
            return CheckResult(
                check: .certificate, status: .ok, reason: .ok, summary: "the registered certificate has no expiry date",
                details: details, checkedAt: now)
        }
        let expiry = CredentialExpiry(credentialId: judged.thumbprint ?? judged.keyId, expiresAt: end)
        let daysLeft = expiry.daysLeft(at: now)
        details["days_left"] = .int(Int64(daysLeft))
        details["expires_at"] = .string(Format.iso(end))
        let when = "\(Format.day(end)) (\(Format.relative(daysLeft: daysLeft)))"
        let remediation = CheckResult.remediation(.keyFile, .authorize, prefix: "issue a new certificate")
        if end <= now {
            return CheckResult(
                check: .certificate, status: .critical, reason: .certExpired,
                summary: "the registered certificate expired on \(when)", details: details, remediation: remediation,
                checkedAt: now, expiry: expiry)
        }
        let status = thresholds.status(daysLeft: daysLeft)
        if status != .ok {
            return CheckResult(
                check: .certificate, status: status, reason: .certExpiring,
                summary: "the registered certificate expires on \(when)", details: details, remediation: remediation,
                checkedAt: now, expiry: expiry)
        }
        return CheckResult(
            check: .certificate, status: .ok, reason: .ok, summary: "the registered certificate expires on \(when)",
            details: details, checkedAt: now, expiry: expiry)
    }
}
