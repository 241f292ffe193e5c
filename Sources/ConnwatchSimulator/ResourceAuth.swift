import ConnwatchCore
import Foundation

/// The caller of a resource API, from a verified access token.
struct Caller: Sendable {
    let tenantId: String
    let appId: String
    /// The service principal's object ID (`oid`).
    let objectId: String
    let roles: Set<String>
    /// `1` secret, `2` certificate.
    let appidacr: String
    let audience: ResourceDirectory.Resolved

    func has(anyOf permissions: [String]) -> Bool {
        permissions.contains { roles.contains($0) }
    }
}

/// Why a bearer token was refused.
enum TokenRejection: Error, Sendable, Equatable {
    case missing
    case malformed
    case badSignature
    case expired
    case wrongAudience(String)
    case notAppToken
}

/// Verifies bearer tokens the simulator's identity platform issued.
struct ResourceAuth: Sendable {
    let signer: TokenSigner

    /// Verifies the request's token: signature, lifetime (5 minutes of skew, as Microsoft's
    /// resource APIs allow) and that `aud` names `resource`.
    func caller(
        _ request: SimRequest, for resource: ResourceID, sharePointHost: String? = nil
    )
        -> Result<Caller, TokenRejection>
    {
        guard let token = request.bearerToken else { return .failure(.missing) }
        guard let facts = signer.verify(token) else {
            return .failure(CompactJWT(token) == nil ? .malformed : .badSignature)
        }
        let now = Int(Date().timeIntervalSince1970)
        guard let exp = facts.expiry, now < exp + 300 else { return .failure(.expired) }
        if let nbf = facts.notBefore, now < nbf - 300 { return .failure(.expired) }
        guard let resolved = ResourceDirectory.resolve(facts.audience), resolved.id == resource else {
            return .failure(.wrongAudience(facts.audience))
        }
        if resource == .sharePoint, let sharePointHost, resolved.sharePointHost != nil,
            resolved.sharePointHost != sharePointHost.lowercased()
        {
            return .failure(.wrongAudience(facts.audience))
        }
        guard let tid = facts.tenantId, let appId = facts.appId, let oid = facts.objectId, facts.isAppToken else {
            return .failure(.notAppToken)
        }
        return .success(
            Caller(
                tenantId: tid, appId: appId, objectId: oid, roles: facts.roles, appidacr: facts.appidacr ?? "",
                audience: resolved))
    }

    /// The `tid` of a bearer token without verifying it (for fault matching only).
    func unverifiedTenant(_ request: SimRequest) -> String? {
        request.bearerToken.flatMap(signer.unverifiedTenant)
    }
}
