import Foundation

/// A Zscaler SaaS application tenant as `GET /casbTenant/lite` lists it (microsoft-facts
/// §3.1). Only the fields connwatch uses; nothing here is secret.
public struct ZscalerTenant: Sendable, Equatable {
    public var tenantId: Int
    public var tenantName: String
    /// Undocumented values: shown, never relied on for matching (SPEC §3).
    public var saasApplication: String?
    /// For Microsoft applications, the Entra directory (tenant) ID.
    public var enterpriseTenantId: String?
    /// `status[]` as Zscaler sends it (e.g. `ACTIVE`, `VALIDATION_FAILED`).
    public var statuses: [String]
    public var lastValidationTime: Date?
    public var deleted: Bool
    public var reAuth: Bool

    public init(
        tenantId: Int, tenantName: String, saasApplication: String? = nil, enterpriseTenantId: String? = nil,
        statuses: [String] = [], lastValidationTime: Date? = nil, deleted: Bool = false, reAuth: Bool = false
    ) {
        self.tenantId = tenantId
        self.tenantName = tenantName
        self.saasApplication = saasApplication
        self.enterpriseTenantId = enterpriseTenantId
        self.statuses = statuses
        self.lastValidationTime = lastValidationTime
        self.deleted = deleted
        self.reAuth = reAuth
    }

    /// Zscaler's verdict, from the status strings and flags.
    public var state: ZscalerTenantState { ZscalerTenantState(statuses: statuses, deleted: deleted, reAuth: reAuth) }
}

/// The four states of the Admin Portal's SaaS Application Tenants page, plus deletion.
/// `status[]` has no published enum (microsoft-facts §3.1 [U]): values are compared
/// case-insensitively without separators, so `VALIDATION_FAILED`, `Validation Failed` and
/// `validationFailed` are one state.
public enum ZscalerTenantState: String, Sendable, Equatable, Comparable {
    case active
    case inactive
    case reauthRequired = "reauth_required"
    case validationFailed = "validation_failed"
    case deleted
    /// A status value connwatch does not know.
    case unrecognised

    public init(statuses: [String], deleted: Bool, reAuth: Bool) {
        if deleted {
            self = .deleted
            return
        }
        let known = statuses.map { ZscalerTenantState.classify($0) }
        // The most severe known state wins; "reAuth": true alone means reauthorization.
        var state: ZscalerTenantState? = known.compactMap { $0 }.max()
        if reAuth, state == nil || state! < .reauthRequired { state = .reauthRequired }
        if let state {
            self = state
        } else {
            self = statuses.isEmpty ? .inactive : .unrecognised
        }
    }

    static func classify(_ raw: String) -> ZscalerTenantState? {
        let k = raw.lowercased().filter { $0.isLetter }
        switch k {
        case "active", "validationsuccessful", "validated": return .active
        case "inactive", "disabled": return .inactive
        case "reauthrequired", "reauthorizationrequired", "reauth": return .reauthRequired
        case "validationfailed", "failed", "invalid": return .validationFailed
        case "deleted": return .deleted
        default: return nil
        }
    }

    private var rank: Int {
        switch self {
        case .active: 0
        case .unrecognised: 1
        case .inactive: 2
        case .reauthRequired: 3
        case .deleted: 4
        case .validationFailed: 5
        }
    }

    public static func < (a: ZscalerTenantState, b: ZscalerTenantState) -> Bool { a.rank < b.rank }

    /// The Admin Portal's label.
    public var label: String {
        switch self {
        case .active: "Active"
        case .inactive: "Inactive"
        case .reauthRequired: "Reauthorization Required"
        case .validationFailed: "Validation Failed"
        case .deleted: "deleted"
        case .unrecognised: "an unrecognised status"
        }
    }
}

/// `GET /casbTenant/validate/status/{tenantId}` without `tenantAuthorizationInfo`, which
/// the decoder never reads except for its `clientId` (the app registration Zscaler
/// authorized; not secret — it is every connector's `client_id`).
public struct ZscalerValidation: Sendable, Equatable {
    public var tenantId: Int
    public var tenantName: String
    public var statuses: [String]
    public var deleted: Bool
    public var lastValidationTime: Date?
    public var errorCode: Int?
    public var errorMessage: String?
    public var authorizedClientId: String?

    public init(
        tenantId: Int, tenantName: String, statuses: [String] = [], deleted: Bool = false,
        lastValidationTime: Date? = nil, errorCode: Int? = nil, errorMessage: String? = nil,
        authorizedClientId: String? = nil
    ) {
        self.tenantId = tenantId
        self.tenantName = tenantName
        self.statuses = statuses
        self.deleted = deleted
        self.lastValidationTime = lastValidationTime
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.authorizedClientId = authorizedClientId
    }
}

/// The documented classes of `lastValidationMsg.errorCode`
/// (help.zscaler.com/zia/saas-application-validation-error-codes, microsoft-facts §3.1).
public enum ZscalerErrorClass: String, Sendable, Equatable {
    /// 1, 2, 4, 500, 501–599: Zscaler's or the SaaS provider's trouble; retry.
    case transient
    /// 201–299: JSON serialisation failed; retry later.
    case serialization
    /// 400–499: authenticating or authorising to the SaaS app failed.
    case authentication
    /// Any other code.
    case other

    public init(code: Int) {
        switch code {
        case 1, 2, 4, 500...599: self = .transient
        case 201...299: self = .serialization
        case 400...499: self = .authentication
        default: self = .other
        }
    }

    public var meaning: String {
        switch self {
        case .transient: "a temporary Zscaler or Microsoft-side failure; Zscaler retries"
        case .serialization: "Zscaler could not serialise the reply (JSON); retry later"
        case .authentication: "Zscaler could not authenticate to or is not authorised on the Microsoft tenant"
        case .other: "an undocumented validation error code"
        }
    }
}

/// How a connector's SaaS tenant was found in the list.
public enum ZscalerMatch: Sendable, Equatable {
    case matched(ZscalerTenant, how: String)
    case unmatched(String)
    case ambiguous([ZscalerTenant], String)
}

/// Matching a connector to its SaaS tenant (SPEC §3): by `zscaler_tenant_id`, else by
/// `enterpriseTenantId` = the connector's tenant ID and, when several tenants share it, by
/// the authorization's client ID = the connector's client ID. `saasApplication` is not
/// used: its values are undocumented.
public enum ZscalerMatching {
    /// The tenants sharing the connector's Entra tenant ID, live ones first considered.
    public static func candidates(tenantId: String, in tenants: [ZscalerTenant]) -> [ZscalerTenant] {
        let all = tenants.filter { $0.enterpriseTenantId?.lowercased() == tenantId.lowercased() }
        let live = all.filter { !$0.deleted }
        return live.isEmpty ? all : live
    }

    /// - Parameter authorizedClientIds: tenant ID → the client ID Zscaler authorized, for
    ///   the candidates whose validation status was read (only needed when several share
    ///   the Entra tenant).
    public static func match(
        connector: ConnectorConfig, tenants: [ZscalerTenant], authorizedClientIds: [Int: String]
    ) -> ZscalerMatch {
        if let id = connector.zscalerTenantId {
            if let t = tenants.first(where: { $0.tenantId == id }) {
                return .matched(t, how: "zscaler_tenant_id")
            }
            return .unmatched(
                "zscaler_tenant_id \(id) is not among the \(tenants.count) SaaS tenants Zscaler lists; check the ID in the Admin Portal (SaaS Application Tenants)"
            )
        }
        guard Validators.isGUID(connector.tenantId) else {
            return .unmatched(
                "tenant_id \(connector.tenantId) is a domain, and Zscaler lists tenants by Entra tenant GUID; set zscaler_tenant_id")
        }
        let found = candidates(tenantId: connector.tenantId, in: tenants)
        switch found.count {
        case 0:
            return .unmatched(
                "no Zscaler SaaS tenant has Entra tenant ID \(connector.tenantId) (\(tenants.count) listed); add the tenant in the Admin Portal (step 4) or set zscaler_tenant_id"
            )
        case 1:
            return .matched(found[0], how: "enterpriseTenantId")
        default:
            let byClient = found.filter {
                authorizedClientIds[$0.tenantId]?.lowercased() == connector.clientId.lowercased()
            }
            if byClient.count == 1 { return .matched(byClient[0], how: "enterpriseTenantId and authorized client ID") }
            let names = found.map { "\($0.tenantId) \"\($0.tenantName)\"" }.joined(separator: ", ")
            return .ambiguous(
                found,
                "\(found.count) Zscaler SaaS tenants share Entra tenant ID \(connector.tenantId) (\(names)) and \(byClient.isEmpty ? "none" : "several") was authorized with client ID \(connector.clientId); set zscaler_tenant_id"
            )
        }
    }
}
