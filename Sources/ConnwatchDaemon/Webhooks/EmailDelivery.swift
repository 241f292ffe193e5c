import ConnwatchAlerting
import ConnwatchCore
import ConnwatchMail
import ConnwatchStore
import Foundation
import Synchronization

/// Submits one message for an `[[email]]` sink. The daemon's is ``SMTPMailTransport``;
/// unit tests give the worker a double to check its decisions without a network.
public protocol MailTransport: Sendable {
    func send(_ envelope: SMTPEnvelope, sink: EmailConfig) async -> SMTPDeliveryReport
}

/// ``SMTPClient`` with the sink's server, timeouts and credentials, trusting the system
/// roots plus `[daemon] ca_file`. One connection per message (the client's design).
public struct SMTPMailTransport: MailTransport {
    public let caFile: String?

    public init(caFile: String?) { self.caFile = caFile }

    public func send(_ envelope: SMTPEnvelope, sink: EmailConfig) async -> SMTPDeliveryReport {
        let client: SMTPClient
        do {
            client = try SMTPClient(
                server: sink.server,
                credentials: sink.username.flatMap { u in sink.password.map { SMTPCredentials(username: u, password: $0) } },
                tls: try SMTPClient.tlsConfiguration(caFile: caFile), timeouts: .init(configured: sink.timeout))
        } catch {
            // The ca_file may be fixed and reloaded: a failure worth retrying, never a verdict.
            return SMTPDeliveryReport(verdict: .transient, failure: "TLS set-up failed (ca_file?): \(error)")
        }
        return await client.send(envelope)
    }
}

/// The current `[[email]]` sinks and their transport, shared by the daemon (which swaps them
/// on reload) and the delivery worker — the e-mail counterpart of ``WebhookSink``.
public final class EmailSink: Sendable {
    public let state: Mutex<(emails: [EmailConfig], transport: any MailTransport)>

    public init(emails: [EmailConfig], transport: any MailTransport) {
        state = Mutex((emails, transport))
    }
}

/// How an SMTP submission maps onto the outbox, pure (unit-tested with every verdict):
///
/// - `delivered` with no recipient deferred → delivered; the accepted and refused
///   recipients (with the server's reply) are the delivery's details;
/// - `delivered` with some recipients deferred (4xx to `RCPT TO`) → the row is retried on
///   the webhook schedule, for all its recipients: the outbox keeps one row per message, not
///   per recipient, so a recipient who already took it may get it again — under the same
///   Message-ID, which mail clients and archives deduplicate. A lost mail would be worse;
/// - `transient` (4xx, network, TLS, timeout, an unintelligible reply) → retry on the
///   webhook schedule, dead after its last attempt;
/// - `permanent` (5xx, or every recipient refused) → dead at once.
///
/// The details never hold the password: the client never quotes AUTH lines.
public enum EmailAttempt {
    public static func decide(
        _ report: SMTPDeliveryReport, attempt: Int, policy: WebhookRetryPolicy, random: Double = .random(in: 0...1)
    ) -> (decision: WebhookAttemptDecision, details: String) {
        let details = String(report.description.prefix(500))
        switch report.verdict {
        case .delivered where report.deferred.isEmpty:
            return (.delivered, details)
        case .delivered, .transient:
            // Never .gone: that is a webhook's 410. The failure text only feeds the schedule.
            let decision = policy.decide(attempt: attempt, result: .failure(details), random: random)
            return (decision == .gone ? .dead : decision, details)
        case .permanent:
            return (.dead, details)
        }
    }

    /// The envelope and message for a claimed row: `recipients` (the sink's `to` when nil;
    /// `to` then owners for a sink with `owners = true`) in both the `RCPT TO` list and the
    /// `To:` header, the Message-ID from the notification id (the same on every attempt and
    /// after a restart). Nil when the stored payload cannot be read.
    public static func envelope(
        for d: ClaimedDelivery, sink: EmailConfig, recipients: MailRecipients? = nil
    ) -> (SMTPEnvelope, messageID: String)? {
        let to = recipients?.all ?? sink.to
        guard
            let message = AlertMail.message(
                standardPayload: d.body, notificationID: d.notificationId, sink: sink, recipients: to)
        else { return nil }
        return (
            SMTPEnvelope(from: sink.from.address, recipients: to.map(\.address), message: message.rendered()),
            message.messageID
        )
    }

    /// The attempt's details as `connwatchctl deliveries` shows them: for a sink with
    /// `owners = true`, whom the mail was for (`to` and owners told apart, and why owners
    /// are missing), then the server's report (``decide(_:attempt:policy:random:)``).
    /// Sinks without owners keep the server's report alone, as before.
    public static func details(recipients: MailRecipients, smtp: String) -> String {
        guard recipients.includesOwners else { return smtp }
        return String((recipients.details + " — " + smtp).prefix(1000))
    }
}
