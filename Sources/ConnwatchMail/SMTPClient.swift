import ConnwatchCore
import ConnwatchEntra
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// An SMTP submission client (RFC 5321, STARTTLS RFC 3207, AUTH RFC 4954, implicit TLS
/// RFC 8314): one connection per message, the dialogue run by ``SMTPDialogue``. TLS is
/// TLS 1.2 or later, the chain verified against the system roots plus `ca_file`, and the
/// name checked by ``TLSNameCheck`` against the configured host (not by NIOSSL, which
/// would also accept an IP name equal to the peer's address). Every failure becomes a
/// report, never a thrown error: the caller (the outbox) only needs the verdict.
public struct SMTPClient: Sendable {
    public struct Timeouts: Sendable, Equatable {
        /// TCP connect (and, for smtps, nothing more: the handshake counts as a command).
        public var connect: TimeAmount
        /// Each reply to a command, the greeting and a TLS handshake.
        public var command: TimeAmount
        /// The reply after the message data (servers scan it before answering).
        public var data: TimeAmount

        public init(connect: TimeAmount, command: TimeAmount, data: TimeAmount) {
            self.connect = connect
            self.command = command
            self.data = data
        }

        /// From `[[email]] timeout` (default 30s): connect and commands get it, capped at
        /// 30s for connect; the final data reply twice as long.
        public init(configured: ConfigDuration) {
            let total = TimeAmount.seconds(Int64(configured.seconds))
            self.init(connect: min(total, .seconds(30)), command: total, data: total * 2)
        }
    }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        case certificateDoesNotName(host: String)
        case timeout(SMTPDialogue.Step)
        case dataAfterStartTLS
        case lineTooLong

        public var description: String {
            switch self {
            case .certificateDoesNotName(let host): "the server's certificate does not name \(host)"
            case .timeout(let step): "no reply within the timeout (\(step.rawValue))"
            case .dataAfterStartTLS: "the server sent data after its reply to STARTTLS (refused: it could be injected)"
            case .lineTooLong: "a reply line of over \(SMTPReplyParser.maxLineBytes) bytes"
            }
        }
    }

    public let server: SMTPServer
    public let credentials: SMTPCredentials?
    /// The name given in EHLO.
    public let heloName: String
    public let timeouts: Timeouts
    let sslContext: NIOSSLContext
    let group: any EventLoopGroup

    /// `tls` is taken for its trust roots; whatever it says, the chain is verified, the
    /// name is checked by ``TLSNameCheck`` and nothing older than TLS 1.2 is spoken.
    public init(
        server: SMTPServer, credentials: SMTPCredentials?, heloName: String = SMTPClient.defaultHeloName(),
        tls: TLSConfiguration = TLSConfiguration.makeClientConfiguration(), timeouts: Timeouts,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws {
        var tls = tls
        tls.certificateVerification = .noHostnameVerification
        if tls.minimumTLSVersion != .tlsv13 { tls.minimumTLSVersion = .tlsv12 }
        self.sslContext = try NIOSSLContext(configuration: tls)
        self.server = server
        self.credentials = credentials
        self.heloName = heloName
        self.timeouts = timeouts
        self.group = group
    }

    /// The system roots plus the PEM certificates of `caFile` (`[daemon] ca_file`).
    public static func tlsConfiguration(caFile: String?) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile { tls.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(caFile))] }
        return tls
    }

    /// This host's name when it is a valid domain name, else `localhost` (EHLO wants a
    /// domain or an address literal; submission servers do not check it).
    public static func defaultHeloName() -> String {
        let name = ProcessInfo.processInfo.hostName
        return MailAddress.isAddrSpec("x@" + name) && !name.hasPrefix("[") ? name : "localhost"
    }

    /// Submits one message. Never throws: every failure is a transient or permanent report.
    public func send(_ envelope: SMTPEnvelope) async -> SMTPDeliveryReport {
        // Addresses go into command lines: nothing that could end or bend one is sent.
        for address in [envelope.from] + envelope.recipients where !MailAddress.isAddrSpec(address) {
            return SMTPDeliveryReport(verdict: .permanent, failure: "not a valid address: \(address.debugDescription)")
        }
        guard !envelope.recipients.isEmpty else {
            return SMTPDeliveryReport(verdict: .permanent, failure: "no recipients")
        }
        let loop = group.next()
        let promise = loop.makePromise(of: SMTPDeliveryReport.self)
        let dialogue = SMTPDialogue(
            envelope: envelope, heloName: heloName, credentials: credentials,
            implicitTLS: server.security == .implicitTLS, plaintextAllowed: server.plaintextAllowed)
        let host = server.host
        let implicitTLS = server.security == .implicitTLS
        let sslContext = self.sslContext
        let timeouts = self.timeouts
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(timeouts.connect)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if implicitTLS { try sync.addHandler(try SMTPClient.tlsHandler(sslContext, host: host)) }
                    try sync.addHandler(
                        SMTPClientHandler(dialogue: dialogue, promise: promise, host: host, sslContext: sslContext, timeouts: timeouts))
                }
            }
        do {
            _ = try await bootstrap.connect(host: host, port: server.port).get()
        } catch {
            promise.fail(error)
            return SMTPDeliveryReport(verdict: .transient, failure: "connect to \(server): \(SMTPClient.describe(error))")
        }
        do {
            return try await promise.futureResult.get()
        } catch {
            return SMTPDeliveryReport(verdict: .transient, failure: SMTPClient.describe(error))
        }
    }

    /// A TLS client handler whose peer must be named `host` (SNI by name, not for IPs).
    static func tlsHandler(_ context: NIOSSLContext, host: String) throws -> NIOSSLClientHandler {
        let isAddress = TLSNameCheck.addressBytes(host) != nil
        return try NIOSSLClientHandler._makeSSLClientHandler(
            context: context, serverHostname: isAddress ? nil : host,
            additionalPeerCertificateVerificationCallback: { leaf, channel in
                TLSNameCheck.certificate(leaf, names: host)
                    ? channel.eventLoop.makeSucceededVoidFuture()
                    : channel.eventLoop.makeFailedFuture(Failure.certificateDoesNotName(host: host))
            })
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case let f as Failure: f.description
        case let f as SMTPReplyParser.Failure: f.description
        case let e as NIOSSLError: "TLS: \(e)"
        case let e as BoringSSLError: "TLS: \(e)"
        case is ChannelError: "connection: \(error)"
        case let e as IOError: "connection: \(e.description)"
        default: String(describing: error)
        }
    }
}

/// Runs one ``SMTPDialogue`` over a channel: splits the byte stream into reply lines,
/// performs the dialogue's actions, arms a timeout for every awaited reply.
final class SMTPClientHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var dialogue: SMTPDialogue
    private let promise: EventLoopPromise<SMTPDeliveryReport>
    private let host: String
    private let sslContext: NIOSSLContext
    private let timeouts: SMTPClient.Timeouts
    private var parser = SMTPReplyParser()
    private var partial: [UInt8] = []
    private var timer: Scheduled<Void>?
    private var finished = false
    private var context: ChannelHandlerContext?

    init(
        dialogue: SMTPDialogue, promise: EventLoopPromise<SMTPDeliveryReport>, host: String, sslContext: NIOSSLContext,
        timeouts: SMTPClient.Timeouts
    ) {
        self.dialogue = dialogue
        self.promise = promise
        self.host = host
        self.sslContext = sslContext
        self.timeouts = timeouts
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(timeouts.command)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return }
        var buffer = unwrapInboundIn(data)
        partial += buffer.readBytes(length: buffer.readableBytes) ?? []
        while !finished, let lf = partial.firstIndex(of: 10) {
            var line = Array(partial[..<lf])
            partial.removeSubrange(...lf)
            if line.last == 13 { line.removeLast() }
            do {
                guard let reply = try parser.feed(line) else { continue }
                let wasStartTLS = dialogue.step == .startTLS
                perform(dialogue.receive(reply))
                // RFC 3207 §5 / CVE-2011-0411: anything after the 220 came in plaintext
                // and would pass for a reply over TLS.
                if wasStartTLS, dialogue.step == .tlsHandshake, !partial.isEmpty {
                    perform(dialogue.failed(SMTPClient.Failure.dataAfterStartTLS.description))
                }
            } catch {
                perform(dialogue.failed(error.description))
            }
        }
        if !finished, partial.count > SMTPReplyParser.maxLineBytes {
            perform(dialogue.failed(SMTPClient.Failure.lineTooLong.description))
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent, dialogue.step == .tlsHandshake {
            perform(dialogue.tlsEstablished())
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        perform(dialogue.failed(SMTPClient.describe(error)))
    }

    func channelInactive(context: ChannelHandlerContext) {
        perform(dialogue.failed("the server closed the connection"))
        if !finished { finish(SMTPDeliveryReport(verdict: .transient, failure: "the server closed the connection")) }
        context.fireChannelInactive()
    }

    private func perform(_ actions: [SMTPDialogue.Action]) {
        guard let context else { return }
        for action in actions {
            guard !finished else { return }
            switch action {
            case .send(let bytes, _):
                context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
                arm(dialogue.step == .message ? timeouts.data : timeouts.command)
            case .startTLS:
                do {
                    let tls = try SMTPClient.tlsHandler(sslContext, host: host)
                    try context.pipeline.syncOperations.addHandler(tls, position: .first)
                    arm(timeouts.command)
                } catch {
                    perform(dialogue.failed("TLS set-up: \(SMTPClient.describe(error))"))
                }
            case .finish(let report):
                finish(report)
            }
        }
    }

    private func finish(_ report: SMTPDeliveryReport) {
        guard !finished else { return }
        finished = true
        timer?.cancel()
        timer = nil
        promise.succeed(report)
        context?.close(promise: nil)
    }

    private func arm(_ timeout: TimeAmount) {
        timer?.cancel()
        guard let context else { return }
        let step = dialogue.step
        timer = context.eventLoop.scheduleTask(in: timeout) { [self] in
            guard !finished, dialogue.step == step else { return }
            perform(dialogue.failed(SMTPClient.Failure.timeout(step).description))
        }
    }
}
