import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A scripted SMTP server on loopback for wire tests: STARTTLS (or implicit TLS) with a
/// test-time certificate, AUTH PLAIN/LOGIN, per-command reply overrides, silence on
/// request (timeouts) and a plaintext injection after STARTTLS's 220 (CVE-2011-0411).
/// It records every command line it received and the message data.
final class ScriptedSMTPPeer: Sendable {
    struct Script: Sendable {
        /// For STARTTLS (offered in plaintext EHLO) or implicit TLS.
        var tls: TLSConfiguration?
        var implicitTLS = false
        /// Command prefix → reply lines (CRLF added), checked before the defaults.
        var overrides: [String: String] = [:]
        /// A command prefix never answered.
        var silentOn: String?
        /// Sends a second reply right after STARTTLS's 220, in plaintext.
        var injectAfterSTARTTLS = false
    }

    struct Record: Sendable {
        var commands: [String] = []
        var messages: [String] = []
        /// Index in `commands` of the STARTTLS command whose handshake completed.
        var tlsAt: Int?
    }

    let port: Int
    private let channel: any Channel
    private let box: RecordBox

    private init(port: Int, channel: any Channel, box: RecordBox) {
        self.port = port
        self.channel = channel
        self.box = box
    }

    static func start(_ script: Script) async throws -> ScriptedSMTPPeer {
        let box = RecordBox()
        let context = try script.tls.map { try NIOSSLContext(configuration: $0) }
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if script.implicitTLS, let context {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        PeerHandler(script: script, sslContext: context, box: box))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return ScriptedSMTPPeer(port: channel.localAddress!.port!, channel: channel, box: box)
    }

    func stop() async { try? await channel.close() }

    var commands: [String] { box.record.withLock { $0.commands } }
    var messages: [String] { box.record.withLock { $0.messages } }
    var tlsAt: Int? { box.record.withLock { $0.tlsAt } }
}

private final class RecordBox: Sendable {
    let record = Mutex(ScriptedSMTPPeer.Record())
    func update(_ body: (inout ScriptedSMTPPeer.Record) -> Void) { record.withLock { body(&$0) } }
}

private final class PeerHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let script: ScriptedSMTPPeer.Script
    let sslContext: NIOSSLContext?
    let box: RecordBox
    var tls: Bool
    var partial: [UInt8] = []
    var inData = false
    var data: [String] = []
    var authLoginStage = 0

    init(script: ScriptedSMTPPeer.Script, sslContext: NIOSSLContext?, box: RecordBox) {
        self.script = script
        self.sslContext = sslContext
        self.box = box
        self.tls = script.implicitTLS
    }

    func channelActive(context: ChannelHandlerContext) {
        write(context, "220 peer.test ESMTP scripted")
    }

    func write(_ context: ChannelHandlerContext, _ text: String) {
        let bytes = Array((text.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n").utf8)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        partial += buffer.readBytes(length: buffer.readableBytes) ?? []
        while let lf = partial.firstIndex(of: 10) {
            var line = Array(partial[..<lf])
            partial.removeSubrange(...lf)
            if line.last == 13 { line.removeLast() }
            handle(context, String(decoding: line, as: UTF8.self))
        }
    }

    func handle(_ context: ChannelHandlerContext, _ line: String) {
        if inData {
            if line == "." {
                inData = false
                let message = self.data.map { $0.hasPrefix(".") ? String($0.dropFirst()) : $0 }.joined(separator: "\r\n")
                self.data = []
                box.update { $0.messages.append(message) }
                answer(context, "<data>", default: "250 2.0.0 queued as SCRIPTED")
            } else {
                self.data.append(line)
            }
            return
        }
        box.update { $0.commands.append(line) }
        if authLoginStage == 1 {
            authLoginStage = 2
            return write(context, "334 UGFzc3dvcmQ6")
        }
        if authLoginStage == 2 {
            authLoginStage = 0
            return write(context, "235 2.7.0 ok")
        }
        let verb = line.split(separator: " ").first.map { $0.uppercased() } ?? ""
        switch verb {
        case "EHLO":
            let ext = (!tls && sslContext != nil) ? "250 STARTTLS" : (tls ? "250 AUTH PLAIN LOGIN" : "250 8BITMIME")
            answer(context, line, default: "250-peer.test\n250-PIPELINING\n" + ext)
        case "STARTTLS":
            guard !tls, let sslContext else { return write(context, "503 no") }
            if let o = override(line) { return write(context, o) }
            let reply = script.injectAfterSTARTTLS ? "220 go ahead\r\n250 injected" : "220 go ahead"
            let bytes = Array((reply + "\r\n").utf8)
            // Write the 220 in plaintext, then put TLS in front of this handler.
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes))).whenComplete { _ in
                try? context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext), position: .first)
                self.tls = true
            }
            box.update { $0.tlsAt = $0.commands.count - 1 }
        case "AUTH":
            if line.uppercased() == "AUTH LOGIN" {
                authLoginStage = 1
                return answer(context, line, default: "334 VXNlcm5hbWU6")
            }
            answer(context, line, default: "235 2.7.0 Authentication successful")
        case "MAIL", "RCPT", "RSET", "NOOP": answer(context, line, default: "250 2.1.0 ok")
        case "DATA":
            if let o = override(line) { return write(context, o) }
            inData = true
            write(context, "354 end with .")
        case "QUIT":
            write(context, "221 bye")
            context.close(promise: nil)
        default: write(context, "500 unknown")
        }
    }

    func override(_ line: String) -> String? {
        script.overrides.first { line.hasPrefix($0.key) }?.value
    }

    func answer(_ context: ChannelHandlerContext, _ line: String, default reply: String) {
        if let silent = script.silentOn, line.hasPrefix(silent) { return }
        write(context, override(line) ?? reply)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
