import Foundation

/// The steps of the reference procedure (`zscaler-custom-connector-microsoft.txt`)
/// that a remediation tells the operator to redo.
public enum ReferenceStep: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case registerApp = "1a"
    case clientSecret = "1b"
    case apiPermissions = "2"
    case roleAssignments = "3"
    case authorize = "4"
    case keyFile = "5"

    /// "step 1b" — how remediations cite it.
    public var citation: String { "step \(rawValue)" }

    public var title: String {
        switch self {
        case .registerApp: "register the application in Entra ID"
        case .clientSecret: "create a new client secret"
        case .apiPermissions: "add the API permissions and grant admin consent"
        case .roleAssignments:
            "assign Storage Blob Data Contributor and Storage Account Contributor on the subscription"
        case .authorize: "re-authorize the tenant in the Zscaler Admin Portal"
        case .keyFile: "rebuild the private key JSON file and upload the certificate"
        }
    }

    public var description: String { "\(title) (\(citation))" }
}

/// The credential an expiry-bearing check looked at: which one (Entra `keyId` of the
/// secret in use, or the certificate's SHA-1 thumbprint) and when it expires. The alert
/// ladder is keyed on `credentialId`: a new credential restarts it (SPEC §3).
public struct CredentialExpiry: Sendable, Equatable, Codable {
    public var credentialId: String
    public var expiresAt: Date

    public init(credentialId: String, expiresAt: Date) {
        self.credentialId = credentialId
        self.expiresAt = expiresAt
    }

    /// Whole days left at `now`, rounded down; negative once expired.
    public func daysLeft(at now: Date) -> Int {
        Int((expiresAt.timeIntervalSince(now) / 86400).rounded(.down))
    }

    enum CodingKeys: String, CodingKey {
        case credentialId = "credential_id"
        case expiresAt = "expires_at"
    }
}

/// What one check found about one connector (SPEC §3).
public struct CheckResult: Sendable, Equatable, Codable {
    public var check: CheckKind
    public var status: CheckStatus
    public var reason: Reason
    /// One line for tables, journal `MESSAGE` and webhook summaries.
    public var summary: String
    /// Structured facts (dates, missing permissions, trace IDs). Never secret.
    public var details: [String: JSONValue]
    /// What to do, naming the reference step to redo. Empty when nothing is to be done.
    public var remediation: String
    public var checkedAt: Date
    /// Set by expiry-bearing checks (secret_expiry, certificate) when the expiry is known.
    public var expiry: CredentialExpiry?

    public init(
        check: CheckKind, status: CheckStatus, reason: Reason, summary: String,
        details: [String: JSONValue] = [:], remediation: String = "", checkedAt: Date,
        expiry: CredentialExpiry? = nil
    ) {
        self.check = check
        self.status = status
        self.reason = reason
        self.summary = summary
        self.details = details
        self.remediation = remediation
        self.checkedAt = checkedAt
        self.expiry = expiry
    }

    enum CodingKeys: String, CodingKey {
        case check, status, reason, summary, details, remediation, expiry
        case checkedAt = "checked_at"
    }

    /// Remediation text from reference steps, in order: "create a new client secret
    /// (step 1b), then re-authorize the tenant in the Zscaler Admin Portal (step 4)".
    public static func remediation(_ steps: ReferenceStep..., prefix: String? = nil) -> String {
        let chain = steps.map(\.description).joined(separator: ", then ")
        guard let prefix, !prefix.isEmpty else { return chain }
        guard !chain.isEmpty else { return prefix }
        // A prefix that leads into the steps ("…, then", "…, else") runs on into them; any
        // other is a step of its own.
        let leadsIn = ["then", "else", "otherwise"].contains(prefix.split(separator: " ").last.map(String.init) ?? "")
        return prefix + (leadsIn ? " " : "; ") + chain
    }
}

/// A registered connector's identity as reported by status and alerts. Never secret.
public struct ConnectorIdentity: Sendable, Equatable, Codable {
    public var name: String
    public var kind: ConnectorKind
    public var tenantId: String
    public var clientId: String
    public var labels: [String: String]

    public init(name: String, kind: ConnectorKind, tenantId: String, clientId: String, labels: [String: String] = [:]) {
        self.name = name
        self.kind = kind
        self.tenantId = tenantId
        self.clientId = clientId
        self.labels = labels
    }

    public init(_ config: ConnectorConfig) {
        self.init(
            name: config.name, kind: config.kind, tenantId: config.tenantId, clientId: config.clientId,
            labels: config.labels)
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, labels
        case tenantId = "tenant_id"
        case clientId = "client_id"
    }
}
