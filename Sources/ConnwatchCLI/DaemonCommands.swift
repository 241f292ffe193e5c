import ArgumentParser
import ConnwatchConfig
import ConnwatchCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// sysexits codes connwatchctl uses (SPEC §7).
public enum Exit {
    public static let ok: Int32 = 0
    public static let usage: Int32 = 64
    public static let unavailable: Int32 = 69
    public static let software: Int32 = 70
    public static let noPermission: Int32 = 77
    public static let config: Int32 = 78
}

/// What a command prints and how it exits, computed apart from the process so that tests
/// compare it whole.
public struct Outcome: Error, Sendable, Equatable {
    public var stdout: String
    public var stderr: String
    public var exitCode: Int32

    public init(stdout: String = "", stderr: String = "", exitCode: Int32 = 0) {
        self.stdout = stdout
        self.stderr = stderr
        self.exitCode = exitCode
    }

    func emit() throws {
        Self.write(stdout, to: STDOUT_FILENO)
        Self.write(stderr, to: STDERR_FILENO)
        if exitCode != 0 { throw ExitCode(exitCode) }
    }

    /// Writes the string's bytes as they are (no copy: `status --json` can be 16 MB).
    private static func write(_ text: String, to fd: Int32) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return  // a closed pipe (`| head`): nothing more to say
                }
                offset += n
            }
        }
    }
}

/// Everything a daemon command needs besides its arguments.
public struct CommandContext: Sendable {
    public var transport: any ControlTransport
    public var socketPath: String
    public var json: Bool
    public var now: Date
    public var style: Style

    public init(transport: any ControlTransport, socketPath: String, json: Bool, now: Date, style: Style) {
        self.transport = transport
        self.socketPath = socketPath
        self.json = json
        self.now = now
        self.style = style
    }

    static let unreachableHint =
        "  Is connwatchd running (systemctl status connwatchd)? Is the socket path right (--socket, "
        + "$CONNWATCH_SOCKET, [daemon] socket)? Are you in the connwatch group (id -nG)?\n"

    /// The reply when it is a success (2xx); otherwise what to print and the exit code.
    func request(_ method: String, _ path: String, body: Data? = nil) -> Result<HTTPReply, Outcome> {
        let reply: HTTPReply
        do {
            reply = try transport.send(method, path, body: body)
        } catch {
            return .failure(Self.failure(error))
        }
        guard (200..<300).contains(reply.status) else { return .failure(failure(reply)) }
        return .success(reply)
    }

    static func failure(_ error: ControlClientError) -> Outcome {
        switch error {
        case .unreachable, .timeout:
            return Outcome(stderr: "connwatchctl: \(error)\n" + unreachableHint, exitCode: Exit.unavailable)
        case .permissionDenied(let path):
            return Outcome(
                stderr:
                    "connwatchctl: permission denied opening \(path): the socket belongs to root and the connwatch group; "
                    + "are you in it (id -nG)?\n",
                exitCode: Exit.noPermission)
        case .badReply:
            return Outcome(stderr: "connwatchctl: \(error)\n", exitCode: Exit.software)
        }
    }

    /// A daemon refusal: 403 → 77, 422 → 78, other 4xx → 64, anything else → 70.
    func failure(_ reply: HTTPReply) -> Outcome {
        let decoded = try? StatusReport.decoder.decode(ControlAPI.ErrorReply.self, from: reply.body)
        // The daemon's words may quote configuration and Microsoft: cleaned for the terminal.
        let error = decoded?.error ?? "connwatchd answered HTTP \(reply.status)"
        var message = "connwatchctl: \(UntrustedText.terminal(error))\n"
        for e in decoded?.errors ?? [] {
            let line = "\(e.file)\(e.line.map { ":\($0)" } ?? ""): \(e.key.isEmpty ? "" : "\(e.key): ")\(e.message)"
            message += "  \(UntrustedText.terminal(line))\n"
        }
        let code: Int32
        switch reply.status {
        case 403: code = Exit.noPermission
        case 422: code = Exit.config
        case 400..<500: code = Exit.usage
        default: code = Exit.software
        }
        return Outcome(stdout: json && decoded != nil ? Self.line(reply.text) : "", stderr: message, exitCode: code)
    }

    static func line(_ s: String) -> String { s.hasSuffix("\n") ? s : s + "\n" }

    /// Requests, then prints the JSON as it came (`--json`) or the decoded value rendered.
    func show<T: Decodable>(
        _ type: T.Type, _ method: String, _ path: String, body: Data? = nil, render: (T) -> String
    ) -> Outcome {
        switch request(method, path, body: body) {
        case .failure(let outcome): return outcome
        case .success(let reply):
            if json { return Outcome(stdout: Self.line(reply.text)) }
            do {
                return Outcome(stdout: render(try StatusReport.decoder.decode(T.self, from: reply.body)))
            } catch {
                return Outcome(
                    stderr: "connwatchctl: connwatchd's reply is unreadable: \(error)\n", exitCode: Exit.software)
            }
        }
    }
}

/// Percent-encodes a path segment or query value (connector names are already safe).
func escape(_ s: String) -> String {
    s.addingPercentEncoding(
        withAllowedCharacters: CharacterSet(
            charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")) ?? s
}

/// `--socket` and `--json`, on every command that talks to connwatchd.
struct DaemonOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(DaemonOptions.socketHelp, valueName: "path"))
    var socket: String?

    @Option(name: .long, help: ArgumentHelp(DaemonOptions.configHelp, valueName: "path"))
    var config: String = ConfigLoader.defaultPath

    @Flag(name: .long, help: "Print the daemon's JSON reply instead of a table.")
    var json = false

    static let socketHelp =
        "The control socket (default: $CONNWATCH_SOCKET, else [daemon] socket of --config, else \(DaemonSettings.defaultSocket))."
    static let configHelp = "The configuration whose [daemon] socket to use when neither --socket nor $CONNWATCH_SOCKET is given."

    func context(timeout: Duration? = .seconds(60)) -> CommandContext {
        Self.context(socket: socket, config: config, json: json, timeout: timeout)
    }

    /// The socket to talk to: `--socket`, else `$CONNWATCH_SOCKET`, else `[daemon] socket`
    /// of the configuration (SPEC §1: it overrides the default for the daemon, so the CLI
    /// follows), else the default.
    static func socketPath(socket: String?, config: String, environment env: [String: String]) -> String {
        if let socket, !socket.isEmpty { return socket }
        if let s = env["CONNWATCH_SOCKET"], !s.isEmpty { return s }
        return ConfigLoader.configuredSocket(path: config) ?? DaemonSettings.defaultSocket
    }

    static func context(socket: String?, config: String, json: Bool, timeout: Duration?) -> CommandContext {
        let env = ProcessInfo.processInfo.environment
        let path = socketPath(socket: socket, config: config, environment: env)
        return CommandContext(
            transport: UnixSocketClient(path: path, timeout: timeout), socketPath: path, json: json, now: Date(),
            style: .detect(environment: env, isTerminal: isatty(STDOUT_FILENO) == 1))
    }
}

// MARK: Commands

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show every connector's status, or one connector's checks in detail.")

    @Argument(help: "A connector name (default: all).")
    var name: String?

    @OptionGroup var options: DaemonOptions

    func run() throws { try Self.outcome(name: name, options.context()).emit() }

    static func outcome(name: String?, _ ctx: CommandContext) -> Outcome {
        guard let name else {
            return ctx.show(StatusReport.self, "GET", "/v1/status") {
                Views.statusTable($0, now: ctx.now, style: ctx.style)
            }
        }
        return ctx.show(ControlAPI.ConnectorReply.self, "GET", "/v1/connectors/\(escape(name))") {
            Views.connectorDetail($0.connector, now: ctx.now, style: ctx.style)
        }
    }
}

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "Show what changed in a connector's checks.")

    @Argument(help: "The connector.")
    var name: String

    @Option(name: .long, help: ArgumentHelp("How far back: 12h, 7d, 90d, or an RFC 3339 time.", valueName: "when"))
    var since = "7d"

    @Option(name: .long, help: "At most this many results (1–10000).")
    var limit = 1000

    @OptionGroup var options: DaemonOptions

    func validate() throws {
        guard ConfigDuration(parsing: since) != nil || RFC3339.date(since) != nil else {
            throw ValidationError("--since \(since): give a duration such as 7d or 12h, or an RFC 3339 time")
        }
    }

    func run() throws { try Self.outcome(name: name, since: since, limit: limit, options.context()).emit() }

    static func outcome(name: String, since: String, limit: Int, _ ctx: CommandContext) -> Outcome {
        ctx.show(
            ControlAPI.HistoryReply.self, "GET",
            "/v1/connectors/\(escape(name))/history?since=\(escape(since))&limit=\(limit)"
        ) { Views.history($0, now: ctx.now, style: ctx.style) }
    }
}

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Check connectors now, wait for the results and show them.",
        discussion: "Without a name (or with --all) every connector is checked.")

    @Argument(help: "Connector names (default: all).")
    var names: [String] = []

    @Flag(name: .long, help: "Check every connector.")
    var all = false

    @OptionGroup var options: DaemonOptions

    func validate() throws {
        if all && !names.isEmpty { throw ValidationError("give connector names or --all, not both") }
    }

    // A check of many connectors takes as long as it takes: no timeout.
    func run() throws { try Self.outcome(names: names, options.context(timeout: nil)).emit() }

    static func outcome(names: [String], _ ctx: CommandContext) -> Outcome {
        if names.count == 1 {
            return ctx.show(ControlAPI.ConnectorReply.self, "POST", "/v1/connectors/\(escape(names[0]))/check") {
                Views.connectorDetail($0.connector, now: ctx.now, style: ctx.style)
            }
        }
        let body = names.isEmpty ? nil : try? JSONEncoder().encode(ControlAPI.CheckRequest(connectors: names))
        return ctx.show(StatusReport.self, "POST", "/v1/check", body: body) {
            Views.statusTable($0, now: ctx.now, style: ctx.style)
        }
    }
}

struct AlertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts", abstract: "Show the alerts firing (or every recorded one) and the silences in force.")

    @Flag(name: .long, help: "Every recorded notification, resolved ones included, newest first.")
    var all = false

    @Option(name: .long, help: "At most this many alerts (1–10000).")
    var limit = 1000

    @OptionGroup var options: DaemonOptions

    func run() throws { try Self.outcome(all: all, limit: limit, options.context()).emit() }

    static func outcome(all: Bool, limit: Int, _ ctx: CommandContext) -> Outcome {
        ctx.show(ControlAPI.AlertsReply.self, "GET", "/v1/alerts?all=\(all)&limit=\(limit)") {
            Views.alerts($0, all: all, now: ctx.now, style: ctx.style)
        }
    }
}

struct SilenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "silence",
        abstract: "Silence a connector's alerts for a while: history keeps them, webhooks do not get them.")

    @Argument(help: "The connector, or '*' for every connector.")
    var name: String

    @Option(name: .customLong("for"), help: ArgumentHelp("How long: 90m, 24h, 7d.", valueName: "duration"))
    var duration: String

    @Option(name: .long, help: "Why (recorded with your user name).")
    var reason: String

    @OptionGroup var options: DaemonOptions

    func validate() throws {
        guard ConfigDuration(parsing: duration) != nil else {
            throw ValidationError("--for \(duration): a whole number with s, m, h or d, such as 90m, 24h or 7d")
        }
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ValidationError("--reason: say why the connector is silenced")
        }
    }

    func run() throws { try Self.outcome(name: name, duration: duration, reason: reason, options.context()).emit() }

    static func outcome(name: String, duration: String, reason: String, _ ctx: CommandContext) -> Outcome {
        let body = try? JSONEncoder().encode(
            ControlAPI.SilenceRequest(connector: name, duration: duration, reason: reason))
        return ctx.show(ControlAPI.SilenceReply.self, "POST", "/v1/silences", body: body) {
            let s = $0.silence
            let who = s.connector == Silence.allConnectors ? "every connector" : UntrustedText.terminal(s.connector)
            return "silence \(s.id): \(who) silenced until \(Human.minute(s.expiresAt)) "
                + "(\(Human.relative(s.expiresAt, now: ctx.now))); lift it with: connwatchctl unsilence \(s.id)\n"
        }
    }
}

struct UnsilenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unsilence", abstract: "Lift a silence before it expires (connwatchctl alerts lists them).")

    @Argument(help: "The silence's id.")
    var id: Int64

    @OptionGroup var options: DaemonOptions

    func run() throws { try Self.outcome(id: id, options.context()).emit() }

    static func outcome(id: Int64, _ ctx: CommandContext) -> Outcome {
        ctx.show(ControlAPI.DoneReply.self, "DELETE", "/v1/silences/\(id)") {
            UntrustedText.terminal($0.message) + "\n"
        }
    }
}

struct DeliveriesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliveries", abstract: "Show deliveries (webhooks and e-mail), or retry a dead one.",
        subcommands: [DeliveriesList.self, DeliveriesRetry.self], defaultSubcommand: DeliveriesList.self)
}

struct DeliveriesList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "Show deliveries (webhooks and e-mail), newest first.")

    @Option(name: .long, help: "Only these states, comma-separated: pending, delivering, delivered, dead, gone.")
    var status: String?

    @Option(name: .long, help: "At most this many deliveries (1–10000).")
    var limit = 100

    @OptionGroup var options: DaemonOptions

    func run() throws { try Self.outcome(status: status, limit: limit, options.context()).emit() }

    static func outcome(status: String?, limit: Int, _ ctx: CommandContext) -> Outcome {
        var path = "/v1/deliveries?limit=\(limit)"
        if let status { path += "&status=\(escape(status))" }
        return ctx.show(ControlAPI.DeliveriesReply.self, "GET", path) {
            Views.deliveries($0, now: ctx.now, style: ctx.style)
        }
    }
}

struct DeliveriesRetry: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry", abstract: "Send a dead (or gone) delivery again.")

    @Argument(help: "The delivery's id.")
    var id: Int64

    @OptionGroup var options: DaemonOptions

    func run() throws { try Self.outcome(id: id, options.context()).emit() }

    static func outcome(id: Int64, _ ctx: CommandContext) -> Outcome {
        ctx.show(ControlAPI.DoneReply.self, "POST", "/v1/deliveries/\(id)/retry") {
            UntrustedText.terminal($0.message) + "\n"
        }
    }
}

struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Reload the configuration; a bad one is refused (exit 78) and the running one stays.")

    @OptionGroup var options: DaemonOptions

    func run() throws { try Self.outcome(options.context()).emit() }

    static func outcome(_ ctx: CommandContext) -> Outcome {
        ctx.show(ControlAPI.DoneReply.self, "POST", "/v1/reload") { UntrustedText.terminal($0.message) + "\n" }
    }
}

struct NagiosCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nagios",
        abstract: "One Monitoring Plugins line with perfdata; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.")

    @Argument(help: "A connector name (default: all).")
    var name: String?

    @Option(name: .long, help: ArgumentHelp(DaemonOptions.socketHelp, valueName: "path"))
    var socket: String?

    @Option(name: .long, help: ArgumentHelp(DaemonOptions.configHelp, valueName: "path"))
    var config: String = ConfigLoader.defaultPath

    func run() throws {
        try Self.outcome(
            name: name, DaemonOptions.context(socket: socket, config: config, json: false, timeout: .seconds(10))
        ).emit()
    }

    static func outcome(name: String?, _ ctx: CommandContext) -> Outcome {
        var ctx = ctx
        ctx.json = false
        let path = name.map { "/v1/connectors/\(escape($0))" } ?? "/v1/status"
        let report: StatusReport
        switch ctx.request("GET", path) {
        case .failure(let o):
            let why = o.stderr.split(separator: "\n").first.map { String($0.dropFirst("connwatchctl: ".count)) } ?? ""
            return Outcome(stdout: "CONNWATCH UNKNOWN - \(why.replacingOccurrences(of: "|", with: "/"))\n", exitCode: 3)
        case .success(let reply):
            do {
                if name != nil {
                    let one = try StatusReport.decoder.decode(ControlAPI.ConnectorReply.self, from: reply.body)
                    report = StatusReport(
                        daemon: .init(version: "", startedAt: ctx.now, lastCycleAt: nil), connectors: [one.connector])
                } else {
                    report = try StatusReport.decoder.decode(StatusReport.self, from: reply.body)
                }
            } catch {
                return Outcome(stdout: "CONNWATCH UNKNOWN - connwatchd's reply is unreadable\n", exitCode: 3)
            }
        }
        let (line, code) = Views.nagios(report, name: name, now: ctx.now)
        return Outcome(stdout: line + "\n", exitCode: code)
    }
}
