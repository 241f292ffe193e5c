import ConnwatchCore
import Foundation

public struct RoleAssignmentInfo: Sendable, Equatable {
    public var id: String
    /// The role definition GUID (last path segment of `roleDefinitionId`), lower-case.
    public var roleDefinitionGuid: String
    public var principalId: String
    public var scope: String
}

public struct SubscriptionInfo: Sendable, Equatable {
    public var subscriptionId: String
    public var displayName: String?
    public var state: String?
}

/// Azure Resource Manager reads (microsoft-facts §2.9).
public struct ARMClient: Sendable {
    let api: APIRequester
    let base: String

    public init(transport: HTTPTransport, managementEndpoint: String) {
        api = APIRequester(transport: transport, service: "arm")
        base = managementEndpoint.hasSuffix("/") ? String(managementEndpoint.dropLast()) : managementEndpoint
    }

    struct Wire {
        struct Properties {
            var roleDefinitionId: String
            var principalId: String
            var scope: String
        }
        var id: String
        var properties: Properties
    }

    struct Page<T: StrictDecodable> {
        var value: [T]
        var nextLink: String?
    }

    /// Role assignments of `principalId` (transitively, through groups) at a subscription.
    public func roleAssignments(
        subscriptionId: String, principalId: String, token: AccessToken
    ) async throws(EntraError)
        -> [RoleAssignmentInfo]
    {
        let filter = urlEscape("assignedTo('\(principalId)')")
        var url =
            "\(base)/subscriptions/\(urlEscape(subscriptionId))/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=\(filter)"
        let name = "/subscriptions/{id}/providers/Microsoft.Authorization/roleAssignments"
        var out: [RoleAssignmentInfo] = []
        for _ in 0..<50 {
            let page = try await api.get(strict: Page<Wire>.self, url: url, path: name, token: token)
            for w in page.value {
                let guid = w.properties.roleDefinitionId.split(separator: "/").last.map(String.init) ?? ""
                out.append(
                    RoleAssignmentInfo(
                        id: w.id, roleDefinitionGuid: guid.lowercased(), principalId: w.properties.principalId,
                        scope: w.properties.scope))
            }
            guard let next = page.nextLink else { return out }
            guard next.hasPrefix(base + "/") else {
                throw .badResponse(
                    endpoint: "arm GET \(name)", detail: "nextLink points outside the management endpoint")
            }
            url = next
        }
        return out
    }

    /// Subscriptions the service principal can see (it holds a role there).
    public func subscriptions(token: AccessToken) async throws(EntraError) -> [SubscriptionInfo] {
        try await api.get(
            strict: Page<SubscriptionInfo>.self, url: "\(base)/subscriptions?api-version=2020-01-01",
            path: "/subscriptions", token: token
        ).value
    }
}

/// Office 365 Management Activity API: `subscriptions/list` is the probe (§2.10).
public struct OfficeManagementClient: Sendable {
    let api: APIRequester
    let base: String

    public init(transport: HTTPTransport, officeManagementEndpoint: String) {
        api = APIRequester(transport: transport, service: "office")
        base =
            officeManagementEndpoint.hasSuffix("/")
            ? String(officeManagementEndpoint.dropLast()) : officeManagementEndpoint
    }

    public struct ContentSubscription: Sendable, Equatable {
        public var contentType: String
        public var status: String
    }

    /// Needs `ActivityFeed.Read`; `AF10001` otherwise. `PublisherIdentifier` gets the
    /// tenant its own throttling quota (§2.7).
    public func subscriptionsList(
        tenantId: String, token: AccessToken
    ) async throws(EntraError) -> [ContentSubscription] {
        let t = urlEscape(tenantId)
        return try await api.list(
            url: "\(base)/api/v1.0/\(t)/activity/feed/subscriptions/list?PublisherIdentifier=\(t)",
            path: "/api/v1.0/{tenant}/activity/feed/subscriptions/list", token: token
        ) { (o) throws(StrictProblem) in try ContentSubscription(strict: o) }
    }
}

/// SharePoint REST: `/_api/web?$select=Title` with a certificate-issued token (§2.10).
public struct SharePointClient: Sendable {
    let api: APIRequester
    let endpoints: CloudEndpoints

    public init(transport: HTTPTransport, endpoints: CloudEndpoints) {
        api = APIRequester(transport: transport, service: "sharepoint")
        self.endpoints = endpoints
    }

    struct Web: StrictDecodable {
        var title: String

        init(strict o: StrictObject) throws(StrictProblem) { title = try o.string("Title") }
    }

    public func webTitle(host: String, token: AccessToken) async throws(EntraError) -> String {
        try await api.get(
            strict: Web.self, url: endpoints.sharePointBase(host: host) + "/_api/web?$select=Title",
            path: "/_api/web", token: token, headers: [("Accept", "application/json;odata=nometadata")]
        ).title
    }
}

/// Why a Microsoft API refused a bearer token, read from the refusal's headers: SharePoint
/// Online often answers 401 with an empty body (or one without `error_description`) and
/// says why only in `x-ms-diagnostics` (`3000003;reason="Invalid audience Uri '…'";category="invalid_client"`)
/// and in its `WWW-Authenticate` challenge (`Bearer realm="…",client_id="…",error="invalid_client",error_description="…"`).
/// Without this a probe's summary read "HTTP 401 HTTP401" and named no cause.
struct BearerRefusal: Sendable, Equatable {
    /// The `x-ms-diagnostics` category, else the challenge's `error` (`invalid_client`).
    var code: String?
    /// The reason, with the `x-ms-diagnostics` number (what Microsoft support asks for)
    /// and, for the refusals a connector meets, what it means.
    var message: String

    /// Nil when neither header gives a reason.
    init?(diagnostics: String?, challenge: String?) {
        var code: String?
        var reason: String?
        var number: String?
        if let diagnostics {
            let head = diagnostics.prefix { $0 != ";" }.trimmingCharacters(in: .whitespaces)
            let parameters = Self.parameters(diagnostics.dropFirst(head.count), separator: ";")
            if !head.isEmpty && head.allSatisfy(\.isNumber) { number = head }
            reason = parameters["reason"].flatMap { $0.isEmpty ? nil : $0 }
            code = parameters["category"].flatMap { $0.isEmpty ? nil : $0 }
        }
        if let challenge, let bearer = challenge.range(of: "bearer", options: .caseInsensitive) {
            let parameters = Self.parameters(challenge[bearer.upperBound...], separator: ",")
            reason = reason ?? parameters["error_description"].flatMap { $0.isEmpty ? nil : $0 }
            code = code ?? parameters["error"].flatMap { $0.isEmpty ? nil : $0 }
        }
        guard let reason else { return nil }
        // Its closing period dropped: the number and the meaning follow.
        var message = reason.hasSuffix(".") ? String(reason.dropLast()) : reason
        if let number { message += " (x-ms-diagnostics \(number))" }
        if let meaning = Self.meaning(of: message) { message += ": \(meaning)" }
        self.code = code
        self.message = message
    }

    /// What the refusals a SharePoint connector meets mean (microsoft-facts §2.8: SharePoint
    /// REST app-only takes certificate-issued tokens only).
    static func meaning(of reason: String) -> String? {
        let r = reason.lowercased()
        if r.contains("unsupported app only token") {
            return "SharePoint accepts app-only tokens obtained with a certificate, not with a client secret"
        }
        if r.contains("invalid audience") {
            return "the token was issued for another resource than this SharePoint host"
        }
        if r.contains("expired") { return "the token has expired" }
        if r.contains("invalid signature") || r.contains("issuer") {
            return "the token was not issued by this tenant"
        }
        return nil
    }

    /// `name=value` or `name="quoted \" value"` pairs split by `separator` (RFC 9110 §11.2
    /// auth-params; `x-ms-diagnostics` uses the same shape with `;`). Names are lower-cased;
    /// the first of a repeated name counts; words without `=` (another scheme) are skipped.
    static func parameters(_ text: Substring, separator: Character) -> [String: String] {
        var out: [String: String] = [:]
        var i = text.startIndex
        func skip(_ p: (Character) -> Bool) { while i < text.endIndex && p(text[i]) { i = text.index(after: i) } }
        while i < text.endIndex {
            skip { $0 == separator || $0 == " " || $0 == "\t" }
            let nameStart = i
            skip { $0 != "=" && $0 != separator }
            let name = text[nameStart..<i].trimmingCharacters(in: .whitespaces).lowercased()
            guard i < text.endIndex, text[i] == "=" else { continue }
            i = text.index(after: i)
            skip { $0 == " " || $0 == "\t" }
            var value = ""
            if i < text.endIndex && text[i] == "\"" {
                i = text.index(after: i)
                while i < text.endIndex && text[i] != "\"" {
                    if text[i] == "\\" {
                        i = text.index(after: i)
                        if i == text.endIndex { break }
                    }
                    value.append(text[i])
                    i = text.index(after: i)
                }
                if i < text.endIndex { i = text.index(after: i) }
                skip { $0 != separator }
            } else {
                let start = i
                skip { $0 != separator }
                value = text[start..<i].trimmingCharacters(in: .whitespaces)
            }
            if !name.isEmpty && out[name] == nil { out[name] = value }
        }
        return out
    }
}
