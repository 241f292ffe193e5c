import ConnwatchCore
import Foundation
import Testing

@testable import ConnwatchDaemon

@Suite struct ResultInternerTests {
    private func result(summary: String, details: [String: JSONValue], remediation: String = "") -> CheckResult {
        CheckResult(
            check: .consent, status: .ok, reason: .ok, summary: summary, details: details, remediation: remediation,
            checkedAt: Date(timeIntervalSince1970: 1_790_000_000))
    }

    /// The address of a native string's UTF-8 storage (nil for an inline small string).
    private func storage(_ s: String) -> UnsafeRawPointer? {
        s.utf8.withContiguousStorageIfAvailable { UnsafeRawPointer($0.baseAddress) } ?? nil
    }

    private func storage(_ bytes: [UInt8]) -> UnsafeRawPointer? {
        bytes.withUnsafeBytes { $0.baseAddress }
    }

    @Test func equalValuesShareOneCopyAndStayEqual() {
        var interner = ResultInterner()
        // Built separately, as two connectors' evaluators do: equal, not shared.
        let a = result(
            summary: String(repeating: "all permissions granted ", count: 2),
            details: ["granted": .int(9), "required": .int(9)],
            remediation: CheckResult.remediation(.clientSecret, .authorize))
        let b = result(
            summary: String(repeating: "all permissions granted ", count: 2),
            details: ["granted": .int(9), "required": .int(9)],
            remediation: CheckResult.remediation(.clientSecret, .authorize))
        #expect(storage(a.summary) != storage(b.summary))
        let pa = ShownResults.pack(a.details)
        let pb = ShownResults.pack(b.details)
        #expect(storage(pa) != storage(pb))

        let ia = interner.intern(a)
        let ib = interner.intern(b)
        #expect(ia == a)
        #expect(ib == b)
        #expect(storage(ia.summary) != nil)
        #expect(storage(ia.summary) == storage(ib.summary))
        #expect(storage(ia.remediation) == storage(ib.remediation))
        let ipa = interner.intern(pa)
        let ipb = interner.intern(pb)
        #expect(ipa == pa)
        #expect(storage(ipa) == storage(ipb))
        #expect(interner.count == 3)
    }

    @Test func differentValuesStayApartAndTheTableEmpties() throws {
        var interner = ResultInterner()
        let a = interner.intern(result(summary: "the client secret expires in 30 days", details: ["days_left": .int(30)]))
        let b = interner.intern(result(summary: "the client secret expires in 29 days", details: ["days_left": .int(29)]))
        #expect(a.summary != b.summary)
        let pa = interner.intern(ShownResults.pack(a.details))
        let pb = interner.intern(ShownResults.pack(b.details))
        #expect(pa != pb)
        #expect(storage(pa) != storage(pb))
        // Short strings are inline, empty details are no bytes: nothing to share, nothing kept.
        let ok = interner.intern(result(summary: "ok", details: [:]))
        #expect(interner.intern(ShownResults.pack(ok.details)).isEmpty)
        #expect(interner.count == 4)
        interner.removeAll()
        #expect(interner.count == 0)
        // Values handed out before stay intact.
        #expect(a.summary == "the client secret expires in 30 days")
        #expect(a.details["days_left"] == .int(30))
        #expect(try CompactJSON.parse(pa) == ["days_left": .int(30)])
    }
}
