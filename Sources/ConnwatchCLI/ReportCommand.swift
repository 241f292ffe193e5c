import ArgumentParser
import ConnwatchConfig
import ConnwatchCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `connwatchctl report [--html FILE] [--days 90]` (SPEC §5, §7): the daemon renders the
/// report (`GET /v1/report`); without `--html` its text is printed, with it the HTML page
/// is written to FILE (through a temporary file and a rename, never through a symlink).
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Print the report (status, expiring credentials, changes), or write it as one HTML page.",
        discussion: """
            The HTML page is self-contained: inline styles and SVG, no script, nothing fetched. Per tenant it \
            shows each connector's status and what to do, a credential-expiry timeline and a 30-day status strip.
            """)

    @Option(name: .long, help: ArgumentHelp("Write the HTML page to this file (mode 0644).", valueName: "file"))
    var html: String?

    @Option(name: .long, help: "How many days ahead the expiry timeline looks (1–3650).")
    var days = 90

    @Option(name: .long, help: ArgumentHelp("List the changes since: 12h, 7d, or an RFC 3339 time.", valueName: "when"))
    var since = "7d"

    @Option(name: .long, help: ArgumentHelp(DaemonOptions.socketHelp, valueName: "path"))
    var socket: String?

    @Option(name: .long, help: ArgumentHelp(DaemonOptions.configHelp, valueName: "path"))
    var config: String = ConfigLoader.defaultPath

    func validate() throws {
        guard (1...3650).contains(days) else { throw ValidationError("--days \(days): a number from 1 to 3650") }
        guard ConfigDuration(parsing: since) != nil || RFC3339.date(since) != nil else {
            throw ValidationError("--since \(since): give a duration such as 7d or 12h, or an RFC 3339 time")
        }
    }

    func run() throws {
        try Self.outcome(
            html: html, days: days, since: since,
            DaemonOptions.context(socket: socket, config: config, json: false, timeout: .seconds(60))
        ).emit()
    }

    static func outcome(html: String?, days: Int, since: String, _ ctx: CommandContext) -> Outcome {
        let format = html == nil ? "text" : "html"
        let path = "/v1/report?days=\(days)&since=\(escape(since))&format=\(format)"
        switch ctx.request("GET", path) {
        case .failure(let outcome): return outcome
        case .success(let reply):
            let type = reply.headers["content-type"] ?? ""
            guard type.hasPrefix(html == nil ? "text/plain" : "text/html") else {
                return Outcome(
                    stderr:
                        "connwatchctl: connwatchd's report reply has content type \"\(UntrustedText.terminal(String(type.prefix(60))))\"\n",
                    exitCode: Exit.software)
            }
            guard let file = html else { return Outcome(stdout: CommandContext.line(reply.text)) }
            switch KeyFileWriter.write(
                bytes: Array(reply.body), to: file, replace: true, mode: 0o644, what: "the report")
            {
            case .failure(let f):
                // 73, EX_CANTCREAT, as keyfile create.
                return Outcome(stderr: "connwatchctl: \(f)\n", exitCode: 73)
            case .success:
                return Outcome(
                    stdout: "wrote the report to \(file) (\(reply.body.count) bytes); open it in a browser\n")
            }
        }
    }
}
