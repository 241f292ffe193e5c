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
        OBSERVER                              CLIENT                                STATUS    REASON           EXPIRES      CHECKED  SUMMARY
        5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41  d0000000-0000-4000-8000-000000000090  critical  observer_failed               2m ago   the observer's token was refused: AADSTS7000222: the client secret is expired
        fabrikam.onmicrosoft.com              d0000000-0000-4000-8000-000000000091  ok        ok               in 183 days  1h ago   token accepted, permissions granted; the observer's certificate expires on 1 Jun 2027

        NAME               KIND      STATUS   REASON           EXPIRES      CHECKED  SUMMARY
        contoso-exchange   exchange  warning  secret_expiring  in 9 days    3m ago   secret_expiry: the client secret expires on 9 Dec 2026 (in 9 days)
        fabrikam-exchange  exchange  ok       ok               in 120 days  1h ago   all 3 checks ok

        2 connectors: 1 ok, 1 warning; 2 observers, 1 not ok; last full cycle 30m ago; connwatchd 0.1.0 up since 2026-11-29 08:00Z

        """

    @Test func observersWithoutConnectors() {
        let r = StatusReport(daemon: Fixture.report.daemon, connectors: [], observers: ObserverFixture.observers)
        #expect(Views.statusTable(r, now: now, style: .plain) == Self.observersOnly)
    }

    static let observersOnly =
        """
        OBSERVER                              CLIENT                                STATUS    REASON           EXPIRES      CHECKED  SUMMARY
        5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41  d0000000-0000-4000-8000-000000000090  critical  observer_failed               2m ago   the observer's token was refused: AADSTS7000222: the client secret is expired
        fabrikam.onmicrosoft.com              d0000000-0000-4000-8000-000000000091  ok        ok               in 183 days  1h ago   token accepted, permissions granted; the observer's certificate expires on 1 Jun 2027

        no connectors configured

        """

    @Test func statusNameOfAnObservedConnectorSaysWhatStandsIn() {
        #expect(Views.connectorDetail(ObserverFixture.observed, now: now, style: .plain) == Self.detail)
    }

    static let detail =
        """
        connector  fabrikam-exchange (exchange)
        status     ok (ok)
        summary    all 3 checks ok
        tenant     fabrikam.onmicrosoft.com
        client     d0000000-0000-4000-8000-000000000005
        expires    2027-03-29 12:00Z (in 120 days)
        checked    1h ago

        CHECK          STATUS  REASON  CHECKED  SUMMARY
        app            ok      ok      1h ago   the app and its service principal exist and are enabled
        secret_expiry  ok      ok      1h ago   the client secret in use expires in 120 days
        consent        ok      ok      1h ago   all 9 required application permissions granted

        notes:
          observed (no connector secret held): credential and probe not checked: they need the connector's secret; signin (the service's own sign-ins) and app (the app and its service principal, read by the tenant's observer) stand in for them
          signin: not checked: the tenant has no Entra ID P1/P2 licence for sign-in logs

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
        CONNWATCH CRITICAL - 2 connectors: 1 ok, 1 warning (contoso-exchange secret_expiring); 2 observers (observer 5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41 observer_failed) | 'ok'=1;;;0;2 'warning'=1;;;0;2 'unknown'=0;;;0;2 'critical'=0;;;0;2 'observers_not_ok'=1;;;0;2 'observer_fabrikam.onmicrosoft.com_days_left'=183;;;; 'contoso-exchange_days_left'=9;;;; 'fabrikam-exchange_days_left'=120;;;;
        """
}
