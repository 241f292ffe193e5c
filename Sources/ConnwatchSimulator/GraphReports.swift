import ConnwatchCore
import Foundation
import HTTPTypes
import Synchronization

/// The beta sign-in reads an observer makes (observer-facts §3–§5):
/// `reports/appCredentialSignInActivities`, `reports/servicePrincipalSignInActivities`
/// and `auditLogs/signIns`, with their permissions, the P1/P2 licence error and the
/// reports limit of 5 requests per 10 s per app and tenant.
extension GraphService {
    /// Reports and audit logs accept AuditLog.Read.All; Directory.Read.All is the higher option.
    static let readReports = ["AuditLog.Read.All", "Directory.Read.All"]

    static func licenceError(_ tenant: TenantEntry) -> Failure {
        Failure(
            status: HTTPResponse.Status(code: tenant.licenceErrorStatus),
            code: "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            message: "Neither tenant is B2C or tenant doesn't have premium license")
    }

    /// `reports/{appCredentialSignInActivities|servicePrincipalSignInActivities}` (beta only).
    func reports(_ first: EntitySegment, _ rest: [String], _ c: GraphContext) throws(Failure) -> SimResponse {
        guard c.version == "beta", first.key == nil, rest.count == 1 else {
            throw Failure(
                status: .badRequest, code: "BadRequest",
                message: "Resource not found for the segment '\(rest.first ?? first.raw)'.")
        }
        guard c.caller.has(anyOf: Self.readReports) else { throw Self.denied }
        guard c.tenant.premium else { throw Self.licenceError(c.tenant) }
        try reportsGate.admit(tenant: c.tenant.id, appId: c.caller.appId)
        let now = c.now
        switch rest[0] {
        case "appCredentialSignInActivities":
            let filter = try c.filter(allowed: ["appId", "keyId"])
            var rows: [JSONNode] = []
            for app in c.tenant.apps {
                if let f = filter, f.property == "appId", f.value.lowercased() != app.appId { continue }
                for row in credentialActivities(app, tenant: c.tenant, now: now) {
                    if let f = filter, f.property == "keyId", row["keyId"]?.stringValue != f.value.lowercased() {
                        continue
                    }
                    rows.append(row)
                }
            }
            return try c.collection(rows, contextPath: "reports/appCredentialSignInActivities", pageSize: 100)
        case "servicePrincipalSignInActivities":
            let filter = try c.filter(allowed: ["appId"])
            var rows: [JSONNode] = []
            for app in c.tenant.apps where app.hasServicePrincipal {
                if let f = filter, f.value.lowercased() != app.appId { continue }
                rows.append(servicePrincipalActivity(app, tenant: c.tenant, now: now))
            }
            return try c.collection(rows, contextPath: "reports/servicePrincipalSignInActivities", pageSize: 100)
        default:
            throw Failure(
                status: .badRequest, code: "BadRequest", message: "Resource not found for the segment '\(rest[0])'.")
        }
    }

    /// One row per credential of the app: its last sign-in (failures included: the
    /// report does not say a timestamp means success) and its expiry, spelled as the
    /// app's `report_spelling` says.
    private func credentialActivities(_ app: AppEntry, tenant: TenantEntry, now: Date) -> [JSONNode] {
        let events = SignInHistory.events(app, tenant: tenant, now: now)
        let example = app.app.reportSpelling == .example
        var credentials: [(keyId: String, type: String, start: Date, end: Date)] =
            app.secrets.map { (keyId: $0.keyId, type: "clientSecret", start: $0.start, end: $0.end) }
        credentials += app.certificates.map { (keyId: $0.keyId, type: "certificate", start: $0.start, end: $0.end) }
        return credentials.map { cred in
            let last = events.first { $0.keyId == cred.keyId }
            let keyType = cred.type == "clientSecret" && example ? "secret" : cred.type
            return .object([
                ("id", .string(Data("\(cred.keyId)|application".utf8).base64EncodedString())),
                ("appId", .string(app.appId)),
                ("appObjectId", .string(app.objectId)),
                ("servicePrincipalObjectId", .string(app.spObjectId)),
                ("resourceId", JSONNode.optional(last?.resourceAppId)),
                ("keyId", .string(cred.keyId)),
                ("keyType", .string(keyType)),
                ("keyUsage", .string(cred.type == "certificate" ? "verify" : "sign")),
                ("credentialOrigin", "application"),
                ("createdDateTime", .string(SimClock.iso8601(cred.start))),
                (example ? "expirationDate" : "expirationDateTime", .string(SimClock.iso8601(cred.end))),
                (
                    "signInActivity",
                    .object([
                        ("lastSignInDateTime", JSONNode.optional(last.map { SimClock.iso8601($0.createdAt) })),
                        ("lastSignInRequestId", JSONNode.optional(last?.id)),
                    ])
                ),
            ])
        }
    }

    private func servicePrincipalActivity(_ app: AppEntry, tenant: TenantEntry, now: Date) -> JSONNode {
        let last = SignInHistory.events(app, tenant: tenant, now: now).first
        let activity: JSONNode = .object([
            ("lastSignInDateTime", JSONNode.optional(last.map { SimClock.iso8601($0.createdAt) })),
            ("lastSignInRequestId", JSONNode.optional(last?.id)),
        ])
        let none: JSONNode = .object([("lastSignInDateTime", .null), ("lastSignInRequestId", .null)])
        return .object([
            ("id", .string(Data(app.appId.utf8).base64EncodedString())),
            ("appId", .string(app.appId)),
            ("applicationAuthenticationClientSignInActivity", activity),
            ("applicationAuthenticationResourceSignInActivity", none),
            ("delegatedClientSignInActivity", none),
            ("delegatedResourceSignInActivity", none),
            ("lastSignInActivity", activity),
        ])
    }

    /// `auditLogs/signIns`: beta lists service-principal sign-ins when the filter asks
    /// for them; v1.0 (and beta without that clause) lists interactive ones only, of
    /// which the simulated tenants have none. Newest first, `$top` up to 1,000, paged.
    func auditLogs(_ first: EntitySegment, _ rest: [String], _ c: GraphContext) throws(Failure) -> SimResponse {
        guard first.key == nil, rest == ["signIns"] else {
            throw Failure(
                status: .badRequest, code: "BadRequest",
                message: "Resource not found for the segment '\(rest.first ?? first.raw)'.")
        }
        // The "known issue": consent to both is required (observer-facts §5).
        guard c.caller.roles.contains("AuditLog.Read.All"), c.caller.has(anyOf: ["Directory.Read.All"]) else {
            throw Self.denied
        }
        guard c.tenant.premium else { throw Self.licenceError(c.tenant) }
        try reportsGate.admit(tenant: c.tenant.id, appId: c.caller.appId)
        let query = try SignInQuery(c.request.queryValue("$filter"))
        var events: [(AppEntry, SimSignIn)] = []
        if c.version == "beta" && query.servicePrincipal {
            for app in c.tenant.apps {
                if let appId = query.appId, appId != app.appId { continue }
                for e in SignInHistory.events(app, tenant: c.tenant, now: c.now) where query.matches(e) {
                    events.append((app, e))
                }
            }
        }
        events.sort { $0.1.createdAt > $1.1.createdAt }
        let objects = events.map { signInObject($0.0, $0.1) }
        return try c.collection(objects, contextPath: "auditLogs/signIns", pageSize: 1000, maxPageSize: 1000)
    }

    private func signInObject(_ app: AppEntry, _ e: SimSignIn) -> JSONNode {
        .object([
            ("id", .string(e.id)),
            ("createdDateTime", .string(SimClock.iso8601(e.createdAt))),
            ("appId", .string(app.appId)),
            ("appDisplayName", .string(app.displayName)),
            ("ipAddress", .string(e.ipAddress)),
            ("resourceDisplayName", .string(e.resourceDisplayName)),
            ("resourceId", .string(e.resourceAppId)),
            ("resourceServicePrincipalId", JSONNode.optional(e.resourceSPId)),
            ("servicePrincipalId", .string(app.spObjectId)),
            ("servicePrincipalName", .string(app.displayName)),
            ("servicePrincipalCredentialKeyId", JSONNode.optional(e.keyId)),
            ("servicePrincipalCredentialThumbprint", .string(e.thumbprint ?? "")),
            ("clientCredentialType", .string(e.credentialType)),
            ("signInEventTypes", .array(["servicePrincipal"])),
            (
                "status",
                .object([
                    ("errorCode", .int(e.errorCode)),
                    ("failureReason", e.succeeded ? .null : .string(Self.failureReason(e.errorCode))),
                    ("additionalDetails", .null),
                ])
            ),
        ])
    }

    static func failureReason(_ code: Int) -> String {
        switch code {
        case 7_000_222: "The provided client secret keys are expired."
        case 7_000_215: "Invalid client secret is provided."
        case 7_000_112: "Application is disabled."
        case 53003: "Access has been blocked by Conditional Access policies."
        default: "Other."
        }
    }
}

/// The `$filter` of a sign-in list: `appId eq '…'`,
/// `signInEventTypes/any(t: t eq 'servicePrincipal')`, `createdDateTime ge|gt|le|lt <time>`
/// and `status/errorCode eq|ne <n>`, joined by `and`.
struct SignInQuery {
    var appId: String?
    var servicePrincipal = false
    var after: (Date, inclusive: Bool)?
    var before: (Date, inclusive: Bool)?
    var errorCode: (Int, equal: Bool)?

    init(_ filter: String?) throws(GraphService.Failure) {
        guard let filter else { return }
        let unsupported = GraphService.Failure(
            status: .badRequest, code: "Request_UnsupportedQuery", message: "Invalid filter clause.")
        for clause in filter.components(separatedBy: " and ") {
            let t = clause.trimmingCharacters(in: .whitespaces)
            let compact = t.replacingOccurrences(of: " ", with: "")
            if compact.lowercased().hasPrefix("signineventtypes/any(") {
                guard compact.lowercased().contains("eq'serviceprincipal'") else { throw unsupported }
                servicePrincipal = true
                continue
            }
            let parts = t.split(separator: " ", maxSplits: 2).map(String.init)
            guard parts.count == 3 else { throw unsupported }
            let (property, op, value) = (parts[0].lowercased(), parts[1].lowercased(), parts[2])
            switch (property, op) {
            case ("appid", "eq"):
                guard value.hasPrefix("'"), value.hasSuffix("'"), value.count >= 2 else { throw unsupported }
                appId = String(value.dropFirst().dropLast()).lowercased()
            case ("createddatetime", "ge"), ("createddatetime", "gt"):
                guard let d = SimClock.parseISO8601(value) else { throw unsupported }
                after = (d, op == "ge")
            case ("createddatetime", "le"), ("createddatetime", "lt"):
                guard let d = SimClock.parseISO8601(value) else { throw unsupported }
                before = (d, op == "le")
            case ("status/errorcode", "eq"), ("status/errorcode", "ne"):
                guard let n = Int(value) else { throw unsupported }
                errorCode = (n, op == "eq")
            default:
                throw unsupported
            }
        }
    }

    func matches(_ e: SimSignIn) -> Bool {
        if let a = after, a.inclusive ? e.createdAt < a.0 : e.createdAt <= a.0 { return false }
        if let b = before, b.inclusive ? e.createdAt > b.0 : e.createdAt >= b.0 { return false }
        if let c = errorCode, (e.errorCode == c.0) != c.equal { return false }
        return true
    }
}

/// The reports limit: 5 requests per 10 s per app and tenant (observer-facts, [THR]); the
/// sixth gets 429 with `Retry-After` until the oldest leaves the window. Real time, not
/// the scenario's clock: clients pace themselves with theirs.
final class ReportsGate: Sendable {
    static let limit = 5
    static let window: TimeInterval = 10

    private let recent = Mutex<[String: [Date]]>([:])

    func admit(tenant: String, appId: String, now: Date = Date()) throws(GraphService.Failure) {
        let key = tenant + "|" + appId.lowercased()
        let wait: Int? = recent.withLock { all in
            var times = (all[key] ?? []).filter { now.timeIntervalSince($0) < Self.window }
            defer { all[key] = times }
            guard times.count < Self.limit else {
                let oldest = times.min()!
                return max(1, Int((Self.window - now.timeIntervalSince(oldest)).rounded(.up)))
            }
            times.append(now)
            return nil
        }
        if let wait {
            throw GraphService.Failure(
                status: .tooManyRequests, code: "TooManyRequests",
                message:
                    "Too many requests from Identifier:\(tenant)+\(appId) under category:throttle.aad.reports. Please try again later.",
                headers: [("Retry-After", String(wait))])
        }
    }
}
