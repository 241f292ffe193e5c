import ConnwatchCore
import Foundation

/// What status shows for each check of each connector, and the consecutive transient
/// failures behind it: one small array per connector instead of two tables keyed by
/// (connector, check). At 10,000 connectors the two tables took 8.9 MB of slots (a key and
/// a whole `CheckResult` per slot, at most three quarters full); this takes ~5.5 MB.
///
/// Details are kept as compact JSON bytes, not as the result's dictionary: many are unique
/// to their connector (a secret's key id and dates, a certificate's thumbprint), and as
/// Swift dictionaries they were the largest item of a 10,000-connector heap (8.7 MB at the
/// peak of `--once`; as bytes ~2 MB). They are read back only when a result is shown or
/// replaced. Equal bytes are shared through the ``ResultInterner``.
struct ShownResults {
    struct Entry {
        var result: CheckResult
        var failures: Int
    }

    /// A result's fields with its details packed, laid out without padding: 88 bytes a
    /// result instead of 104 for a `CheckResult` (whose empty details dictionary and
    /// padding this does not keep) plus the packed bytes and an `Int` count.
    private struct Stored {
        var check: CheckKind
        var status: CheckStatus
        var reason: Reason
        /// Consecutive transient failures (saturating; `TransientPolicy` compares it with
        /// a small threshold).
        var failures: UInt32
        var summary: String
        var remediation: String
        var details: [UInt8]
        var checkedAt: Date
        var expiry: CredentialExpiry?

        init(_ result: CheckResult, details: [UInt8], failures: Int) {
            check = result.check
            status = result.status
            reason = result.reason
            self.failures = UInt32(clamping: failures)
            summary = result.summary
            remediation = result.remediation
            self.details = details
            checkedAt = result.checkedAt
            expiry = result.expiry
        }

        /// The result without its details.
        var result: CheckResult {
            CheckResult(
                check: check, status: status, reason: reason, summary: summary, remediation: remediation,
                checkedAt: checkedAt, expiry: expiry)
        }

        var entry: Entry {
            var r = result
            if !details.isEmpty, case .object(let o)? = try? CompactJSON.parse(details) { r.details = o }
            return Entry(result: r, failures: Int(failures))
        }
    }

    private var byConnector: [String: [Stored]] = [:]

    /// Bytes a kept result takes in its connector's array (for tests).
    static var storedStride: Int { MemoryLayout<Stored>.stride }

    init(connectors: Int = 0) {
        byConnector.reserveCapacity(connectors)
    }

    /// Entries in all (for tests).
    var count: Int { byConnector.values.reduce(0) { $0 + $1.count } }

    subscript(connector: String, check: CheckKind) -> Entry? {
        byConnector[connector]?.first { $0.check == check }?.entry
    }

    /// - Parameters:
    ///   - capacity: how many checks the connector has (its first entry reserves room for
    ///     all, instead of growing by doubling).
    ///   - packedDetails: `pack(entry.result.details)`, when the caller has it (the
    ///     coordinator shares equal ones); nil: packed here.
    mutating func set(connector: String, _ entry: Entry, capacity: Int = 1, packedDetails: [UInt8]? = nil) {
        let stored = Stored(
            entry.result, details: packedDetails ?? Self.pack(entry.result.details), failures: entry.failures)
        // In place (the dictionary's subscript modifies its value without a copy).
        if let i = byConnector[connector]?.firstIndex(where: { $0.check == entry.result.check }) {
            byConnector[connector]![i] = stored
        } else if byConnector[connector] != nil {
            byConnector[connector]!.append(stored)
        } else {
            var entries: [Stored] = []
            entries.reserveCapacity(max(1, capacity))
            entries.append(stored)
            byConnector[connector] = entries
        }
    }

    /// Compact JSON of non-empty details, in an array of exactly their size (the writer's
    /// grows by doubling); no bytes for none.
    static func pack(_ details: [String: JSONValue]) -> [UInt8] {
        guard !details.isEmpty else { return [] }
        let bytes = CompactJSON.bytes(.object(details))
        return [UInt8](unsafeUninitializedCapacity: bytes.count) { buffer, count in
            count = buffer.initialize(fromContentsOf: bytes)
        }
    }

    /// The connector's shown results in plan order (checks without a result left out).
    /// - Parameter details: false leaves details out, but for the `zscaler` check's, which
    ///   a connector's status line reads (what a table needs, without unpacking the rest).
    func results(connector: String, plan: [CheckKind], details: Bool = true) -> [CheckResult] {
        guard let entries = byConnector[connector] else { return [] }
        var out: [CheckResult] = []
        out.reserveCapacity(min(plan.count, entries.count))
        for check in plan {
            if let e = entries.first(where: { $0.check == check }) {
                out.append(details || check == .zscaler ? e.entry.result : e.result)
            }
        }
        return out
    }

    /// Forgets one check's shown result (a check left out of a cycle).
    mutating func remove(connector: String, check: CheckKind) {
        guard let i = byConnector[connector]?.firstIndex(where: { $0.check == check }) else { return }
        byConnector[connector]!.remove(at: i)
        if byConnector[connector]!.isEmpty { byConnector[connector] = nil }
    }

    /// Drops every (connector, check) not in `present`.
    mutating func keepOnly(_ present: Set<AlertKey>) {
        for (name, entries) in byConnector {
            let kept = entries.filter { present.contains(AlertKey(connector: name, check: $0.check)) }
            if kept.isEmpty {
                byConnector[name] = nil
            } else if kept.count != entries.count {
                byConnector[name] = kept
            }
        }
    }

    /// Consecutive transient failures per (connector, check), for `/metrics`.
    var failures: [AlertKey: Int] {
        var out: [AlertKey: Int] = [:]
        for (name, entries) in byConnector {
            for e in entries { out[AlertKey(connector: name, check: e.check)] = Int(e.failures) }
        }
        return out
    }
}
