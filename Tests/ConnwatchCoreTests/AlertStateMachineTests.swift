import Foundation
import Testing

@testable import ConnwatchCore

/// Drives the machine like the daemon: one evaluation per check result, the state fed back.
private struct Driver {
    var settings = AlertSettings()
    var state: AlertState?
    var counter = 0
    let connector = "contoso-onedrive"

    mutating func evaluate(_ result: CheckResult, at now: Date, silenced: Bool = false) -> [AlertAction] {
        var n = counter
        let (next, actions) = AlertStateMachine.evaluate(
            previous: state, connector: connector, result: result,
            context: AlertContext(now: now, settings: settings, silenced: silenced),
            nextID: {
                n += 1
                return "n\(n)"
            })
        counter = n
        state = next
        return actions
    }
}

private let t0 = Date(timeIntervalSince1970: 1_750_000_000)
private let day: TimeInterval = 86400
private let thresholds = ExpiryThresholds(warningDays: 30, criticalDays: 7)

/// A secret_expiry result `daysLeft` days before `credential` expires, and the instant it is taken.
private func expiryResult(
    daysLeft: Int, credential: String = "k1", expiresAt: Date = t0 + 200 * day
)
    -> (CheckResult, Date)
{
    // One hour before the whole day so that `daysLeft(at:)` rounds down to exactly `daysLeft`.
    let now = expiresAt - Double(daysLeft) * day - 3600
    let status = thresholds.status(daysLeft: daysLeft)
    let reason: Reason = daysLeft < 0 ? .secretExpired : (status == .ok ? .ok : .secretExpiring)
    let result = CheckResult(
        check: .secretExpiry, status: status, reason: reason, summary: "the secret expires in \(daysLeft) days",
        details: ["days_left": .int(Int64(daysLeft)), "key_id": .string(credential)],
        remediation: status == .ok ? "" : "create a new client secret (step 1b)", checkedAt: now,
        expiry: CredentialExpiry(credentialId: credential, expiresAt: expiresAt))
    return (result, now)
}

private func result(
    _ check: CheckKind, _ status: CheckStatus, _ reason: Reason, at now: Date, details: [String: JSONValue] = [:]
) -> CheckResult {
    CheckResult(
        check: check, status: status, reason: reason, summary: "\(check) \(reason)", details: details,
        remediation: status == .ok ? "" : "do something (step 2)", checkedAt: now)
}

struct LadderCase: Sendable, CustomTestStringConvertible {
    var name: String
    var days: [Int]
    /// (days left, cause, severity) of every notification expected, in order.
    var expected: [(Int, NotificationCause, Severity)]
    var finalStep: Int?
    var testDescription: String { name }
}

@Suite struct AlertStateMachineTests {
    static let ladderCases: [LadderCase] = [
        LadderCase(
            name: "daily walk from 90 days to expired", days: Array((-2...90).reversed()),
            expected: [
                (60, .ladderStep(days: 60), .info), (30, .firstNotification, .warning),
                (14, .ladderStep(days: 14), .warning), (7, .changed, .critical), (3, .ladderStep(days: 3), .critical),
                (1, .ladderStep(days: 1), .critical), (0, .ladderStep(days: 0), .critical), (-1, .changed, .critical),
            ], finalStep: 0),
        LadderCase(
            name: "jumps notify once, for the smallest step crossed", days: [100, 45, 10, 2],
            expected: [
                (45, .ladderStep(days: 60), .info), (10, .firstNotification, .warning), (2, .changed, .critical),
            ],
            finalStep: 3),
        LadderCase(
            name: "first seen deep in the ladder, then the next step", days: [5, 4, 3],
            expected: [(5, .firstNotification, .critical), (3, .ladderStep(days: 3), .critical)], finalStep: 3),
        LadderCase(
            name: "no repeat within a step", days: [59, 58, 45, 31, 31],
            expected: [(59, .ladderStep(days: 60), .info)], finalStep: 60),
        LadderCase(
            name: "hourly checks on the same day notify once", days: [20, 20, 20],
            expected: [(20, .firstNotification, .warning)], finalStep: 30),
        LadderCase(name: "far from expiry, nothing", days: [400, 200, 61], expected: [], finalStep: nil),
    ]

    @Test(arguments: ladderCases)
    func expiryLadder(_ c: LadderCase) {
        var driver = Driver()
        // Reminders are another rule: keep them out of the ladder table.
        driver.settings.repeatCritical = .days(365)
        var got: [(Int, NotificationCause, Severity)] = []
        for d in c.days {
            let (r, now) = expiryResult(daysLeft: d)
            for action in driver.evaluate(r, at: now) {
                let n = action.notification
                #expect(!action.isSuppressed)
                #expect(n.daysLeft == d)
                #expect(n.expiresAt == r.expiry?.expiresAt)
                #expect(n.state == .firing)
                got.append((d, n.cause, n.severity))
            }
        }
        #expect(got.map(\.0) == c.expected.map(\.0))
        #expect(got.map(\.1) == c.expected.map(\.1))
        #expect(got.map(\.2) == c.expected.map(\.2))
        #expect(driver.state?.ladderStep == c.finalStep)
    }

    @Test func ladderStepEventTypesAndIncidentIds() {
        var driver = Driver()
        let (r60, now60) = expiryResult(daysLeft: 50)
        let info = driver.evaluate(r60, at: now60)
        // A ladder step on an ok check stands alone: its own incident id, no incident opened.
        #expect(info.map(\.notification.eventType) == [.secretExpiring])
        #expect(info.first?.notification.alertId == info.first?.notification.id)
        #expect(driver.state?.firing == false)

        let (r20, now20) = expiryResult(daysLeft: 20)
        let fire = driver.evaluate(r20, at: now20)
        let (r10, now10) = expiryResult(daysLeft: 10)
        let step = driver.evaluate(r10, at: now10)
        #expect(fire.count == 1 && step.count == 1)
        // The incident's id is its first notification's id, kept by later notifications.
        #expect(fire[0].notification.alertId == fire[0].notification.id)
        #expect(step[0].notification.alertId == fire[0].notification.alertId)
        #expect(Set([info[0].notification.id, fire[0].notification.id, step[0].notification.id]).count == 3)

        // Certificates carry their own event types.
        let cert = CheckResult(
            check: .certificate, status: .ok, reason: .ok, summary: "expires in 45 days", checkedAt: now60,
            expiry: CredentialExpiry(credentialId: "AB12", expiresAt: now60 + 45 * day))
        var certDriver = Driver()
        #expect(certDriver.evaluate(cert, at: now60).map(\.notification.eventType) == [.certificateExpiring])
    }

    @Test func ladderRestartsWhenTheCredentialInUseChanges() {
        var driver = Driver()
        let (old, n1) = expiryResult(daysLeft: 20, credential: "old")
        let fire = driver.evaluate(old, at: n1)
        #expect(fire.map(\.notification.cause) == [.firstNotification])
        #expect(driver.state?.ladderStep == 30)

        // Rotated to a secret that is itself within the ladder: the new credential gets its
        // own step notification under the still-open incident.
        let newExpiry = n1 + 25 * day + 3600
        let (rotatedSoon, _) = expiryResult(daysLeft: 25, credential: "new", expiresAt: newExpiry)
        let step = driver.evaluate(rotatedSoon, at: n1)
        #expect(step.map(\.notification.cause) == [.ladderStep(days: 30)])
        #expect(step.first?.notification.alertId == fire.first?.notification.alertId)
        #expect(driver.state?.ladderCredentialId == "new")

        // Rotated to a long-lived secret: the incident resolves, the ladder starts over.
        let longExpiry = n1 + 400 * day
        let (rotated, _) = expiryResult(daysLeft: 400, credential: "newer", expiresAt: longExpiry)
        let resolved = driver.evaluate(rotated, at: longExpiry - 400 * day - 3600)
        #expect(resolved.map(\.notification.cause) == [.resolved])
        #expect(driver.state == AlertState(ladderCredentialId: "newer"))
        let (again, n60) = expiryResult(daysLeft: 60, credential: "newer", expiresAt: longExpiry)
        #expect(driver.evaluate(again, at: n60).map(\.notification.cause) == [.ladderStep(days: 60)])

        // A reading without expiry (Graph unreadable) does not reset the ladder.
        var unreadable = result(.secretExpiry, .unknown, .expiryUnreadable, at: n60)
        unreadable.expiry = nil
        _ = driver.evaluate(unreadable, at: n60)
        #expect(driver.state?.ladderStep == 60)
        #expect(driver.state?.ladderCredentialId == "newer")
    }

    struct ReminderCase: Sendable, CustomTestStringConvertible {
        var name: String
        var status: CheckStatus
        var repeatEvery: ConfigDuration
        /// Seconds after the first notification; one evaluation each.
        var offsets: [TimeInterval]
        var reminderAt: [TimeInterval]
        var testDescription: String { name }
    }

    static let reminderCases: [ReminderCase] = [
        ReminderCase(
            name: "critical every 24h", status: .critical, repeatEvery: .hours(24),
            offsets: [3600, 86399, 86400, 90000, 172_799, 172_800, 176_400],
            reminderAt: [86400, 172_800]),
        ReminderCase(
            name: "late check still reminds once, the clock restarts from it", status: .critical,
            repeatEvery: .hours(24), offsets: [100_000, 150_000, 186_400], reminderAt: [100_000, 186_400]),
        ReminderCase(
            name: "custom interval", status: .critical, repeatEvery: .hours(6), offsets: [3600, 21600, 30000, 43200],
            reminderAt: [21600, 43200]),
        ReminderCase(
            name: "warning is never reminded", status: .warning, repeatEvery: .hours(1),
            offsets: [3600, 86400, 864_000], reminderAt: []),
    ]

    @Test(arguments: reminderCases)
    func reminders(_ c: ReminderCase) {
        var driver = Driver()
        driver.settings.repeatCritical = c.repeatEvery
        let reason: Reason = c.status == .critical ? .consentMissing : .excessPermissions
        let first = driver.evaluate(result(.consent, c.status, reason, at: t0), at: t0)
        #expect(first.map(\.notification.cause) == [.firstNotification])
        var remindedAt: [TimeInterval] = []
        for offset in c.offsets {
            let actions = driver.evaluate(result(.consent, c.status, reason, at: t0 + offset), at: t0 + offset)
            for a in actions {
                #expect(a.notification.cause == .reminderDue)
                #expect(a.notification.alertId == first[0].notification.alertId)
                remindedAt.append(offset)
            }
        }
        #expect(remindedAt == c.reminderAt)
        #expect(driver.state?.notifyCount == 1 + c.reminderAt.count)
    }

    @Test(arguments: [true, false])
    func resolveOnRecovery(sendResolved: Bool) {
        var driver = Driver()
        driver.settings.sendResolved = sendResolved
        let fire = driver.evaluate(result(.credential, .critical, .secretInvalid, at: t0), at: t0)
        #expect(fire.count == 1)
        let firing = fire[0].notification
        #expect(firing.eventType == .credentialInvalid)
        #expect(firing.severity == .critical)

        let later = t0 + 7200
        let resolved = driver.evaluate(result(.credential, .ok, .ok, at: later), at: later)
        if sendResolved {
            #expect(resolved.count == 1)
            let n = resolved[0].notification
            #expect(!resolved[0].isSuppressed)
            #expect(n.state == .resolved)
            #expect(n.cause == .resolved)
            #expect(n.alertId == firing.alertId)
            #expect(n.id != firing.id)
            // Same event type and severity as the firing, so receivers and severity filters pair them.
            #expect(n.eventType == .credentialInvalid)
            #expect(n.severity == .critical)
            #expect(n.status == .ok && n.reason == .ok)
        } else {
            #expect(resolved.isEmpty)
        }
        #expect(driver.state == .idle)
        // Staying ok says nothing more; failing again opens a new incident with a new id.
        #expect(driver.evaluate(result(.credential, .ok, .ok, at: later + 3600), at: later + 3600).isEmpty)
        let again = driver.evaluate(result(.credential, .critical, .secretInvalid, at: later + 7200), at: later + 7200)
        #expect(again.map(\.notification.cause) == [.firstNotification])
        #expect(again.first?.notification.alertId != firing.alertId)
    }

    struct ChangeCase: Sendable, CustomTestStringConvertible {
        var check: CheckKind
        var from: (CheckStatus, Reason)
        var to: (CheckStatus, Reason)
        var fromType: AlertEventType
        var toType: AlertEventType
        var testDescription: String { "\(check): \(from.1) → \(to.1)" }
    }

    static let changeCases: [ChangeCase] = [
        ChangeCase(
            check: .consent, from: (.critical, .consentMissing), to: (.critical, .consentNone),
            fromType: .consentMissing, toType: .consentMissing),
        ChangeCase(
            check: .credential, from: (.critical, .secretInvalid), to: (.critical, .secretExpired),
            fromType: .credentialInvalid, toType: .secretExpired),
        ChangeCase(
            check: .consent, from: (.warning, .excessPermissions), to: (.critical, .consentMissing),
            fromType: .permissionsExcess, toType: .consentMissing),
        ChangeCase(
            check: .probe, from: (.critical, .probeFailed), to: (.unknown, .unreachable),
            fromType: .validationFailed, toType: .unreachable),
    ]

    @Test(arguments: changeCases)
    func changeWhileFiringNotifiesUnderTheSameIncident(_ c: ChangeCase) {
        var driver = Driver()
        let first = driver.evaluate(result(c.check, c.from.0, c.from.1, at: t0), at: t0)
        #expect(first.map(\.notification.eventType) == [c.fromType])
        let same = driver.evaluate(result(c.check, c.from.0, c.from.1, at: t0 + 60), at: t0 + 60)
        #expect(same.isEmpty)
        let changed = driver.evaluate(result(c.check, c.to.0, c.to.1, at: t0 + 120), at: t0 + 120)
        #expect(changed.map(\.notification.cause) == [.changed])
        #expect(changed.first?.notification.eventType == c.toType)
        #expect(changed.first?.notification.reason == c.to.1)
        #expect(changed.first?.notification.alertId == first.first?.notification.alertId)
        #expect(driver.state?.reason == c.to.1)
        #expect(driver.state?.notifyCount == 2)
    }

    @Test func silenceSuppressesThenRenotifiesWhenItEnds() {
        var driver = Driver()
        let r = result(
            .consent, .critical, .consentMissing, at: t0, details: ["missing_permissions": ["Graph: Mail.Send"]])
        let silenced = driver.evaluate(r, at: t0, silenced: true)
        #expect(silenced.count == 1)
        guard case .recordSuppressed(let n)? = silenced.first else {
            Issue.record("expected a suppressed notification, got \(silenced)")
            return
        }
        #expect(n.suppressed)
        #expect(n.cause == .firstNotification)
        #expect(n.missingPermissions == ["Graph: Mail.Send"])
        #expect(driver.state?.suppressed == true)

        // Still silenced: nothing new. A reminder under the silence is recorded, suppressed.
        #expect(driver.evaluate(r, at: t0 + 3600, silenced: true).isEmpty)
        let reminder = driver.evaluate(r, at: t0 + 86400, silenced: true)
        #expect(reminder.map(\.isSuppressed) == [true])
        #expect(reminder.map(\.notification.cause) == [.reminderDue])

        // The silence ends while it still fires: notified again, to the sinks, same incident.
        let ended = driver.evaluate(r, at: t0 + 90000, silenced: false)
        #expect(ended.map(\.isSuppressed) == [false])
        #expect(ended.map(\.notification.cause) == [.silenceEnded])
        #expect(ended.first?.notification.alertId == n.alertId)
        #expect(driver.evaluate(r, at: t0 + 93600, silenced: false).isEmpty)
        #expect(driver.state?.reachedSinks == true)
    }

    @Test func resolutionOfAnIncidentNobodyHeardOfIsNotSent() {
        var driver = Driver()
        let r = result(.probe, .critical, .probeFailed, at: t0)
        #expect(driver.evaluate(r, at: t0, silenced: true).map(\.isSuppressed) == [true])
        // The silence is over, but the check recovered in the same breath: the sinks never
        // saw the firing, so they do not get its resolution either; history keeps both.
        let resolved = driver.evaluate(result(.probe, .ok, .ok, at: t0 + 60), at: t0 + 60, silenced: false)
        #expect(resolved.map(\.isSuppressed) == [true])
        #expect(resolved.map(\.notification.state) == [.resolved])
        #expect(driver.state == .idle)

        // Heard, then silenced, then resolved under the silence: suppressed too.
        _ = driver.evaluate(r, at: t0 + 120)
        let underSilence = driver.evaluate(result(.probe, .ok, .ok, at: t0 + 180), at: t0 + 180, silenced: true)
        #expect(underSilence.map(\.isSuppressed) == [true])
    }

    @Test func blockedResultsNeitherFireNorResolve() {
        var driver = Driver()
        // Consent could not run: the credential check failed (SPEC §3: the blocking reason).
        let blocked = result(.consent, .unknown, .secretInvalid, at: t0)
        #expect(blocked.isBlockedByAnotherCheck)
        #expect(driver.evaluate(blocked, at: t0).isEmpty)
        #expect(driver.state == .idle)

        let fire = driver.evaluate(result(.consent, .critical, .consentMissing, at: t0), at: t0)
        #expect(fire.count == 1)
        let before = driver.state
        #expect(driver.evaluate(blocked, at: t0 + 2 * 86400).isEmpty)
        #expect(driver.state == before)
        // A pending (never run) result is no news either.
        #expect(driver.evaluate(result(.consent, .unknown, .pending, at: t0), at: t0).isEmpty)

        // Its own transient trouble or a generic reason is news.
        #expect(!result(.consent, .unknown, .unreachable, at: t0).isBlockedByAnotherCheck)
        #expect(!result(.credential, .unknown, .secretInvalid, at: t0).isBlockedByAnotherCheck)
        #expect(!result(.secretExpiry, .unknown, .expiryUnreadable, at: t0).isBlockedByAnotherCheck)
        #expect(!result(.consent, .critical, .secretInvalid, at: t0).isBlockedByAnotherCheck)
    }

    /// A restart neither repeats nor loses an alert: the state goes through JSON (as the
    /// store keeps it) and the first evaluation after the restart decides.
    @Test func restartRoundTripsTheStateThroughJSON() throws {
        var driver = Driver()
        let failing = result(.credential, .critical, .secretExpired, at: t0)
        let fire = driver.evaluate(failing, at: t0)
        #expect(fire.count == 1)
        let (expiry, en) = expiryResult(daysLeft: 12)
        var expiryDriver = Driver()
        _ = expiryDriver.evaluate(expiry, at: en)

        for persisted in [driver.state!, expiryDriver.state!] {
            let data = try JSONEncoder().encode(persisted)
            let decoded = try JSONDecoder().decode(AlertState.self, from: data)
            #expect(decoded == persisted)
        }
        let data = try JSONEncoder().encode(driver.state!)
        let restored = try JSONDecoder().decode(AlertState.self, from: data)

        // Same failing result after the restart: nothing new.
        var same = Driver()
        same.state = restored
        #expect(same.evaluate(failing, at: t0 + 3600).isEmpty)

        // Cleared while down: exactly one resolved, with the incident's id.
        var cleared = Driver()
        cleared.state = restored
        let resolved = cleared.evaluate(result(.credential, .ok, .ok, at: t0 + 7200), at: t0 + 7200)
        #expect(resolved.count == 1)
        #expect(resolved.first?.notification.state == .resolved)
        #expect(resolved.first?.notification.alertId == fire.first?.notification.alertId)
        #expect(cleared.evaluate(result(.credential, .ok, .ok, at: t0 + 10800), at: t0 + 10800).isEmpty)

        // The ladder survives too: no repeat of the 30-day step after the restart.
        var ladder = Driver()
        ladder.state = try JSONDecoder().decode(AlertState.self, from: JSONEncoder().encode(expiryDriver.state!))
        let (sameDay, sn) = expiryResult(daysLeft: 11)
        #expect(ladder.evaluate(sameDay, at: sn).isEmpty)

        // The idle state encodes to almost nothing, and an older, smaller row still decodes.
        #expect(String(decoding: try JSONEncoder().encode(AlertState.idle), as: UTF8.self) == "{}")
        let old = try JSONDecoder().decode(AlertState.self, from: Data(#"{"ladder_step":7}"#.utf8))
        #expect(old == AlertState(ladderStep: 7))
    }

    @Test(arguments: [true, false])
    func reconcileResolvesWhatIsNoLongerConfigured(sendResolved: Bool) {
        var settings = AlertSettings()
        settings.sendResolved = sendResolved
        func firing(_ c: String, _ check: CheckKind, _ id: String, reached: Bool = true) -> (AlertKey, AlertState) {
            (
                AlertKey(connector: c, check: check),
                AlertState(
                    firing: true, alertId: id, status: .critical, reason: .consentMissing, eventType: .consentMissing,
                    severity: .critical, firstNotifiedAt: t0, lastNotifiedAt: t0, notifyCount: 1,
                    reachedSinks: reached)
            )
        }
        let states = Dictionary(
            uniqueKeysWithValues: [
                firing("gone", .consent, "a1"),
                firing("kept", .consent, "a2"),
                firing("kept", .zscaler, "a3"),
                (
                    AlertKey(connector: "gone", check: .secretExpiry),
                    AlertState(ladderCredentialId: "k", ladderStep: 30)
                ),
                firing("silent", .probe, "a4"),
            ])
        let present: Set = [
            AlertKey(connector: "kept", check: .consent), AlertKey(connector: "kept", check: .credential),
        ]
        var n = 0
        let out = AlertStateMachine.reconcile(
            states: states, present: present, now: t0 + 100, settings: settings, isSilenced: { $0 == "silent" },
            nextID: {
                n += 1
                return "r\(n)"
            })
        #expect(
            out.forget == [
                AlertKey(connector: "gone", check: .consent), AlertKey(connector: "gone", check: .secretExpiry),
                AlertKey(connector: "kept", check: .zscaler), AlertKey(connector: "silent", check: .probe),
            ])
        if sendResolved {
            #expect(out.actions.map(\.notification.alertId) == ["a1", "a3", "a4"])
            #expect(out.actions.map(\.notification.id) == ["r1", "r2", "r3"])
            #expect(
                out.actions.allSatisfy {
                    $0.notification.state == .resolved && $0.notification.cause == .noLongerChecked
                })
            #expect(out.actions.map(\.isSuppressed) == [false, false, true])
            #expect(out.actions[0].notification.summary == "the connector is no longer configured")
            #expect(out.actions[1].notification.summary == "the zscaler check no longer applies to this connector")
            #expect(out.actions[0].notification.eventType == .consentMissing)
            #expect(out.actions[0].notification.severity == .critical)
        } else {
            #expect(out.actions.isEmpty)
        }
    }

    static let eventTypeCases: [(CheckKind, Reason, AlertEventType)] = [
        (.credential, .secretExpired, .secretExpired),
        (.credential, .secretInvalid, .credentialInvalid),
        (.credential, .appNotFound, .credentialInvalid),
        (.credential, .certRejected, .credentialInvalid),
        (.credential, .idpError, .credentialInvalid),
        (.credential, .unreachable, .unreachable),
        (.consent, .throttled, .unreachable),
        (.probe, .badResponse, .unreachable),
        (.secretExpiry, .secretExpiring, .secretExpiring),
        (.secretExpiry, .secretExpired, .secretExpired),
        (.secretExpiry, .rotationPending, .secretExpiring),
        (.secretExpiry, .expiryUnreadable, .validationFailed),
        (.certificate, .certExpiring, .certificateExpiring),
        (.certificate, .certExpired, .certificateExpired),
        (.certificate, .keyMismatch, .certificateInvalid),
        (.certificate, .keyfileInvalid, .certificateInvalid),
        (.certificate, .certNotRegistered, .certificateInvalid),
        (.consent, .consentMissing, .consentMissing),
        (.consent, .consentNone, .consentMissing),
        (.consent, .excessPermissions, .permissionsExcess),
        (.roles, .roleMissing, .rolesMissing),
        (.roles, .rolesUnreadable, .rolesMissing),
        (.probe, .probeForbidden, .validationFailed),
        (.probe, .probeFailed, .validationFailed),
        (.zscaler, .zscalerValidationFailed, .zscalerValidationFailed),
        (.zscaler, .zscalerReauthRequired, .zscalerReauthRequired),
        (.zscaler, .zscalerInactive, .zscalerInactive),
        (.zscaler, .zscalerTenantDeleted, .zscalerInactive),
        (.zscaler, .zscalerUnmatched, .zscalerInactive),
    ]

    @Test(arguments: eventTypeCases)
    func eventTypeOfCheckAndReason(_ check: CheckKind, _ reason: Reason, _ expected: AlertEventType) {
        #expect(AlertEventType(check: check, reason: reason) == expected)
    }

    @Test func eventTypesAreTheSpecsStrings() {
        #expect(
            Set(AlertEventType.allCases.map(\.rawValue)) == [
                "connector.secret.expiring", "connector.secret.expired", "connector.certificate.expiring",
                "connector.certificate.expired", "connector.certificate.invalid", "connector.credential.invalid",
                "connector.consent.missing", "connector.permissions.excess", "connector.roles.missing",
                "connector.validation.failed", "connector.unreachable", "connector.zscaler.validation_failed",
                "connector.zscaler.reauth_required", "connector.zscaler.inactive",
                // observer mode (SPEC §3b)
                "connector.signin.failing", "connector.signin.stale", "connector.app.disabled",
                "connector.app.missing", "observer.credential.invalid", "observer.secret.expiring",
                "observer.secret.expired", "observer.permission.missing",
            ])
        // A cause survives its storage form.
        for cause in [
            NotificationCause.firstNotification, .changed, .ladderStep(days: 14), .reminderDue, .silenceEnded,
            .resolved, .noLongerChecked,
        ] {
            #expect(NotificationCause(code: cause.code, ladderDays: cause.ladderDays) == cause)
            #expect(NotificationCause.allCodes.contains(cause.code))
        }
        #expect(NotificationCause(code: "ladder_step", ladderDays: nil) == nil)
        #expect(NotificationCause(code: "nope", ladderDays: nil) == nil)
        #expect(Severity(alerting: .unknown) == .warning)
        #expect(Severity(alerting: .ok) == .info)
    }

    @Test func uuidV7IdsAreTimeOrderedAndWebhookSafe() {
        struct Fixed: RandomNumberGenerator {
            var value: UInt64
            mutating func next() -> UInt64 { value }
        }
        var g = Fixed(value: .max)
        let a = NotificationID.uuidV7(at: Date(timeIntervalSince1970: 1_700_000_000), using: &g)
        let b = NotificationID.uuidV7(at: Date(timeIntervalSince1970: 1_700_000_000.01), using: &g)
        #expect(a < b)
        #expect(a.hasPrefix("018bcfe5-6800-7"))
        let variant = a[a.index(a.startIndex, offsetBy: 19)]
        #expect("89ab".contains(variant))
        #expect(!a.contains("."))
        #expect(a == a.lowercased())
        #expect(UUID(uuidString: a) != nil)
        let now = Date()
        #expect(NotificationID.uuidV7(at: now) != NotificationID.uuidV7(at: now))
    }

    @Test func silencesCoverTheirConnectorUntilTheyExpire() {
        let s = Silence(
            id: 1, connector: "a", reason: "maintenance", author: "alice", createdAt: t0, expiresAt: t0 + 3600)
        let all = Silence(id: 2, connector: "*", reason: "r", author: "bob", createdAt: t0, expiresAt: t0 + 60)
        #expect(s.covers(connector: "a", at: t0 + 10))
        #expect(!s.covers(connector: "b", at: t0 + 10))
        #expect(!s.covers(connector: "a", at: t0 + 3600))
        #expect(!s.covers(connector: "a", at: t0 - 1))
        var removed = s
        removed.removedAt = t0 + 5
        #expect(!removed.covers(connector: "a", at: t0 + 10))
        #expect([s, all].covers(connector: "b", at: t0 + 30))
        #expect(![s, all].covers(connector: "b", at: t0 + 61))
    }
}
