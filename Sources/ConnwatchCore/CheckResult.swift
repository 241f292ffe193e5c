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

    public init(
        check: CheckKind, status: CheckStatus, reason: Reason, summary: String,
        details: [String: JSONValue] = [:], remediation: String = "", checkedAt: Date
    ) {
        self.check = check
        self.status = status
        self.reason = reason
        self.summary = summary
        self.details = details
        self.remediation = remediation
        self.checkedAt = checkedAt
    }

    enum CodingKeys: String, CodingKey {
        case check, status, reason, summary, details, remediation
        case checkedAt = "checked_at"
    }

    /// Remediation text from reference steps, in order: "create a new client secret
    /// (step 1b), then re-authorize the tenant in the Zscaler Admin Portal (step 4)".
    public static func remediation(_ steps: ReferenceStep..., prefix: String? = nil) -> String {
        let chain = steps.map(\.description).joined(separator: ", then ")
        guard let prefix, !prefix.isEmpty else { return chain }
        return chain.isEmpty ? prefix : "\(prefix); \(chain)"
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
