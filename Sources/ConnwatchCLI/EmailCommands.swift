import ArgumentParser
import ConnwatchConfig
import ConnwatchCore
import ConnwatchMail
import Foundation

/// `connwatchctl email test NAME`: sends one test message through an `[[email]]` sink,
/// straight from this process (not through connwatchd), so an operator can prove the
/// server, TLS, credentials and recipients before an alert depends on them.
struct EmailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "email", abstract: "E-mail sink commands.",
        subcommands: [EmailTestCommand.self, EmailDigestCommand.self])
}

struct EmailTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Send a test message through an [[email]] sink.",
        discussion: """
            Reads the configuration and its secrets (run it as root or the connwatch user), connects \
            to the sink's smtp_url with the same rules as connwatchd (STARTTLS or implicit TLS with a \
            verified certificate, [daemon] ca_file trusted too; AUTH only over TLS) and sends one \
            message to the sink's recipients. Exit 0 when the server took it (recipients it refused \
            are listed), 75 on a temporary failure, 76 when the server refused it, 64 for an unknown \
            sink, 78 for a configuration error.
            """)

    @Argument(help: "The [[email]] sink's name.")
    var name: String

    @Option(name: .long, help: "Main configuration file.")
    var config: String = ConfigLoader.defaultPath

    @Option(name: .long, help: "Directory of credentials (default: $CREDENTIALS_DIRECTORY).")
    var credentialsDir: String?

    @Flag(name: .long, help: "Print JSON: {verdict, message_id, accepted, refused, deferred, failure}.")
    var json = false

    func run() async throws {
        try await Self.outcome(
            name: name, config: config,
            credentialsDirectory: ConfigLoader.credentialsDirectory(
                override: credentialsDir, environment: ProcessInfo.processInfo.environment), json: json
        ).emit()
    }

    struct Report: Encodable {
        struct Recipient: Encodable {
            let address: String
            let reply: String
        }
        let verdict: String
        let message_id: String
        let accepted: [String]
        let refused: [Recipient]
        let deferred: [Recipient]
        let failure: String?
    }

    static func outcome(name: String, config: String, credentialsDirectory: String?, json: Bool) async -> Outcome {
        let configuration: Configuration
        do {
            configuration = try ConfigLoader(credentialsDirectory: credentialsDirectory).load(path: config).configuration
        } catch {
            return Outcome(
                stderr: error.errors.map(\.description).joined(separator: "\n") + "\n",
                exitCode: ConfigCheckReport.exitConfigError)
        }
        guard let sink = configuration.emails.first(where: { $0.name == name }) else {
            let known = configuration.emails.map(\.name)
            return Outcome(
                stderr: "connwatchctl: no [[email]] sink named \"\(UntrustedText.terminal(name))\""
                    + (known.isEmpty ? " (none is configured)" : "; configured: \(known.joined(separator: ", "))") + "\n",
                exitCode: 64)
        }
        let client: SMTPClient
        do {
            client = try SMTPClient(
                server: sink.server,
                credentials: sink.username.flatMap { u in sink.password.map { SMTPCredentials(username: u, password: $0) } },
                tls: try SMTPClient.tlsConfiguration(caFile: configuration.daemon.caFile),
                timeouts: .init(configured: sink.timeout))
        } catch {
            return Outcome(stderr: "connwatchctl: TLS set-up failed (ca_file?): \(error)\n", exitCode: 78)
        }
        let now = Date()
        let message = TestMail.message(sink: sink, id: NotificationID.uuidV7(at: now), now: now)
        let report = await client.send(
            SMTPEnvelope(from: sink.from.address, recipients: sink.to.map(\.address), message: message.rendered()))
        let exitCode: Int32 =
            switch report.verdict {
            case .delivered: 0
            case .transient: 75
            case .permanent: 76
            }
        if json {
            let r = Report(
                verdict: report.verdict.rawValue, message_id: message.messageID, accepted: report.accepted,
                refused: report.refused.map { .init(address: $0.address, reply: $0.reply) },
                deferred: report.deferred.map { .init(address: $0.address, reply: $0.reply) }, failure: report.failure)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return Outcome(
                stdout: String(decoding: (try? encoder.encode(r)) ?? Data(), as: UTF8.self) + "\n", exitCode: exitCode)
        }
        let text = "\(sink.name): \(UntrustedText.terminal(report.description)) (Message-ID <\(message.messageID)>)\n"
        return exitCode == 0 ? Outcome(stdout: text) : Outcome(stderr: text, exitCode: exitCode)
    }
}

/// `connwatchctl email digest NAME`: asks connwatchd to send the sink's digest now
/// (`POST /v1/emails/{name}/digest`), outside its schedule — it does not count as the
/// period's digest, which still goes out at `digest_at`.
struct EmailDigestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "digest",
        abstract: "Have connwatchd send an [[email]] sink's digest now.",
        discussion: """
            connwatchd builds the digest (every connector the sink covers, what expires soon, what \
            changed since its last scheduled digest) and submits it once through the sink; the \
            scheduled digest of the current period is not affected. Needs write access to the \
            control socket. Exit 0 when the server took it, 75 on a temporary failure, 76 when the \
            server refused it, 64 for an unknown sink.
            """)

    @Argument(help: "The [[email]] sink's name.")
    var name: String

    @OptionGroup var options: DaemonOptions

    func run() throws { try Self.outcome(name: name, options.context(timeout: .seconds(600))).emit() }

    static func outcome(name: String, _ ctx: CommandContext) -> Outcome {
        switch ctx.request("POST", "/v1/emails/\(escape(name))/digest") {
        case .failure(let outcome): return outcome
        case .success(let reply):
            let r: ControlAPI.DigestReply
            do {
                r = try StatusReport.decoder.decode(ControlAPI.DigestReply.self, from: reply.body)
            } catch {
                return Outcome(stderr: "connwatchctl: connwatchd's reply is unreadable: \(error)\n", exitCode: Exit.software)
            }
            let exitCode: Int32 =
                switch r.verdict {
                case "delivered": 0
                case "permanent": 76
                default: 75
                }
            if ctx.json { return Outcome(stdout: CommandContext.line(reply.text), exitCode: exitCode) }
            var text = "\(r.email): digest \(r.verdict)"
            if !r.accepted.isEmpty { text += " to \(r.accepted.joined(separator: ", "))" }
            if !r.refused.isEmpty { text += "; refused: " + r.refused.map { "\($0.address) (\($0.reply))" }.joined(separator: ", ") }
            if !r.deferred.isEmpty { text += "; deferred: " + r.deferred.map { "\($0.address) (\($0.reply))" }.joined(separator: ", ") }
            if let f = r.failure { text += ": \(f)" }
            text = UntrustedText.terminal(text) + " (Message-ID <\(UntrustedText.terminal(r.messageId))>)\n"
            return exitCode == 0 ? Outcome(stdout: text) : Outcome(stderr: text, exitCode: exitCode)
        }
    }
}
