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
        guard CompactJWT(token) != nil else { return .failure(.malformed) }
        guard let claims = signer.verify(token) else { return .failure(.badSignature) }
        let now = Int(Date().timeIntervalSince1970)
        guard let exp = claims["exp"]?.intValue, now < exp + 300 else { return .failure(.expired) }
        if let nbf = claims["nbf"]?.intValue, now < nbf - 300 { return .failure(.expired) }
        let aud = claims["aud"]?.stringValue ?? ""
        guard let resolved = ResourceDirectory.resolve(aud), resolved.id == resource else {
            return .failure(.wrongAudience(aud))
        }
        if resource == .sharePoint, let sharePointHost, resolved.sharePointHost != nil,
            resolved.sharePointHost != sharePointHost.lowercased()
        {
            return .failure(.wrongAudience(aud))
        }
        guard let tid = claims["tid"]?.stringValue, let appId = claims["appid"]?.stringValue,
            let oid = claims["oid"]?.stringValue, claims["idtyp"]?.stringValue == "app"
        else { return .failure(.notAppToken) }
        let roles = Set(claims["roles"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        return .success(
            Caller(
                tenantId: tid, appId: appId, objectId: oid, roles: roles,
                appidacr: claims["appidacr"]?.stringValue ?? "", audience: resolved))
    }

    /// The `tid` of a bearer token without verifying it (for fault matching only).
    static func unverifiedTenant(_ request: SimRequest) -> String? {
        guard let token = request.bearerToken, let jwt = CompactJWT(token) else { return nil }
        return jwt.payload["tid"]?.stringValue
    }
}
