import Foundation

/// `probe`: the APIs answer with these credentials — one cheap read each (SPEC §3).
public enum ProbeCheck {
    /// One probe call's outcome. `name` describes it: "Graph users", "Office 365 subscriptions/list".
    public struct Call: Sendable, Equatable {
        public var name: String
        public var outcome: Observed<String>

        public init(name: String, outcome: Observed<String>) {
            self.name = name
            self.outcome = outcome
        }
    }

    public static func evaluate(calls: [Call], now: Date) -> CheckResult {
        var details: [String: JSONValue] = [:]
        var results: [String: JSONValue] = [:]
        var worst: (CheckStatus, Reason, String, [String: JSONValue])?
        for call in calls {
            switch call.outcome {
            case .value(let note):
                results[call.name] = .string(note.isEmpty ? "ok" : note)
            case .blocked(let f):
                results[call.name] = .string("not run: \(f.reason.rawValue)")
                if worst == nil { worst = (.unknown, f.reason, "not run: \(f.message)", f.details) }
            case .failed(let f):
                results[call.name] = .string(f.message)
                let candidate: (CheckStatus, Reason, String, [String: JSONValue]) =
                    f.transient
                    ? (.unknown, f.reason, "\(call.name): \(f.message)", f.details)
                    : (.critical, f.forbidden ? .probeForbidden : .probeFailed, "\(call.name): \(f.message)", f.details)
                if worst == nil || candidate.0 > worst!.0 { worst = candidate }
            }
        }
        details["calls"] = .object(results)
        if let (status, reason, summary, extra) = worst {
            for (k, v) in extra { details[k] = v }
            let remediation: String =
                switch reason {
                case .probeForbidden:
                    CheckResult.remediation(
                        .apiPermissions, .authorize,
                        prefix: "the API refused the read: a permission or its consent is missing")
                case .probeFailed: "see details; the API rejected the call"
                default: status == .unknown ? "transient: connwatch retries on the next check" : ""
                }
            return CheckResult(
                check: .probe, status: status, reason: reason, summary: summary, details: details,
                remediation: remediation, checkedAt: now)
        }
        return CheckResult(
            check: .probe, status: .ok, reason: .ok,
            summary: "\(calls.map(\.name).joined(separator: ", ")) answered", details: details, checkedAt: now)
    }
}
