import Foundation

/// The JSON bodies of the control socket (SPEC §7) besides ``StatusReport``: what
/// connwatchd encodes and connwatchctl decodes. Field names are API (documented in
/// `docs/control-api.yaml`); every reply carries `schema_version`. None holds a secret:
/// webhooks appear by name, never by URL.
public enum ControlAPI {
    public static let schemaVersion = 1

    /// Any error reply: `{"schema_version": 1, "error": "…"}`; a refused reload adds the
    /// configuration errors.
    public struct ErrorReply: Sendable, Codable, Equatable {
        public var schemaVersion = ControlAPI.schemaVersion
        public var error: String
        public var errors: [ConfigProblem]?

        public init(error: String, errors: [ConfigProblem]? = nil) {
            self.error = error
            self.errors = errors
        }

        enum CodingKeys: String, CodingKey {
            case schemaVersion = "schema_version"
            case error, errors
        }
    }

    /// One configuration error of a refused reload.
    public struct ConfigProblem: Sendable, Codable, Equatable {
        public var file: String
        public var line: Int?
        public var key: String
        public var message: String

        public init(file: String, line: Int?, key: String, message: String) {
            self.file = file
            self.line = line
            self.key = key
            self.message = message
        }
    }

    /// `GET /v1/connectors/{name}` and `POST /v1/connectors/{name}/check`.
    public struct ConnectorReply: Sendable, Codable, Equatable {
        public var schemaVersion = ControlAPI.schemaVersion
        public var connector: StatusReport.ConnectorStatus

        public init(connector: StatusReport.ConnectorStatus) { self.connector = connector }

        enum CodingKeys: String, CodingKey {
            case schemaVersion = "schema_version"
            case connector
        }
    }

    /// `POST /v1/check` body: the connectors to check; absent or empty means all.
    public struct CheckRequest: Sendable, Codable, Equatable {
        public var connectors: [String]?

        public init(connectors: [String]?) { self.connectors = connectors }
    }

    // MARK: History

    /// `GET /v1/connectors/{name}/history`: results that changed something, and status
    /// transitions, oldest first.
    public struct HistoryReply: Sendable, Codable, Equatable {
        public var schemaVersion = ControlAPI.schemaVersion
        public var connector: String
        public var since: Date
        public var results: [HistoryResult]
        public var transitions: [Transition]

        public init(connector: String, since: Date, results: [HistoryResult], transitions: [Transition]) {
            self.connector = connector
            self.since = since
            self.results = results
            self.transitions = transitions
        }

        enum CodingKeys: String, CodingKey {
            case schemaVersion = "schema_version"
            case connector, since, results, transitions
        }
    }

    /// A stored result: its row id next to the ``CheckResult`` fields, in one object.
    public struct HistoryResult: Sendable, Codable, Equatable {
        public var id: Int64
        public var result: CheckResult

        public init(id: Int64, result: CheckResult) {
            self.id = id
            self.result = result
        }

        enum CodingKeys: String, CodingKey { case id }

        public init(from decoder: any Decoder) throws {
            id = try decoder.container(keyedBy: CodingKeys.self).decode(Int64.self, forKey: .id)
            result = try CheckResult(from: decoder)
        }

        public func encode(to encoder: any Encoder) throws {
            try result.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
        }
    }

    public struct Transition: Sendable, Codable, Equatable {
        public var id: Int64
        /// nil: the connector's own status.
        public var check: CheckKind?
        /// nil: the first status ever recorded.
        public var from: CheckStatus?
        public var to: CheckStatus
        public var reason: String
        public var at: Date

        public init(id: Int64, check: CheckKind?, from: CheckStatus?, to: CheckStatus, reason: String, at: Date) {
            self.id = id
            self.check = check
            self.from = from
            self.to = to
            self.reason = reason
            self.at = at
        }
    }

    // MARK: Alerts and silences

    /// `GET /v1/alerts`: notifications, newest first, and the silences in force.
    public struct AlertsReply: Sendable, Codable, Equatable {
        public var schemaVersion = ControlAPI.schemaVersion
        public var alerts: [Alert]
        public var silences: [SilenceInfo]

        public init(alerts: [Alert], silences: [SilenceInfo]) {
            self.alerts = alerts
            self.silences = silences
        }

        enum CodingKeys: String, CodingKey {
            case schemaVersion = "schema_version"
            case alerts, silences
        }
    }

    /// One recorded notification.
    public struct Alert: Sendable, Codable, Equatable {
        public var id: String
        public var alertId: String
        public var connector: String
        public var check: CheckKind
        public var eventType: String
        public var state: AlertPhase
        public var severity: Severity
        public var status: CheckStatus
        public var reason: String
        public var summary: String
        public var remediation: String
        public var details: [String: JSONValue]
        public var daysLeft: Int?
        public var expiresAt: Date?
        public var missingPermissions: [String]?
        /// Why it was emitted: `first_notification`, `ladder_step`, `resolved`…
        public var cause: String
        public var ladderDays: Int?
        /// A silence covered it: history kept it, the sinks did not get it.
        public var suppressed: Bool
        public var createdAt: Date

        public init(_ n: AlertNotification) {
            id = n.id
            alertId = n.alertId
            connector = n.connector
            check = n.check
            eventType = n.eventType.rawValue
            state = n.state
            severity = n.severity
            status = n.status
            reason = n.reason.rawValue
            summary = n.summary
            remediation = n.remediation
            details = n.details
            daysLeft = n.daysLeft
            expiresAt = n.expiresAt
            missingPermissions = n.missingPermissions
            cause = n.cause.code
            ladderDays = n.cause.ladderDays
            suppressed = n.suppressed
            createdAt = n.createdAt
        }

        enum CodingKeys: String, CodingKey {
            case id, connector, check, state, severity, status, reason, summary, remediation, details, cause
            case suppressed
            case alertId = "alert_id"
            case eventType = "event_type"
            case daysLeft = "days_left"
            case expiresAt = "expires_at"
            case missingPermissions = "missing_permissions"
            case ladderDays = "ladder_days"
            case createdAt = "created_at"
        }
    }

    /// A silence in force.
    public struct SilenceInfo: Sendable, Codable, Equatable {
        public var id: Int64
        /// A connector name, or `*` for all.
        public var connector: String
        public var reason: String
        public var author: String
        public var createdAt: Date
        public var expiresAt: Date

        public init(_ s: Silence) {
            id = s.id
            connector = s.connector
            reason = s.reason
            author = s.author
            createdAt = s.createdAt
            expiresAt = s.expiresAt
        }

        enum CodingKeys: String, CodingKey {
            case id, connector, reason, author
            case createdAt = "created_at"
            case expiresAt = "expires_at"
        }
    }

    /// `POST /v1/silences` body. `duration` as in the configuration: `"90m"`, `"24h"`, `"7d"`.
    public struct SilenceRequest: Sendable, Codable, Equatable {
        public var connector: String
        public var duration: String
        public var reason: String

        public init(connector: String, duration: String, reason: String) {
            self.connector = connector
            self.duration = duration
            self.reason = reason
        }
    }

    /// `POST /v1/silences` reply (201).
    public struct SilenceReply: Sendable, Codable, Equatable {
        public var schemaVersion = ControlAPI.schemaVersion
        public var silence: SilenceInfo

        public init(silence: SilenceInfo) { self.silence = silence }

        enum CodingKeys: String, CodingKey {
            case schemaVersion = "schema_version"
            case silence
        }
    }

    // MARK: Deliveries

    /// `GET /v1/deliveries`: webhook deliveries, newest first.
    public struct DeliveriesReply: Sendable, Codable, Equatable {
        public var schemaVersion = ControlAPI.schemaVersion
        public var deliveries: [Delivery]

        public init(deliveries: [Delivery]) { self.deliveries = deliveries }

        enum CodingKeys: String, CodingKey {
            case schemaVersion = "schema_version"
            case deliveries
        }
    }

    public struct Delivery: Sendable, Codable, Equatable {
        public var id: Int64
        /// The Standard Webhooks `webhook-id`.
        public var notificationId: String
        public var connector: String
        /// The sink's configured name (a webhook's, never its URL, or an `[[email]]` sink's).
        public var webhook: String
        /// `webhook` or `email`; absent from replies of daemons before e-mail (webhook).
        public var sinkKind: String?
        public var eventType: String
        /// `pending`, `delivering`, `delivered`, `dead` or `gone`.
        public var status: String
        public var attempts: Int
        public var nextAttemptAt: Date
        public var lastHTTPStatus: Int?
        public var lastError: String?
        public var createdAt: Date
        public var finishedAt: Date?

        public init(
            id: Int64, notificationId: String, connector: String, webhook: String, eventType: String, status: String,
            attempts: Int, nextAttemptAt: Date, lastHTTPStatus: Int?, lastError: String?, createdAt: Date,
            finishedAt: Date?, sinkKind: String? = nil
        ) {
            self.sinkKind = sinkKind
            self.id = id
            self.notificationId = notificationId
            self.connector = connector
            self.webhook = webhook
            self.eventType = eventType
            self.status = status
            self.attempts = attempts
            self.nextAttemptAt = nextAttemptAt
            self.lastHTTPStatus = lastHTTPStatus
            self.lastError = lastError
            self.createdAt = createdAt
            self.finishedAt = finishedAt
        }

        enum CodingKeys: String, CodingKey {
            case id, connector, webhook, status, attempts
            case notificationId = "notification_id"
            case sinkKind = "sink_kind"
            case eventType = "event_type"
            case nextAttemptAt = "next_attempt_at"
            case lastHTTPStatus = "last_http_status"
            case lastError = "last_error"
            case createdAt = "created_at"
            case finishedAt = "finished_at"
        }
    }

    // MARK: Acknowledgements

    /// `POST /v1/reload` (200), `DELETE /v1/silences/{id}`, `POST /v1/deliveries/{id}/retry`:
    /// what was done, in one sentence, plus its subject.
    public struct DoneReply: Sendable, Codable, Equatable {
        public var schemaVersion = ControlAPI.schemaVersion
        public var message: String
        /// The silence or delivery id, when the request named one.
        public var id: Int64?
        /// After a reload: how many connectors the configuration holds.
        public var connectors: Int?

        public init(message: String, id: Int64? = nil, connectors: Int? = nil) {
            self.message = message
            self.id = id
            self.connectors = connectors
        }

        enum CodingKeys: String, CodingKey {
            case schemaVersion = "schema_version"
            case message, id, connectors
        }
    }

    /// `POST /v1/emails/{name}/digest`: a digest sent on request, as the SMTP server answered
    /// (the fields of `connwatchctl email test --json`). It does not count as the period's.
    public struct DigestReply: Sendable, Codable, Equatable {
        public struct Recipient: Sendable, Codable, Equatable {
            public var address: String
            public var reply: String

            public init(address: String, reply: String) {
                self.address = address
                self.reply = reply
            }
        }

        public var schemaVersion = ControlAPI.schemaVersion
        public var email: String
        /// `delivered`, `transient` or `permanent`.
        public var verdict: String
        public var messageId: String
        public var accepted: [String]
        public var refused: [Recipient]
        public var deferred: [Recipient]
        public var failure: String?

        public init(
            email: String, verdict: String, messageId: String, accepted: [String], refused: [Recipient],
            deferred: [Recipient], failure: String?
        ) {
            self.email = email
            self.verdict = verdict
            self.messageId = messageId
            self.accepted = accepted
            self.refused = refused
            self.deferred = deferred
            self.failure = failure
        }

        enum CodingKeys: String, CodingKey {
            case schemaVersion = "schema_version"
            case messageId = "message_id"
            case email, verdict, accepted, refused, deferred, failure
        }
    }
}
