import ConnwatchCore
import Foundation

/// A fleet of connectors and the facts Microsoft would report about them, changing over
/// time the way real fleets do. Deterministic for a seed.
///
/// Per simulated day, on average: 0.5% of connectors rotate their secret (a new secret is
/// added and used; the old one is deleted two days later), 0.3% lose two required
/// permissions (consent revoked; restored after one to three days), 0.3% of Azure Blob
/// connectors lose a role assignment (restored after one to two days); 0.2% of connector
/// checks hit a network blip on one token request. Secrets start with 20 to 760 days
/// left, so some cross the warning and ladder thresholds during a run.
struct ChurnFleet {
    struct SecretFact {
        var keyId: String
        var hint: String
        var start: Date
        var end: Date
    }

    struct Facts {
        var secrets: [SecretFact]
        var hintInUse: String
        var granted: [ResourceID: [String]]
        var revokedUntil: Date?
        var roleRemovedUntil: Date?
        var deleteOldSecretAt: Date?
        var blipThisCycle = false
    }

    let connectors: [ConnectorConfig]
    private(set) var facts: [Facts]
    private(set) var eventCounts: [String: Int] = [:]
    private var rng: SplitMix64
    private let certificateEnd: Date
    private static let thumbprint = "3F2A9C1B7D4E5F60718293A4B5C6D7E8F9012345"

    init(count: Int, start: Date, seed: UInt64) {
        rng = SplitMix64(seed: seed)
        certificateEnd = start.addingTimeInterval(400 * 86400)
        let kinds = ConnectorKind.allCases
        var connectors: [ConnectorConfig] = []
        var facts: [Facts] = []
        for i in 0..<count {
            let kind = kinds[i % kinds.count]
            let tenant = i / kinds.count
            var c = ConnectorConfig(
                name: String(format: "c%05d-%@", i, kind.rawValue), kind: kind,
                tenantId: String(format: "7e000000-0000-4000-8000-%012d", tenant),
                clientId: String(format: "a0000000-0000-4000-8000-%012d", i),
                clientSecret: Secret("Bq8~benchmark-not-a-secret"), source: SourceLocation(file: "benchmark"))
            if kind == .sharepoint { c.sharePointHost = "t\(tenant).sharepoint.com" }
            if kind == .azureBlob { c.subscriptionId = String(format: "5b000000-0000-4000-8000-%012d", tenant) }
            connectors.append(c)
            let end = start.addingTimeInterval(Double(20 + Int(rng.next() % 740)) * 86400)
            let secret = SecretFact(
                keyId: Self.keyId(i, 0), hint: "Bq8", start: start.addingTimeInterval(-90 * 86400), end: end)
            var granted: [ResourceID: [String]] = [:]
            for r in c.requirements.resources {
                granted[r] = c.requirements.applicationPermissions(for: r).map(\.name)
            }
            facts.append(Facts(secrets: [secret], hintInUse: "Bq8", granted: granted))
        }
        self.connectors = connectors
        self.facts = facts
    }

    static func keyId(_ connector: Int, _ generation: Int) -> String {
        String(format: "%08x-0000-4000-8000-%012d", generation, connector)
    }

    private mutating func chance(perDay rate: Double) -> Bool {
        Double(rng.next() % 1_000_000) / 1_000_000 < rate / 24
    }

    private mutating func count(_ event: String) { eventCounts[event, default: 0] += 1 }

    /// Applies this hour's changes.
    mutating func churn(at now: Date, hourIndex: Int) {
        for i in facts.indices {
            var f = facts[i]
            f.blipThisCycle = Double(rng.next() % 1_000_000) / 1_000_000 < 0.002
            if f.blipThisCycle { count("network_blips") }
            if let until = f.revokedUntil, until <= now {
                for r in f.granted.keys {
                    f.granted[r] = connectors[i].requirements.applicationPermissions(for: r).map(\.name)
                }
                f.revokedUntil = nil
                count("consents_restored")
            }
            if let until = f.roleRemovedUntil, until <= now {
                f.roleRemovedUntil = nil
                count("roles_restored")
            }
            if let at = f.deleteOldSecretAt, at <= now {
                f.secrets.removeAll { $0.hint != f.hintInUse }
                f.deleteOldSecretAt = nil
                count("old_secrets_deleted")
            }
            if f.deleteOldSecretAt == nil && chance(perDay: 0.005) {
                let generation = f.secrets.count + hourIndex
                let hint = String(format: "R%02d", generation % 100)
                f.secrets.append(
                    SecretFact(
                        keyId: Self.keyId(i, generation), hint: hint, start: now,
                        end: now.addingTimeInterval(730 * 86400)))
                f.hintInUse = hint
                f.deleteOldSecretAt = now.addingTimeInterval(2 * 86400)
                count("secrets_rotated")
            }
            if f.revokedUntil == nil, connectors[i].kind != .azureBlob, chance(perDay: 0.003),
                let first = connectors[i].requirements.resources.first, let roles = f.granted[first], roles.count > 2
            {
                f.granted[first] = Array(roles.dropFirst(2))
                f.revokedUntil = now.addingTimeInterval(Double(24 + Int(rng.next() % 48)) * 3600)
                count("consents_revoked")
            }
            if f.roleRemovedUntil == nil, connectors[i].kind == .azureBlob, chance(perDay: 0.003) {
                f.roleRemovedUntil = now.addingTimeInterval(Double(24 + Int(rng.next() % 24)) * 3600)
                count("roles_removed")
            }
            facts[i] = f
        }
    }

    /// The connector's check results at `now`, in plan order, as `ConnectorChecker` would
    /// produce them from these facts.
    func results(of i: Int, now: Date, thresholds: ExpiryThresholds) -> [CheckResult] {
        let c = connectors[i]
        let f = facts[i]
        let req = c.requirements
        let oid = String(format: "0b000000-0000-4000-8000-%012d", i)
        let tokens: [TokenObservation] = req.resources.enumerated().map { n, r in
            if f.blipThisCycle && n == 0 {
                return TokenObservation(
                    resource: r,
                    outcome: .failed(
                        ObservedFailure(
                            reason: .unreachable, transient: true, message: "connection reset by peer")))
            }
            let roles = f.granted[r] ?? []
            return TokenObservation(
                resource: r, outcome: .value(GrantedToken(roles: roles, hasRolesClaim: !roles.isEmpty, objectId: oid)))
        }
        let credential = CredentialCheck.evaluate(tokens: tokens, secretLooksLikeGUID: false, now: now)
        let application: Observed<ApplicationCredentials> =
            credential.status == .ok || !f.blipThisCycle
            ? .value(
                ApplicationCredentials(
                    secrets: f.secrets.map {
                        SecretInfo(keyId: $0.keyId, displayName: "zscaler", hint: $0.hint, start: $0.start, end: $0.end)
                    },
                    certificates: c.kind == .sharepoint
                        ? [RegisteredCertificate(keyId: Self.keyId(i, 9999), thumbprint: Self.thumbprint, end: certificateEnd)]
                        : []))
            : .blocked(ObservedFailure(reason: credential.reason, transient: true, message: credential.summary))
        var results: [CheckResult] = []
        for check in CheckPlan.checks(for: c.kind) {
            switch check {
            case .credential:
                results.append(credential)
            case .secretExpiry:
                results.append(
                    SecretExpiryCheck.evaluate(
                        application: application, secretHint: f.hintInUse, configuredExpiry: nil,
                        thresholds: thresholds, now: now))
            case .certificate:
                results.append(
                    CertificateCheck.evaluate(
                        keyFile: .success(
                            LocalCertificate(
                                thumbprint: Self.thumbprint, notAfter: certificateEnd,
                                subject: "CN=connwatch benchmark SharePoint")),
                        application: application, thresholds: thresholds, now: now))
            case .consent:
                results.append(ConsentCheck.evaluate(kind: c.kind, tokens: tokens, now: now))
            case .roles:
                let scope = "/subscriptions/\(c.subscriptionId ?? "")"
                var assignments = [ObservedRoleAssignment(roleDefinitionId: "ba92f5b4-2d11-453d-a403-e96b0029c9fe", scope: scope)]
                if f.roleRemovedUntil == nil {
                    assignments.append(
                        ObservedRoleAssignment(roleDefinitionId: "17d1049b-9a84-46fb-8f53-869881c3d3ab", scope: scope))
                }
                results.append(
                    RolesCheck.evaluate(
                        assignments: f.blipThisCycle
                            ? .blocked(ObservedFailure(reason: .unreachable, transient: true, message: "no token"))
                            : .value(assignments),
                        subscriptionId: c.subscriptionId ?? "", now: now))
            case .probe:
                let outcome: Observed<String> =
                    f.blipThisCycle
                    ? .blocked(ObservedFailure(reason: .unreachable, transient: true, message: "no token")) : .value("")
                results.append(ProbeCheck.evaluate(calls: [.init(name: "Graph users", outcome: outcome)], now: now))
            case .zscaler, .app, .signin, .observer:
                break
            }
        }
        return results
    }
}

/// A small, seedable PRNG (SplitMix64) so runs are repeatable.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
