import ConnwatchCore
import Foundation

/// What one message's submission needs: the envelope (RFC 5321 reverse-path and
/// forward-paths, ASCII addr-specs) and the message itself (RFC 5322, any line endings:
/// the dialogue normalises them to CRLF and dot-stuffs).
public struct SMTPEnvelope: Sendable, Equatable {
    public var from: String
    public var recipients: [String]
    public var message: [UInt8]

    public init(from: String, recipients: [String], message: [UInt8]) {
        self.from = from
        self.recipients = recipients
        self.message = message
    }
}

/// AUTH credentials. The password is a ``Secret``: it reaches the wire inside the AUTH
/// exchange only, and only over TLS.
public struct SMTPCredentials: Sendable {
    public var username: String
    public var password: Secret

    public init(username: String, password: Secret) {
        self.username = username
        self.password = password
    }
}

/// How one submission ended.
public struct SMTPDeliveryReport: Sendable, Equatable, CustomStringConvertible {
    public enum Verdict: String, Sendable, Equatable {
        /// The server took the message (`250` after the data) for every ``accepted`` recipient.
        case delivered
        /// Nothing was delivered and a later try may succeed: a 4xx, a network error, a
        /// timeout, a reply that could not be understood, a TLS failure.
        case transient
        /// Nothing was delivered and retrying will not help: a 5xx to the greeting, EHLO,
        /// STARTTLS, AUTH, MAIL or DATA, or to every recipient.
        case permanent
    }

    public struct Recipient: Sendable, Equatable {
        public var address: String
        /// The server's reply, as ``SMTPReply/description`` (safe to store and show).
        public var reply: String

        public init(address: String, reply: String) {
            self.address = address
            self.reply = reply
        }
    }

    public var verdict: Verdict
    /// Recipients the message went to (only when ``verdict`` is `.delivered`).
    public var accepted: [String] = []
    /// 5xx to `RCPT TO`: dropped for good, the others still get the message.
    public var refused: [Recipient] = []
    /// 4xx to `RCPT TO`: worth another try, for these recipients only.
    public var deferred: [Recipient] = []
    /// Why it was not delivered (`transient`/`permanent`): the step and the reply or error.
    /// Never holds a secret (AUTH commands are never quoted).
    public var failure: String?

    public init(verdict: Verdict, failure: String? = nil) {
        self.verdict = verdict
        self.failure = failure
    }

    public var description: String {
        var s = verdict.rawValue
        if !accepted.isEmpty { s += " to \(accepted.joined(separator: ", "))" }
        if !refused.isEmpty { s += "; refused: " + refused.map { "\($0.address) (\($0.reply))" }.joined(separator: ", ") }
        if !deferred.isEmpty { s += "; deferred: " + deferred.map { "\($0.address) (\($0.reply))" }.joined(separator: ", ") }
        if let failure { s += ": \(failure)" }
        return s
    }
}

/// The client's side of one SMTP submission dialogue, pure: it takes replies and events
/// and says what to send. No I/O, no clock — ``SMTPClient`` runs it over a NIO channel,
/// and tests drive it with scripted replies.
///
/// Greeting → EHLO → (STARTTLS → TLS → EHLO) → (AUTH PLAIN | LOGIN) → MAIL FROM →
/// RCPT TO per recipient → DATA → message → QUIT. TLS is required unless the server is a
/// loopback `smtp://` local MTA and no AUTH is configured; AUTH is never sent before TLS.
public struct SMTPDialogue: Sendable {
    public enum Action: Sendable, Equatable {
        /// Write this command line (CRLF included). `sensitive`: an AUTH line; never log it.
        case send([UInt8], sensitive: Bool)
        /// Start TLS on the connection now (after `220` to STARTTLS); call ``tlsEstablished()``
        /// when the handshake completes, ``failed(_:)`` when it does not.
        case startTLS
        /// The dialogue is over: close the connection. The report says how it went.
        case finish(SMTPDeliveryReport)
    }

    public enum Step: String, Sendable, Equatable {
        case greeting, ehlo, startTLS = "starttls", tlsHandshake = "tls", ehloAfterTLS = "ehlo after starttls",
            authPlain = "auth plain", authLoginUser = "auth login", authLoginUsername = "auth login username",
            authLoginPassword = "auth login password", mailFrom = "mail from", rcptTo = "rcpt to", data = "data",
            message = "end of data", quit, done
    }

    public let envelope: SMTPEnvelope
    public let heloName: String
    public let credentials: SMTPCredentials?
    /// The server may be spoken to without TLS (a loopback `smtp://` local MTA).
    public let plaintextAllowed: Bool

    public private(set) var step: Step = .greeting
    public private(set) var tlsActive: Bool
    public private(set) var capabilities: SMTPCapabilities?
    private var rcptIndex = 0
    private var report = SMTPDeliveryReport(verdict: .transient)

    public init(
        envelope: SMTPEnvelope, heloName: String, credentials: SMTPCredentials?, implicitTLS: Bool,
        plaintextAllowed: Bool
    ) {
        self.envelope = envelope
        self.heloName = heloName
        self.credentials = credentials
        self.tlsActive = implicitTLS
        self.plaintextAllowed = plaintextAllowed && credentials == nil
    }

    /// Whether a reply is awaited now (for the caller's timeouts: the data step gets the
    /// data timeout, every other step the command timeout).
    public var awaitingReply: Bool { step != .done && step != .tlsHandshake }

    // MARK: Events

    /// A complete reply arrived.
    public mutating func receive(_ reply: SMTPReply) -> [Action] {
        switch step {
        case .greeting:
            guard reply.code == 220 else { return fail(at: "greeting", reply) }
            return sendEHLO()
        case .ehlo, .ehloAfterTLS:
            guard reply.code == 250 else { return fail(at: "EHLO", reply) }
            let caps = SMTPCapabilities(ehlo: reply)
            capabilities = caps
            if !tlsActive {
                if caps.startTLS {
                    step = .startTLS
                    return [command("STARTTLS")]
                }
                if !plaintextAllowed {
                    return abort(
                        .transient,
                        credentials == nil
                            ? "the server does not offer STARTTLS; refusing to send in plaintext"
                            : "the server does not offer STARTTLS; refusing to authenticate in plaintext")
                }
            }
            return authenticateOrMail()
        case .startTLS:
            guard reply.code == 220 else { return fail(at: "STARTTLS", reply) }
            step = .tlsHandshake
            return [.startTLS]
        case .tlsHandshake:
            return abort(.transient, "a reply during the TLS handshake")
        case .authPlain, .authLoginPassword:
            guard reply.code == 235 else { return fail(at: "AUTH", reply) }
            return mailFrom()
        case .authLoginUser:
            guard reply.code == 334, let credentials else { return fail(at: "AUTH", reply) }
            step = .authLoginUsername
            return [sensitive(Data(credentials.username.utf8).base64EncodedString())]
        case .authLoginUsername:
            guard reply.code == 334, let credentials else { return fail(at: "AUTH", reply) }
            step = .authLoginPassword
            return [sensitive(credentials.password.withValue { Data($0.utf8).base64EncodedString() })]
        case .mailFrom:
            guard reply.code == 250 else { return fail(at: "MAIL FROM", reply) }
            return rcpt()
        case .rcptTo:
            let address = envelope.recipients[rcptIndex]
            switch reply.replyClass {
            case 2: report.accepted.append(address)
            case 4: report.deferred.append(.init(address: address, reply: reply.description))
            case 5: report.refused.append(.init(address: address, reply: reply.description))
            default: return abort(.transient, "RCPT TO: unexpected reply \(reply)")
            }
            rcptIndex += 1
            if rcptIndex < envelope.recipients.count { return rcpt() }
            if report.accepted.isEmpty {
                return abort(
                    report.deferred.isEmpty ? .permanent : .transient, "no recipient was accepted", keepRecipients: true)
            }
            step = .data
            return [command("DATA")]
        case .data:
            guard reply.code == 354 else { return fail(at: "DATA", reply, keepRecipients: true) }
            step = .message
            return [.send(SMTPDialogue.dataBytes(envelope.message), sensitive: false)]
        case .message:
            guard reply.code == 250 else { return fail(at: "end of data", reply, keepRecipients: true) }
            report.verdict = .delivered
            report.failure = nil
            return quit()
        case .quit:
            step = .done
            return [.finish(report)]
        case .done:
            return []
        }
    }

    /// The TLS handshake after STARTTLS completed (certificate and name verified).
    public mutating func tlsEstablished() -> [Action] {
        guard step == .tlsHandshake else { return [] }
        tlsActive = true
        // RFC 3207 §4.2: forget everything learnt before TLS, start again with EHLO.
        capabilities = nil
        step = .ehloAfterTLS
        return [command("EHLO \(heloName)")]
    }

    /// The connection failed (network, TLS, timeout, a malformed reply): transient.
    public mutating func failed(_ why: String) -> [Action] {
        guard step != .done else { return [] }
        if step == .quit {
            // The verdict is in; a QUIT that goes unanswered changes nothing.
            step = .done
            return [.finish(report)]
        }
        let at = step
        step = .done
        report.verdict = .transient
        report.failure = "\(at.rawValue): \(why)"
        report.accepted = []
        return [.finish(report)]
    }

    // MARK: Steps

    private mutating func sendEHLO() -> [Action] {
        step = .ehlo
        return [command("EHLO \(heloName)")]
    }

    private mutating func authenticateOrMail() -> [Action] {
        guard let credentials else { return mailFrom() }
        // Never before TLS: `plaintextAllowed` is false whenever credentials are set, so
        // reaching here without TLS is impossible; checked again all the same.
        guard tlsActive else { return abort(.transient, "refusing to authenticate without TLS") }
        let mechanisms = capabilities?.authMechanisms ?? []
        if mechanisms.contains("PLAIN") {
            step = .authPlain
            let token = credentials.password.withValue { password in
                Data([0] + Array(credentials.username.utf8) + [0] + Array(password.utf8)).base64EncodedString()
            }
            return [sensitive("AUTH PLAIN \(token)")]
        }
        if mechanisms.contains("LOGIN") {
            step = .authLoginUser
            return [command("AUTH LOGIN")]
        }
        return abort(
            .permanent,
            mechanisms.isEmpty
                ? "a username is configured but the server offers no AUTH"
                : "the server offers AUTH \(mechanisms.sorted().joined(separator: " ")), not PLAIN or LOGIN")
    }

    private mutating func mailFrom() -> [Action] {
        step = .mailFrom
        return [command("MAIL FROM:<\(envelope.from)>")]
    }

    private mutating func rcpt() -> [Action] {
        step = .rcptTo
        return [command("RCPT TO:<\(envelope.recipients[rcptIndex])>")]
    }

    private mutating func quit() -> [Action] {
        step = .quit
        return [command("QUIT")]
    }

    /// A negative or unexpected reply at `at`: 5xx permanent, anything else transient
    /// (4xx, or a reply of a class the step does not allow: not understood).
    private mutating func fail(at: String, _ reply: SMTPReply, keepRecipients: Bool = false) -> [Action] {
        let verdict: SMTPDeliveryReport.Verdict = reply.isPermanentNegative ? .permanent : .transient
        let what = reply.isPermanentNegative || reply.isTransientNegative ? "" : "unexpected reply "
        return abort(verdict, "\(at): \(what)\(reply)", keepRecipients: keepRecipients)
    }

    /// Ends without delivery: QUIT politely (the report is final already).
    private mutating func abort(
        _ verdict: SMTPDeliveryReport.Verdict, _ why: String, keepRecipients: Bool = false
    ) -> [Action] {
        report.verdict = verdict
        report.failure = why
        report.accepted = []
        if !keepRecipients {
            report.refused = []
            report.deferred = []
        }
        return quit()
    }

    private func command(_ line: String) -> Action { .send(Array((line + "\r\n").utf8), sensitive: false) }
    private func sensitive(_ line: String) -> Action { .send(Array((line + "\r\n").utf8), sensitive: true) }

    // MARK: Data

    /// The DATA payload (RFC 5321 §4.5.2): every line ending made CRLF (a lone CR or LF
    /// too), a `.` doubled at the start of a line, a final CRLF ensured, then `.` CRLF.
    public static func dataBytes(_ message: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(message.count + message.count / 40 + 5)
        var atLineStart = true
        var i = 0
        while i < message.count {
            let b = message[i]
            if b == 13 || b == 10 {
                out += [13, 10]
                // CRLF is one break; LF CR is two.
                if b == 13, i + 1 < message.count, message[i + 1] == 10 { i += 1 }
                atLineStart = true
            } else {
                if atLineStart, b == UInt8(ascii: ".") { out.append(UInt8(ascii: ".")) }
                out.append(b)
                atLineStart = false
            }
            i += 1
        }
        if !atLineStart { out += [13, 10] }
        out += Array(".\r\n".utf8)
        return out
    }
}
