import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A request as the simulated services see it: decoded path segments, query, body.
struct SimRequest: Sendable {
    let method: HTTPRequest.Method
    /// The percent-decoded path, e.g. `/graph/v1.0/applications(appId='…')`.
    let path: String
    /// Decoded path segments after the service prefix (`/graph`, `/login`…).
    let segments: [String]
    /// Decoded query parameters; the first value wins.
    let query: [String: String]
    let headers: HTTPFields
    let body: [UInt8]
    /// `https://host:port` as the client addressed the simulator (for absolute links).
    let origin: String

    func header(_ name: String) -> String? {
        guard let field = HTTPField.Name(name) else { return nil }
        return headers[field]
    }

    /// The token of an `Authorization: Bearer …` header.
    var bearerToken: String? {
        guard let value = headers[.authorization], value.utf8.count > 7 else { return nil }
        let scheme = value.utf8.prefix(7)
        guard scheme.elementsEqual("Bearer ".utf8) || scheme.elementsEqual("bearer ".utf8) else { return nil }
        var token = Substring(value).dropFirst(7)
        while token.first == " " { token = token.dropFirst() }
        while token.last == " " { token = token.dropLast() }
        return token.isEmpty ? nil : String(token)
    }

    /// Query parameter lookup ignoring case (OData system options are case-insensitive).
    func queryValue(_ name: String) -> String? {
        if let v = query[name] { return v }
        let lower = name.lowercased()
        return query.first { $0.key.lowercased() == lower }?.value
    }
}

/// A reply before it becomes a Hummingbird `Response`; kept as JSON so that faults can
/// rewrite it (`wrong_types`, `malformed`).
struct SimResponse: Sendable {
    enum Body: Sendable {
        case json(JSONNode)
        case raw([UInt8])
        case empty
    }

    var status: HTTPResponse.Status
    var headers: [(String, String)]
    var body: Body
    var contentType: String

    init(
        status: HTTPResponse.Status = .ok, json: JSONNode, headers: [(String, String)] = [],
        contentType: String = "application/json; charset=utf-8"
    ) {
        self.status = status
        self.headers = headers
        self.body = .json(json)
        self.contentType = contentType
    }

    init(status: HTTPResponse.Status, raw: [UInt8], contentType: String, headers: [(String, String)] = []) {
        self.status = status
        self.headers = headers
        self.body = .raw(raw)
        self.contentType = contentType
    }

    var bodyBytes: [UInt8] {
        switch body {
        case .json(let node): node.bytes
        case .raw(let bytes): bytes
        case .empty: []
        }
    }

    func response() -> Response {
        var fields = HTTPFields()
        let bytes = bodyBytes
        if case .empty = body {} else if let name = HTTPField.Name("Content-Type") { fields[name] = contentType }
        for (name, value) in headers {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        var buffer = ByteBufferAllocator().buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: buffer))
    }
}

/// Percent-decoding of URL parts and `application/x-www-form-urlencoded` bodies.
enum URLCoding {
    /// Decodes `%XX` escapes; with `plusIsSpace`, `+` becomes a space (form encoding).
    /// Invalid escapes are kept literally, as lenient servers do.
    static func decode(_ text: some StringProtocol, plusIsSpace: Bool) -> String {
        let bytes = Array(text.utf8)
        guard bytes.contains(UInt8(ascii: "%")) || (plusIsSpace && bytes.contains(UInt8(ascii: "+"))) else {
            return String(text)
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "%"), i + 2 < bytes.count, let hi = hexValue(bytes[i + 1]),
                let lo = hexValue(bytes[i + 2])
            {
                out.append(hi << 4 | lo)
                i += 3
            } else if plusIsSpace, b == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
                i += 1
            } else {
                out.append(b)
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Parses `a=1&b=2`; the first occurrence of a key wins, and `repeated` lists keys
    /// that occurred more than once (the token endpoint rejects a repeated `scope`).
    static func parseForm(_ text: some StringProtocol) -> (values: [String: String], repeated: Set<String>) {
        var values: [String: String] = [:]
        var repeated = Set<String>()
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = decode(kv[0], plusIsSpace: true)
            let value = kv.count > 1 ? decode(kv[1], plusIsSpace: true) : ""
            if values[key] == nil {
                values[key] = value
            } else {
                repeated.insert(key)
            }
        }
        return (values, repeated)
    }

    private static let unreserved: CharacterSet = {
        var allowed = CharacterSet()
        allowed.insert(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        return allowed
    }()

    /// Percent-encodes a query value.
    static func encode(_ text: String) -> String {
        var allowed = unreserved
        allowed.insert(charactersIn: ",'()")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// Encodes a query key, keeping OData's `$` prefix readable (`$skiptoken`).
    static func encodeQueryKey(_ text: String) -> String {
        var allowed = unreserved
        allowed.insert("$")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// Percent-encodes one path segment (`applications(appId='…')` stays readable).
    static func encodePathSegment(_ text: String) -> String {
        var allowed = unreserved
        allowed.insert(charactersIn: "!$&'()*+,;=:@")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// Request identifiers in the shapes Microsoft services send them.
enum RequestIDs {
    /// The `client-request-id` header when it is a GUID (Microsoft echoes it as the
    /// correlation ID), else a new GUID.
    static func correlation(_ request: SimRequest) -> String {
        if let given = request.header("client-request-id"), GUID.isValid(given) { return given.lowercased() }
        return GUID.random()
    }
}
