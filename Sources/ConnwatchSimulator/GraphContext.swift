import Foundation
import HTTPTypes

// OData plumbing of the simulated Graph: path segments with keys, and the per-request
// context that applies `$filter`, `$select`, `$top` and paging (split from GraphService).

/// One OData path segment: `applications`, `applications(appId='…')`, `applications('…')`.
struct EntitySegment {
    let raw: String
    let name: String
    let key: Key?

    init(_ raw: String) {
        self.raw = raw
        guard let open = raw.firstIndex(of: "("), raw.hasSuffix(")") else {
            name = raw
            key = nil
            return
        }
        name = String(raw[..<open])
        let inside = String(raw[raw.index(after: open)..<raw.index(before: raw.endIndex)])
        if let eq = inside.firstIndex(of: "=") {
            key = Key(property: String(inside[..<eq]), value: Self.unquote(String(inside[inside.index(after: eq)...])))
        } else {
            key = Key(property: nil, value: Self.unquote(inside))
        }
    }

    private static func unquote(_ s: String) -> String {
        let t = s.trimmingCharacters(in: .whitespaces)
        if t.count >= 2, t.hasPrefix("'"), t.hasSuffix("'") { return String(t.dropFirst().dropLast()) }
        return t
    }
}

/// A key in an entity segment: `appId='…'` or a bare `'…'`.
struct Key {
    let property: String?
    let value: String
}

/// Per-request Graph context: OData options and reply builders.
struct GraphContext {
    let request: SimRequest
    let tenant: TenantEntry
    let caller: Caller
    /// `https://host:port/graph/v1.0`
    let root: String
    /// The scenario's clock (credential expiry, sign-in times).
    let now: Date

    /// `v1.0` or `beta`.
    var version: String { request.segments.first ?? "" }

    /// Lower-cased `$select` properties (empty: all).
    var selected: Set<String> {
        guard let select = request.queryValue("$select") else { return [] }
        return Set(select.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
    }

    /// `$filter=<property> eq '<value>'` with a property in `allowed`, or nil without `$filter`.
    func filter(allowed: [String]) throws(GraphService.Failure) -> (property: String, value: String)? {
        guard let text = request.queryValue("$filter") else { return nil }
        let parts = text.split(separator: " ", maxSplits: 2).map(String.init)
        guard parts.count == 3, parts[1].lowercased() == "eq", parts[2].hasPrefix("'"), parts[2].hasSuffix("'"),
            parts[2].count >= 2, let property = allowed.first(where: { $0.lowercased() == parts[0].lowercased() })
        else {
            throw GraphService.Failure(
                status: .badRequest, code: "Request_UnsupportedQuery", message: "Unsupported query.")
        }
        return (property, String(parts[2].dropFirst().dropLast()))
    }

    /// Applies `$select` to one object; unknown properties are a 400 as on Graph.
    func project(_ object: JSONNode, type: String) throws(GraphService.Failure) -> JSONNode {
        let wanted = selected
        guard !wanted.isEmpty, case .object(let members) = object else { return object }
        let known = Set(members.map { $0.0.lowercased() })
        if let unknown = wanted.first(where: { !known.contains($0) }) {
            throw GraphService.Failure(
                status: .badRequest, code: "Request_BadRequest",
                message: "Could not find a property named '\(unknown)' on type 'microsoft.graph.\(type)'.")
        }
        return .object(members.filter { wanted.contains($0.0.lowercased()) })
    }

    private func selectSuffix(_ object: JSONNode?) -> String {
        let wanted = selected  // computed: parse the query once, not once per member
        guard !wanted.isEmpty, case .object(let members)? = object else { return "" }
        let names = members.map(\.0).filter { wanted.contains($0.lowercased()) }
        return "(" + names.joined(separator: ",") + ")"
    }

    private static func typeName(_ contextPath: String) -> String {
        let last = contextPath.split(separator: "/").last.map(String.init) ?? contextPath
        let set = last.split(separator: "(").first.map(String.init) ?? last
        switch set {
        case "applications": return "application"
        case "servicePrincipals": return "servicePrincipal"
        case "appRoleAssignments": return "appRoleAssignment"
        case "oauth2PermissionGrants": return "oAuth2PermissionGrant"
        case "users": return "user"
        case "groups": return "group"
        case "teams": return "team"
        default: return set
        }
    }

    func single(_ object: JSONNode, contextPath: String) throws(GraphService.Failure) -> SimResponse {
        let projected = try project(object, type: Self.typeName(contextPath))
        guard case .object(let members) = projected else { return SimResponse(json: projected) }
        let context = "\(root)/$metadata#\(contextPath)\(selectSuffix(object))/$entity"
        return SimResponse(
            json: .object([("@odata.context", .string(context))] + members), contentType: GraphService.jsonContentType)
    }

    /// One page of a collection: `pageSize` items without `$top`, at most `maxPageSize`
    /// with it, and an absolute `@odata.nextLink` when more remain.
    ///
    /// `polymorphic`: a `directoryObject` collection (an app's owners): members of several
    /// types, each keeping its `@odata.type` and those `$select`ed properties its type has;
    /// a property no member has is not an error (Graph cannot tell either).
    func collection(
        _ objects: [JSONNode], contextPath: String, pageSize: Int, maxPageSize: Int = 999, polymorphic: Bool = false
    )
        throws(GraphService.Failure) -> SimResponse
    {
        let type = Self.typeName(contextPath)
        var top = pageSize
        if let t = request.queryValue("$top") {
            guard let n = Int(t), n > 0, n <= max(999, maxPageSize) else {
                throw GraphService.Failure(
                    status: .badRequest, code: "Request_BadRequest", message: "Invalid page size specified: '\(t)'.")
            }
            top = min(n, maxPageSize)
        }
        var offset = 0
        if let token = request.queryValue("$skiptoken") {
            guard let bytes = Base64URL.decode(token), let text = String(validating: bytes, as: UTF8.self),
                text.hasPrefix("offset:"), let n = Int(text.dropFirst("offset:".count)), n >= 0
            else {
                throw GraphService.Failure(
                    status: .badRequest, code: "Directory_InvalidSkipToken", message: "The skip token is invalid.")
            }
            offset = n
        }
        let page = objects.dropFirst(offset).prefix(top)
        var projected: [JSONNode] = []
        for object in page {
            if polymorphic {
                let wanted = selected
                guard !wanted.isEmpty, case .object(let members) = object else {
                    projected.append(object)
                    continue
                }
                projected.append(.object(members.filter { $0.0 == "@odata.type" || wanted.contains($0.0.lowercased()) }))
            } else {
                projected.append(try project(object, type: type))
            }
        }
        var members: [(String, JSONNode)] = [
            ("@odata.context", .string("\(root)/$metadata#\(contextPath)\(selectSuffix(objects.first))"))
        ]
        if offset + top < objects.count {
            members.append(("@odata.nextLink", .string(nextLink(offset: offset + top))))
        }
        members.append(("value", .array(projected)))
        return SimResponse(json: .object(members), contentType: GraphService.jsonContentType)
    }

    /// An absolute `@odata.nextLink` keeping the request's other query options.
    private func nextLink(offset: Int) -> String {
        let path = request.path.hasPrefix("/") ? request.path : "/" + request.path
        var items: [String] = []
        for (key, value) in request.query.sorted(by: { $0.key < $1.key }) where key.lowercased() != "$skiptoken" {
            items.append(URLCoding.encodeQueryKey(key) + "=" + URLCoding.encode(value))
        }
        items.append("$skiptoken=" + Base64URL.encode(Array("offset:\(offset)".utf8)))
        let encodedPath = path.split(separator: "/", omittingEmptySubsequences: false).map {
            URLCoding.encodePathSegment(String($0))
        }.joined(separator: "/")
        return request.origin + encodedPath + "?" + items.joined(separator: "&")
    }
}
