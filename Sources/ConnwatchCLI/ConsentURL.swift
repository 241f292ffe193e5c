import ConnwatchCore
import Foundation

/// The admin-consent URL for a connector (microsoft-facts §2.6). The reference document's
/// SaaS-tenant template is wrong — it puts the tenant ID where the client ID belongs and
/// drops the parameter names; this builds it right.
public enum ConsentURL {
    public enum Purpose: String, Sendable {
        /// Zscaler "Add SaaS Application Tenant".
        case saasTenant = "administration/add-casb-tenants"
        /// Zscaler "Add MIP Account".
        case mip = "administration/mip-labels"
    }

    /// - Parameters:
    ///   - loginEndpoint: the cloud's real login host (a browser opens it).
    ///   - tenant: the tenant ID: a tenant-specific authority avoids the `/common` pitfalls.
    public static func build(
        loginEndpoint: String, tenant: String, clientId: String, redirectURI: String, purpose: Purpose
    )
        -> String
    {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        let redirect = redirectURI.addingPercentEncoding(withAllowedCharacters: allowed) ?? redirectURI
        let base = loginEndpoint.hasSuffix("/") ? String(loginEndpoint.dropLast()) : loginEndpoint
        return "\(base)/\(tenant)/adminconsent?client_id=\(clientId)&state=\(purpose.rawValue)&redirect_uri=\(redirect)"
    }
}

extension ConsentURL {
    /// The admin-consent URL of a `[[tenant]]`'s monitoring app (SPEC §3b): the v1 endpoint
    /// with the tenant-specific authority, as for connectors, but no Zscaler `state` (the
    /// admin consents for connwatch, not for Zscaler). `redirect_uri` must exactly match
    /// one registered on the app (microsoft-facts §2.6); without one it is left out.
    public static func observer(
        loginEndpoint: String, tenant: String, clientId: String, redirectURI: String?
    )
        -> String
    {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        let base = loginEndpoint.hasSuffix("/") ? String(loginEndpoint.dropLast()) : loginEndpoint
        var url = "\(base)/\(tenant)/adminconsent?client_id=\(clientId)"
        if let redirectURI {
            url += "&redirect_uri=" + (redirectURI.addingPercentEncoding(withAllowedCharacters: allowed) ?? redirectURI)
        }
        return url
    }
}
