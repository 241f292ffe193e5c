import ConnwatchCore
import Foundation
import Testing

@testable import ConnwatchCLI

/// Summaries, names and notes come from Microsoft, Zscaler and the configuration: a display
/// name with an OSC 8 hyperlink, a screen clear or a bidi override must reach the operator's
/// terminal as inert text, and the tables must stay aligned (SPEC §9).
@Suite struct UntrustedViewTests {
    let now = Fixture.now

    /// An OSC 8 link ("click" opening evil.example), a CSI clearing the screen, a C1 CSI, a
    /// BEL, a right-to-left override and an isolate, and a line break that would forge a row.
    static let attack =
        "app \u{1B}]8;;https://evil.example\u{1B}\\click\u{1B}]8;;\u{1B}\\ \u{1B}[2J\u{9B}31m\u{07}"
        + "\u{202E}fdp.exe\u{2066}\ncontoso-evil  ok"

    static func isUnsafe(_ u: Unicode.Scalar) -> Bool {
        (u.value < 0x20 && u != "\n") || (0x7F...0x9F).contains(u.value) || (0x202A...0x202E).contains(u.value)
            || (0x2066...0x2069).contains(u.value)
    }

    static var connector: StatusReport.ConnectorStatus {
        var checks = Fixture.teams.checks
        checks[1].summary = "1 required permission not granted: " + attack
        checks[1].remediation = "grant consent " + attack
        return StatusReport.ConnectorStatus(
            identity: ConnectorIdentity(
                name: "contoso-teams", kind: .teams, tenantId: Fixture.tenant, clientId: Fixture.id(3),
                labels: ["customer": "Contoso \u{1B}[8m" + attack]),
            checks: checks, notes: ["Zscaler: " + attack])
    }

    func expectClean(_ text: String, _ what: String) {
        #expect(!text.unicodeScalars.contains(where: Self.isUnsafe), "\(what): \(text.debugDescription)")
        // What remains is shown: the operator sees what was attempted.
        #expect(text.contains("]8;;https://evil.example"), "\(what)")
        // The injected line break did not make a line of its own.
        #expect(!text.split(separator: "\n").contains { $0.hasPrefix("contoso-evil") }, "\(what)")
    }

    @Test func statusTableAndDetail() {
        let report = StatusReport(daemon: Fixture.report.daemon, connectors: [Self.connector, Fixture.exchange])
        let table = Views.statusTable(report, now: now, style: .plain)
        expectClean(table, "status table")
        // Still aligned: every row's STATUS column starts where its header does.
        let lines = table.split(separator: "\n", omittingEmptySubsequences: false)
        let column = lines[0].range(of: "STATUS")!.lowerBound.utf16Offset(in: lines[0])
        for line in lines[1...2] {
            let s = String(line)
            let word = s.dropFirst(column).prefix { $0 != " " }
            #expect(["critical", "warning"].contains(String(word)), "\(s)")
        }
        expectClean(Views.connectorDetail(Self.connector, now: now, style: .plain), "connector detail")
        expectClean(Views.nagios(report, name: "contoso-teams", now: now).line, "nagios line")
    }

    @Test func alertsAndHistory() {
        var n = Fixture.alerts.alerts[0]
        n.summary = Self.attack
        let alerts = Views.alerts(
            ControlAPI.AlertsReply(alerts: [n], silences: Fixture.alerts.silences), all: false, now: now,
            style: .plain)
        expectClean(alerts, "alerts")
        var history = Fixture.history
        history.results[0].result.summary = Self.attack
        expectClean(Views.history(history, now: now, style: .plain), "history")
    }

    /// connwatchctl's own colours survive the cleaning: they are added after the table is
    /// rendered, and only to the status word.
    @Test func ownColoursAreAddedAfterCleaning() {
        let colored = Views.connectorDetail(Fixture.exchange, now: now, style: Style(color: true))
        #expect(colored.contains("status     \u{1B}[33mwarning\u{1B}[0m (secret_expiring)"), "\(colored)")
        #expect(colored.uncolored == ViewGoldenTests.detail)
        let attacked = Views.connectorDetail(Self.connector, now: now, style: Style(color: true))
        #expect(attacked.contains("status     \u{1B}[31mcritical\u{1B}[0m (consent_missing)"))
        expectClean(attacked.uncolored, "coloured connector detail")
    }
}
