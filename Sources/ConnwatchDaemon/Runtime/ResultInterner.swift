import ConnwatchCore

/// Shares one copy of equal summaries, remediations and packed details among the results
/// the coordinator keeps for status.
///
/// Most of a fleet is healthy and its results say the same things ("all 9 permissions
/// granted", `{"granted":9,"required":9}`): at 10,000 connectors the 40,000 latest results
/// hold ~3,700 distinct summaries, 15 distinct remediations and ~14,000 distinct details,
/// yet each result built its own strings and dictionary (~20 MB of the peak heap,
/// BENCHMARKS.md). Interned, equal values share one storage (copy-on-write keeps that
/// safe); details are interned as the compact JSON bytes ``ShownResults`` keeps. The
/// tables are emptied once per cycle so they never outgrow what is shown; values shown
/// meanwhile stay shared.
struct ResultInterner {
    private var strings: Set<String> = []
    private var packed: Set<[UInt8]> = []

    /// Entries in the tables (for tests).
    var count: Int { strings.count + packed.count }

    mutating func intern(_ result: CheckResult) -> CheckResult {
        var r = result
        r.summary = intern(r.summary)
        r.remediation = intern(r.remediation)
        return r
    }

    mutating func intern(_ s: String) -> String {
        // Up to 15 UTF-8 bytes a String is stored inline: nothing to share.
        guard s.utf8.count > 15 else { return s }
        return strings.insert(s).memberAfterInsert
    }

    /// Packed details (``ShownResults``): equal bytes share one array.
    mutating func intern(_ bytes: [UInt8]) -> [UInt8] {
        guard !bytes.isEmpty else { return bytes }
        return packed.insert(bytes).memberAfterInsert
    }

    mutating func removeAll() {
        strings.removeAll()
        packed.removeAll()
    }
}
