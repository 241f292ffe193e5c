import Foundation

/// `certificate` (SharePoint): the key file is valid, its key matches its certificate,
/// the certificate is not expiring, and it is registered on the app (SPEC §3).
public enum CertificateCheck {
    public enum KeyFileProblem: Sendable, Equatable {
        case invalid(String)
        case keyMismatch
    }

    public static func evaluate(
        keyFile: Result<LocalCertificate, KeyFileProblemError>, application: Observed<ApplicationCredentials>,
        thresholds: ExpiryThresholds, now: Date
    ) -> CheckResult {
        let local: LocalCertificate
        switch keyFile {
        case .failure(let e):
            switch e.problem {
            case .keyMismatch:
                return CheckResult(
                    check: .certificate, status: .critical, reason: .keyMismatch,
                    summary: "the key file's private key does not belong to its certificate", details: [:],
                    remediation: CheckResult.remediation(.keyFile, .authorize), checkedAt: now)
            case .invalid(let why):
                return CheckResult(
                    check: .certificate, status: .critical, reason: .keyfileInvalid,
                    summary: "the key file is invalid: \(why)",
                    details: [:],
                    remediation: CheckResult.remediation(
                        .keyFile, .authorize,
                        prefix:
                            "check it with connwatchctl keyfile inspect, or rebuild it with connwatchctl keyfile create"
                    ),
                    checkedAt: now)
            }
        case .success(let c): local = c
        }
        var details: [String: JSONValue] = [
            "thumbprint": .string(local.thumbprint), "subject": .string(local.subject),
            "expires_at": .string(Format.iso(local.notAfter)),
        ]
        let expiry = CredentialExpiry(credentialId: local.thumbprint, expiresAt: local.notAfter)
        let daysLeft = expiry.daysLeft(at: now)
        details["days_left"] = .int(Int64(daysLeft))
        let when = "\(Format.day(local.notAfter)) (\(Format.relative(daysLeft: daysLeft)))"

        if local.notAfter <= now {
            return CheckResult(
                check: .certificate, status: .critical, reason: .certExpired,
                summary: "the certificate expired on \(when)",
                details: details,
                remediation: CheckResult.remediation(.keyFile, .authorize, prefix: "issue a new certificate"),
                checkedAt: now, expiry: expiry)
        }
        // Registration, when Graph lets us read the app.
        if case .value(let app) = application {
            details["registered_certificates"] = .int(Int64(app.certificates.count))
            if !app.certificates.contains(where: { $0.thumbprint?.uppercased() == local.thumbprint.uppercased() }) {
                return CheckResult(
                    check: .certificate, status: .critical, reason: .certNotRegistered,
                    summary: "the key file's certificate (thumbprint \(local.thumbprint)) is not registered on the app",
                    details: details,
                    remediation: CheckResult.remediation(
                        .keyFile, .authorize, prefix: "upload the certificate under Certificates & secrets"),
                    checkedAt: now, expiry: expiry)
            }
            details["registered"] = true
        } else {
            details["registered"] = "unknown: the app's registration cannot be read"
        }
        let status = thresholds.status(daysLeft: daysLeft)
        if status != .ok {
            return CheckResult(
                check: .certificate, status: status, reason: .certExpiring,
                summary: "the certificate expires on \(when)",
                details: details,
                remediation: CheckResult.remediation(.keyFile, .authorize, prefix: "issue a new certificate"),
                checkedAt: now, expiry: expiry)
        }
        return CheckResult(
            check: .certificate, status: .ok, reason: .ok, summary: "the certificate expires on \(when)",
            details: details, checkedAt: now, expiry: expiry)
    }
}

/// Why a key file could not be used (an `Error` so it fits `Result`).
public struct KeyFileProblemError: Error, Sendable, Equatable {
    public var problem: CertificateCheck.KeyFileProblem
    public init(_ problem: CertificateCheck.KeyFileProblem) { self.problem = problem }
}
