import ConnwatchCore
import Foundation

/// Colour for human output: only on a terminal, never with `NO_COLOR` set (no-color.org).
public struct Style: Sendable, Equatable {
    public var color: Bool

    public init(color: Bool) { self.color = color }

    public static let plain = Style(color: false)

    /// Colour when standard output is a TTY and `NO_COLOR` is unset or empty.
    public static func detect(environment: [String: String], isTerminal: Bool) -> Style {
        Style(color: isTerminal && (environment["NO_COLOR"] ?? "").isEmpty)
    }

    static func code(for word: String) -> String? {
        switch word {
        case "ok", "delivered", "resolved": "32"  // green
        case "warning", "gone", "pending", "delivering": "33"  // yellow
        case "critical", "dead", "firing": "31"  // red
        case "unknown": "35"  // magenta
        default: nil
        }
    }

    /// Colours the status-like words of the named columns of a rendered ``TextTable``:
    /// cells are left-aligned, so each starts at its header's offset.
    func colorColumns(_ table: String, _ columns: [String]) -> String {
        guard color else { return table }
        var lines = table.components(separatedBy: "\n")
        guard let header = lines.first else { return table }
        let offsets = columns.compactMap { name -> Int? in
            guard let r = header.range(of: name) else { return nil }
            return header.distance(from: header.startIndex, to: r.lowerBound)
        }.sorted(by: >)
        for i in lines.indices.dropFirst() {
            var chars = Array(lines[i])
            for offset in offsets where offset < chars.count && (offset == 0 || chars[offset - 1] == " ") {
                var end = offset
                while end < chars.count && chars[end] != " " { end += 1 }
                let word = String(chars[offset..<end])
                guard let code = Self.code(for: word) else { continue }
                chars.replaceSubrange(offset..<end, with: Array("\u{1B}[\(code)m\(word)\u{1B}[0m"))
            }
            lines[i] = String(chars)
        }
        return lines.joined(separator: "\n")
    }

    func word(_ w: String) -> String {
        guard color, let code = Self.code(for: w) else { return w }
        return "\u{1B}[\(code)m\(w)\u{1B}[0m"
    }
}

/// Times and durations in human units.
public enum Human {
    /// "in 5m", "in 3h", "in 2d" (future) or the past form of ``HumanTime/age(from:to:)``.
    public static func relative(_ then: Date, now: Date) -> String {
        let s = Int(then.timeIntervalSince(now))
        if s <= 0 { return HumanTime.age(from: then, to: now) }
        if s < 60 { return "in \(s)s" }
        if s < 3600 { return "in \(s / 60)m" }
        if s < 86400 { return "in \(s / 3600)h" }
        return "in \(s / 86400)d"
    }

    /// Days until an expiry: "in 9 days", "in 1 day", "today", "expired 3 days ago".
    public static func expiry(_ e: CredentialExpiry, now: Date) -> String {
        let d = e.daysLeft(at: now)
        if e.expiresAt <= now {
            let ago = Int((now.timeIntervalSince(e.expiresAt) / 86400).rounded(.down))
            return ago <= 0 ? "expired today" : "expired \(ago) day\(ago == 1 ? "" : "s") ago"
        }
        if d == 0 { return "today" }
        return "in \(d) day\(d == 1 ? "" : "s")"
    }

    /// `2026-11-29 06:32Z`.
    public static func minute(_ d: Date) -> String {
        let s = RFC3339.string(d)
        return String(s.prefix(16)).replacingOccurrences(of: "T", with: " ") + "Z"
    }

    /// One line of at most `n` characters, safe for a terminal (``UntrustedText/terminal(_:)``:
    /// summaries quote Microsoft and Zscaler).
    static func clip(_ s: String, _ n: Int) -> String {
        let oneLine = UntrustedText.terminal(s)
        return oneLine.count > n ? String(oneLine.prefix(n - 1)) + "…" : oneLine
    }
}

/// The human views of the control API's replies. Pure: `now` and the style are given.
public enum Views {
    // MARK: Status

    /// The soonest credential expiry among a connector's checks.
    static func soonestExpiry(_ c: StatusReport.ConnectorStatus) -> CredentialExpiry? {
        c.checks.compactMap(\.expiry).min { $0.expiresAt < $1.expiresAt }
    }

    /// The observers (SPEC §3b) above the connectors: each tenant's monitoring app, whose
    /// failure makes every observed check of its tenant unknown.
    static func observerTable(_ observers: [StatusReport.ObserverStatus], now: Date, style: Style) -> String {
        var t = TextTable(headers: ["OBSERVER", "CLIENT", "STATUS", "REASON", "EXPIRES", "CHECKED", "SUMMARY"])
        for o in observers {
            t.append([
                o.tenantId, o.clientId, o.status.rawValue, o.reason.rawValue,
                o.expiresAt.map { Human.expiry(CredentialExpiry(credentialId: "", expiresAt: $0), now: now) } ?? "",
                o.checkedAt.map { HumanTime.age(from: $0, to: now) } ?? "never",
                Human.clip(o.summary, 100),
            ])
        }
        return style.colorColumns(t.render(), ["STATUS"])
    }

    public static func statusTable(_ r: StatusReport, now: Date, style: Style) -> String {
        var observers = ""
        if let list = r.observers, !list.isEmpty {
            observers = observerTable(list, now: now, style: style) + "\n"
        }
        if r.connectors.isEmpty { return observers + "no connectors configured\n" }
        var t = TextTable(headers: ["NAME", "KIND", "STATUS", "REASON", "EXPIRES", "CHECKED", "SUMMARY"])
        for c in r.connectors {
            t.append([
                c.name, c.kind.rawValue, c.status.rawValue, c.reason.rawValue,
                soonestExpiry(c).map { Human.expiry($0, now: now) } ?? "",
                c.checkedAt.map { HumanTime.age(from: $0, to: now) } ?? "never",
                Human.clip(c.summary, 100),
            ])
        }
        var out = observers + style.colorColumns(t.render(), ["STATUS"])
        out += "\n" + r.countsLine
        if let list = r.observers, !list.isEmpty {
            let bad = list.filter { $0.status != .ok }.count
            out += "; \(list.count) observer\(list.count == 1 ? "" : "s")" + (bad == 0 ? " ok" : ", \(bad) not ok")
        }
        if let last = r.daemon.lastCycleAt {
            out += "; last full cycle \(HumanTime.age(from: last, to: now))"
        } else {
            out += "; first full cycle in progress"
        }
        out += "; connwatchd \(r.daemon.version) up since \(Human.minute(r.daemon.startedAt))\n"
        if let h = r.daemon.history, !h.writing {
            out += "history NOT being written"
            if let since = h.since { out += " since \(Human.minute(since))" }
            out += ": \(h.error ?? "database error"); checks go on, results wait in memory\n"
        }
        return out
    }

    public static func connectorDetail(_ c: StatusReport.ConnectorStatus, now: Date, style: Style) -> String {
        var head = TextTable(headers: ["", ""])
        head.rows = [
            ["connector", "\(c.name) (\(c.kind.rawValue))"],
            ["status", "\(c.status.rawValue) (\(c.reason.rawValue))"],
            ["summary", c.summary],
            ["tenant", c.tenantId],
            ["client", c.clientId],
        ]
        if !c.labels.isEmpty {
            head.append([
                "labels", c.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "),
            ])
        }
        if let e = soonestExpiry(c) {
            head.append(["expires", "\(Human.minute(e.expiresAt)) (\(Human.expiry(e, now: now)))"])
        }
        head.append(["checked", c.checkedAt.map { HumanTime.age(from: $0, to: now) } ?? "never"])
        // The header row of this key/value table is empty: drop it.
        var out = head.render().split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
            .joined(separator: "\n")
        // Coloured once rendered: the table removes escape sequences from its cells.
        if style.color, let row = out.range(of: "\nstatus "),
            let word = out.range(of: c.status.rawValue, range: row.upperBound..<out.endIndex)
        {
            out.replaceSubrange(word, with: style.word(c.status.rawValue))
        }
        if c.checks.isEmpty { return out + "\nnot checked yet\n" }
        var t = TextTable(headers: ["CHECK", "STATUS", "REASON", "CHECKED", "SUMMARY"])
        for r in c.checks {
            t.append([
                r.check.rawValue, r.status.rawValue, r.reason.rawValue, HumanTime.age(from: r.checkedAt, to: now),
                Human.clip(r.summary, 110),
            ])
        }
        out += "\n" + style.colorColumns(t.render(), ["STATUS"])
        let todo = c.checks.filter { $0.status != .ok && !$0.remediation.isEmpty }
        if !todo.isEmpty {
            out += "\nwhat to do:\n"
            for r in todo { out += "  \(r.check.rawValue): \(UntrustedText.terminal(r.remediation))\n" }
        }
        if let notes = c.notes, !notes.isEmpty {
            out += "\nnotes:\n"
            for n in notes { out += "  \(UntrustedText.terminal(n))\n" }
        }
        return out
    }

    // MARK: History

    public static func history(_ h: ControlAPI.HistoryReply, now: Date, style: Style) -> String {
        if h.results.isEmpty {
            return
                "no changes for \(UntrustedText.terminal(h.connector)) since \(Human.minute(h.since)) (\(HumanTime.age(from: h.since, to: now)))\n"
        }
        var t = TextTable(headers: ["WHEN", "AGE", "CHECK", "STATUS", "REASON", "SUMMARY"])
        for e in h.results {
            t.append([
                Human.minute(e.result.checkedAt), HumanTime.age(from: e.result.checkedAt, to: now),
                e.result.check.rawValue, e.result.status.rawValue, e.result.reason.rawValue,
                Human.clip(e.result.summary, 100),
            ])
        }
        return style.colorColumns(t.render(), ["STATUS"])
    }

    // MARK: Alerts

    public static func alerts(_ a: ControlAPI.AlertsReply, all: Bool, now: Date, style: Style) -> String {
        var out: String
        if a.alerts.isEmpty {
            out = all ? "no alerts recorded\n" : "no alerts firing\n"
        } else {
            var t = TextTable(headers: ["AGE", "CONNECTOR", "CHECK", "SEVERITY", "STATE", "REASON", "SUMMARY"])
            for n in a.alerts {
                let severity = n.state == .resolved ? "ok" : n.severity.rawValue
                t.append([
                    HumanTime.age(from: n.createdAt, to: now), n.connector, n.check.rawValue,
                    severity == "ok" ? "-" : severity, n.state.rawValue, n.reason,
                    (n.suppressed ? "[silenced] " : "") + Human.clip(n.summary, 90),
                ])
            }
            out = style.colorColumns(t.render(), ["SEVERITY", "STATE"])
        }
        if !a.silences.isEmpty {
            var s = TextTable(headers: ["SILENCE", "CONNECTOR", "UNTIL", "AUTHOR", "REASON"])
            for x in a.silences {
                s.append([
                    String(x.id), x.connector == Silence.allConnectors ? "* (all)" : x.connector,
                    "\(Human.minute(x.expiresAt)) (\(Human.relative(x.expiresAt, now: now)))", x.author,
                    Human.clip(x.reason, 80),
                ])
            }
            out += "\n" + s.render()
        }
        return out
    }

    // MARK: Deliveries

    public static func deliveries(_ d: ControlAPI.DeliveriesReply, now: Date, style: Style) -> String {
        if d.deliveries.isEmpty { return "no deliveries\n" }
        var t = TextTable(headers: [
            "ID", "AGE", "CONNECTOR", "SINK", "KIND", "EVENT", "STATUS", "ATTEMPTS", "NEXT", "LAST ERROR",
        ])
        for x in d.deliveries {
            let next =
                (x.status == "pending" || x.status == "delivering") ? Human.relative(x.nextAttemptAt, now: now) : "-"
            var last = x.lastHTTPStatus.map { "HTTP \($0)" } ?? ""
            if let e = x.lastError, !e.isEmpty { last += (last.isEmpty ? "" : ": ") + e }
            t.append([
                String(x.id), HumanTime.age(from: x.createdAt, to: now), x.connector, x.webhook, x.sinkKind ?? "webhook", x.eventType,
                x.status,
                String(x.attempts), next, Human.clip(last, 60),
            ])
        }
        var out = style.colorColumns(t.render(), ["STATUS"])
        // Mails to sinks with `owners = true` record whom they were for (`to` and owners
        // apart, or why owners are missing): too long for the column, shown in full below.
        let recipients = d.deliveries.filter { $0.sinkKind == "email" && $0.lastError?.hasPrefix("recipients: ") == true }
        if !recipients.isEmpty {
            out += "\nRecipients (owners = true):\n"
            for x in recipients { out += "  \(x.id)  " + UntrustedText.terminal(x.lastError ?? "") + "\n" }
        }
        return out
    }

    // MARK: Nagios

    /// One Monitoring Plugins line (`SERVICE STATE - text | perfdata`) and its exit code.
    public static func nagios(_ r: StatusReport, name: String?, now: Date) -> (line: String, exitCode: Int32) {
        // The observers count too: one whose token is refused blinds its whole tenant.
        let worst = name == nil ? r.worstStatusWithObservers : r.worstStatus
        let state: String
        switch worst {
        case .ok: state = "OK"
        case .warning: state = "WARNING"
        case .critical: state = "CRITICAL"
        case .unknown: state = "UNKNOWN"
        }
        var text: String
        var perf: [String] = []
        if let name, let c = r.connectors.first {
            text = "\(name) \(c.status.rawValue): \(c.summary)"
            for check in c.checks {
                guard let e = check.expiry else { continue }
                perf.append("'\(check.check.rawValue)_days_left'=\(e.daysLeft(at: now));;;;")
            }
            perf.append("'checks_not_ok'=\(c.checks.filter { $0.status != .ok }.count);;;0;\(c.checks.count)")
        } else {
            let bad = r.connectors.filter { $0.status != .ok }.sorted { $0.status > $1.status }
            text = r.countsLine
            if !bad.isEmpty {
                let shown = bad.prefix(5).map { "\($0.name) \($0.reason.rawValue)" }
                text += " (" + shown.joined(separator: ", ") + (bad.count > 5 ? ", …" : "") + ")"
            }
            let n = r.connectors.count
            for s in CheckStatus.allCases {
                perf.append("'\(s.rawValue)'=\(r.connectors.filter { $0.status == s }.count);;;0;\(n)")
            }
            if let observers = r.observers, !observers.isEmpty {
                let bad = observers.filter { $0.status != .ok }.sorted { $0.status > $1.status }
                text += "; \(observers.count) observer\(observers.count == 1 ? "" : "s")"
                text +=
                    bad.isEmpty
                    ? " ok"
                    : " (" + bad.prefix(3).map { "observer \($0.tenantId) \($0.reason.rawValue)" }.joined(separator: ", ")
                        + (bad.count > 3 ? ", …" : "") + ")"
                perf.append("'observers_not_ok'=\(bad.count);;;0;\(observers.count)")
                for o in observers {
                    guard let e = o.expiresAt else { continue }
                    perf.append(
                        "'observer_\(o.tenantId)_days_left'=\(CredentialExpiry(credentialId: "", expiresAt: e).daysLeft(at: now));;;;"
                    )
                }
            }
            for c in r.connectors {
                guard let e = soonestExpiry(c) else { continue }
                perf.append("'\(c.name)_days_left'=\(e.daysLeft(at: now));;;;")
            }
        }
        // Monitoring systems show this line in web pages and terminals: one clean line, no
        // `|` (it would start the performance data).
        text = UntrustedText.terminal(text).replacingOccurrences(of: "|", with: "/")
        return ("CONNWATCH \(state) - \(text) | \(perf.joined(separator: " "))", worst.monitoringPluginsExitCode)
    }
}
