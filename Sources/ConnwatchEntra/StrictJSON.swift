import ConnwatchCore
import Foundation

/// The one way the adapters read Microsoft and Zscaler replies: from ``CompactJSON``'s tree,
/// field by field. A missing required field, a null, a wrong type or a malformed date is a
/// `badResponse` naming the field, never its value. (`JSONDecoder`, which this replaced, was
/// ~5% of a cycle's CPU; it survives only in the tests, as an independent oracle.)
protocol StrictDecodable {
    init(strict object: StrictObject) throws(StrictProblem)
}

enum StrictProblem: Error, Equatable {
    case missing(key: String)
    case wrongType(path: String)
    case null(path: String)
    case malformed(path: String)
    case notJSON

    var detail: String {
        switch self {
        case .missing(let key): "field \"\(key)\" is missing"
        case .wrongType(let path): "field \"\(path)\" has the wrong type"
        case .null(let path): "field \"\(path)\" is null"
        case .malformed(let path): "field \"\(path)\" is malformed"
        case .notJSON: "not valid JSON"
        }
    }

    static func decode<T: StrictDecodable>(_ type: T.Type, from body: Data, endpoint: String) throws(EntraError) -> T {
        try decodeObject(from: body, endpoint: endpoint) { (o) throws(StrictProblem) in try T(strict: o) }
    }
}

extension StrictProblem {
    /// A reply that is one JSON object, read by `read`.
    static func decodeObject<T>(
        from body: Data, endpoint: String, _ read: (StrictObject) throws(StrictProblem) -> T
    ) throws(EntraError) -> T {
        do throws(StrictProblem) {
            guard let root = try? CompactJSON.parse(body) else { throw StrictProblem.notJSON }
            guard case .object(let fields) = root else { throw StrictProblem.wrongType(path: "") }
            return try read(StrictObject(fields: fields, path: ""))
        } catch {
            throw .badResponse(endpoint: endpoint, detail: error.detail)
        }
    }

    /// A reply that is a JSON array of objects (Office 365's `subscriptions/list`).
    static func decodeList<T>(
        from body: Data, endpoint: String, _ element: (StrictObject) throws(StrictProblem) -> T
    ) throws(EntraError) -> [T] {
        do throws(StrictProblem) {
            guard let root = try? CompactJSON.parse(body) else { throw StrictProblem.notJSON }
            guard case .array(let items) = root else { throw StrictProblem.wrongType(path: "") }
            return try StrictObject.elements(items, path: "", element)
        } catch {
            throw .badResponse(endpoint: endpoint, detail: error.detail)
        }
    }
}

/// One JSON object and where it sits in the reply (for error messages).
struct StrictObject {
    let fields: [String: JSONValue]
    let path: String

    private func at(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// A required value: missing and null are errors.
    private func required(_ key: String) throws(StrictProblem) -> JSONValue {
        guard let value = fields[key] else { throw .missing(key: key) }
        if case .null = value { throw .null(path: at(key)) }
        return value
    }

    func string(_ key: String) throws(StrictProblem) -> String {
        guard case .string(let s) = try required(key) else { throw .wrongType(path: at(key)) }
        return s
    }

    /// Missing or null: nil.
    func optionalString(_ key: String) throws(StrictProblem) -> String? {
        switch fields[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        default: throw .wrongType(path: at(key))
        }
    }

    func int(_ key: String) throws(StrictProblem) -> Int {
        guard case .int(let i) = try required(key), let n = Int(exactly: i) else { throw .wrongType(path: at(key)) }
        return n
    }

    /// Missing or null: nil.
    func optionalInt64(_ key: String) throws(StrictProblem) -> Int64? {
        switch fields[key] {
        case nil, .null?: return nil
        case .int(let i)?: return i
        default: throw .wrongType(path: at(key))
        }
    }

    /// Missing or null: nil.
    func optionalBool(_ key: String) throws(StrictProblem) -> Bool? {
        switch fields[key] {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        default: throw .wrongType(path: at(key))
        }
    }

    /// An array of strings; missing or null: nil.
    func optionalStrings(_ key: String) throws(StrictProblem) -> [String]? {
        switch fields[key] {
        case nil, .null?: return nil
        case .array(let items)?:
            var out: [String] = []
            out.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                guard case .string(let s) = item else { throw .wrongType(path: "\(at(key))[\(i)]") }
                out.append(s)
            }
            return out
        default: throw .wrongType(path: at(key))
        }
    }

    /// Missing or null: nil.
    func optionalObject(_ key: String) throws(StrictProblem) -> StrictObject? {
        switch fields[key] {
        case nil, .null?: return nil
        case .object(let fields)?: return StrictObject(fields: fields, path: at(key))
        default: throw .wrongType(path: at(key))
        }
    }

    /// Microsoft's ISO 8601 timestamp; missing or null: nil.
    func optionalDate(_ key: String) throws(StrictProblem) -> Date? {
        guard let text = try optionalString(key) else { return nil }
        guard let date = MicrosoftDate.parse(text) else { throw .malformed(path: at(key)) }
        return date
    }

    func object(_ key: String) throws(StrictProblem) -> StrictObject {
        guard case .object(let fields) = try required(key) else { throw .wrongType(path: at(key)) }
        return StrictObject(fields: fields, path: at(key))
    }

    func objects<T>(_ key: String, _ element: (StrictObject) throws(StrictProblem) -> T) throws(StrictProblem) -> [T] {
        guard case .array(let items) = try required(key) else { throw .wrongType(path: at(key)) }
        return try StrictObject.elements(items, path: at(key), element)
    }

    /// Missing or null: nil.
    func optionalObjects<T>(
        _ key: String, _ element: (StrictObject) throws(StrictProblem) -> T
    ) throws(StrictProblem) -> [T]? {
        switch fields[key] {
        case nil, .null?: return nil
        case .array(let items)?: return try StrictObject.elements(items, path: at(key), element)
        default: throw .wrongType(path: at(key))
        }
    }

    static func elements<T>(
        _ items: [JSONValue], path: String, _ element: (StrictObject) throws(StrictProblem) -> T
    ) throws(StrictProblem) -> [T] {
        var out: [T] = []
        out.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            switch item {
            case .object(let fields): out.append(try element(StrictObject(fields: fields, path: "\(path)[\(i)]")))
            case .null: throw .null(path: "\(path)[\(i)]")
            default: throw .wrongType(path: "\(path)[\(i)]")
            }
        }
        return out
    }
}

extension PasswordCredentialInfo {
    init(strict o: StrictObject) throws(StrictProblem) {
        self.init(
            keyId: try o.string("keyId"), displayName: try o.optionalString("displayName"),
            hint: try o.optionalString("hint"), startDateTime: try o.optionalDate("startDateTime"),
            endDateTime: try o.optionalDate("endDateTime"))
    }
}

extension KeyCredentialInfo {
    init(strict o: StrictObject) throws(StrictProblem) {
        self.init(
            keyId: try o.string("keyId"), displayName: try o.optionalString("displayName"),
            customKeyIdentifier: try o.optionalString("customKeyIdentifier"), type: try o.optionalString("type"),
            usage: try o.optionalString("usage"), startDateTime: try o.optionalDate("startDateTime"),
            endDateTime: try o.optionalDate("endDateTime"))
    }
}

extension ApplicationInfo: StrictDecodable {
    init(strict o: StrictObject) throws(StrictProblem) {
        self.init(
            id: try o.string("id"), appId: try o.string("appId"), displayName: try o.optionalString("displayName"),
            passwordCredentials: try o.objects("passwordCredentials") { (c) throws(StrictProblem) in
                try PasswordCredentialInfo(strict: c)
            },
            keyCredentials: try o.objects("keyCredentials") { (c) throws(StrictProblem) in
                try KeyCredentialInfo(strict: c)
            },
            requiredResourceAccess: try o.optionalObjects("requiredResourceAccess") { (r) throws(StrictProblem) in
                RequiredResourceAccessInfo(
                    resourceAppId: try r.string("resourceAppId"),
                    resourceAccess: try r.objects("resourceAccess") { (a) throws(StrictProblem) in
                        ResourceAccessInfo(id: try a.string("id"), type: try a.string("type"))
                    })
            })
    }
}

extension ServicePrincipalInfo: StrictDecodable {
    init(strict o: StrictObject) throws(StrictProblem) {
        self.init(
            id: try o.string("id"), appId: try o.string("appId"), displayName: try o.optionalString("displayName"),
            appRoles: try o.optionalObjects("appRoles") { (r) throws(StrictProblem) in
                AppRoleInfo(
                    id: try r.string("id"), value: try r.optionalString("value"),
                    displayName: try r.optionalString("displayName"))
            })
    }
}

extension AppRoleAssignmentInfo: StrictDecodable {
    init(strict o: StrictObject) throws(StrictProblem) {
        self.init(
            id: try o.string("id"), appRoleId: try o.string("appRoleId"), principalId: try o.string("principalId"),
            resourceId: try o.string("resourceId"), resourceDisplayName: try o.optionalString("resourceDisplayName"))
    }
}

extension OAuth2PermissionGrantInfo: StrictDecodable {
    init(strict o: StrictObject) throws(StrictProblem) {
        self.init(
            clientId: try o.string("clientId"), consentType: try o.string("consentType"),
            resourceId: try o.string("resourceId"), scope: try o.optionalString("scope"))
    }
}

/// A probe reads one page of a list and keeps nothing: `value` must be a list of objects.
struct ProbePage: StrictDecodable {
    init(strict o: StrictObject) throws(StrictProblem) {
        _ = try o.objects("value") { _ in () }
        _ = try o.optionalString("@odata.nextLink")
    }
}

extension ARMClient.Page: StrictDecodable where T: StrictDecodable {
    init(strict o: StrictObject) throws(StrictProblem) {
        self.init(
            value: try o.objects("value") { (e) throws(StrictProblem) in try T(strict: e) },
            nextLink: try o.optionalString("nextLink"))
    }
}

extension ARMClient.Wire: StrictDecodable {
    init(strict o: StrictObject) throws(StrictProblem) {
        let p = try o.object("properties")
        self.init(
            id: try o.string("id"),
            properties: Properties(
                roleDefinitionId: try p.string("roleDefinitionId"), principalId: try p.string("principalId"),
                scope: try p.string("scope")))
    }
}

extension SubscriptionInfo: StrictDecodable {
    init(strict o: StrictObject) throws(StrictProblem) {
        self.init(
            subscriptionId: try o.string("subscriptionId"), displayName: try o.optionalString("displayName"),
            state: try o.optionalString("state"))
    }
}

extension OfficeManagementClient.ContentSubscription {
    init(strict o: StrictObject) throws(StrictProblem) {
        self.init(contentType: try o.string("contentType"), status: try o.string("status"))
    }
}
