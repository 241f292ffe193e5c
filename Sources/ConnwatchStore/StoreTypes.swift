import ConnwatchCore
import Foundation

/// One check's outcome as the daemon shows it, with its transient-failure counter
/// (``ConnwatchCore/TransientPolicy``): the store persists the counter, it does not compute it.
public struct CheckOutcome: Sendable, Equatable {
    public var result: CheckResult
    /// Consecutive transient failures so far (0 after any verdict).
    public var consecutiveFailures: Int

    public init(result: CheckResult, consecutiveFailures: Int = 0) {
        self.result = result
        self.consecutiveFailures = consecutiveFailures
    }
}

/// The results of one connector within a ``CycleBatch``.
public struct ConnectorCycle: Sendable {
    public var identity: ConnectorIdentity
    public var outcomes: [CheckOutcome]

    public init(identity: ConnectorIdentity, outcomes: [CheckOutcome]) {
        self.identity = identity
        self.outcomes = outcomes
    }
}

/// A notification to record, with what its deliveries need.
public struct OutgoingNotification: Sendable {
    public var notification: AlertNotification
    /// The rendered webhook `data` object (SPEC §5, standard format), compact JSON. Each
    /// sink re-renders its own format (slack, teams) from it at send time.
    public var body: Data
    /// The webhooks this notification goes to, already filtered by the daemon
    /// (`min_severity`, `connectors`, `labels`). One delivery row each, in this order;
    /// none when the notification is suppressed.
    public var webhooks: [String]

    public init(notification: AlertNotification, body: Data, webhooks: [String]) {
        self.notification = notification
        self.body = body
        self.webhooks = webhooks
    }
}

/// Everything one scheduling cycle (or part of it) changes, written in ONE transaction:
/// either all of it is stored or none of it (SPEC §5: the alert and its deliveries are
/// written with the state change).
public struct CycleBatch: Sendable {
    /// When the batch is committed: `last_seen`, and `created_at` of deliveries.
    public var at: Date
    public var connectors: [ConnectorCycle]
    /// New alert states. An idle state (``ConnwatchCore/AlertState/isIdle``) deletes the row.
    /// Pass only the states that changed: equal ones cost a comparison, not a write.
    public var alertStates: [AlertKey: AlertState]
    /// States to drop (``ConnwatchCore/AlertReconciliation/forget``).
    public var forgetAlertStates: [AlertKey]
    /// In the order the state machine emitted them: per connector and webhook, deliveries
    /// go out in this order.
    public var notifications: [OutgoingNotification]

    public init(
        at: Date, connectors: [ConnectorCycle] = [], alertStates: [AlertKey: AlertState] = [:],
        forgetAlertStates: [AlertKey] = [], notifications: [OutgoingNotification] = []
    ) {
        self.at = at
        self.connectors = connectors
        self.alertStates = alertStates
        self.forgetAlertStates = forgetAlertStates
        self.notifications = notifications
    }
}

/// What a commit wrote, for logs, metrics and tests.
public struct CommitSummary: Sendable, Equatable {
    /// Latest rows whose content was the same: only `checked_at` and counters touched.
    public var unchanged = 0
    /// Latest rows rewritten (new, or details/remediation/expiry/status… changed).
    public var updated = 0
    public var historyRows = 0
    public var transitions = 0
    public var alertStatesWritten = 0
    public var notifications = 0
    public var deliveries = 0

    public init() {}
}

/// A connector the configuration holds, with the checks its kind runs.
public struct ConfiguredConnector: Sendable {
    public var identity: ConnectorIdentity
    public var checks: [CheckKind]

    public init(identity: ConnectorIdentity, checks: [CheckKind]) {
        self.identity = identity
        self.checks = checks
    }
}

/// A connector as stored.
public struct StoredConnector: Sendable, Equatable {
    public var identity: ConnectorIdentity
    /// Worst status of its latest results; nil before its first check ("pending").
    public var status: CheckStatus?
    public var firstSeen: Date
    public var lastSeen: Date
    /// Set when it left the configuration.
    public var removedAt: Date?
}

/// The latest result of one connector check.
public struct LatestResult: Sendable, Equatable {
    public var connector: String
    public var result: CheckResult
    public var consecutiveFailures: Int
    /// Since when status, reason and summary are what they are.
    public var changedAt: Date
    /// The last time the check was ok (nil: never seen ok).
    public var lastOkAt: Date?
    /// The most recent ok result: ``result`` itself when it is ok, the one before the
    /// trouble otherwise (nil: never seen ok). Shown "with its age" by the socket.
    public var lastGood: CheckResult?

    public var key: AlertKey { AlertKey(connector: connector, check: result.check) }
}

/// A connector with its latest results, for `connwatchctl status`.
public struct ConnectorLatest: Sendable, Equatable {
    public var connector: StoredConnector
    /// In `CheckKind` declaration order; empty before the first check.
    public var checks: [LatestResult]
}

/// What the daemon needs at start-up.
public struct StoreSnapshot: Sendable {
    /// Every connector ever seen, removed ones included.
    public var connectors: [StoredConnector]
    public var latest: [AlertKey: LatestResult]
    /// Every persisted alert state, those of removed connectors included (so that
    /// ``ConnwatchCore/AlertStateMachine/reconcile(states:present:now:settings:isSilenced:nextID:)`` sees them).
    public var alertStates: [AlertKey: AlertState]
}

/// Counts for `/metrics` (``HistoryStore/counts(at:)``).
public struct StoreCounts: Sendable, Equatable {
    /// Deliveries not delivered, by status (`pending`, `delivering`, `dead`, `gone`; none: absent).
    public var deliveries: [DeliveryStatus: Int]
    /// Incidents firing now (each announced by at least one notification).
    public var firingAlerts: Int
    /// Silences in force.
    public var activeSilences: Int

    public init(deliveries: [DeliveryStatus: Int], firingAlerts: Int, activeSilences: Int) {
        self.deliveries = deliveries
        self.firingAlerts = firingAlerts
        self.activeSilences = activeSilences
    }
}

/// A result that changed something (status, reason or summary).
public struct HistoryEntry: Sendable, Equatable {
    public var id: Int64
    public var connector: String
    public var result: CheckResult
}

/// A status change of a connector (``check`` nil) or of one of its checks.
public struct StatusTransition: Sendable, Equatable {
    public var id: Int64
    public var connector: String
    public var check: CheckKind?
    /// nil: the first status ever recorded.
    public var from: CheckStatus?
    public var to: CheckStatus
    public var reason: String
    public var at: Date

    public init(
        id: Int64, connector: String, check: CheckKind?, from: CheckStatus?, to: CheckStatus, reason: String, at: Date
    ) {
        self.id = id
        self.connector = connector
        self.check = check
        self.from = from
        self.to = to
        self.reason = reason
        self.at = at
    }
}

/// A recorded notification.
public struct StoredNotification: Sendable, Equatable {
    public var notification: AlertNotification
    public var body: Data
}

/// Where a webhook delivery stands.
public enum DeliveryStatus: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Waiting for `next_attempt_at`.
    case pending
    /// Claimed by the worker until `lease_until`; reclaimed after it.
    case delivering
    case delivered
    /// Every attempt failed.
    case dead
    /// The webhook answered 410 Gone: nothing more goes to it.
    case gone

    public var description: String { rawValue }

    public var isFinished: Bool { self == .delivered || self == .dead || self == .gone }
}

/// A delivery as listed by `connwatchctl deliveries`.
public struct DeliveryRecord: Sendable, Equatable {
    public var id: Int64
    public var notificationId: String
    public var connector: String
    public var webhook: String
    public var eventType: AlertEventType
    public var status: DeliveryStatus
    public var attempts: Int
    public var nextAttemptAt: Date
    public var leaseUntil: Date?
    public var lastHTTPStatus: Int?
    public var lastError: String?
    public var createdAt: Date
    public var finishedAt: Date?
}

/// A delivery handed to the worker: everything it needs to sign and send.
public struct ClaimedDelivery: Sendable, Equatable {
    public var id: Int64
    /// The `webhook-id`, the same on every attempt.
    public var notificationId: String
    public var connector: String
    public var webhook: String
    public var eventType: AlertEventType
    /// Attempts already recorded (0 for the first).
    public var attempts: Int
    /// The rendered `data` object (``OutgoingNotification/body``).
    public var body: Data
    public var createdAt: Date
    public var leaseUntil: Date
}

/// How one delivery attempt ended, as the worker decided from the HTTP outcome.
public enum AttemptOutcome: Sendable, Equatable {
    case delivered
    /// Try again at this time (backoff with jitter, or `Retry-After`).
    case retry(at: Date)
    /// The last attempt failed: give up.
    case dead
    /// 410 Gone: this and every pending delivery to the webhook become `gone`.
    case gone

    var code: String {
        switch self {
        case .delivered: "delivered"
        case .retry: "retry"
        case .dead: "dead"
        case .gone: "gone"
        }
    }
}

/// One recorded attempt.
public struct DeliveryAttempt: Sendable, Equatable {
    public var id: Int64
    public var deliveryId: Int64
    public var at: Date
    public var httpStatus: Int?
    public var error: String?
    public var duration: Duration
    public var outcome: String
}

/// Daemon lifecycle events kept in history.
public enum DaemonEventKind: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case start
    case stop
    case reload
    case reloadFailed = "reload_failed"

    public var description: String { rawValue }

    /// Failures are kept twice as long by ``HistoryStore/prune(now:retention:)``.
    var isFailure: Bool { self == .reloadFailed }
}

public struct DaemonEvent: Sendable, Equatable {
    public var id: Int64
    public var kind: DaemonEventKind
    public var message: String
    public var at: Date
}

/// Rows deleted by ``HistoryStore/prune(now:retention:)``.
public struct PruneSummary: Sendable, Equatable {
    public var history = 0
    public var transitions = 0
    public var notifications = 0
    public var deliveries = 0
    public var silences = 0
    public var daemonEvents = 0
    public var connectors = 0

    public init() {}

    public var total: Int { history + transitions + notifications + deliveries + silences + daemonEvents + connectors }
}

extension Date {
    /// Milliseconds since the Unix epoch, as stored.
    var ms: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }

    init(ms: Int64) { self.init(timeIntervalSince1970: Double(ms) / 1000) }
}
