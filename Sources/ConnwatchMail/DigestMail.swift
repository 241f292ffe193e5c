import ConnwatchCore
import Foundation

/// What a digest says (SPEC §5): its subject, plain text and HTML page. Made by a
/// ``DigestContentProvider``; this module only wraps it into a message.
public struct DigestContent: Sendable, Equatable {
    public var subject: String
    public var text: String
    public var html: String

    public init(subject: String, text: String, html: String) {
        self.subject = subject
        self.text = text
        self.html = html
    }
}

/// Makes the digest of one `[[email]]` sink: every connector the sink covers (its
/// `connectors` / `labels` filters; `min_severity` does not apply), what expires soon and
/// what changed since `changesSince` — the due time of the sink's previous delivered digest,
/// nil for its first (the content then says which span it covers instead). `now` is the
/// daemon's wall clock. A throw is a transient failure of that attempt.
///
/// The seam between the digest machinery (schedule, ledger, retries, SMTP) and the report
/// (`ConnwatchReport`): the daemon's provider is ``Daemon/digestContent``.
public typealias DigestContentProvider =
    @Sendable (_ sink: EmailConfig, _ changesSince: Date?, _ now: Date) async throws -> DigestContent

/// A digest as one `multipart/alternative` message (text + HTML), with the headers of
/// ``AlertMail`` (From, To, Date, a stable Message-ID, encoded Subject).
public enum DigestMail {
    /// `digest.<sink>.<period key, ':' as '.'>.connwatch@<from's domain>`: the same on every
    /// attempt of a period and after a restart (sink names are `[a-z0-9-]`, period keys
    /// `daily:2027-03-28` / `weekly:2027-W13`, so it is a dot-atom).
    public static func messageID(sink: EmailConfig, period: String) -> String {
        "digest.\(sink.name).\(period.replacingOccurrences(of: ":", with: ".")).connwatch@\(sink.from.domain)"
    }

    /// A digest sent on request (`connwatchctl email digest`): its own id, never a period's.
    public static func manualMessageID(sink: EmailConfig, id: String) -> String {
        "digest.\(sink.name).manual.\(id).connwatch@\(sink.from.domain)"
    }

    public static func message(
        _ content: DigestContent, sink: EmailConfig, messageID: String, period: String?, date: Date
    ) -> MailMessage {
        var m = MailMessage(
            from: sink.from, to: sink.to, subject: UntrustedText.clean(content.subject), date: date,
            messageID: messageID, text: content.text, html: content.html)
        m.extraHeaders = [.init("X-Connwatch-Digest", period ?? "manual"), .init("X-Connwatch-Email", sink.name)]
        return m
    }
}
