import ConnwatchCore
import Foundation

extension ReportModel {
    /// A connector (or a tenant's observer) as the store holds it: for ``build(generatedAt:horizonDays:timeZone:thresholds:tenants:connectors:changesSince:changes:)``.
    public struct ConnectorSource: Sendable, Equatable {
        public var identity: ConnectorIdentity
        /// A tenant's observer (`observer:<tenant>`): shown with kind `observer`.
        public var isObserver: Bool
        /// Its latest results, one per check.
        public var checks: [CheckResult]
        /// Its own status (the worst of its checks) when the strip's first day began; nil: none yet.
        public var statusBefore: CheckStatus?
        /// Its own status changes since then, oldest first.
        public var transitions: [StatusPoint]

        public init(
            identity: ConnectorIdentity, isObserver: Bool = false, checks: [CheckResult],
            statusBefore: CheckStatus? = nil, transitions: [StatusPoint] = []
        ) {
            self.identity = identity
            self.isObserver = isObserver
            self.checks = checks
            self.statusBefore = statusBefore
            self.transitions = transitions
        }
    }

    /// A status a connector moved to, and when.
    public struct StatusPoint: Sendable, Equatable {
        public var at: Date
        public var status: CheckStatus

        public init(at: Date, status: CheckStatus) {
            self.at = at
            self.status = status
        }
    }

    /// A tenant known from the configuration (`[[tenant]]`), whether or not connectors use it.
    public struct TenantSource: Sendable, Equatable {
        public var tenantId: String
        public var displayName: String?
        public var domain: String?
        public var observed: Bool

        public init(tenantId: String, displayName: String? = nil, domain: String? = nil, observed: Bool) {
            self.tenantId = tenantId
            self.displayName = displayName
            self.domain = domain
            self.observed = observed
        }
    }

    /// How many local days a status strip covers (today included).
    public static let stripLength = 30

    /// The report of `connectors` at `generatedAt`. A tenant's name and domain are what
    /// `tenants` says (nothing else names an Entra tenant: Zscaler's `tenant_name` is its SaaS
    /// tenant's, one per connector). Tenants come in the order of `tenants`
    /// (the configuration's `[[tenant]]` entries), then those only connectors name, in
    /// order of first appearance; connectors by name within a tenant, the observer first.
    public static func build(
        generatedAt now: Date, horizonDays: Int, timeZone: TimeZone, thresholds: ExpiryThresholds,
        tenants: [TenantSource], connectors: [ConnectorSource], changesSince: Date? = nil, changes: [Change] = []
    ) -> ReportModel {
        let dayStarts = Self.dayStarts(endingAt: now, count: stripLength, timeZone: timeZone)
        var order: [String] = []
        var byKey: [String: Tenant] = [:]
        func key(_ id: String) -> String { id.lowercased() }
        for t in tenants where byKey[key(t.tenantId)] == nil {
            order.append(key(t.tenantId))
            byKey[key(t.tenantId)] = Tenant(
                tenantId: t.tenantId, displayName: t.displayName, domain: t.domain, observed: t.observed,
                connectors: [], credentials: [])
        }
        let sorted = connectors.sorted {
            $0.isObserver != $1.isObserver ? $0.isObserver : $0.identity.name < $1.identity.name
        }
        for source in sorted {
            let k = key(source.identity.tenantId)
            if byKey[k] == nil {
                order.append(k)
                byKey[k] = Tenant(
                    tenantId: source.identity.tenantId, observed: false, connectors: [], credentials: [])
            }
            byKey[k]!.connectors.append(connector(source, dayStarts: dayStarts, now: now))
            byKey[k]!.credentials += credentials(source, thresholds: thresholds, now: now)
        }
        let built = order.map { k -> Tenant in
            var t = byKey[k]!
            t.credentials.sort {
                ($0.expiresAt, $0.connector, $0.credentialId) < ($1.expiresAt, $1.connector, $1.credentialId)
            }
            return t
        }
        return ReportModel(
            generatedAt: now, horizonDays: horizonDays, timeZoneIdentifier: timeZone.identifier,
            warningDays: thresholds.warningDays, criticalDays: thresholds.criticalDays, stripDays: dayStarts,
            tenants: built, changesSince: changesSince, changes: changes.sorted { $0.at < $1.at })
    }

    static func connector(_ s: ConnectorSource, dayStarts: [Date], now: Date) -> Connector {
        let status = StatusReport.ConnectorStatus(identity: s.identity, checks: s.checks)
        // What to do: the remediations of the checks at the connector's (worst) status, in
        // check order, each once; one that another already says in full is left out (an
        // expired secret's "create a new client secret (step 1b), then …" twice).
        let troubled: [CheckResult] = s.checks.filter {
            $0.status != .ok && $0.status == status.status && !$0.remediation.isEmpty
        }
        let ordered: [CheckResult] = troubled.sorted { Self.rank($0.check) < Self.rank($1.check) }
        let texts: [String] = ordered.map(\.remediation)
        var steps: [String] = []
        for (i, t) in texts.enumerated() {
            let saidElsewhere = texts.enumerated().contains { j, other in
                j != i && other != t && other.contains(t)
            }
            if !saidElsewhere && !steps.contains(t) { steps.append(t) }
        }
        let remediation = steps.joined(separator: "; ")
        return Connector(
            name: s.identity.name, kind: s.isObserver ? "observer" : s.identity.kind.rawValue, status: status.status,
            reason: status.reason.rawValue, summary: status.summary, remediation: remediation,
            labels: s.identity.labels,
            days: dailyWorst(dayStarts: dayStarts, end: now, before: s.statusBefore, transitions: s.transitions))
    }

    /// A check's position in declaration order (the order checks are listed in).
    static func rank(_ c: CheckKind) -> Int { CheckKind.allCases.firstIndex(of: c) ?? 0 }

    /// The credentials `s` uses that have an expiry: the secret (`secret_expiry`), the
    /// certificate (`certificate`), an observer's own (`observer`).
    static func credentials(_ s: ConnectorSource, thresholds: ExpiryThresholds, now: Date) -> [Credential] {
        s.checks.compactMap { r -> Credential? in
            guard let expiry = r.expiry else { return nil }
            let which: Credential.Which
            switch r.check {
            case .certificate: which = .certificate
            case .observer: which = .observer
            default: which = .secret
            }
            var hint: String?
            if case .string(let h)? = r.details["hint"], !h.isEmpty { hint = h }
            return Credential(
                connector: s.identity.name, which: which, credentialId: expiry.credentialId, hint: hint,
                expiresAt: expiry.expiresAt,
                status: thresholds.status(daysLeft: expiry.daysLeft(at: now)))
        }
    }

    /// The first instants of the `count` local days ending with the day of `now` (oldest
    /// first), in `timeZone`: a day is 23 or 25 hours long across a DST change.
    public static func dayStarts(endingAt now: Date, count: Int, timeZone: TimeZone) -> [Date] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let today = calendar.startOfDay(for: now)
        return (0..<count).reversed().map { back in
            // Back from noon of today, then to the start of that day: safe on DST days.
            let noon = calendar.date(byAdding: .hour, value: 12, to: today)!
            let day = calendar.date(byAdding: .day, value: -back, to: noon)!
            return calendar.startOfDay(for: day)
        }
    }

    /// The worst status of each day: the status a day began with and every status it moved
    /// to during the day (`transitions` oldest first). A day before the first status known
    /// has no data (nil); so has a day that begins after `end`.
    public static func dailyWorst(
        dayStarts: [Date], end: Date, before: CheckStatus?, transitions: [StatusPoint]
    ) -> [CheckStatus?] {
        var current = before
        var i = 0
        var out: [CheckStatus?] = []
        out.reserveCapacity(dayStarts.count)
        for (d, start) in dayStarts.enumerated() {
            let next = d + 1 < dayStarts.count ? dayStarts[d + 1] : Date.distantFuture
            // Transitions before this day's start (only before the first day: `before` should cover them).
            while i < transitions.count, transitions[i].at < start {
                current = transitions[i].status
                i += 1
            }
            guard start <= end else {
                out.append(nil)
                continue
            }
            var worst = current
            while i < transitions.count, transitions[i].at < next {
                let s = transitions[i].status
                worst = worst.map { max($0, s) } ?? s
                current = s
                i += 1
            }
            out.append(worst)
        }
        return out
    }
}
