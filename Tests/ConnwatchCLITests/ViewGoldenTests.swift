import ConnwatchCore
import Foundation
import Testing

@testable import ConnwatchCLI

/// The human tables and lines connwatchctl prints, compared whole (golden), at a fixed now.
@Suite struct ViewGoldenTests {
    let now = Fixture.now

    @Test func statusTable() {
        #expect(Views.statusTable(Fixture.report, now: now, style: .plain) == Self.status)
    }

    static let status =
        """
        NAME              KIND        STATUS    REASON           EXPIRES      CHECKED   SUMMARY
        contoso-exchange  exchange    warning   secret_expiring  in 9 days    3m ago    secret_expiry: the client secret expires on 9 Dec 2026 (in 9 days)
        contoso-onedrive  onedrive    ok        ok               in 300 days  1h ago    all 4 checks ok
        contoso-teams     teams       critical  consent_missing               just now  consent: 1 required permission not granted: Chat.UpdatePolicyViolation.All (Quarantine fails)
        contoso-blob      azure-blob  unknown   pending                       never     not checked yet

        4 connectors: 1 ok, 1 warning, 1 unknown, 1 critical; last full cycle 30m ago; connwatchd 0.1.0 up since 2026-11-29 08:00Z

        """

    @Test func statusTableInColourKeepsTheColumnsAligned() {
        let colored = Views.statusTable(Fixture.report, now: now, style: Style(color: true))
        #expect(colored.contains("\u{1B}[33mwarning\u{1B}[0m"))
        #expect(colored.contains("\u{1B}[31mcritical\u{1B}[0m"))
        #expect(colored.contains("\u{1B}[32mok\u{1B}[0m"))
        #expect(colored.uncolored == Self.status)
    }

    @Test func connectorDetail() {
        #expect(Views.connectorDetail(Fixture.exchange, now: now, style: .plain) == Self.detail)
    }

    static let detail =
        """
        connector  contoso-exchange (exchange)
        status     warning (secret_expiring)
        summary    secret_expiry: the client secret expires on 9 Dec 2026 (in 9 days)
        tenant     5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41
        client     d0000000-0000-4000-8000-000000000001
        labels     customer=Contoso, owner=secops
        expires    2026-12-09 08:00Z (in 9 days)
        checked    3m ago

        CHECK          STATUS   REASON           CHECKED  SUMMARY
        credential     ok       ok               3m ago   credential accepted for 2 resources
        secret_expiry  warning  secret_expiring  3m ago   the client secret expires on 9 Dec 2026 (in 9 days)
        consent        ok       ok               3m ago   all 9 required application permissions granted
        probe          ok       ok               3m ago   Graph users, Office 365 subscriptions/list answered

        what to do:
          secret_expiry: create a new client secret (step 1b), then re-authorize the tenant in the Zscaler Admin Portal (step 4)

        """

    @Test func connectorNotCheckedYet() {
        #expect(Views.connectorDetail(Fixture.blob, now: now, style: .plain) == Self.pending)
    }

    static let pending =
        """
        connector  contoso-blob (azure-blob)
        status     unknown (pending)
        summary    not checked yet
        tenant     5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41
        client     d0000000-0000-4000-8000-000000000004
        checked    never

        not checked yet

        """

    @Test func history() {
        #expect(Views.history(Fixture.history, now: now, style: .plain) == Self.historyTable)
        let empty = ControlAPI.HistoryReply(
            connector: "x", since: Fixture.t("2026-11-22T12:00:00Z"), results: [], transitions: [])
        #expect(Views.history(empty, now: now, style: .plain) == "no changes for x since 2026-11-22 12:00Z (7d ago)\n")
    }

    static let historyTable =
        """
        WHEN               AGE      CHECK          STATUS   REASON           SUMMARY
        2026-11-08 09:00Z  21d ago  secret_expiry  ok       ok               the client secret expires in 31 days
        2026-11-29 11:57Z  3m ago   secret_expiry  warning  secret_expiring  the client secret expires on 9 Dec 2026 (in 9 days)

        """

    @Test func alertsWithSilences() {
        #expect(Views.alerts(Fixture.alerts, all: false, now: now, style: .plain) == Self.alertsTable)
        let none = ControlAPI.AlertsReply(alerts: [], silences: [])
        #expect(Views.alerts(none, all: false, now: now, style: .plain) == "no alerts firing\n")
        #expect(Views.alerts(none, all: true, now: now, style: .plain) == "no alerts recorded\n")
    }

    static let alertsTable =
        """
        AGE       CONNECTOR         CHECK          SEVERITY  STATE   REASON           SUMMARY
        just now  contoso-teams     consent        critical  firing  consent_missing  [silenced] 1 required permission not granted: Chat.UpdatePolicyViolation.All (Quarantine fails)
        3h ago    contoso-exchange  secret_expiry  warning   firing  secret_expiring  the client secret expires on 9 Dec 2026 (in 9 days)

        SILENCE  CONNECTOR      UNTIL                       AUTHOR  REASON
        4        contoso-teams  2026-11-30 11:00Z (in 23h)  alice   consent pending with the customer's admin

        """

    @Test func deliveries() {
        #expect(Views.deliveries(Fixture.deliveries, now: now, style: .plain) == Self.deliveriesTable)
        #expect(
            Views.deliveries(ControlAPI.DeliveriesReply(deliveries: []), now: now, style: .plain)
                == "no deliveries\n")
    }

    /// A mail to a sink with `owners = true`: the recipients, too long for the column, in
    /// full under the table (untrusted text made safe for the terminal).
    @Test func deliveriesWithOwnersListTheirRecipients() {
        var reply = Fixture.deliveries
        reply.deliveries[0].lastError =
            "recipients: ops@example.com (to), ana@contoso.com (owner); owners: 1 of 2 has no mail address — delivered to ops@example.com, ana@contoso.com"
        reply.deliveries[1].lastError = "recipients: not an e-mail row"
        reply.deliveries.append(reply.deliveries[0])
        reply.deliveries[4].id = 14
        reply.deliveries[4].lastError = "recipients: ops@example.com (to); owners not read: graph: \u{1B}[31mred\nline"
        let text = Views.deliveries(reply, now: now, style: .plain)
        let tail = text.components(separatedBy: "\nRecipients (owners = true):\n")
        #expect(tail.count == 2)
        #expect(
            tail.last
                == """
                  13  recipients: ops@example.com (to), ana@contoso.com (owner); owners: 1 of 2 has no mail address — delivered to ops@example.com, ana@contoso.com
                  14  \(UntrustedText.terminal("recipients: ops@example.com (to); owners not read: graph: \u{1B}[31mred\nline"))

                """)
        #expect(!text.contains("\u{1B}"))
    }

    static let deliveriesTable =
        """
        ID  AGE     CONNECTOR         SINK    KIND     EVENT                      STATUS     ATTEMPTS  NEXT   LAST ERROR
        13  3h ago  contoso-exchange  secops  email    connector.secret.expiring  delivered  2         -      delivered to ops@example.com; refused: old@example.com (550…
        12  3h ago  contoso-exchange  soc     webhook  connector.secret.expiring  pending    2         in 5m  HTTP 503: Service Unavailable
        9   3d ago  contoso-blob      slack   webhook  connector.roles.missing    dead       8         -      connection refused
        8   3d ago  contoso-blob      soc     webhook  connector.roles.missing    delivered  1         -      HTTP 204

        """

    @Test func nagiosForEveryConnector() {
        let (line, code) = Views.nagios(Fixture.report, name: nil, now: now)
        #expect(line == Self.nagiosAll)
        #expect(code == 2)
    }

    static let nagiosAll =
        """
        CONNWATCH CRITICAL - 4 connectors: 1 ok, 1 warning, 1 unknown, 1 critical (contoso-teams consent_missing, contoso-blob pending, contoso-exchange secret_expiring) | 'ok'=1;;;0;4 'warning'=1;;;0;4 'unknown'=1;;;0;4 'critical'=1;;;0;4 'contoso-exchange_days_left'=9;;;; 'contoso-onedrive_days_left'=300;;;;
        """

    @Test func nagiosForOneConnector() {
        let one = StatusReport(daemon: Fixture.report.daemon, connectors: [Fixture.exchange])
        let (line, code) = Views.nagios(one, name: "contoso-exchange", now: now)
        #expect(line == Self.nagiosOne)
        #expect(code == 1)
    }

    static let nagiosOne =
        """
        CONNWATCH WARNING - contoso-exchange warning: secret_expiry: the client secret expires on 9 Dec 2026 (in 9 days) | 'secret_expiry_days_left'=9;;;; 'checks_not_ok'=1;;;0;4
        """

    @Test(arguments: [
        (CheckStatus.ok, Int32(0), "OK"), (.warning, 1, "WARNING"), (.critical, 2, "CRITICAL"),
        (.unknown, 3, "UNKNOWN"),
    ])
    func nagiosExitCodes(status: CheckStatus, code: Int32, word: String) {
        var c = Fixture.onedrive
        c.status = status
        let (line, exit) = Views.nagios(
            StatusReport(daemon: Fixture.report.daemon, connectors: [c]), name: nil, now: now)
        #expect(exit == code)
        #expect(line.hasPrefix("CONNWATCH \(word) - 1 connector: 1 \(status.rawValue)"))
    }

    @Test func humanUnits() {
        let e = { (s: String) in CredentialExpiry(credentialId: "k", expiresAt: Fixture.t(s)) }
        #expect(Human.expiry(e("2026-12-09T12:00:00Z"), now: now) == "in 10 days")
        #expect(Human.expiry(e("2026-11-30T13:00:00Z"), now: now) == "in 1 day")
        #expect(Human.expiry(e("2026-11-29T18:00:00Z"), now: now) == "today")
        #expect(Human.expiry(e("2026-11-29T06:00:00Z"), now: now) == "expired today")
        #expect(Human.expiry(e("2026-11-28T06:00:00Z"), now: now) == "expired 1 day ago")
        #expect(Human.expiry(e("2026-11-19T12:00:00Z"), now: now) == "expired 10 days ago")
        #expect(Human.relative(Fixture.t("2026-11-29T12:00:30Z"), now: now) == "in 30s")
        #expect(Human.relative(Fixture.t("2026-11-29T14:00:00Z"), now: now) == "in 2h")
        #expect(Human.relative(Fixture.t("2026-11-27T12:00:00Z"), now: now) == "2d ago")
        #expect(Human.minute(Fixture.t("2026-11-29T06:32:07Z")) == "2026-11-29 06:32Z")
    }

    @Test func colourOnlyOnATerminalWithoutNoColor() {
        #expect(Style.detect(environment: [:], isTerminal: true).color)
        #expect(!Style.detect(environment: [:], isTerminal: false).color)
        #expect(!Style.detect(environment: ["NO_COLOR": "1"], isTerminal: true).color)
        #expect(Style.detect(environment: ["NO_COLOR": ""], isTerminal: true).color)
    }
}
