import Foundation

/// `[[tenant]]`: a tenant's observer (SPEC §3b, §4) — one read-only monitoring app per
/// Entra tenant that reads everything about the tenant's connector apps, so observed
/// connectors (`[[connector]]` without `client_secret_*`) need no secret of their own.
public struct TenantConfig: Sendable {
    /// How the monitoring app authenticates.
    public enum Credential: Sendable {
        /// `certificate_file`: one PEM holding the private key and the certificate
        /// (mode 0600). The path; the file is read (through `SecureFile`) when a token
        /// is needed, like a SharePoint `key_file`.
        case certificate(path: String)
        /// `client_secret_credential` / `client_secret_file`.
        case secret(Secret)

        public var isCertificate: Bool {
            if case .certificate = self { return true }
            return false
        }
    }

    /// Directory (tenant) ID: a GUID or a verified domain (lower-cased), as for connectors.
    public var tenantId: String
    /// The monitoring app's Application (client) ID — never a connector's.
    public var clientId: String
    public var credential: Credential
    /// Subscription GUIDs where the monitoring app has `Reader` (azure-blob `roles`).
    public var subscriptions: [String] = []
    /// `sign_in_logs`: read the sign-in log (AuditLog.Read.All, Entra ID P1/P2).
    public var signInLogs: Bool = true
    /// `sign_in_window`, default 24 h.
    public var signInWindow: ConfigDuration = .hours(24)
    /// `sign_in_stale_after`, default 7 d.
    public var signInStaleAfter: ConfigDuration = .days(7)
    public var source: SourceLocation

    public init(tenantId: String, clientId: String, credential: Credential, source: SourceLocation) {
        self.tenantId = tenantId
        self.clientId = clientId
        self.credential = credential
        self.source = source
    }

    /// The sign-in settings the `signin` check is evaluated with.
    public var signInSettings: SignInSettings {
        SignInSettings(window: TimeInterval(signInWindow.seconds), staleAfter: TimeInterval(signInStaleAfter.seconds))
    }
}

extension Configuration {
    /// The observer of a connector's tenant, if one is configured (tenant IDs compare
    /// case-insensitively: GUIDs and domains are stored lower-cased).
    public func observer(forTenant tenantId: String) -> TenantConfig? {
        let key = tenantId.lowercased()
        return tenants.first { $0.tenantId.lowercased() == key }
    }
}
