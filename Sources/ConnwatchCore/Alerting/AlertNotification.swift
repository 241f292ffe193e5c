import Foundation

/// `state` of a webhook payload: the incident is firing, or it is over.
public enum AlertPhase: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case firing
    case resolved

    public var description: String { rawValue }
}

/// Why the state machine emitted a notification.
public enum NotificationCause: Sendable, Hashable, CustomStringConvertible {
    /// The check entered warning, critical or unknown: a new incident opens.
    case firstNotification
    /// Status, reason or event type changed while the incident fires (same incident id).
    case changed
    /// The credential in use crossed this ladder step (days left), the smallest if several.
    case ladderStep(days: Int)
    /// Still critical `repeat_critical` after the last notification.
    case reminderDue
    /// A silence ended while the incident still fires: say it again, now to the sinks.
    case silenceEnded
    /// The check is ok again.
    case resolved
    /// The connector or check is no longer configured (found on start by ``AlertStateMachine/reconcile(states:present:now:settings:isSilenced:nextID:)``).
    case noLongerChecked

    /// Stable machine code, stored and shown (`ladder_step` carries its days separately).
    public var code: String {
        switch self {
        case .firstNotification: "first_notification"
        case .changed: "changed"
        case .ladderStep: "ladder_step"
        case .reminderDue: "reminder_due"
        case .silenceEnded: "silence_ended"
        case .resolved: "resolved"
        case .noLongerChecked: "no_longer_checked"
        }
    }

    /// Days of a ladder step, else nil.
    public var ladderDays: Int? {
        if case .ladderStep(let days) = self { return days }
        return nil
    }

    /// Every code, for schema CHECK constraints.
    public static let allCodes = [
        "first_notification", "changed", "ladder_step", "reminder_due", "silence_ended", "resolved",
        "no_longer_checked",
    ]

    /// Rebuilds a cause from ``code`` and ``ladderDays``; nil for an unknown code or a
    /// ladder step without days.
    public init?(code: String, ladderDays: Int?) {
        switch code {
        case "first_notification": self = .firstNotification
        case "changed": self = .changed
        case "ladder_step":
            guard let ladderDays else { return nil }
            self = .ladderStep(days: ladderDays)
        case "reminder_due": self = .reminderDue
        case "silence_ended": self = .silenceEnded
        case "resolved": self = .resolved
        case "no_longer_checked": self = .noLongerChecked
        default: return nil
        }
    }

    public var description: String {
        if case .ladderStep(let days) = self { return "ladder_step(\(days))" }
        return code
    }
}

extension Severity {
    /// How loudly a firing notification of a check in `status` speaks: critical stays
    /// critical, warning and unknown warn, and an `ok` check (a ladder step) informs.
    public init(alerting status: CheckStatus) {
        switch status {
        case .critical: self = .critical
        case .warning, .unknown: self = .warning
        case .ok: self = .info
        }
    }
}

/// One notification: what journal and webhook sinks render, and what history keeps.
/// Never secret: every field comes from a `CheckResult`, which holds none.
public struct AlertNotification: Sendable, Equatable {
    /// Fresh per notification; the Standard Webhooks `webhook-id`, stable across retries.
    public var id: String
    /// The incident id (`data.alert_id`, `CONNWATCH_ALERT_ID`), shared by every
    /// notification from firing to resolved. A firing incident's id is the id of its
    /// first notification; a ladder step on an `ok` check stands alone (`alertId == id`).
    public var alertId: String
    public var connector: String
    public var check: CheckKind
    public var eventType: AlertEventType
    public var state: AlertPhase
    public var severity: Severity
    /// The check's status and reason at the time (`ok` on a resolution).
    public var status: CheckStatus
    public var reason: Reason
    public var summary: String
    public var remediation: String
    public var details: [String: JSONValue]
    /// From `CheckResult.expiry`, when the check knows the credential's expiry.
    public var daysLeft: Int?
    public var expiresAt: Date?
    /// From `details["missing_permissions"]`, when present.
    public var missingPermissions: [String]?
    public var cause: NotificationCause
    /// A silence covered the connector (or nobody heard of the incident): history keeps
    /// it, sinks skip it.
    public var suppressed: Bool
    public var createdAt: Date

    public init(
        id: String, alertId: String, connector: String, check: CheckKind, eventType: AlertEventType, state: AlertPhase,
        severity: Severity, status: CheckStatus, reason: Reason, summary: String, remediation: String = "",
        details: [String: JSONValue] = [:], daysLeft: Int? = nil, expiresAt: Date? = nil,
        missingPermissions: [String]? = nil, cause: NotificationCause, suppressed: Bool = false, createdAt: Date
    ) {
        self.id = id
        self.alertId = alertId
        self.connector = connector
        self.check = check
        self.eventType = eventType
        self.state = state
        self.severity = severity
        self.status = status
        self.reason = reason
        self.summary = summary
        self.remediation = remediation
        self.details = details
        self.daysLeft = daysLeft
        self.expiresAt = expiresAt
        self.missingPermissions = missingPermissions
        self.cause = cause
        self.suppressed = suppressed
        self.createdAt = createdAt
    }

    public var key: AlertKey { AlertKey(connector: connector, check: check) }
}

/// What the daemon must do after an evaluation. Both kinds are written to history in the
/// same transaction as the new ``AlertState``; only ``notify(_:)`` reaches the sinks.
public enum AlertAction: Sendable, Equatable {
    /// Record, then send to the journal and to every matching webhook.
    case notify(AlertNotification)
    /// Record only: a silence covers the connector (the notification's `suppressed` is true).
    case recordSuppressed(AlertNotification)

    public var notification: AlertNotification {
        switch self {
        case .notify(let n), .recordSuppressed(let n): n
        }
    }

    public var isSuppressed: Bool {
        if case .recordSuppressed = self { return true }
        return false
    }

    /// Wraps a notification according to its `suppressed` flag.
    public init(_ notification: AlertNotification) {
        self = notification.suppressed ? .recordSuppressed(notification) : .notify(notification)
    }
}

/// Notification ids: UUIDv7 (RFC 9562), time-ordered so that ids sort like their
/// creation and index well, and free of `.` as Standard Webhooks requires of `webhook-id`.
public enum NotificationID {
    /// A lowercase UUIDv7 for `now`, random bits from `generator`.
    public static func uuidV7(at now: Date, using generator: inout some RandomNumberGenerator) -> String {
        let ms = UInt64(max(0, (now.timeIntervalSince1970 * 1000).rounded(.down)))
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        var b = [UInt8](repeating: 0, count: 16)
        for i in 0..<6 { b[i] = UInt8(truncatingIfNeeded: ms >> (40 - 8 * UInt64(i))) }
        b[6] = 0x70 | UInt8(truncatingIfNeeded: high & 0x0F)
        b[7] = UInt8(truncatingIfNeeded: high >> 8)
        b[8] = 0x80 | UInt8(truncatingIfNeeded: (low & 0x3F))
        for i in 9..<16 { b[i] = UInt8(truncatingIfNeeded: low >> (8 * UInt64(i - 8))) }
        let uuid = UUID(
            uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15])
        )
        return uuid.uuidString.lowercased()
    }

    /// A lowercase UUIDv7 for `now` from the system's random source.
    public static func uuidV7(at now: Date) -> String {
        var generator = SystemRandomNumberGenerator()
        return uuidV7(at: now, using: &generator)
    }
}
