import Foundation

/// `signin` (observed, SPEC §3b): the service's own sign-ins, from the tenant's
/// sign-in log. Judged per resource: a resource whose latest sign-in in
/// `sign_in_window` failed makes the check `critical` with the credential reason of that
/// AADSTS code — the same table as the token client's (``AADSTSCodes``). No successful
/// sign-in within `sign_in_stale_after` is `signin_stale`: the service stopped using it.
public enum SignInCheck {
    /// How the connector is watched.
    public enum Mode: Sendable, Equatable {
        /// Observed only: no secret held.
        case observed
        /// The connector has its own secret too; this is connwatch's own `credential`
        /// result of the same cycle. Staleness is ignored (connwatch's own token requests
        /// are in the log) and failures count only when that credential worked: then they
        /// are the service's, which holds an old secret (`signin_failing_elsewhere`).
        case alongsideOwnCredential(CheckResult)
    }

    /// A result, or the check left out with a note for the connector's `notes`: without
    /// a P1/P2 licence or the permissions the log cannot be read, and a permanent
    /// `unknown` would page for something that is not broken.
    public enum Outcome: Sendable, Equatable {
        case result(CheckResult)
        case leftOut(note: String)

        public var result: CheckResult? {
            if case .result(let r) = self { return r }
            return nil
        }
    }

    /// The remediation of `signin_failing_elsewhere` (SPEC §3b).
    public static let failingElsewhereRemediation = "re-authorize the tenant in the Admin Portal (step 4)"

    public static func evaluate(log: SignInLog?, settings: SignInSettings, mode: Mode, now: Date) -> Outcome {
        guard let log else {
            return .leftOut(note: "signin: not checked: sign_in_logs is off for this tenant's observer")
        }
        let events: [SignInEvent]
        switch log.window {
        case .value(let list): events = list
        case .failed(let f) where f.notLicensed:
            return .leftOut(
                note:
                    "signin: not checked: the tenant has no Microsoft Entra ID P1/P2 licence, which the sign-in log needs"
            )
        case .failed(let f) where f.forbidden:
            return .leftOut(
                note:
                    "signin: not checked: the observer may not read the sign-in log (grant it AuditLog.Read.All and Directory.Read.All)"
            )
        case .failed(let f), .blocked(let f):
            return .result(f.observedUnknown(.signin, what: "the sign-in log", permission: nil, now: now))
        }

        if case .alongsideOwnCredential(let own) = mode, own.status != .ok {
            // connwatch's own sign-in failed too: the failures cannot be told apart from ours.
            return .result(
                CheckResult(
                    check: .signin, status: .unknown, reason: own.reason,
                    summary: "not judged: connwatch's own credential check is \(own.status) (\(own.reason))",
                    details: ["blocked_by": .string(own.check.rawValue)],
                    remediation: "fix the \(own.check) check first", checkedAt: now))
        }

        let inWindow = events.filter { $0.createdAt >= now.addingTimeInterval(-settings.window) && $0.createdAt <= now }
            .filter { !isTransient($0) }
        var details: [String: JSONValue] = [
            "window": .string(ConfigDurationText.text(settings.window)),
            "sign_ins": .int(Int64(inWindow.count)),
        ]
        let failing = failingResources(inWindow)
        if let worst = failing.max(by: { $0.last < $1.last }) {
            details["count"] = .int(Int64(worst.count))
            details["first_at"] = .string(Format.iso(worst.first))
            details["last_at"] = .string(Format.iso(worst.last))
            details["resource"] = .string(worst.latest.resourceDisplayName ?? worst.latest.resourceAppId ?? "unknown")
            if let id = worst.latest.resourceAppId { details["resource_id"] = .string(id) }
            if let k = worst.latest.keyId { details["key_id"] = .string(k) }
            if let t = worst.latest.thumbprint { details["thumbprint"] = .string(t) }
            if let ip = worst.latest.ipAddress { details["ip_address"] = .string(ip) }
            details["aadsts"] = .int(Int64(worst.latest.errorCode))
            if let why = worst.latest.failureReason { details["failure_reason"] = .string(why) }
            if failing.count > 1 {
                details["failing_resources"] = .array(
                    failing.map { .string($0.latest.resourceDisplayName ?? $0.latest.resourceAppId ?? "unknown") })
            }
            let api = worst.latest.resourceDisplayName ?? worst.latest.resourceAppId ?? "a resource"
            let times = worst.count == 1 ? "once" : "\(worst.count) times"
            if case .alongsideOwnCredential = mode {
                return .result(
                    CheckResult(
                        check: .signin, status: .critical, reason: .signinFailingElsewhere,
                        summary:
                            "the service's sign-ins to \(api) fail (AADSTS\(worst.latest.errorCode), \(times) since \(Format.iso(worst.first))) while connwatch's copy of the secret works: the service holds an old secret",
                        details: details, remediation: failingElsewhereRemediation, checkedAt: now))
            }
            let reason = AADSTSCodes.reason(code: worst.latest.errorCode) ?? .idpError
            return .result(
                CheckResult(
                    check: .signin, status: .critical, reason: reason,
                    summary:
                        "the service's sign-ins to \(api) fail: AADSTS\(worst.latest.errorCode) (\(reason)), \(times) since \(Format.iso(worst.first))",
                    details: details, remediation: CredentialCheck.remediation(for: reason), checkedAt: now))
        }

        let latestSuccessInWindow = inWindow.filter(\.succeeded).map(\.createdAt).max()
        if case .alongsideOwnCredential = mode {
            if let t = latestSuccessInWindow { details["last_success_at"] = .string(Format.iso(t)) }
            return .result(
                CheckResult(
                    check: .signin, status: .ok, reason: .ok, summary: "no failing sign-ins of the service",
                    details: details, checkedAt: now))
        }
        // Staleness: the window's successes, else the `$top=1` query over sign_in_stale_after.
        var lastSuccess = latestSuccessInWindow
        if lastSuccess == nil {
            switch log.latestSuccess {
            case .value(let e?) where e.createdAt >= now.addingTimeInterval(-settings.staleAfter):
                lastSuccess = e.createdAt
            case .value: break
            case .failed(let f) where f.notLicensed || f.forbidden:
                return .leftOut(note: "signin: staleness not checked: \(f.message)")
            case .failed(let f), .blocked(let f):
                return .result(
                    f.observedUnknown(.signin, what: "the latest successful sign-in", permission: nil, now: now))
            }
        }
        guard let lastSuccess else {
            details["stale_after"] = .string(ConfigDurationText.text(settings.staleAfter))
            return .result(
                CheckResult(
                    check: .signin, status: .warning, reason: .signinStale,
                    summary:
                        "no successful sign-in for \(ConfigDurationText.text(settings.staleAfter)): the service has stopped using this app",
                    details: details,
                    remediation: CheckResult.remediation(
                        .authorize,
                        prefix:
                            "check the tenant's status in the Zscaler Admin Portal; if the connector is no longer used, remove it from connwatch, else"
                    ),
                    checkedAt: now))
        }
        details["last_success_at"] = .string(Format.iso(lastSuccess))
        return .result(
            CheckResult(
                check: .signin, status: .ok, reason: .ok,
                summary: "the service signs in; last success \(Format.iso(lastSuccess))", details: details,
                checkedAt: now))
    }

    /// A failure whose code is a transient token-service problem says nothing about the credential.
    static func isTransient(_ e: SignInEvent) -> Bool {
        guard !e.succeeded, let r = AADSTSCodes.reason(code: e.errorCode) else { return false }
        return r.isTransient
    }

    struct Failing {
        var latest: SignInEvent
        var count: Int
        var first: Date
        var last: Date
    }

    /// Per resource (the log's `resourceId`, else its display name): whether the latest
    /// sign-in failed, and the failures since the last success.
    static func failingResources(_ events: [SignInEvent]) -> [Failing] {
        let groups = Dictionary(grouping: events) { $0.resourceAppId?.lowercased() ?? $0.resourceDisplayName ?? "" }
        var out: [Failing] = []
        for key in groups.keys.sorted() {
            let list = groups[key]!.sorted { $0.createdAt < $1.createdAt }
            guard let latest = list.last, !latest.succeeded else { continue }
            let lastSuccess = list.last(where: \.succeeded)?.createdAt ?? .distantPast
            let failures = list.filter { !$0.succeeded && $0.createdAt > lastSuccess }
            out.append(
                Failing(latest: latest, count: failures.count, first: failures.first!.createdAt, last: latest.createdAt)
            )
        }
        return out
    }
}

/// "24h", "7d", "90m": how durations are written in the configuration.
enum ConfigDurationText {
    static func text(_ seconds: TimeInterval) -> String {
        let s = Int(seconds)
        if s % 86400 == 0 { return "\(s / 86400)d" }
        if s % 3600 == 0 { return "\(s / 3600)h" }
        if s % 60 == 0 { return "\(s / 60)m" }
        return "\(s)s"
    }
}
