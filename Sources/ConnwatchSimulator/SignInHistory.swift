import ConnwatchCore
import Foundation

/// The service-principal sign-ins a tenant's log holds for one app, derived from the
/// scenario's truth so the observer's reads agree with the token endpoint: a disabled
/// app's service fails with AADSTS7000112, a blocked one with 53003, one whose every
/// secret has expired with 7000222 (after succeeding until it expired); a healthy one
/// succeeds every few hours; a `stale` one last signed in ten days ago.
///
/// Times are relative to the scenario's clock (`now`), like credential expiry, and
/// deterministic: the same scenario gives the same log.
struct SimSignIn: Sendable {
    let id: String
    let createdAt: Date
    let resourceAppId: String
    let resourceDisplayName: String
    let resourceSPId: String?
    /// 0 for success, else the AADSTS number.
    let errorCode: Int
    let keyId: String?
    let thumbprint: String?
    /// `clientSecret` or `certificate`.
    let credentialType: String
    let ipAddress: String

    var succeeded: Bool { errorCode == 0 }
}

enum SignInHistory {
    /// The service's sign-ins over the last two days (newest first), per resource it uses.
    static let span: TimeInterval = 48 * 3600
    static let successEvery: TimeInterval = 4 * 3600
    static let failureEvery: TimeInterval = 1 * 3600
    /// A `stale` app's last sign-in.
    static let staleAge: TimeInterval = 10 * 86400

    static func events(_ app: AppEntry, tenant: TenantEntry, now: Date) -> [SimSignIn] {
        let pattern = app.app.signIns ?? .auto
        guard pattern != .none, app.hasServicePrincipal else { return [] }
        var out: [SimSignIn] = []
        for (n, resource) in resources(app, tenant: tenant).enumerated() {
            let certificateOnly = resource.appId == PermissionCatalog.resource(.sharePoint).appId
            var credential = inUse(app, now: now, certificate: certificateOnly)
            if pattern == .oldSecret, !certificateOnly {
                credential = Credential(keyId: nil, thumbprint: nil, type: "clientSecret", expiredAt: nil)
            }
            func event(_ at: Date, _ code: Int) -> SimSignIn {
                SimSignIn(
                    id: DeterministicID.uuid("signin", tenant.id, app.appId, resource.appId, SimClock.iso8601(at)),
                    createdAt: at, resourceAppId: resource.appId, resourceDisplayName: resource.displayName,
                    resourceSPId: resource.spId, errorCode: code, keyId: credential.keyId,
                    thumbprint: credential.thumbprint, credentialType: credential.type,
                    ipAddress: "203.0.113.\(10 + n)")
            }
            if pattern == .stale {
                out.append(event(now.addingTimeInterval(-staleAge - Double(n) * 60), 0))
                continue
            }
            let failure = failureCode(app, now: now)
            // Failures start when the last secret expired (or a day ago for the other causes).
            let failingSince: Date? =
                failure.map { code in
                    code == 7_000_222
                        ? max(credential.expiredAt ?? now, now.addingTimeInterval(-span))
                        : now.addingTimeInterval(-86400)
                }
            var t = now.addingTimeInterval(-span + Double(n) * 60)
            while t <= now {
                if let since = failingSince, t >= since {
                    out.append(event(t, failure!))
                    t += failureEvery
                } else {
                    out.append(event(t, 0))
                    t += successEvery
                }
            }
        }
        return out.sorted { $0.createdAt > $1.createdAt }
    }

    /// The AADSTS code every sign-in of the service fails with now, or nil.
    static func failureCode(_ app: AppEntry, now: Date) -> Int? {
        if app.app.disabled { return 7_000_112 }
        if app.app.signIns == .oldSecret { return 7_000_215 }
        if app.app.blockedByPolicy { return 53003 }
        if !app.secrets.isEmpty, app.secrets.allSatisfy({ $0.end <= now }) { return 7_000_222 }
        return nil
    }

    struct Credential {
        var keyId: String?
        var thumbprint: String?
        var type: String
        var expiredAt: Date?
    }

    /// The credential the service holds: the valid secret that expires first (the old
    /// one stays in use until someone rotates it in the Admin Portal), else the one that
    /// expired last; the certificate for SharePoint's certificate-only API.
    static func inUse(_ app: AppEntry, now: Date, certificate: Bool) -> Credential {
        if certificate || app.secrets.isEmpty,
            let c = app.certificates.first(where: { $0.end > now })
                ?? app.certificates.max(by: { $0.end < $1.end })
        {
            return Credential(
                keyId: c.keyId, thumbprint: c.sha1.map { String(format: "%02X", $0) }.joined(), type: "certificate",
                expiredAt: c.end <= now ? c.end : nil)
        }
        let valid = app.secrets.filter { $0.start <= now && $0.end > now }
        if let s = valid.min(by: { $0.end < $1.end }) {
            return Credential(keyId: s.keyId, thumbprint: nil, type: "clientSecret", expiredAt: nil)
        }
        if let s = app.secrets.max(by: { $0.end < $1.end }) {
            return Credential(keyId: s.keyId, thumbprint: nil, type: "clientSecret", expiredAt: s.end)
        }
        return Credential(keyId: nil, thumbprint: nil, type: "clientSecret", expiredAt: nil)
    }

    struct Resource {
        let appId: String
        let displayName: String
        let spId: String?
    }

    /// The resources the service signs in to: those it holds grants on, else Graph.
    static func resources(_ app: AppEntry, tenant: TenantEntry) -> [Resource] {
        var ids: [String] = []
        for g in app.appRoleGrants where !ids.contains(g.resource.resource.appId) {
            ids.append(g.resource.resource.appId)
        }
        for g in app.delegatedGrants where !ids.contains(g.resourceAppId.lowercased()) {
            ids.append(g.resourceAppId.lowercased())
        }
        if ids.isEmpty { ids = [PermissionCatalog.resource(.graph).appId] }
        return ids.map { id in
            let known = ResourceDirectory.byAppId[id]
            let principal = known.flatMap { tenant.resources[$0.id] }
            return Resource(appId: id, displayName: known?.displayName ?? id, spId: principal?.objectId)
        }
    }
}
