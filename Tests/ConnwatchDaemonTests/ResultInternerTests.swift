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

    private func storage(_ d: [String: JSONValue]) -> UInt {
        unsafeBitCast(d, to: UInt.self)
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
        #expect(storage(a.details) != storage(b.details))

        let ia = interner.intern(a)
        let ib = interner.intern(b)
        #expect(ia == a)
        #expect(ib == b)
        #expect(storage(ia.summary) != nil)
        #expect(storage(ia.summary) == storage(ib.summary))
        #expect(storage(ia.remediation) == storage(ib.remediation))
        #expect(storage(ia.details) == storage(ib.details))
        #expect(interner.count == 3)
    }

    @Test func differentValuesStayApartAndTheTableEmpties() {
        var interner = ResultInterner()
        let a = interner.intern(result(summary: "the client secret expires in 30 days", details: ["days_left": .int(30)]))
        let b = interner.intern(result(summary: "the client secret expires in 29 days", details: ["days_left": .int(29)]))
        #expect(a.summary != b.summary)
        #expect(a.details != b.details)
        #expect(storage(a.details) != storage(b.details))
        // Short strings are inline: nothing to share, nothing kept.
        _ = interner.intern(result(summary: "ok", details: [:]))
        #expect(interner.count == 4)
        interner.removeAll()
        #expect(interner.count == 0)
        // Values handed out before stay intact.
        #expect(a.summary == "the client secret expires in 30 days")
        #expect(a.details["days_left"] == .int(30))
    }
}
