import ConnwatchCore

/// What status shows for each check of each connector, and the consecutive transient
/// failures behind it: one small array per connector instead of two tables keyed by
/// (connector, check). At 10,000 connectors the two tables took 8.9 MB of slots (a key and
/// a whole `CheckResult` per slot, at most three quarters full); this takes ~5.5 MB.
struct ShownResults {
    struct Entry {
        var result: CheckResult
        var failures: Int
    }

    private var byConnector: [String: [Entry]] = [:]

    init(connectors: Int = 0) {
        byConnector.reserveCapacity(connectors)
    }

    /// Entries in all (for tests).
    var count: Int { byConnector.values.reduce(0) { $0 + $1.count } }

    subscript(connector: String, check: CheckKind) -> Entry? {
        byConnector[connector]?.first { $0.result.check == check }
    }

    /// - Parameter capacity: how many checks the connector has (its first entry reserves
    ///   room for all, instead of growing by doubling).
    mutating func set(connector: String, _ entry: Entry, capacity: Int = 1) {
        // In place (the dictionary's subscript modifies its value without a copy).
        if let i = byConnector[connector]?.firstIndex(where: { $0.result.check == entry.result.check }) {
            byConnector[connector]![i] = entry
        } else if byConnector[connector] != nil {
            byConnector[connector]!.append(entry)
        } else {
            var entries: [Entry] = []
            entries.reserveCapacity(max(1, capacity))
            entries.append(entry)
            byConnector[connector] = entries
        }
    }

    /// The connector's shown results in plan order (checks without a result left out).
    func results(connector: String, plan: [CheckKind]) -> [CheckResult] {
        guard let entries = byConnector[connector] else { return [] }
        var out: [CheckResult] = []
        out.reserveCapacity(min(plan.count, entries.count))
        for check in plan {
            if let e = entries.first(where: { $0.result.check == check }) { out.append(e.result) }
        }
        return out
    }

    /// Drops every (connector, check) not in `present`.
    mutating func keepOnly(_ present: Set<AlertKey>) {
        for (name, entries) in byConnector {
            let kept = entries.filter { present.contains(AlertKey(connector: name, check: $0.result.check)) }
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
            for e in entries { out[AlertKey(connector: name, check: e.result.check)] = e.failures }
        }
        return out
    }
}
