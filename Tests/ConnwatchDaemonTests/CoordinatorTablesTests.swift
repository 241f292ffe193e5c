import ConnwatchCore
import Foundation
import Testing

@testable import ConnwatchDaemon

@Suite struct CoordinatorTablesTests {
    private let t0 = Date(timeIntervalSince1970: 1_790_000_000)

    private func key(_ c: String, _ k: CheckKind) -> AlertKey { AlertKey(connector: c, check: k) }

    @Test func alertStatesReadBackAsStoredWhateverTheirShape() {
        var table = AlertStateTable()
        let ladder = AlertState(ladderCredentialId: "6032bb2a-0b97-5559-8239-966ba79770bd", ladderStep: 14)
        let ladderNoStep = AlertState(ladderCredentialId: "6032bb2a-0b97-5559-8239-966ba79770bd")
        let firing = AlertState(
            firing: true, alertId: "01a226d5-d154-7412-b1be-1047a5f528ec", status: .warning, reason: .secretExpiring,
            eventType: .secretExpiring, severity: .warning, firstNotifiedAt: t0, lastNotifiedAt: t0, notifyCount: 1,
            ladderCredentialId: "6032bb2a-0b97-5559-8239-966ba79770bd", ladderStep: 14, reachedSinks: true)
        let suppressedOnly = AlertState(suppressed: true)
        table[key("a", .secretExpiry)] = ladder
        table[key("b", .secretExpiry)] = ladderNoStep
        table[key("c", .secretExpiry)] = firing
        table[key("d", .consent)] = suppressedOnly
        table[key("e", .consent)] = .idle
        #expect(table[key("a", .secretExpiry)] == ladder)
        #expect(table[key("b", .secretExpiry)] == ladderNoStep)
        #expect(table[key("c", .secretExpiry)] == firing)
        #expect(table[key("d", .consent)] == suppressedOnly)
        #expect(table[key("e", .consent)] == nil)  // idle: nothing kept
        #expect(table[key("a", .consent)] == nil)
        #expect(table.count == 4)
        #expect(table.ladderOnlyCount == 2)

        // A ladder state that opens an incident moves to the full table, and back.
        table[key("a", .secretExpiry)] = firing
        #expect(table[key("a", .secretExpiry)] == firing)
        #expect(table.ladderOnlyCount == 1)
        table[key("c", .secretExpiry)] = ladder
        #expect(table[key("c", .secretExpiry)] == ladder)
        #expect(table.ladderOnlyCount == 2)
        #expect(table.count == 4)
        table[key("c", .secretExpiry)] = nil
        #expect(table[key("c", .secretExpiry)] == nil)
        #expect(table.count == 3)

        let present: Set = [key("a", .secretExpiry), key("d", .consent)]
        #expect(table.absent(from: present) == [key("b", .secretExpiry): ladderNoStep])
        let rebuilt = AlertStateTable([key("x", .certificate): ladder, key("y", .probe): firing, key("z", .roles): .idle])
        #expect(rebuilt.count == 2)
        #expect(rebuilt.absent(from: []) == [key("x", .certificate): ladder, key("y", .probe): firing])
    }

    private func result(_ check: CheckKind, _ status: CheckStatus, _ summary: String) -> CheckResult {
        CheckResult(check: check, status: status, reason: status == .ok ? .ok : .unreachable, summary: summary, checkedAt: t0)
    }

    @Test func shownResultsKeepOnePerCheckInPlanOrder() {
        var shown = ShownResults(connectors: 2)
        shown.set(connector: "a", .init(result: result(.consent, .ok, "c1"), failures: 0))
        shown.set(connector: "a", .init(result: result(.credential, .ok, "k1"), failures: 0))
        shown.set(connector: "b", .init(result: result(.probe, .unknown, "p1"), failures: 2))
        // Replacing keeps one entry per check.
        shown.set(connector: "a", .init(result: result(.consent, .critical, "c2"), failures: 1))
        #expect(shown.count == 3)
        #expect(shown["a", .consent]?.result.summary == "c2")
        #expect(shown["a", .consent]?.failures == 1)
        #expect(shown["a", .probe] == nil)
        #expect(shown["z", .consent] == nil)
        #expect(shown.results(connector: "a", plan: [.credential, .secretExpiry, .consent]).map(\.summary) == ["k1", "c2"])
        #expect(shown.results(connector: "a", plan: [.consent]).map(\.summary) == ["c2"])
        #expect(shown.results(connector: "z", plan: [.consent]).isEmpty)
        #expect(
            shown.failures == [key("a", .consent): 1, key("a", .credential): 0, key("b", .probe): 2])

        // Details are kept packed and read back equal; a result without details stays so.
        let detailed = CheckResult(
            check: .secretExpiry, status: .warning, reason: .secretExpiring, summary: "expires soon",
            details: [
                "key_id": "6a1b4c2e-0000-4000-8000-000000000001", "days_left": .int(12),
                "display_name": "connwatch rotation of the Exchange connector's client secret, 2026",
                "secrets": [["hint": "abc", "end": "2027-01-01T00:00:00Z"], .null, .double(0.5), true],
            ], remediation: "create a new client secret (step 1b)", checkedAt: t0,
            expiry: CredentialExpiry(
                credentialId: "6a1b4c2e-0000-4000-8000-000000000001", expiresAt: t0.addingTimeInterval(12 * 86400)))
        shown.set(connector: "b", .init(result: detailed, failures: 0))
        #expect(shown["b", .secretExpiry]?.result == detailed)
        let packed = ShownResults.pack(detailed.details)
        // Exactly sized (up to malloc's rounding), where the writer's array has doubled.
        #expect(packed.count > 136)
        #expect(packed.capacity < packed.count + 32)
        #expect(CompactJSON.bytes(.object(detailed.details)).capacity >= 2 * 128)
        #expect(ShownResults.pack([:]).isEmpty)
        #expect(shown.results(connector: "b", plan: [.secretExpiry, .probe]) == [detailed, result(.probe, .unknown, "p1")])
        #expect(shown["b", .probe]?.result.details == [:])
        shown.set(connector: "b", .init(result: result(.secretExpiry, .ok, "fine"), failures: 0))
        #expect(shown["b", .secretExpiry]?.result.details == [:])

        // Every field survives the compact layout; the failure count saturates.
        shown.set(connector: "b", .init(result: detailed, failures: Int.max))
        #expect(shown["b", .secretExpiry]?.result == detailed)
        #expect(shown["b", .secretExpiry]?.failures == Int(UInt32.max))
        #expect(ShownResults.storedStride <= 88)

        shown.keepOnly([key("a", .credential), key("b", .credential)])
        #expect(shown.count == 1)
        #expect(shown["a", .credential]?.result.summary == "k1")
        #expect(shown["a", .consent] == nil)
        #expect(shown["b", .probe] == nil)
    }
}
