import ConnwatchCore
import ConnwatchStore
import Foundation
import Synchronization

/// What the daemon measures about its own checks since it started: durations per kind
/// (a histogram) and per connector (the last run), and result counts per check and status.
final class CheckMetrics: Sendable {
    /// Histogram bucket upper bounds, in seconds. A connector's checks hit the network a
    /// handful of times; 180 s is the limit after which they are abandoned.
    static let buckets: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180]

    struct Histogram: Sendable, Equatable {
        /// Non-cumulative counts per bucket of ``CheckMetrics/buckets``, then +Inf.
        var counts = [Int](repeating: 0, count: CheckMetrics.buckets.count + 1)
        var sum = 0.0
        var count = 0

        mutating func observe(_ seconds: Double) {
            let i = CheckMetrics.buckets.firstIndex { seconds <= $0 } ?? CheckMetrics.buckets.count
            counts[i] += 1
            sum += seconds
            count += 1
        }
    }

    struct ResultKey: Sendable, Hashable {
        var check: CheckKind
        var status: CheckStatus
    }

    struct Snapshot: Sendable {
        var durations: [ConnectorKind: Histogram] = [:]
        var lastDuration: [String: Double] = [:]
        var results: [ResultKey: Int] = [:]
    }

    private let state = Mutex(Snapshot())

    func record(connector: String, kind: ConnectorKind, duration: Duration, results: [CheckResult]) {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        state.withLock {
            $0.durations[kind, default: Histogram()].observe(seconds)
            $0.lastDuration[connector] = seconds
            for r in results { $0.results[ResultKey(check: r.check, status: r.status), default: 0] += 1 }
        }
    }

    func snapshot() -> Snapshot { state.withLock { $0 } }
}

/// Webhook attempts since the daemon started, by webhook and outcome (`delivered`, `retry`,
/// `dead`, `gone`).
final class DeliveryMetrics: Sendable {
    struct Key: Sendable, Hashable {
        /// The sink's name (a webhook's or an `[[email]]` sink's).
        var webhook: String
        var outcome: String
        /// `webhook` or `email`.
        var kind: String = "webhook"
    }

    private let state = Mutex([Key: Int]())

    func record(webhook: String, outcome: String) {
        record(sink: .webhook(webhook), outcome: outcome)
    }

    func record(sink: DeliverySink, outcome: String) {
        state.withLock { $0[Key(webhook: sink.name, outcome: outcome, kind: sink.kind.rawValue), default: 0] += 1 }
    }

    func snapshot() -> [Key: Int] { state.withLock { $0 } }
}

/// The Prometheus text exposition format, version 0.0.4, of the daemon's state. Pure: the
/// caller gathers the inputs.
struct MetricsExposition {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    var report: StatusReport
    var checks: CheckMetrics.Snapshot
    var consecutiveFailures: [AlertKey: Int]
    /// Unfinished or failed deliveries by status (`pending`, `delivering`, `dead`, `gone`).
    var deliveries: [String: Int]
    var firingAlerts: Int
    var activeSilences: Int
    var commitFailures: Int
    var now: Date
    var webhookAttempts: [DeliveryMetrics.Key: Int] = [:]
    /// Per observer's tenant ID: its passes and their Graph/ARM HTTP requests since
    /// connwatchd started (``ObserverMonitor``), for the budget of SPEC §3b.
    var observerTraffic: [String: ObserverTraffic] = [:]
    /// Scheduled digests by `[[email]]` sink and outcome since connwatchd started.
    var digests: [DigestMetrics.Key: Int] = [:]
    /// Sinks with a digest: each gets a `delivered` sample, 0 until its first digest.
    var digestSinks: [String] = []

    struct ObserverTraffic: Sendable, Equatable {
        var passes: Int
        var httpRequests: Int
    }

    func render() -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
            out += name
            if !labels.isEmpty {
                out += "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
            }
            out += " \(Self.format(value))\n"
        }

        family("connwatch_build_info", "gauge", "connwatchd's version.")
        sample("connwatch_build_info", [("version", report.daemon.version)], 1)
        family("connwatch_start_time_seconds", "gauge", "When connwatchd started, in seconds since the epoch.")
        sample("connwatch_start_time_seconds", [], report.daemon.startedAt.timeIntervalSince1970)
        family(
            "connwatch_last_cycle_timestamp_seconds", "gauge",
            "When every configured connector had last been checked, in seconds since the epoch (0: not yet).")
        sample("connwatch_last_cycle_timestamp_seconds", [], report.daemon.lastCycleAt?.timeIntervalSince1970 ?? 0)
        family("connwatch_connectors", "gauge", "Configured connectors.")
        sample("connwatch_connectors", [], Double(report.connectors.count))

        family(
            "connwatch_connector_status", "gauge",
            "Status of each connector: 1 for its current status (ok, warning, unknown, critical), 0 for the others.")
        for c in report.connectors {
            for s in CheckStatus.allCases {
                sample(
                    "connwatch_connector_status",
                    [("connector", c.name), ("kind", c.kind.rawValue), ("status", s.rawValue)],
                    c.status == s ? 1 : 0)
            }
        }
        family(
            "connwatch_check_status", "gauge",
            "Status of each check as a number: 0 ok, 1 warning, 2 critical, 3 unknown (Monitoring Plugins codes).")
        for c in report.connectors {
            for r in c.checks {
                sample(
                    "connwatch_check_status",
                    [("connector", c.name), ("check", r.check.rawValue), ("reason", r.reason.rawValue)],
                    Double(r.status.monitoringPluginsExitCode))
            }
        }
        family(
            "connwatch_credential_days_left", "gauge",
            "Whole days until the credential in use expires (negative once expired).")
        for c in report.connectors {
            for r in c.checks {
                guard let e = r.expiry else { continue }
                sample(
                    "connwatch_credential_days_left", [("connector", c.name), ("check", r.check.rawValue)],
                    Double(e.daysLeft(at: now)))
            }
        }
        family(
            "connwatch_credential_expiry_timestamp_seconds", "gauge",
            "When the credential in use expires, in seconds since the epoch.")
        for c in report.connectors {
            for r in c.checks {
                guard let e = r.expiry else { continue }
                sample(
                    "connwatch_credential_expiry_timestamp_seconds",
                    [("connector", c.name), ("check", r.check.rawValue)], e.expiresAt.timeIntervalSince1970)
            }
        }
        family(
            "connwatch_connector_last_check_timestamp_seconds", "gauge",
            "When the connector was last checked, in seconds since the epoch.")
        for c in report.connectors {
            guard let at = c.checkedAt else { continue }
            sample(
                "connwatch_connector_last_check_timestamp_seconds", [("connector", c.name)], at.timeIntervalSince1970)
        }

        if let observers = report.observers {
            family("connwatch_observers", "gauge", "Configured [[tenant]] observers.")
            sample("connwatch_observers", [], Double(observers.count))
            family(
                "connwatch_observer_status", "gauge",
                "Status of each tenant's observer: 1 for its current status (ok, warning, unknown, critical), 0 for the others.")
            for o in observers {
                for s in CheckStatus.allCases {
                    sample(
                        "connwatch_observer_status",
                        [("tenant_id", o.tenantId), ("client_id", o.clientId), ("status", s.rawValue)],
                        o.status == s ? 1 : 0)
                }
            }
            family(
                "connwatch_observer_credential_expiry_timestamp_seconds", "gauge",
                "When the observer's own certificate or secret expires, in seconds since the epoch.")
            for o in observers {
                guard let e = o.expiresAt else { continue }
                sample(
                    "connwatch_observer_credential_expiry_timestamp_seconds", [("tenant_id", o.tenantId)],
                    e.timeIntervalSince1970)
            }
            family(
                "connwatch_observer_passes_total", "counter",
                "Passes over the tenant's connector apps by its observer since connwatchd started (one per cycle, or per explicit check).")
            family(
                "connwatch_observer_graph_requests_total", "counter",
                "Graph and ARM HTTP requests of the tenant's observer since connwatchd started (a $batch counts once).")
            for o in observers {
                let t = observerTraffic[o.tenantId.lowercased()] ?? ObserverTraffic(passes: 0, httpRequests: 0)
                sample("connwatch_observer_passes_total", [("tenant_id", o.tenantId)], Double(t.passes))
            }
            for o in observers {
                let t = observerTraffic[o.tenantId.lowercased()] ?? ObserverTraffic(passes: 0, httpRequests: 0)
                sample("connwatch_observer_graph_requests_total", [("tenant_id", o.tenantId)], Double(t.httpRequests))
            }
        }

        family(
            "connwatch_check_duration_seconds", "histogram",
            "How long one connector's checks took, by connector kind, since connwatchd started.")
        for kind in ConnectorKind.allCases {
            guard let h = checks.durations[kind] else { continue }
            var cumulative = 0
            for (i, bound) in CheckMetrics.buckets.enumerated() {
                cumulative += h.counts[i]
                sample(
                    "connwatch_check_duration_seconds_bucket", [("kind", kind.rawValue), ("le", Self.format(bound))],
                    Double(cumulative))
            }
            sample(
                "connwatch_check_duration_seconds_bucket", [("kind", kind.rawValue), ("le", "+Inf")], Double(h.count))
            sample("connwatch_check_duration_seconds_sum", [("kind", kind.rawValue)], h.sum)
            sample("connwatch_check_duration_seconds_count", [("kind", kind.rawValue)], Double(h.count))
        }
        family(
            "connwatch_connector_check_duration_seconds", "gauge", "How long the connector's last checks took.")
        let configured = Set(report.connectors.map(\.name))
        for (name, seconds) in checks.lastDuration.sorted(by: { $0.key < $1.key }) where configured.contains(name) {
            sample("connwatch_connector_check_duration_seconds", [("connector", name)], seconds)
        }
        family(
            "connwatch_check_results_total", "counter",
            "Check results since connwatchd started, by check and status (anything but ok is a failure).")
        for (key, n) in checks.results.sorted(by: {
            ($0.key.check.rawValue, $0.key.status) < ($1.key.check.rawValue, $1.key.status)
        }) {
            sample(
                "connwatch_check_results_total", [("check", key.check.rawValue), ("status", key.status.rawValue)],
                Double(n))
        }
        family(
            "connwatch_check_consecutive_failures", "gauge",
            "Consecutive transient failures (network, throttling, 5xx) of a check; listed only while above 0.")
        for (key, n) in consecutiveFailures.sorted(by: {
            ($0.key.connector, $0.key.check.rawValue) < ($1.key.connector, $1.key.check.rawValue)
        })
        where n > 0 && configured.contains(key.connector) {
            sample(
                "connwatch_check_consecutive_failures", [("connector", key.connector), ("check", key.check.rawValue)],
                Double(n))
        }

        family("connwatch_alerts_firing", "gauge", "Alerts firing now.")
        sample("connwatch_alerts_firing", [], Double(firingAlerts))
        family("connwatch_silences_active", "gauge", "Silences in force now.")
        sample("connwatch_silences_active", [], Double(activeSilences))
        family(
            "connwatch_webhook_deliveries", "gauge",
            "Webhook deliveries in the outbox that are not delivered, by status (pending, delivering, dead, gone).")
        for status in ["pending", "delivering", "dead", "gone"] {
            sample("connwatch_webhook_deliveries", [("status", status)], Double(deliveries[status] ?? 0))
        }
        family(
            "connwatch_webhook_attempts_total", "counter",
            "Delivery attempts since connwatchd started, by sink (webhook or [[email]] sink name), sink_kind (webhook, email) and outcome (delivered, retry, dead, gone)."
        )
        for (key, n) in webhookAttempts.sorted(by: {
            ($0.key.kind, $0.key.webhook, $0.key.outcome) < ($1.key.kind, $1.key.webhook, $1.key.outcome)
        }) {
            sample(
                "connwatch_webhook_attempts_total",
                [("webhook", key.webhook), ("sink_kind", key.kind), ("outcome", key.outcome)], Double(n))
        }
        family(
            "connwatch_digest_sent_total", "counter",
            "Scheduled digest e-mail attempts since connwatchd started, by [[email]] sink and outcome (delivered, retry, dead); digests sent with connwatchctl email digest are not counted."
        )
        var digestSamples = digests
        for sink in digestSinks where digestSamples[.init(email: sink, outcome: "delivered")] == nil {
            digestSamples[.init(email: sink, outcome: "delivered")] = 0
        }
        for (key, n) in digestSamples.sorted(by: { ($0.key.email, $0.key.outcome) < ($1.key.email, $1.key.outcome) }) {
            sample("connwatch_digest_sent_total", [("email", key.email), ("outcome", key.outcome)], Double(n))
        }
        family(
            "connwatch_history_commit_failures_total", "counter",
            "Failed writes to the history database since connwatchd started.")
        sample("connwatch_history_commit_failures_total", [], Double(commitFailures))
        return out
    }

    /// Label values: backslash, double quote and newline escaped.
    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(ch)
            }
        }
        return out
    }

    /// Integers without a fraction, others in Swift's shortest round-tripping form.
    static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }
}

extension MetricsExposition {
    /// With what the store counts (``ConnwatchStore/HistoryStore/counts(at:)``): SQLite
    /// counts the outbox and the alerts, so a scrape never loads their rows.
    init(
        report: StatusReport, checks: CheckMetrics.Snapshot, consecutiveFailures: [AlertKey: Int],
        counts: StoreCounts, commitFailures: Int, now: Date, webhookAttempts: [DeliveryMetrics.Key: Int] = [:],
        observerTraffic: [String: ObserverTraffic] = [:], digests: [DigestMetrics.Key: Int] = [:],
        digestSinks: [String] = []
    ) {
        self.init(
            report: report, checks: checks, consecutiveFailures: consecutiveFailures,
            deliveries: Dictionary(uniqueKeysWithValues: counts.deliveries.map { ($0.key.rawValue, $0.value) }),
            firingAlerts: counts.firingAlerts, activeSilences: counts.activeSilences, commitFailures: commitFailures,
            now: now, webhookAttempts: webhookAttempts, observerTraffic: observerTraffic, digests: digests,
            digestSinks: digestSinks)
    }
}
