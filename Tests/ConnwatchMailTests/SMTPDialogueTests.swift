import ConnwatchCore
import Foundation
import Testing
@testable import ConnwatchMail

/// Runs a dialogue against scripted replies, as a server would answer: every command the
/// dialogue sends is answered by `answer(command)`; STARTTLS's handshake succeeds at once.
struct ScriptedRun {
    var sent: [String] = []
    var sensitive: [String] = []
    var tlsStartedAfter: Int?
    var report: SMTPDeliveryReport?

    init(
        _ dialogue: SMTPDialogue, greeting: SMTPReply = SMTPReply(code: 220, lines: ["mail.example ESMTP"]),
        answer: (String) -> SMTPReply
    ) {
        var d = dialogue
        var queue = d.receive(greeting)
        var guardCount = 0
        while !queue.isEmpty, guardCount < 100 {
            guardCount += 1
            let action = queue.removeFirst()
            switch action {
            case .send(let bytes, let isSensitive):
                let line = String(decoding: bytes, as: UTF8.self)
                if line.hasSuffix("\r\n.\r\n") && !line.hasPrefix("QUIT") && d.step == .message {
                    sent.append("<data>")
                } else {
                    sent.append(String(line.dropLast()))  // "\r\n" is one Character
                }
                if isSensitive { sensitive.append(String(line.dropLast())) }
                queue += d.receive(answer(sent.last!))
            case .startTLS:
                tlsStartedAfter = sent.count
                queue += d.tlsEstablished()
            case .finish(let r):
                report = r
            }
        }
    }
}

func reply(_ code: Int, _ lines: String...) -> SMTPReply { SMTPReply(code: code, lines: lines.isEmpty ? [""] : lines) }

let envelope = SMTPEnvelope(
    from: "connwatch@example.com", recipients: ["a@example.com", "b@example.com"],
    message: Array("Subject: x\r\n\r\nhello\r\n".utf8))
let creds = SMTPCredentials(username: "connwatch@example.com", password: Secret("s3cret-pässword"))

func dialogue(credentials: SMTPCredentials? = creds, implicitTLS: Bool = false, plaintextAllowed: Bool = false)
    -> SMTPDialogue
{
    SMTPDialogue(
        envelope: envelope, heloName: "client.example", credentials: credentials, implicitTLS: implicitTLS,
        plaintextAllowed: plaintextAllowed)
}

/// A well-behaved submission server: STARTTLS, then AUTH PLAIN LOGIN; everything accepted.
func goodServer(auth: String = "PLAIN LOGIN", override: [String: SMTPReply] = [:]) -> (String) -> SMTPReply {
    var tls = false
    return { command in
        let verb = command.split(separator: " ").first.map(String.init) ?? command
        for (prefix, r) in override where command.hasPrefix(prefix) { return r }
        switch verb {
        case "EHLO":
            return tls
                ? reply(250, "mail.example", "PIPELINING", "AUTH \(auth)", "8BITMIME")
                : reply(250, "mail.example", "PIPELINING", "STARTTLS")
        case "STARTTLS":
            tls = true
            return reply(220, "go ahead")
        case "AUTH": return command == "AUTH LOGIN" ? reply(334, "VXNlcm5hbWU6") : reply(235, "ok")
        case "MAIL", "RCPT": return reply(250, "ok")
        case "DATA": return reply(354, "go")
        case "<data>": return reply(250, "queued as 1234")
        case "QUIT": return reply(221, "bye")
        default:
            // AUTH LOGIN's username, then password lines.
            return command.hasPrefix("Y29") ? reply(334, "UGFzc3dvcmQ6") : reply(235, "ok")
        }
    }
}

@Suite("SMTP dialogue") struct SMTPDialogueTests {
    @Test func startTLSThenAuthPlainThenDelivers() throws {
        let run = ScriptedRun(dialogue(), answer: goodServer())
        #expect(
            run.sent == [
                "EHLO client.example", "STARTTLS", "EHLO client.example",
                "AUTH PLAIN " + Data("\0connwatch@example.com\0s3cret-pässword".utf8).base64EncodedString(),
                "MAIL FROM:<connwatch@example.com>", "RCPT TO:<a@example.com>", "RCPT TO:<b@example.com>", "DATA",
                "<data>", "QUIT",
            ])
        #expect(run.tlsStartedAfter == 2)
        #expect(run.sensitive.count == 1)
        #expect(run.report?.verdict == .delivered)
        #expect(run.report?.accepted == ["a@example.com", "b@example.com"])
        #expect(run.report?.failure == nil)
    }

    @Test func authLoginWhenPlainIsNotOffered() throws {
        let run = ScriptedRun(dialogue(), answer: goodServer(auth: "LOGIN"))
        #expect(run.sent[3] == "AUTH LOGIN")
        #expect(run.sent[4] == Data("connwatch@example.com".utf8).base64EncodedString())
        #expect(run.sent[5] == Data("s3cret-pässword".utf8).base64EncodedString())
        #expect(run.sensitive == [run.sent[4], run.sent[5]])
        #expect(run.report?.verdict == .delivered)
    }

    @Test func neverAuthenticatesOrSendsBeforeTLS() throws {
        // A server that does not offer STARTTLS: nothing after EHLO but QUIT.
        let noTLS: (String) -> SMTPReply = { c in
            c.hasPrefix("EHLO") ? reply(250, "mail.example", "AUTH PLAIN LOGIN") : reply(221, "bye")
        }
        for plaintextAllowed in [false, true] {
            let run = ScriptedRun(dialogue(plaintextAllowed: plaintextAllowed), answer: noTLS)
            #expect(run.sent == ["EHLO client.example", "QUIT"])
            #expect(run.report?.verdict == .transient)
            #expect(run.report?.failure?.contains("STARTTLS") == true)
        }
        // Without credentials, a loopback local MTA may go without TLS; a remote server may not.
        let local = ScriptedRun(dialogue(credentials: nil, plaintextAllowed: true), answer: noTLS)
        #expect(local.sent.prefix(2) == ["EHLO client.example", "MAIL FROM:<connwatch@example.com>"])
        let remote = ScriptedRun(dialogue(credentials: nil, plaintextAllowed: false), answer: noTLS)
        #expect(remote.sent == ["EHLO client.example", "QUIT"])
    }

    @Test func implicitTLSSkipsSTARTTLS() throws {
        let server: (String) -> SMTPReply = { c in
            c.hasPrefix("EHLO") ? reply(250, "mail.example", "AUTH PLAIN") : goodServer()(c)
        }
        let run = ScriptedRun(dialogue(implicitTLS: true), answer: server)
        #expect(run.sent[0] == "EHLO client.example")
        #expect(run.sent[1].hasPrefix("AUTH PLAIN "))
        #expect(run.tlsStartedAfter == nil)
        #expect(run.report?.verdict == .delivered)
    }

    @Test func anAuthMechanismOtherThanPlainOrLoginIsPermanent() throws {
        let run = ScriptedRun(dialogue(), answer: goodServer(auth: "CRAM-MD5 XOAUTH2"))
        #expect(run.report?.verdict == .permanent)
        #expect(!run.sent.contains { $0.hasPrefix("AUTH") || $0.hasPrefix("MAIL") })
    }

    /// Every step with a 4xx, a 5xx and a reply of a class the step does not allow.
    @Test(arguments: [
        ("EHLO", 421, SMTPDeliveryReport.Verdict.transient), ("EHLO", 550, .permanent), ("EHLO", 354, .transient),
        ("STARTTLS", 454, .transient), ("STARTTLS", 501, .permanent), ("STARTTLS", 250, .transient),
        ("AUTH", 454, .transient), ("AUTH", 535, .permanent), ("AUTH", 250, .transient),
        ("MAIL", 451, .transient), ("MAIL", 550, .permanent), ("MAIL", 354, .transient),
        ("DATA", 451, .transient), ("DATA", 554, .permanent), ("DATA", 250, .transient),
        ("<data>", 451, .transient), ("<data>", 552, .permanent), ("<data>", 354, .transient),
    ])
    func replyClasses(step: String, code: Int, verdict: SMTPDeliveryReport.Verdict) throws {
        let run = ScriptedRun(dialogue(), answer: goodServer(override: [step: reply(code, "scripted")]))
        #expect(run.report?.verdict == verdict, "\(step) \(code)")
        #expect(run.report?.accepted == [])
        #expect(run.report?.failure?.contains("\(code)") == true)
        #expect(run.sent.last == "QUIT")
    }

    @Test(arguments: [(421, SMTPDeliveryReport.Verdict.transient), (554, .permanent), (250, .transient)])
    func greeting(code: Int, verdict: SMTPDeliveryReport.Verdict) throws {
        let run = ScriptedRun(dialogue(), greeting: reply(code, "no"), answer: goodServer())
        #expect(run.report?.verdict == verdict)
        #expect(run.sent == ["QUIT"])
    }

    @Test func a5xxRecipientDropsOnlyThatRecipient() throws {
        let run = ScriptedRun(
            dialogue(), answer: goodServer(override: ["RCPT TO:<b@": reply(550, "5.1.1 no such user")]))
        #expect(run.report?.verdict == .delivered)
        #expect(run.report?.accepted == ["a@example.com"])
        #expect(run.report?.refused == [.init(address: "b@example.com", reply: "550 5.1.1 no such user")])
        #expect(run.sent.contains("DATA"))
    }

    @Test func a4xxRecipientIsDeferred() throws {
        let run = ScriptedRun(dialogue(), answer: goodServer(override: ["RCPT TO:<a@": reply(450, "greylisted")]))
        #expect(run.report?.verdict == .delivered)
        #expect(run.report?.accepted == ["b@example.com"])
        #expect(run.report?.deferred == [.init(address: "a@example.com", reply: "450 greylisted")])
    }

    @Test(arguments: [(550, 550, SMTPDeliveryReport.Verdict.permanent), (550, 451, .transient), (451, 451, .transient)])
    func noRecipientAccepted(a: Int, b: Int, verdict: SMTPDeliveryReport.Verdict) throws {
        let run = ScriptedRun(
            dialogue(), answer: goodServer(override: ["RCPT TO:<a@": reply(a, "x"), "RCPT TO:<b@": reply(b, "y")]))
        #expect(run.report?.verdict == verdict)
        #expect(!run.sent.contains("DATA"))
        #expect(run.report?.refused.count == [a, b].filter { $0 >= 500 }.count)
        #expect(run.report?.deferred.count == [a, b].filter { $0 < 500 }.count)
    }

    @Test func aFailureMidwayIsTransientAndAFailureAfterTheVerdictKeepsIt() throws {
        var d = dialogue()
        _ = d.receive(reply(220))
        let actions = d.failed("no reply within the timeout")
        guard case .finish(let r) = actions.first else {
            Issue.record("no finish")
            return
        }
        #expect(r.verdict == .transient)
        #expect(r.failure == "ehlo: no reply within the timeout")

        // Delivered, then the connection drops before QUIT's reply: still delivered.
        var e = dialogue(credentials: nil, implicitTLS: true)
        // Greeting, EHLO, MAIL, RCPT a, RCPT b, DATA, end of data.
        for r in [reply(220), reply(250, "x"), reply(250), reply(250), reply(250), reply(354), reply(250)] {
            _ = e.receive(r)
        }
        #expect(e.step == .quit)
        guard case .finish(let delivered) = e.failed("closed").first else {
            Issue.record("no finish")
            return
        }
        #expect(delivered.verdict == .delivered)
    }

    @Test func dataIsDotStuffedAndCRLFNormalised() {
        let input = Array("line one\n.hidden\r\n..two\rlast".utf8)
        let out = String(decoding: SMTPDialogue.dataBytes(input), as: UTF8.self)
        #expect(out == "line one\r\n..hidden\r\n...two\r\nlast\r\n.\r\n")
        #expect(String(decoding: SMTPDialogue.dataBytes(Array("a\r\n".utf8)), as: UTF8.self) == "a\r\n.\r\n")
        #expect(String(decoding: SMTPDialogue.dataBytes(Array(".\n".utf8)), as: UTF8.self) == "..\r\n.\r\n")
    }

    @Test func reportsNeverHoldThePassword() throws {
        for step in ["AUTH", "MAIL", "<data>"] {
            let run = ScriptedRun(dialogue(), answer: goodServer(override: [step: reply(535, "denied")]))
            let text = String(describing: run.report!)
            #expect(!text.contains("s3cret"))
            #expect(!text.contains(Data("\0connwatch@example.com\0s3cret-pässword".utf8).base64EncodedString()))
        }
    }
}

@Suite("SMTP replies") struct SMTPReplyParserTests {
    func parse(_ lines: [String]) throws(SMTPReplyParser.Failure) -> [SMTPReply] {
        var p = SMTPReplyParser()
        var out: [SMTPReply] = []
        for l in lines { if let r = try p.feed(Array(l.utf8)) { out.append(r) } }
        return out
    }

    @Test func singleMultiAndBare() throws {
        #expect(try parse(["220 mail.example ESMTP"]) == [SMTPReply(code: 220, lines: ["mail.example ESMTP"])])
        #expect(try parse(["250"]) == [SMTPReply(code: 250, lines: [""])])
        let ehlo = try parse(["250-mail.example", "250-STARTTLS", "250-AUTH PLAIN LOGIN", "250 8BITMIME"])
        #expect(ehlo.count == 1)
        let caps = SMTPCapabilities(ehlo: ehlo[0])
        #expect(caps.startTLS)
        #expect(caps.authMechanisms == ["PLAIN", "LOGIN"])
        #expect(SMTPCapabilities(ehlo: try parse(["250-x", "250 AUTH=LOGIN"])[0]).authMechanisms == ["LOGIN"])
    }

    @Test(arguments: [
        ["25"], ["abc hello"], ["099 x"], ["600 x"], ["250_x"], ["250-a", "251 b"], [String(repeating: "2", count: 3000)],
    ])
    func malformed(lines: [String]) {
        #expect(throws: SMTPReplyParser.Failure.self) { try parse(lines) }
    }

    @Test func tooManyLines() {
        #expect(throws: SMTPReplyParser.Failure.self) { try parse(Array(repeating: "250-x", count: 101) + ["250 y"]) }
    }

    @Test func descriptionIsCleanedAndCut() {
        let r = SMTPReply(code: 550, lines: ["bad\u{1B}[31m " + String(repeating: "x", count: 300)])
        #expect(!r.description.contains("\u{1B}"))
        #expect(r.description.count <= 204)
    }
}
