import ConnwatchCore
import ConnwatchMail
import ConnwatchStore
import Foundation

/// The digest's content until the report module (`ConnwatchReport`) renders it: every
/// connector the sink covers with its status, what expires within `warning_days`, and the
/// status transitions since the previous digest. Plain but complete; pure (tested).
///
/// Interim: the integrator replaces ``Daemon/digestContent(sink:changesSince:now:)``'s body
/// with the report renderer (text part = the report's text, HTML part = the report page).
enum StatusDigest {
    /// The connectors `sink` covers: its `connectors` list (empty: all) and `labels` (all
    /// must match). `min_severity` is for alerts, not for the digest.
    static func covered(_ connectors: [StatusReport.ConnectorStatus], sink: EmailConfig) -> [StatusReport.ConnectorStatus] {
        connectors.filter { c in
            if !sink.connectors.isEmpty && !sink.connectors.contains(c.name) { return false }
            return sink.labels.allSatisfy { c.labels[$0.key] == $0.value }
        }
    }

    /// The span a first digest covers: a day for a daily one, a week for a weekly one.
    static func firstSpanDays(_ schedule: DigestSchedule) -> Int {
        if case .weekly = schedule { return 7 }
        return 1
    }

    struct Expiring: Equatable {
        var connector: String
        var check: CheckKind
        var expiresAt: Date
        var daysLeft: Int
    }

    static func render(
        sink: EmailConfig, connectors all: [StatusReport.ConnectorStatus], transitions: [StatusTransition],
        changesSince: Date?, now: Date, warningDays: Int
    ) -> DigestContent {
        let connectors = covered(all, sink: sink).sorted {
            $0.status.rank != $1.status.rank ? $0.status.rank > $1.status.rank : $0.name < $1.name
        }
        let names = Set(connectors.map(\.name))
        let since = changesSince ?? now.addingTimeInterval(-Double(firstSpanDays(sink.digest)) * 86400)
        let changes = transitions.filter { names.contains($0.connector) && $0.at >= since && $0.check == nil }
            .sorted { ($0.at, $0.id) < ($1.at, $1.id) }
        var expiring: [Expiring] = []
        for c in connectors {
            for check in c.checks {
                guard let e = check.expiry else { continue }
                let days = Int((e.expiresAt.timeIntervalSince(now) / 86400).rounded(.down))
                if days <= warningDays {
                    expiring.append(Expiring(connector: c.name, check: check.check, expiresAt: e.expiresAt, daysLeft: days))
                }
            }
        }
        expiring.sort { ($0.expiresAt, $0.connector) < ($1.expiresAt, $1.connector) }
        var counts: [CheckStatus: Int] = [:]
        for c in connectors { counts[c.status, default: 0] += 1 }
        let countLine = [CheckStatus.critical, .warning, .unknown, .ok].compactMap { s in
            counts[s].map { "\($0) \(s.rawValue)" }
        }.joined(separator: ", ")
        let period: String =
            switch sink.digest {
            case .weekly: "Weekly"
            default: "Daily"
            }
        let worst = connectors.map(\.status).max { $0.rank < $1.rank } ?? .ok
        let subject =
            "[connwatch] \(period) digest: \(connectors.count) connector\(connectors.count == 1 ? "" : "s")"
            + (countLine.isEmpty ? "" : " — \(countLine)") + (worst == .ok ? "" : " (worst: \(worst.rawValue))")
        let changesHeading =
            changesSince.map { "Changes since the previous digest (\(RFC3339.string($0)))" }
            ?? "Changes in the last \(firstSpanDays(sink.digest) == 1 ? "day" : "7 days") (the first digest of \(sink.name))"

        func c(_ s: String) -> String { UntrustedText.clean(s) }
        var text = "connwatch digest for \(c(sink.name)), \(RFC3339.string(now))\n"
        text += "\(connectors.count) connectors" + (countLine.isEmpty ? "" : ": \(countLine)") + "\n\n"
        text += "\(changesHeading):\n"
        if changes.isEmpty { text += "  none\n" }
        for t in changes {
            text += "  \(RFC3339.string(t.at))  \(c(t.connector)): \(t.from?.rawValue ?? "new") -> \(t.to.rawValue) (\(c(t.reason)))\n"
        }
        text += "\nExpiring within \(warningDays) days:\n"
        if expiring.isEmpty { text += "  none\n" }
        for e in expiring {
            text += "  \(c(e.connector)) \(e.check.rawValue): \(RFC3339.string(e.expiresAt)) (\(e.daysLeft) days)\n"
        }
        text += "\nConnectors:\n"
        for con in connectors {
            text += "  \(con.status.rawValue.uppercased())  \(c(con.name)) (\(con.kind.rawValue)): \(c(con.summary))\n"
        }

        func h(_ s: String) -> String { UntrustedText.html(s) }
        func color(_ s: CheckStatus) -> String {
            switch s {
            case .ok: "#1a7f37"
            case .warning: "#9a6700"
            case .critical: "#cf222e"
            case .unknown: "#57606a"
            }
        }
        let cell = "style=\"padding:4px 8px;border-bottom:1px solid #d0d7de;text-align:left\""
        var html = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>\(h(subject))</title></head>\n"
        html += "<body style=\"font-family:sans-serif;color:#1f2328\">\n"
        html += "<h1 style=\"font-size:18px\">connwatch digest for \(h(sink.name))</h1>\n"
        html += "<p>\(connectors.count) connectors" + (countLine.isEmpty ? "" : ": \(h(countLine))") + " — \(RFC3339.string(now))</p>\n"
        html += "<h2 style=\"font-size:16px\">\(h(changesHeading))</h2>\n"
        if changes.isEmpty {
            html += "<p>none</p>\n"
        } else {
            html += "<table style=\"border-collapse:collapse\">\n"
            for t in changes {
                html +=
                    "<tr><td \(cell)>\(RFC3339.string(t.at))</td><td \(cell)>\(h(t.connector))</td><td \(cell)>\(t.from?.rawValue ?? "new") → <span style=\"color:\(color(t.to))\">\(t.to.rawValue)</span></td><td \(cell)>\(h(t.reason))</td></tr>\n"
            }
            html += "</table>\n"
        }
        html += "<h2 style=\"font-size:16px\">Expiring within \(warningDays) days</h2>\n"
        if expiring.isEmpty {
            html += "<p>none</p>\n"
        } else {
            html += "<table style=\"border-collapse:collapse\">\n"
            for e in expiring {
                html +=
                    "<tr><td \(cell)>\(h(e.connector))</td><td \(cell)>\(e.check.rawValue)</td><td \(cell)>\(RFC3339.string(e.expiresAt))</td><td \(cell)>\(e.daysLeft) days</td></tr>\n"
            }
            html += "</table>\n"
        }
        html += "<h2 style=\"font-size:16px\">Connectors</h2>\n<table style=\"border-collapse:collapse\">\n"
        for con in connectors {
            html +=
                "<tr><td \(cell)><b style=\"color:\(color(con.status))\">\(con.status.rawValue)</b></td><td \(cell)>\(h(con.name))</td><td \(cell)>\(con.kind.rawValue)</td><td \(cell)>\(h(con.summary))</td></tr>\n"
        }
        html += "</table>\n</body></html>\n"
        return DigestContent(subject: subject, text: text, html: html)
    }
}

extension CheckStatus {
    /// ok < unknown < warning < critical (the status order of SPEC §2).
    fileprivate var rank: Int {
        switch self {
        case .ok: 0
        case .unknown: 1
        case .warning: 2
        case .critical: 3
        }
    }
}

extension Daemon {
    /// The daemon's ``DigestContentProvider``: the coordinator's status of the connectors the
    /// sink covers and their transitions from the store.
    ///
    /// Integration seam: swap this body for the report renderer
    /// (`ReportRenderer.text(model)` / `.html(model)` of the model built from the store with
    /// "changes since" = `changesSince`), keeping the signature.
    func digestContent(sink: EmailConfig, changesSince: Date?, now: Date) async throws -> DigestContent {
        let report = await coordinator.status(version: Daemon.version)
        let connectors = StatusDigest.covered(report.connectors, sink: sink)
        let since = changesSince ?? now.addingTimeInterval(-Double(StatusDigest.firstSpanDays(sink.digest)) * 86400)
        var transitions: [StatusTransition] = []
        for c in connectors {
            transitions += try await store.transitions(connector: c.name, since: since)
        }
        return StatusDigest.render(
            sink: sink, connectors: connectors, transitions: transitions, changesSince: changesSince, now: now,
            warningDays: configuration.alerts.warningDays)
    }
}
