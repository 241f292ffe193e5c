import ConnwatchCore
import Foundation

/// A JSON value whose objects keep their key order: the simulator's writer.
///
/// The simulator writes every Microsoft reply through this type rather than through
/// `JSONEncoder`: key order then matches the documented examples (`@odata.context` first,
/// `error` before `error_description`), and serialising needs no reflection, which keeps
/// a request cheap when the benchmark runs 64 clients against 10,000 connectors. Strings
/// are escaped by the shared encoder (``CompactJSON/writeString(_:to:)``) and JSON is read
/// with the shared strict reader (``CompactJSON``): one JSON implementation
/// in the project, with this ordered writer on top.
public enum JSONNode: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONNode])
    case object([(String, JSONNode)])

    public static func == (lhs: JSONNode, rhs: JSONNode) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.int(let a), .int(let b)): a == b
        case (.double(let a), .double(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    /// `.string(value)` or `.null` when `value` is nil.
    static func optional(_ value: String?) -> JSONNode {
        value.map(JSONNode.string) ?? .null
    }

    /// The value under `key` when this is an object.
    subscript(key: String) -> JSONNode? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    /// Compact UTF-8 serialisation.
    var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out)
        return out
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }

    func write(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: Array("null".utf8))
        case .bool(let b): out.append(contentsOf: Array((b ? "true" : "false").utf8))
        case .int(let i): out.append(contentsOf: Array(String(i).utf8))
        case .double(let d): out.append(contentsOf: Array((d.isFinite ? String(d) : "null").utf8))
        case .string(let s): CompactJSON.writeString(s, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                CompactJSON.writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                value.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Parses JSON text with the shared strict reader (``CompactJSON``); nil when it is not
    /// valid JSON. Objects come back with their keys sorted: what the simulator reads
    /// (assertions, batch requests) needs no order, only what it writes does.
    static func parse(_ bytes: some Collection<UInt8>) -> JSONNode? {
        (try? CompactJSON.parse(Array(bytes))).map(JSONNode.init)
    }

    /// The ordered form of a value read by ``CompactJSON``.
    init(_ value: JSONValue) {
        switch value {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(Int(i))
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .array(a.map(JSONNode.init))
        case .object(let o): self = .object(o.sorted { $0.key < $1.key }.map { ($0.key, JSONNode($0.value)) })
        }
    }

    var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    var intValue: Int? {
        switch self {
        case .int(let i): i
        // NumericDate may carry a fraction (RFC 7519 §2; MSAL Python sends time.time() floats).
        case .double(let d) where d.isFinite && abs(d) < 1e15: Int(d.rounded(.down))
        default: nil
        }
    }

    var arrayValue: [JSONNode]? {
        if case .array(let a) = self { return a }
        return nil
    }
}

extension JSONNode: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONNode...) { self = .array(elements) }
}
