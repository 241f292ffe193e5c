import Foundation

/// What an alert is about: one check of one connector.
public struct AlertKey: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var connector: String
    public var check: CheckKind

    public init(connector: String, check: CheckKind) {
        self.connector = connector
        self.check = check
    }

    public var description: String { "\(connector)/\(check.rawValue)" }

    public static func < (lhs: AlertKey, rhs: AlertKey) -> Bool {
        (lhs.connector, lhs.check.rawValue) < (rhs.connector, rhs.check.rawValue)
    }
}

/// The persisted alert memory of one connector check: what was last notified, and how
/// far down the expiry ladder the credential in use has been announced. Persisting it is
/// what lets a restart neither repeat nor lose a notification (ops-facts §1.4, item 4).
public struct AlertState: Sendable, Equatable, Codable {
    /// An incident is open: a firing notification went out (to sinks or, under a silence,
    /// to history) and no resolved one yet.
    public var firing: Bool
    /// The incident id, stable from firing to resolved: `CONNWATCH_ALERT_ID` and the
    /// webhook's `data.alert_id`. nil when no incident is open.
    public var alertId: String?
    /// Status, reason and event type last notified for the open incident.
    public var status: CheckStatus?
    public var reason: Reason?
    public var eventType: AlertEventType?
    /// Severity last notified; a resolved notification repeats it so that sinks filtering
    /// on `min_severity` let the resolution through whenever they let the firing through.
    public var severity: Severity?
    public var firstNotifiedAt: Date?
    public var lastNotifiedAt: Date?
    /// Notifications of the open incident so far (firing ones, suppressed included).
    public var notifyCount: Int
    /// The credential (`keyId` or thumbprint) the ladder below belongs to.
    public var ladderCredentialId: String?
    /// The smallest ladder step (days) already notified for ``ladderCredentialId``.
    public var ladderStep: Int?
    /// The last notification was suppressed by a silence: when the silence ends while
    /// the incident still fires, it is notified again.
    public var suppressed: Bool
    /// Some notification of the open incident reached the sinks. A resolution of an
    /// incident that nobody heard of is recorded but not sent.
    public var reachedSinks: Bool

    public init(
        firing: Bool = false, alertId: String? = nil, status: CheckStatus? = nil, reason: Reason? = nil,
        eventType: AlertEventType? = nil, severity: Severity? = nil, firstNotifiedAt: Date? = nil,
        lastNotifiedAt: Date? = nil, notifyCount: Int = 0, ladderCredentialId: String? = nil, ladderStep: Int? = nil,
        suppressed: Bool = false, reachedSinks: Bool = false
    ) {
        self.firing = firing
        self.alertId = alertId
        self.status = status
        self.reason = reason
        self.eventType = eventType
        self.severity = severity
        self.firstNotifiedAt = firstNotifiedAt
        self.lastNotifiedAt = lastNotifiedAt
        self.notifyCount = notifyCount
        self.ladderCredentialId = ladderCredentialId
        self.ladderStep = ladderStep
        self.suppressed = suppressed
        self.reachedSinks = reachedSinks
    }

    /// Nothing to remember: no open incident and no ladder. A store need not keep it.
    public static let idle = AlertState()

    public var isIdle: Bool { self == .idle }

    /// The same ladder memory with the incident closed.
    var closingIncident: AlertState {
        AlertState(ladderCredentialId: ladderCredentialId, ladderStep: ladderStep)
    }

    enum CodingKeys: String, CodingKey {
        case firing
        case alertId = "alert_id"
        case status, reason, severity, suppressed
        case eventType = "event_type"
        case firstNotifiedAt = "first_notified_at"
        case lastNotifiedAt = "last_notified_at"
        case notifyCount = "notify_count"
        case ladderCredentialId = "ladder_credential_id"
        case ladderStep = "ladder_step"
        case reachedSinks = "reached_sinks"
    }

    // Absent keys decode to their defaults (and nil values are not encoded), so a stored
    // state stays small and an older row still decodes after a field is added.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            firing: try c.decodeIfPresent(Bool.self, forKey: .firing) ?? false,
            alertId: try c.decodeIfPresent(String.self, forKey: .alertId),
            status: try c.decodeIfPresent(CheckStatus.self, forKey: .status),
            reason: try c.decodeIfPresent(Reason.self, forKey: .reason),
            eventType: try c.decodeIfPresent(AlertEventType.self, forKey: .eventType),
            severity: try c.decodeIfPresent(Severity.self, forKey: .severity),
            firstNotifiedAt: try c.decodeIfPresent(Date.self, forKey: .firstNotifiedAt),
            lastNotifiedAt: try c.decodeIfPresent(Date.self, forKey: .lastNotifiedAt),
            notifyCount: try c.decodeIfPresent(Int.self, forKey: .notifyCount) ?? 0,
            ladderCredentialId: try c.decodeIfPresent(String.self, forKey: .ladderCredentialId),
            ladderStep: try c.decodeIfPresent(Int.self, forKey: .ladderStep),
            suppressed: try c.decodeIfPresent(Bool.self, forKey: .suppressed) ?? false,
            reachedSinks: try c.decodeIfPresent(Bool.self, forKey: .reachedSinks) ?? false)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if firing { try c.encode(firing, forKey: .firing) }
        try c.encodeIfPresent(alertId, forKey: .alertId)
        try c.encodeIfPresent(status, forKey: .status)
        try c.encodeIfPresent(reason, forKey: .reason)
        try c.encodeIfPresent(eventType, forKey: .eventType)
        try c.encodeIfPresent(severity, forKey: .severity)
        try c.encodeIfPresent(firstNotifiedAt, forKey: .firstNotifiedAt)
        try c.encodeIfPresent(lastNotifiedAt, forKey: .lastNotifiedAt)
        if notifyCount != 0 { try c.encode(notifyCount, forKey: .notifyCount) }
        try c.encodeIfPresent(ladderCredentialId, forKey: .ladderCredentialId)
        try c.encodeIfPresent(ladderStep, forKey: .ladderStep)
        if suppressed { try c.encode(suppressed, forKey: .suppressed) }
        if reachedSinks { try c.encode(reachedSinks, forKey: .reachedSinks) }
    }
}
