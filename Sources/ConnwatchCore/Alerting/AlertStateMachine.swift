import Foundation

/// Everything besides the previous state and the result that an evaluation depends on.
/// `now` is a parameter so that the machine reads no clock.
public struct AlertContext: Sendable {
    public var now: Date
    public var settings: AlertSettings
    /// A silence covers this connector at `now`.
    public var silenced: Bool

    public init(now: Date, settings: AlertSettings, silenced: Bool = false) {
        self.now = now
        self.settings = settings
        self.silenced = silenced
    }
}

/// What ``AlertStateMachine/reconcile(states:present:now:settings:isSilenced:nextID:)`` found.
public struct AlertReconciliation: Sendable, Equatable {
    /// Resolutions of incidents whose connector or check is no longer configured.
    public var actions: [AlertAction]
    /// States of keys that are no longer configured, firing or not: delete them.
    public var forget: [AlertKey]

    public init(actions: [AlertAction], forget: [AlertKey]) {
        self.actions = actions
        self.forget = forget
    }
}

/// The alert state machine: a pure function of the persisted state, the new check
/// result and the context (Alertmanager's "should we notify now?" decision, shaped like
/// Hummingbird's state machines: it returns actions, it performs none).
///
/// Rules (SPEC §3, §5; ops-facts §1.4):
/// - entering warning, critical or unknown opens an incident and notifies;
/// - while firing, a change of status, reason or event type notifies again under the
///   same incident id;
/// - the expiry ladder notifies once per step crossed by the credential in use (several
///   steps at once: one notification, for the smallest) and restarts when the credential
///   changes; a ladder step coinciding with another notification is folded into it;
/// - a critical incident is reminded every `repeat_critical`;
/// - back to ok resolves: a `resolved` notification when `send_resolved`, the incident
///   closed either way;
/// - under a silence every notification is still produced, marked suppressed; when the
///   silence ends while the incident fires, it is notified again;
/// - a result blocked by another check (``CheckResult/isBlockedByAnotherCheck``) changes
///   nothing: the blocking check carries the alert.
public enum AlertStateMachine {
    /// Evaluates one check result of `connector`.
    ///
    /// - Parameters:
    ///   - previous: the persisted state, nil when this check never had one.
    ///   - nextID: makes a fresh notification id (``NotificationID/uuidV7(at:)`` in
    ///     production, a counter in tests). Called once per notification.
    /// - Returns: the state to persist and the notifications to record (and send).
    public static func evaluate(
        previous: AlertState?, connector: String, result: CheckResult, context: AlertContext,
        nextID: () -> String
    ) -> (state: AlertState, actions: [AlertAction]) {
        var state = previous ?? .idle
        if result.isBlockedByAnotherCheck { return (state, []) }
        let now = context.now
        let settings = context.settings

        // The ladder moves whatever the status: a 60-day step informs while the check is ok.
        var ladderDue: Int?
        if let expiry = result.expiry {
            if state.ladderCredentialId != expiry.credentialId {
                state.ladderCredentialId = expiry.credentialId
                state.ladderStep = nil
            }
            let daysLeft = expiry.daysLeft(at: now)
            if let crossed = settings.ladderDays.filter({ daysLeft <= $0 }).min(),
                state.ladderStep.map({ crossed < $0 }) ?? true
            {
                ladderDue = crossed
                state.ladderStep = crossed
            }
        }

        var actions: [AlertAction] = []
        if result.status == .ok {
            if state.firing, let alertId = state.alertId {
                if settings.sendResolved {
                    let notification = makeNotification(
                        id: nextID(), alertId: alertId, connector: connector, result: result,
                        eventType: state.eventType ?? AlertEventType(check: result.check, reason: result.reason),
                        state: .resolved, severity: state.severity ?? .warning, cause: .resolved,
                        suppressed: context.silenced || !state.reachedSinks, now: now)
                    actions.append(AlertAction(notification))
                }
                state = state.closingIncident
            }
            if let step = ladderDue {
                let id = nextID()
                let notification = makeNotification(
                    id: id, alertId: id, connector: connector, result: result,
                    eventType: .expiring(check: result.check), state: .firing, severity: .info,
                    cause: .ladderStep(days: step), suppressed: context.silenced, now: now)
                actions.append(AlertAction(notification))
            }
            return (state, actions)
        }

        let eventType = AlertEventType(check: result.check, reason: result.reason)
        let cause: NotificationCause?
        if !state.firing {
            cause = .firstNotification
        } else if state.status != result.status || state.reason != result.reason || state.eventType != eventType {
            cause = .changed
        } else if let step = ladderDue {
            cause = .ladderStep(days: step)
        } else if !context.silenced && state.suppressed {
            cause = .silenceEnded
        } else if result.status == .critical, let last = state.lastNotifiedAt,
            now.timeIntervalSince(last) >= settings.repeatCritical.timeInterval
        {
            cause = .reminderDue
        } else {
            cause = nil
        }
        guard let cause else { return (state, []) }

        let id = nextID()
        if !state.firing {
            state = state.closingIncident
            state.firing = true
            state.alertId = id
            state.firstNotifiedAt = now
        }
        let severity = Severity(alerting: result.status)
        let notification = makeNotification(
            id: id, alertId: state.alertId ?? id, connector: connector, result: result, eventType: eventType,
            state: .firing, severity: severity, cause: cause, suppressed: context.silenced, now: now)
        state.status = result.status
        state.reason = result.reason
        state.eventType = eventType
        state.severity = severity
        state.lastNotifiedAt = now
        state.notifyCount += 1
        state.suppressed = context.silenced
        if !context.silenced { state.reachedSinks = true }
        return (state, [AlertAction(notification)])
    }

    /// On start: resolves the incidents of connectors or checks that are no longer
    /// configured (removed while the daemon was down, or by a reload). Incidents whose
    /// check recovered while the daemon was down resolve through the first
    /// ``evaluate(previous:connector:result:context:nextID:)`` of the persisted state.
    ///
    /// - Parameters:
    ///   - present: every (connector, check) the configuration checks now.
    ///   - isSilenced: whether a silence covers a connector at `now`.
    public static func reconcile(
        states: [AlertKey: AlertState], present: Set<AlertKey>, now: Date, settings: AlertSettings,
        isSilenced: (String) -> Bool = { _ in false }, nextID: () -> String
    ) -> AlertReconciliation {
        let presentConnectors = Set(present.map(\.connector))
        var actions: [AlertAction] = []
        var forget: [AlertKey] = []
        for key in states.keys.sorted() where !present.contains(key) {
            forget.append(key)
            guard let state = states[key], state.firing, let alertId = state.alertId, settings.sendResolved else {
                continue
            }
            let summary =
                presentConnectors.contains(key.connector)
                ? "the \(key.check.rawValue) check no longer applies to this connector"
                : "the connector is no longer configured"
            let notification = AlertNotification(
                id: nextID(), alertId: alertId, connector: key.connector, check: key.check,
                eventType: state.eventType ?? AlertEventType(check: key.check, reason: state.reason ?? .ok),
                state: .resolved, severity: state.severity ?? .warning, status: .ok, reason: .ok, summary: summary,
                cause: .noLongerChecked, suppressed: isSilenced(key.connector) || !state.reachedSinks, createdAt: now)
            actions.append(AlertAction(notification))
        }
        return AlertReconciliation(actions: actions, forget: forget)
    }

    private static func makeNotification(
        id: String, alertId: String, connector: String, result: CheckResult, eventType: AlertEventType,
        state: AlertPhase, severity: Severity, cause: NotificationCause, suppressed: Bool, now: Date
    ) -> AlertNotification {
        AlertNotification(
            id: id, alertId: alertId, connector: connector, check: result.check, eventType: eventType, state: state,
            severity: severity, status: result.status, reason: result.reason, summary: result.summary,
            remediation: result.remediation, details: result.details, daysLeft: result.expiry?.daysLeft(at: now),
            expiresAt: result.expiry?.expiresAt, missingPermissions: missingPermissions(result.details),
            cause: cause, suppressed: suppressed, createdAt: now)
    }

    /// `details["missing_permissions"]` as strings, when the check listed them.
    private static func missingPermissions(_ details: [String: JSONValue]) -> [String]? {
        guard case .array(let items)? = details["missing_permissions"] else { return nil }
        let names = items.compactMap(\.stringValue)
        return names.isEmpty ? nil : names
    }
}
