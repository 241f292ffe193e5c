import ConnwatchCore
import ConnwatchTestSupport
import Foundation
import NIOCore
import NIOSSL
import Testing
@testable import ConnwatchMail

/// The client against ``ScriptedSMTPPeer`` over real TCP and TLS on loopback, with a CA and
/// server certificates made at test time.
@Suite("SMTP client on the wire") struct SMTPClientWireTests {
    static let message = Array("From: connwatch@example.com\nTo: a@example.com\nSubject: wire\n\nhello\n.dot line\n".utf8)
    let envelope = SMTPEnvelope(
        from: "connwatch@example.com", recipients: ["a@example.com", "b@example.com"], message: message)
    let credentials = SMTPCredentials(username: "connwatch", password: Secret("wire-s3cret"))

    func client(
        port: Int, security: SMTPServer.Security = .startTLS, ca: TestPKI.Authority?, credentials: SMTPCredentials?,
        host: String = "localhost", command: TimeAmount = .seconds(5)
    ) throws -> SMTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca { tls.additionalTrustRoots = [.certificates([try NIOSSLCertificate(bytes: Array(ca.pem.utf8), format: .pem)])] }
        return try SMTPClient(
            server: SMTPServer(security: security, host: host, port: port), credentials: credentials,
            heloName: "client.test", tls: tls,
            timeouts: .init(connect: .seconds(5), command: command, data: command))
    }

    @Test func startTLSAuthAndDelivery() async throws {
        let ca = try TestPKI.authority()
        let peer = try await ScriptedSMTPPeer.start(
            .init(tls: try TestPKI.server(dnsNames: ["localhost"], issuer: ca), overrides: ["RCPT TO:<b@": "550 5.1.1 unknown"]))
        defer { Task { await peer.stop() } }
        let report = try await client(port: peer.port, ca: ca, credentials: credentials).send(envelope)
        #expect(report.verdict == .delivered, "\(report)")
        #expect(report.accepted == ["a@example.com"])
        #expect(report.refused.map(\.address) == ["b@example.com"])
        let commands = peer.commands
        let tlsAt = try #require(peer.tlsAt)
        let authAt = try #require(commands.firstIndex { $0.hasPrefix("AUTH ") })
        #expect(tlsAt < authAt, "AUTH only after STARTTLS: \(commands)")
        #expect(commands[tlsAt + 1] == "EHLO client.test")
        #expect(peer.messages == [
            "From: connwatch@example.com\r\nTo: a@example.com\r\nSubject: wire\r\n\r\nhello\r\n.dot line"
        ])
        #expect(!String(describing: report).contains("wire-s3cret"))
    }

    @Test func implicitTLS() async throws {
        let ca = try TestPKI.authority()
        let peer = try await ScriptedSMTPPeer.start(
            .init(tls: try TestPKI.server(dnsNames: ["localhost"], issuer: ca), implicitTLS: true))
        defer { Task { await peer.stop() } }
        let report = try await client(port: peer.port, security: .implicitTLS, ca: ca, credentials: credentials)
            .send(envelope)
        #expect(report.verdict == .delivered, "\(report)")
        #expect(peer.commands.first == "EHLO client.test")
        #expect(!peer.commands.contains("STARTTLS"))
    }

    /// A certificate for another name, or from a CA the client does not trust: refused
    /// before anything but EHLO and STARTTLS was sent.
    @Test(arguments: [true, false]) func certificateRefused(wrongName: Bool) async throws {
        let ca = try TestPKI.authority()
        let other = try TestPKI.authority("someone else's CA")
        let serverTLS = try TestPKI.server(
            dnsNames: [wrongName ? "mail.other.example" : "localhost"], ipAddresses: wrongName ? [[127, 0, 0, 1]] : [],
            issuer: wrongName ? ca : other)
        let peer = try await ScriptedSMTPPeer.start(.init(tls: serverTLS))
        defer { Task { await peer.stop() } }
        let report = try await client(port: peer.port, ca: ca, credentials: credentials).send(envelope)
        #expect(report.verdict == .transient)
        #expect(report.failure?.contains("TLS") == true || report.failure?.contains("certificate") == true, "\(report)")
        if wrongName { #expect(report.failure?.contains("does not name localhost") == true, "\(report)") }
        #expect(peer.commands == ["EHLO client.test", "STARTTLS"])
        #expect(peer.messages.isEmpty)
    }

    @Test func plaintextInjectedAfterSTARTTLSIsRefused() async throws {
        let ca = try TestPKI.authority()
        let peer = try await ScriptedSMTPPeer.start(
            .init(tls: try TestPKI.server(dnsNames: ["localhost"], issuer: ca), injectAfterSTARTTLS: true))
        defer { Task { await peer.stop() } }
        let report = try await client(port: peer.port, ca: ca, credentials: credentials).send(envelope)
        #expect(report.verdict == .transient)
        #expect(report.failure?.contains("after its reply to STARTTLS") == true, "\(report)")
        #expect(!peer.commands.contains { $0.hasPrefix("AUTH") })
    }

    /// A loopback `smtp://` server without STARTTLS is a local MTA: fine without AUTH; with
    /// a username it gets nothing but EHLO and QUIT (AUTH never in plaintext).
    @Test func localMTAWithoutSTARTTLS() async throws {
        let peer = try await ScriptedSMTPPeer.start(.init(tls: nil))
        defer { Task { await peer.stop() } }
        let report = try await client(port: peer.port, ca: nil, credentials: credentials).send(envelope)
        #expect(report.verdict == .transient)
        #expect(report.failure?.contains("refusing to authenticate in plaintext") == true, "\(report)")
        #expect(peer.commands == ["EHLO client.test", "QUIT"])
        let local = try await client(port: peer.port, ca: nil, credentials: nil, host: "127.0.0.1").send(envelope)
        #expect(local.verdict == .delivered, "\(local)")
        #expect(peer.messages.count == 1)
    }

    @Test(arguments: [("MAIL", "451 4.3.0 try later", SMTPDeliveryReport.Verdict.transient),
                      ("MAIL", "550 5.7.1 no", .permanent), ("<data>", "554 5.6.0 rejected", .permanent),
                      ("<data>", "452 4.3.1 full", .transient)])
    func replyClassesOnTheWire(command: String, reply: String, verdict: SMTPDeliveryReport.Verdict) async throws {
        let ca = try TestPKI.authority()
        let peer = try await ScriptedSMTPPeer.start(
            .init(tls: try TestPKI.server(dnsNames: ["localhost"], issuer: ca), overrides: [command: reply]))
        defer { Task { await peer.stop() } }
        let report = try await client(port: peer.port, ca: ca, credentials: credentials).send(envelope)
        #expect(report.verdict == verdict, "\(report)")
        #expect(report.failure?.contains(String(reply.prefix(3))) == true)
    }

    @Test func silenceTimesOut() async throws {
        let ca = try TestPKI.authority()
        let peer = try await ScriptedSMTPPeer.start(
            .init(tls: try TestPKI.server(dnsNames: ["localhost"], issuer: ca), silentOn: "MAIL"))
        defer { Task { await peer.stop() } }
        let start = ContinuousClock.now
        let report = try await client(port: peer.port, ca: ca, credentials: credentials, command: .milliseconds(500))
            .send(envelope)
        #expect(report.verdict == .transient)
        #expect(report.failure?.contains("mail from: no reply within the timeout") == true, "\(report)")
        // The failure text proves the command timeout fired; the bound only catches a hang
        // (a busy CI machine took 14 s once with a 500 ms timeout, so it is generous).
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    @Test func connectionRefusedIsTransient() async throws {
        let peer = try await ScriptedSMTPPeer.start(.init(tls: nil))
        let port = peer.port
        await peer.stop()
        let report = try await client(port: port, ca: nil, credentials: nil, host: "127.0.0.1").send(envelope)
        #expect(report.verdict == .transient)
        #expect(report.failure?.hasPrefix("connect to smtp://127.0.0.1:") == true, "\(report)")
    }
}
