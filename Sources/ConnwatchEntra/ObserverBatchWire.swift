import ConnwatchCore
import Foundation
import NIOHTTP1

/// Graph JSON batching (`POST /{v1.0|beta}/$batch`, SPEC §3b): the request body, the
/// split into batches of at most 20 inner requests, and the strict reading of the reply
/// `{"responses":[{"id","status","headers","body"}]}`. Pure; the sending is in
/// ``ObserverClient``.
enum GraphBatchWire {
    /// Graph's limit on inner requests per batch.
    static let maxRequests = 20

    /// One inner GET: `url` is relative to the version root (`applications(appId='…')?…`).
    struct Item: Sendable, Hashable {
        var id: String
        var url: String
        /// A reports request (`reports/…`, `auditLogs/…`): it passes the reports gate.
        var isReport: Bool { url.hasPrefix("reports/") || url.hasPrefix("auditLogs/") }
    }

    /// Splits `items` into batches: at most 20 each, and at most `maxReports` reports
    /// requests each (the reports gate admits that many at once), reports never mixed
    /// with directory reads (a batch waiting for the gate would hold them up).
    static func plan(_ items: [Item], maxReports: Int) -> [[Item]] {
        var out: [[Item]] = []
        var directory: [Item] = []
        var reports: [Item] = []
        for item in items {
            if item.isReport {
                reports.append(item)
                if reports.count == max(1, min(maxReports, maxRequests)) {
                    out.append(reports)
                    reports = []
                }
            } else {
                directory.append(item)
                if directory.count == maxRequests {
                    out.append(directory)
                    directory = []
                }
            }
        }
        if !directory.isEmpty { out.append(directory) }
        if !reports.isEmpty { out.append(reports) }
        return out
    }

    static func body(_ items: [Item]) -> Data {
        let requests: [JSONValue] = items.map {
            .object(["id": .string($0.id), "method": "GET", "url": .string("/" + $0.url)])
        }
        return Data(CompactJSON.bytes(.object(["requests": .array(requests)])))
    }

    /// One inner reply, as if it had come alone.
    struct Reply: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: Data

        var response: TransportResponse { TransportResponse(status: status, headers: headers, body: body) }
        var retryAfter: Int? { HTTPTransport.retryAfterSeconds(headers) }
    }

    /// Reads a batch reply strictly: every id asked must be answered, once, with an
    /// integer status; a JSON body is re-encoded for the single-reply readers.
    static func replies(_ data: Data, asked: [Item], endpoint: String) throws(EntraError) -> [String: Reply] {
        let parsed: [(String, Reply)] = try StrictProblem.decodeObject(from: data, endpoint: endpoint) {
            (o) throws(StrictProblem) in
            try o.objects("responses") { (r) throws(StrictProblem) -> (String, Reply) in
                let id = try r.string("id")
                guard case .int(let status)? = r.fields["status"], (100...599).contains(status) else {
                    throw StrictProblem.wrongType(path: "responses[].status")
                }
                var headers = HTTPHeaders()
                if case .object(let h)? = r.fields["headers"] {
                    for (name, value) in h {
                        if let v = value.stringValue { headers.add(name: name, value: v) }
                    }
                }
                let body: Data =
                    switch r.fields["body"] {
                    case nil, .null?: Data()
                    case .object(let o)?: Data(CompactJSON.bytes(.object(o)))
                    // Graph base64-encodes bodies that are not JSON; nothing here expects one.
                    case .string(let s)?: Data(base64Encoded: s) ?? Data(s.utf8)
                    default: throw StrictProblem.wrongType(path: "responses[].body")
                    }
                return (id, Reply(status: Int(status), headers: headers, body: body))
            }
        }
        var out: [String: Reply] = [:]
        for (id, reply) in parsed {
            guard out[id] == nil else {
                throw .badResponse(endpoint: endpoint, detail: "the batch reply answers request \(id) twice")
            }
            out[id] = reply
        }
        let unknown = out.keys.filter { id in !asked.contains { $0.id == id } }
        guard unknown.isEmpty else {
            throw .badResponse(endpoint: endpoint, detail: "the batch reply answers a request it was not asked")
        }
        return out
    }
}
