import ArgumentParser
import ConnwatchCore
import ConnwatchTestSupport
import Foundation
import Testing

@testable import ConnwatchCLI

/// The daemon commands against canned replies: what they ask, print, and exit with.
@Suite struct CommandTests {
    static func reply(_ status: Int, _ body: some Encodable) -> Result<HTTPReply, ControlClientError> {
        .success(HTTPReply(status: status, headers: ["content-type": "application/json"], body: Fixture.json(body)))
    }

    static func error(
        _ status: Int, _ message: String, _ errors: [ControlAPI.ConfigProblem]? = nil
    )
        -> Result<HTTPReply, ControlClientError>
    {
        reply(status, ControlAPI.ErrorReply(error: message, errors: errors))
    }

    @Test func statusPrintsTheTableOrTheJSONAsItCame() {
        let body = Fixture.json(Fixture.report)
        let daemon = CannedDaemon("GET /v1/status", body)
        let table = StatusCommand.outcome(name: nil, daemon.context())
        #expect(table == Outcome(stdout: ViewGoldenTests.status))
        let json = StatusCommand.outcome(name: nil, daemon.context(json: true))
        #expect(json == Outcome(stdout: String(decoding: body, as: UTF8.self)))
        let decoded = try? StatusReport.decoder.decode(StatusReport.self, from: Data(json.stdout.utf8))
        #expect(decoded == Fixture.report)
    }

    @Test func statusOfOneConnector() {
        let daemon = CannedDaemon(
            "GET /v1/connectors/contoso-exchange", Fixture.json(ControlAPI.ConnectorReply(connector: Fixture.exchange)))
        #expect(StatusCommand.outcome(name: "contoso-exchange", daemon.context()).stdout == ViewGoldenTests.detail)
        let missing = StatusCommand.outcome(name: "nope", daemon.context())
        #expect(missing.exitCode == Exit.usage)
        #expect(missing.stderr == "connwatchctl: no such route\n")
    }

    @Test func checkAsksForWhatWasNamed() throws {
        let one = ControlAPI.ConnectorReply(connector: Fixture.teams)
        let some = StatusReport(daemon: Fixture.report.daemon, connectors: [Fixture.exchange, Fixture.teams])
        let daemon = CannedDaemon([
            "POST /v1/connectors/contoso-teams/check": Self.reply(200, one),
            "POST /v1/check": Self.reply(200, some),
        ])
        #expect(CheckCommand.outcome(names: ["contoso-teams"], daemon.context()).exitCode == 0)
        #expect(CheckCommand.outcome(names: ["contoso-exchange", "contoso-teams"], daemon.context()).exitCode == 0)
        let all = CheckCommand.outcome(names: [], daemon.context())
        #expect(all.stdout.hasPrefix("NAME "))
        let asked = daemon.requests.withLock { $0 }
        #expect(
            asked == [
                .init(method: "POST", path: "/v1/connectors/contoso-teams/check", body: nil),
                .init(method: "POST", path: "/v1/check", body: #"{"connectors":["contoso-exchange","contoso-teams"]}"#),
                .init(method: "POST", path: "/v1/check", body: nil),
            ])
    }

    @Test func silenceSendsItsRequestAndSaysHowToLiftIt() throws {
        let silence = Silence(
            id: 5, connector: "contoso-teams", reason: "waiting for the customer", author: "alice",
            createdAt: Fixture.now, expiresAt: Fixture.t("2026-11-30T12:00:00Z"))
        let daemon = CannedDaemon([
            "POST /v1/silences": Self.reply(201, ControlAPI.SilenceReply(silence: .init(silence)))
        ])
        let out = SilenceCommand.outcome(
            name: "contoso-teams", duration: "24h", reason: "waiting for the customer", daemon.context())
        #expect(
            out
                == Outcome(
                    stdout:
                        "silence 5: contoso-teams silenced until 2026-11-30 12:00Z (in 1d); lift it with: connwatchctl unsilence 5\n"
                ))
        let body = try #require(daemon.requests.withLock { $0.first?.body })
        let sent = try JSONDecoder().decode(ControlAPI.SilenceRequest.self, from: Data(body.utf8))
        #expect(
            sent
                == ControlAPI.SilenceRequest(
                    connector: "contoso-teams", duration: "24h", reason: "waiting for the customer"))
    }

    @Test func historyAlertsDeliveriesAndAcknowledgements() {
        let daemon = CannedDaemon([
            "GET /v1/connectors/contoso-exchange/history?since=2026-11-22T12%3A00%3A00Z&limit=50": Self.reply(
                200, Fixture.history),
            "GET /v1/alerts?all=false&limit=1000": Self.reply(200, Fixture.alerts),
            "GET /v1/deliveries?limit=100&status=dead%2Cgone": Self.reply(200, Fixture.deliveries),
            "DELETE /v1/silences/4": Self.reply(200, ControlAPI.DoneReply(message: "silence 4 lifted", id: 4)),
            "POST /v1/deliveries/9/retry": Self.reply(
                200, ControlAPI.DoneReply(message: "delivery 9 is pending again", id: 9)),
            "POST /v1/reload": Self.reply(
                200, ControlAPI.DoneReply(message: "configuration reloaded: 4 connectors", connectors: 4)),
        ])
        let ctx = daemon.context()
        #expect(
            HistoryCommand.outcome(name: "contoso-exchange", since: "2026-11-22T12:00:00Z", limit: 50, ctx).stdout
                == ViewGoldenTests.historyTable)
        #expect(AlertsCommand.outcome(all: false, limit: 1000, ctx).stdout == ViewGoldenTests.alertsTable)
        #expect(DeliveriesList.outcome(status: "dead,gone", limit: 100, ctx).stdout == ViewGoldenTests.deliveriesTable)
        #expect(UnsilenceCommand.outcome(id: 4, ctx) == Outcome(stdout: "silence 4 lifted\n"))
        #expect(DeliveriesRetry.outcome(id: 9, ctx) == Outcome(stdout: "delivery 9 is pending again\n"))
        #expect(ReloadCommand.outcome(ctx) == Outcome(stdout: "configuration reloaded: 4 connectors\n"))
    }

    // MARK: Failures and exit codes

    @Test func unreachableDaemonExits69WithHints() {
        let daemon = CannedDaemon([
            "GET /v1/status": .failure(
                .unreachable(path: "/run/connwatch/connwatch.sock", reason: "No such file or directory"))
        ])
        let out = StatusCommand.outcome(name: nil, daemon.context())
        #expect(out.exitCode == 69)
        #expect(out.stdout.isEmpty)
        #expect(
            out.stderr == """
                connwatchctl: cannot reach connwatchd at /run/connwatch/connwatch.sock: No such file or directory
                  Is connwatchd running (systemctl status connwatchd)? Is the socket path right (--socket, $CONNWATCH_SOCKET, [daemon] socket)? Are you in the connwatch group (id -nG)?

                """)
        let timeout = CannedDaemon(["GET /v1/status": .failure(.timeout(path: "/s"))])
        #expect(StatusCommand.outcome(name: nil, timeout.context()).exitCode == 69)
    }

    @Test func permissionDeniedExits77() {
        let socket = CannedDaemon([
            "POST /v1/reload": .failure(.permissionDenied(path: "/run/connwatch/connwatch.sock"))
        ])
        let a = ReloadCommand.outcome(socket.context())
        #expect(a.exitCode == 77)
        #expect(a.stderr.contains("are you in it (id -nG)?"))
        let message = "permission denied: uid 1000 (bob) may read but not change connwatchd; …"
        let refused = CannedDaemon(["POST /v1/reload": Self.error(403, message)])
        #expect(ReloadCommand.outcome(refused.context()) == Outcome(stderr: "connwatchctl: \(message)\n", exitCode: 77))
    }

    @Test func refusedReloadExits78ListingTheErrors() {
        let daemon = CannedDaemon([
            "POST /v1/reload": Self.error(
                422, "the configuration has 2 errors; the running configuration stays",
                [
                    .init(
                        file: "/etc/connwatch/connwatch.toml", line: 12, key: "daemon.concurrency",
                        message: "must be 1 to 256"),
                    .init(file: "/etc/connwatch/connectors.d/x.toml", line: nil, key: "", message: "not TOML"),
                ])
        ])
        let out = ReloadCommand.outcome(daemon.context())
        #expect(out.exitCode == 78)
        #expect(
            out.stderr == """
                connwatchctl: the configuration has 2 errors; the running configuration stays
                  /etc/connwatch/connwatch.toml:12: daemon.concurrency: must be 1 to 256
                  /etc/connwatch/connectors.d/x.toml: not TOML

                """)
        // With --json the error body also goes to standard output, for scripts.
        let json = ReloadCommand.outcome(daemon.context(json: true))
        #expect(json.exitCode == 78 && json.stdout.contains(#""errors":["#))
    }

    @Test(arguments: [
        (400, Exit.usage), (404, Exit.usage), (413, Exit.usage), (500, Exit.software), (503, Exit.software),
    ])
    func otherRefusals(status: Int, code: Int32) {
        let daemon = CannedDaemon(["GET /v1/status": Self.error(status, "nope")])
        #expect(
            StatusCommand.outcome(name: nil, daemon.context())
                == Outcome(stderr: "connwatchctl: nope\n", exitCode: code))
    }

    @Test func unreadableRepliesExit70() {
        let daemon = CannedDaemon("GET /v1/status", Data("{\"schema_version\":1}".utf8))
        #expect(StatusCommand.outcome(name: nil, daemon.context()).exitCode == 70)
        let garbled = CannedDaemon(["GET /v1/status": .failure(.badReply("no end of headers"))])
        #expect(StatusCommand.outcome(name: nil, garbled.context()).exitCode == 70)
    }

    @Test func nagiosSaysUnknownWhenTheDaemonIsAway() {
        let away = CannedDaemon([
            "GET /v1/status": .failure(.unreachable(path: "/s", reason: "Connection refused"))
        ])
        #expect(
            NagiosCommand.outcome(name: nil, away.context())
                == Outcome(
                    stdout: "CONNWATCH UNKNOWN - cannot reach connwatchd at /s: Connection refused\n", exitCode: 3))
        let daemon = CannedDaemon("GET /v1/status", Fixture.json(Fixture.report))
        #expect(
            NagiosCommand.outcome(name: nil, daemon.context(json: true))
                == Outcome(stdout: ViewGoldenTests.nagiosAll + "\n", exitCode: 2))
        let one = CannedDaemon(
            "GET /v1/connectors/contoso-exchange", Fixture.json(ControlAPI.ConnectorReply(connector: Fixture.exchange)))
        #expect(
            NagiosCommand.outcome(name: "contoso-exchange", one.context())
                == Outcome(stdout: ViewGoldenTests.nagiosOne + "\n", exitCode: 1))
    }

    // MARK: Command line

    /// --socket, else $CONNWATCH_SOCKET, else [daemon] socket of the configuration (when
    /// readable and valid), else the default.
    @Test func socketPathPrecedence() throws {
        let temporary = try TemporaryDirectory("socket")
        let dir = temporary.url
        func config(_ name: String, _ text: String) throws -> String {
            let path = dir.appendingPathComponent(name).path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let good = try config("good.toml", "[daemon]\nsocket = \"/srv/cw/ctl.sock\" # moved\n")
        let relative = try config("relative.toml", "[daemon]\nsocket = \"ctl.sock\"\n")
        let broken = try config("broken.toml", "[daemon\nsocket = \"/srv/cw/ctl.sock\"\n")
        let none = try config("none.toml", "[daemon]\nconcurrency = 4\n")
        let absent = dir.appendingPathComponent("absent.toml").path
        let env = ["CONNWATCH_SOCKET": "/env.sock"]

        #expect(DaemonOptions.socketPath(socket: "/flag.sock", config: good, environment: env) == "/flag.sock")
        #expect(DaemonOptions.socketPath(socket: nil, config: good, environment: env) == "/env.sock")
        #expect(DaemonOptions.socketPath(socket: nil, config: good, environment: [:]) == "/srv/cw/ctl.sock")
        #expect(DaemonOptions.socketPath(socket: nil, config: good, environment: ["CONNWATCH_SOCKET": ""]) == "/srv/cw/ctl.sock")
        for fallback in [relative, broken, none, absent] {
            #expect(DaemonOptions.socketPath(socket: nil, config: fallback, environment: [:]) == DaemonSettings.defaultSocket)
        }
        // The option parses on daemon commands, and its default is the main config path.
        let parsed = try StatusCommand.parse(["--config", good])
        #expect(parsed.options.config == good)
        #expect(try StatusCommand.parse([]).options.config == "/etc/connwatch/connwatch.toml")
    }

    @Test(arguments: [
        (["--socket", "/s", "status"], ["status", "--socket", "/s"]),
        (
            ["--socket=/s", "--json", "deliveries", "retry", "3"],
            ["deliveries", "retry", "3", "--socket=/s", "--json"]
        ),
        (["status", "--socket", "/s"], ["status", "--socket", "/s"]),
        (
            ["--json", "silence", "x", "--reason", "r", "--", "--for"],
            ["silence", "x", "--reason", "r", "--json", "--", "--for"]
        ),
        ([], []),
        // Local commands: what they declare is handed on, the rest is dropped.
        (["--socket", "/s", "keyfile", "inspect", "f"], ["keyfile", "inspect", "f"]),
        (["--socket=/s", "--json", "keyfile", "inspect", "f"], ["keyfile", "inspect", "f", "--json"]),
        (["--json", "permissions", "exchange"], ["permissions", "exchange", "--json"]),
        (["--config", "/c.toml", "consent-url", "x"], ["consent-url", "x", "--config", "/c.toml"]),
        (["--socket", "/s", "--config=/c", "config", "check"], ["config", "check", "--config=/c"]),
        (["--json", "--socket", "/s", "reauthorize"], ["reauthorize"]),
        (["--config", "/c", "--json", "nagios", "x"], ["nagios", "x", "--config", "/c"]),
        // A default subcommand (deliveries → deliveries list) and a nested one.
        (["--config", "/c", "deliveries"], ["deliveries", "--config", "/c"]),
        (["--json", "deliveries", "retry", "3"], ["deliveries", "retry", "3", "--json"]),
        // Not a global option: left where it is; a missing value is left for the parser.
        (["--jsonx", "status"], ["--jsonx", "status"]),
        (["--json=1", "status"], ["--json=1", "status"]),
        (["--socket"], ["--socket"]),
    ])
    func globalOptionsMayComeFirst(given: [String], expected: [String]) {
        #expect(Connwatchctl.hoistingGlobalOptions(given) == expected)
    }

    /// One invocation of every command, with what each takes of `--socket`, `--config`, `--json`.
    static var everyCommand: [(arguments: [String], type: ParsableCommand.Type)] {
        [
            (["status"], StatusCommand.self), (["history", "x"], HistoryCommand.self),
            (["check", "x"], CheckCommand.self),
            (["alerts"], AlertsCommand.self), (["silence", "x", "--for", "1h", "--reason", "r"], SilenceCommand.self),
            (["unsilence", "3"], UnsilenceCommand.self), (["deliveries"], DeliveriesList.self),
            (["deliveries", "list"], DeliveriesList.self), (["deliveries", "retry", "4"], DeliveriesRetry.self),
            (["reload"], ReloadCommand.self), (["nagios"], NagiosCommand.self),
            (["config", "check"], ConfigCheckCommand.self),
            (["consent-url", "x"], ConsentURLCommand.self), (["permissions", "teams"], PermissionsCommand.self),
            (["reauthorize"], ReauthorizeCommand.self), (["keyfile", "inspect", "f"], KeyFileInspect.self),
            (["keyfile", "create", "--cert", "c", "--key", "k"], KeyFileCreate.self),
            (["email", "test", "x"], EmailTestCommand.self), (["email", "digest", "x"], EmailDigestCommand.self),
            (["report", "--html", "r.html", "--days", "30"], ReportCommand.self),
        ]
    }

    static func spelled(_ option: GlobalOption) -> [String] {
        switch option {
        case .socket: ["--socket", "/run/test.sock"]
        case .config: ["--config", "/etc/test.toml"]
        case .json: ["--json"]
        }
    }

    /// Every global option is accepted before every command; the table of which ones a
    /// command declares is true (the command parses it after its name exactly then); and
    /// every command of the tree is in this test.
    @Test func everyGlobalOptionIsAcceptedBeforeEveryCommand() throws {
        var leaves: [String] = []
        func walk(_ command: ParsableCommand.Type) {
            let subs = command.configuration.subcommands
            if subs.isEmpty { leaves.append("\(command)") }
            subs.forEach(walk)
        }
        walk(Connwatchctl.self)
        #expect(Set(leaves) == Set(Self.everyCommand.map { "\($0.type)" }))

        for (arguments, expected) in Self.everyCommand {
            #expect(Connwatchctl.command(at: arguments) == expected, "\(arguments)")
            let declared = GlobalOption.declared(by: expected)
            for option in GlobalOption.allCases {
                let first = Connwatchctl.hoistingGlobalOptions(Self.spelled(option) + arguments)
                let parsed = try Connwatchctl.parseAsRoot(first)
                #expect(type(of: parsed) == expected, "\(first)")
                let after = Result { try Connwatchctl.parseAsRoot(arguments + Self.spelled(option)) }
                #expect(((try? after.get()) != nil) == declared.contains(option), "\(arguments) \(option)")
            }
            // All three at once, in any order and spelling.
            let all = ["--json", "--config=/etc/test.toml", "--socket", "/run/test.sock"]
            #expect(
                type(of: try Connwatchctl.parseAsRoot(Connwatchctl.hoistingGlobalOptions(all + arguments))) == expected)
        }
    }

    /// The values arrive where the command reads them.
    @Test func globalOptionsBeforeTheCommandReachIt() throws {
        func parse(_ arguments: [String]) throws -> ParsableCommand {
            try Connwatchctl.parseAsRoot(Connwatchctl.hoistingGlobalOptions(arguments))
        }
        let inspect = try #require(try parse(["--socket", "S", "keyfile", "inspect", "F"]) as? KeyFileInspect)
        #expect(inspect.file == "F" && !inspect.json)
        #expect((try parse(["--socket", "S", "--json", "keyfile", "inspect", "F"]) as? KeyFileInspect)?.json == true)
        let permissions = try #require(try parse(["--json", "permissions", "exchange"]) as? PermissionsCommand)
        #expect(permissions.json && permissions.subject == .kind(.exchange))
        let consent = try #require(try parse(["--config", "C", "consent-url", "NAME"]) as? ConsentURLCommand)
        #expect(consent.config == "C" && consent.name == "NAME")
        let check = try #require(try parse(["--config=C", "--json", "config", "check"]) as? ConfigCheckCommand)
        #expect(check.config == "C" && check.json)
        let status = try #require(
            try parse(["--socket", "S", "--config", "C", "--json", "status", "x"]) as? StatusCommand)
        #expect(status.options.socket == "S" && status.options.config == "C" && status.options.json)
        let nagios = try #require(try parse(["--socket", "S", "--json", "nagios"]) as? NagiosCommand)
        #expect(nagios.socket == "S")
        // The existing forms still work.
        #expect((try parse(["keyfile", "inspect", "F", "--json"]) as? KeyFileInspect)?.json == true)
        #expect((try parse(["status", "--socket", "S"]) as? StatusCommand)?.options.socket == "S")
        #expect((try parse(["consent-url", "NAME", "--config", "C"]) as? ConsentURLCommand)?.config == "C")
        // After a local command's name, an option it does not have is still an error.
        #expect(throws: (any Error).self) { try parse(["keyfile", "inspect", "F", "--socket", "S"]) }
    }

    @Test func parsesEveryCommand() throws {
        for args in [
            ["status"], ["status", "x", "--json", "--socket", "/s"], ["history", "x", "--since", "12h"],
            ["check", "--all"],
            ["check", "a", "b"], ["alerts", "--all"], ["silence", "x", "--for", "24h", "--reason", "r"],
            ["unsilence", "3"],
            ["deliveries"], ["deliveries", "--json"], ["deliveries", "retry", "4"], ["reload"], ["nagios", "x"],
            ["config", "check", "--json"], ["consent-url", "x", "--mip", "--json"], ["permissions", "teams"],
            ["keyfile", "inspect", "f"], ["reauthorize"],
        ] {
            _ = try Connwatchctl.parseAsRoot(args)
        }
        for bad in [
            ["silence", "x", "--for", "soon", "--reason", "r"], ["silence", "x", "--for", "1h", "--reason", " "],
            ["check", "a", "--all"], ["history", "x", "--since", "yesterday"], ["unsilence", "one"],
        ] {
            do {
                _ = try Connwatchctl.parseAsRoot(bad)
                Issue.record("parsed \(bad)")
            } catch {
                #expect(Connwatchctl.exitCode(for: error).rawValue == Exit.usage, "\(bad)")
            }
        }
    }
}
