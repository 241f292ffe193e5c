import ConnwatchCore
import Foundation
import Testing

@testable import ConnwatchCLI

/// Observers in the human views: above the connectors in `status`, counted by `nagios`;
/// an observed connector's notes in `status NAME`.
@Suite struct ObserverViewGoldenTests {
    let now = Fixture.now

    @Test func statusShowsObserversAboveTheConnectors() {
        #expect(Views.statusTable(ObserverFixture.report, now: now, style: .plain) == Self.status)
        let colored = Views.statusTable(ObserverFixture.report, now: now, style: Style(color: true))
        #expect(colored.contains("\u{1B}[31mcritical\u{1B}[0m"))
        #expect(colored.uncolored == Self.status)
    }

    static let status =
        """
        GOLDEN
        """

    @Test func observersWithoutConnectors() {
        let r = StatusReport(daemon: Fixture.report.daemon, connectors: [], observers: ObserverFixture.observers)
        #expect(Views.statusTable(r, now: now, style: .plain) == Self.observersOnly)
    }

    static let observersOnly =
        """
        GOLDEN
        """

    @Test func statusNameOfAnObservedConnectorSaysWhatStandsIn() {
        #expect(Views.connectorDetail(ObserverFixture.observed, now: now, style: .plain) == Self.detail)
    }

    static let detail =
        """
        GOLDEN
        """

    @Test func nagiosCountsObservers() {
        let (line, code) = Views.nagios(ObserverFixture.report, name: nil, now: now)
        #expect(line == Self.nagios)
        // The connectors are at worst warning; the refused observer makes it critical.
        #expect(ObserverFixture.report.worstStatus == .warning)
        #expect(code == 2)
    }

    static let nagios =
        """
        GOLDEN
        """
}
