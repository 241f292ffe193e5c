import Foundation
import HTTPTypes

/// Graph JSON batching: `POST /graph/{v1.0|beta}/$batch` with at most 20 inner requests
/// (observer-facts; SPEC §3b). Each inner request is answered as if it came alone — same
/// token, same permissions, same faults, same reports limit — and reported with its own
/// `status`, `headers` and `body`, so a client sees a 429 with `Retry-After` *inside* a
/// 200 batch reply. The batch itself is faulted only by a fault whose `path` names
/// `$batch`; a fault without a path acts on the inner requests.
extension SimulatorEngine {
    static let maxBatchRequests = 20

    static func isGraphBatch(_ request: SimRequest) -> Bool {
        request.method == .post && request.segments.count == 2 && request.segments[1] == "$batch"
    }

    func graphBatch(_ request: SimRequest, index: ScenarioIndex, faultsActive: Bool) -> SimResponse {
        let requestId = GUID.random()
        let clientRequestId = request.header("client-request-id") ?? requestId
        func failure(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> SimResponse {
            GraphService.errorResponse(
                GraphService.Failure(status: status, code: code, message: message), requestId: requestId,
                clientRequestId: clientRequestId)
        }
        let version = request.segments[0]
        guard version == "v1.0" || version == "beta" else {
            return failure(.badRequest, "BadRequest", "Invalid version: \(version)")
        }
        // A bad token is refused for the whole batch, as Graph does.
        if case .failure = auth.caller(request, for: .graph) {
            return graphService.handle(request, index: index)
        }
        let tenantRaw = auth.unverifiedTenant(request)
        let tenantId = tenantRaw.flatMap { index.tenant($0)?.id }
        if faultsActive {
            let outer = state.decide(
                service: .graph, path: request.path, tenantId: tenantId, tenantRaw: tenantRaw, index: index,
                explicitPathOnly: true)
            if let fault = outer.action, let status = fault.status {
                return Self.statusFault(service: .graph, status: status, fault: fault, request: request)
            }
        }
        guard let root = JSONNode.parse(request.body), let requests = root["requests"]?.arrayValue else {
            return failure(.badRequest, "BadRequest", "Invalid batch payload format.")
        }
        guard requests.count <= Self.maxBatchRequests else {
            return failure(.badRequest, "BadRequest", "Number of requests inside batch exceeds the limit.")
        }
        var seen = Set<String>()
        var parsed: [(id: String, method: String, url: String)] = []
        for item in requests {
            guard let id = item["id"]?.stringValue, let method = item["method"]?.stringValue,
                let url = item["url"]?.stringValue
            else {
                return failure(.badRequest, "BadRequest", "Invalid batch payload format.")
            }
            guard seen.insert(id).inserted else {
                return failure(.badRequest, "BadRequest", "Batch request ids must be unique: '\(id)'.")
            }
            parsed.append((id, method, url))
        }

        var responses: [JSONNode] = []
        for item in parsed {
            let reply: SimResponse
            if item.method.uppercased() != "GET" {
                reply = failure(
                    .methodNotAllowed, "Request_BadRequest",
                    "Specified HTTP method is not allowed for the request target.")
            } else if item.url.lowercased().hasPrefix("http") {
                reply = failure(.badRequest, "BadRequest", "Batch request urls must be relative: '\(item.url)'.")
            } else {
                let inner = Self.innerRequest(item.url, version: version, outer: request)
                var decided: SimResponse?
                if faultsActive {
                    let d = state.decide(
                        service: .graph, path: inner.path, tenantId: tenantId, tenantRaw: tenantRaw, index: index)
                    if let fault = d.action, let status = fault.status {
                        decided = Self.statusFault(service: .graph, status: status, fault: fault, request: inner)
                    }
                }
                reply = decided ?? graphService.handle(inner, index: index)
            }
            responses.append(Self.batchItem(id: item.id, reply))
        }
        return SimResponse(
            json: .object([("responses", .array(responses))]),
            headers: GraphService.standardHeaders(requestId: requestId, clientRequestId: clientRequestId),
            contentType: GraphService.jsonContentType)
    }

    /// An inner request as a stand-alone one: `url` is relative to the version root.
    static func innerRequest(_ url: String, version: String, outer: SimRequest) -> SimRequest {
        let trimmed = url.hasPrefix("/") ? String(url.dropFirst()) : url
        let (pathPart, queryPart): (Substring, Substring?) =
            if let q = trimmed.firstIndex(of: "?") {
                (trimmed[..<q], trimmed[trimmed.index(after: q)...])
            } else {
                (Substring(trimmed), nil)
            }
        let segments = pathPart.split(separator: "/", omittingEmptySubsequences: true).map {
            URLCoding.decode($0, plusIsSpace: false)
        }
        let query = queryPart.map { URLCoding.parseForm(String($0)).values } ?? [:]
        return SimRequest(
            method: .get, path: "/graph/" + ([version] + segments).joined(separator: "/"),
            segments: [version] + segments, query: query, headers: outer.headers, body: [], origin: outer.origin)
    }

    /// `{"id", "status", "headers", "body"}` of one inner reply.
    static func batchItem(id: String, _ reply: SimResponse) -> JSONNode {
        var headers: [(String, JSONNode)] = [("Content-Type", .string(reply.contentType))]
        for (name, value) in reply.headers where ["retry-after", "odata-version"].contains(name.lowercased()) {
            headers.append((name, .string(value)))
        }
        let body: JSONNode =
            switch reply.body {
            case .json(let node): node
            case .raw(let bytes): JSONNode.parse(bytes) ?? .string(String(decoding: bytes, as: UTF8.self))
            case .empty: .null
            }
        return .object([
            ("id", .string(id)), ("status", .int(Int(reply.status.code))), ("headers", .object(headers)),
            ("body", body),
        ])
    }
}
