import ConnwatchCore
import ConnwatchMail
import ConnwatchReport
import ConnwatchStore
import Foundation

/// The digest's content (SPEC §5): the report (``ConnwatchReport``) of the connectors the sink
/// covers, with the changes since the sink's previous digest — its text part is the report's
/// text, its HTML part the report page itself (what `connwatchctl report --html` writes).
/// The subject counts the statuses, worst first, so a mailbox list shows what needs doing.
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

    /// The mail for `model` (built with "changes since" the previous digest, or the first
    /// span when `first`). Pure.
    static func content(sink: EmailConfig, model: ReportModel, first: Bool) -> DigestContent {
        let connectors = model.tenants.flatMap(\.connectors).filter { $0.kind != "observer" }
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
        var text = "connwatch digest for \(UntrustedText.clean(sink.name)) (\(sink.digest))\n"
        if first {
            text +=
                "The first digest of this sink: the changes cover the last \(firstSpanDays(sink.digest) == 1 ? "day" : "7 days").\n"
        }
        text += "\n" + ReportRenderer.text(model)
        return DigestContent(subject: subject, text: text, html: ReportRenderer.html(model))
    }
}

extension Daemon {
    /// The digest for `sink` (``DigestContentProvider``): the report of the connectors it
    /// covers — all of them and the observers when it has no `connectors`/`labels` filter —
    /// with the changes since its previous digest (the first span when there is none), the
    /// expiry timeline 90 days ahead.
    func digestContent(sink: EmailConfig, changesSince: Date?, now: Date) async throws -> DigestContent {
        var filter: Set<String>?
        if !sink.connectors.isEmpty || !sink.labels.isEmpty {
            let report = await coordinator.status(version: Daemon.version)
            filter = Set(StatusDigest.covered(report.connectors, sink: sink).map(\.name))
        }
        let since = changesSince ?? now.addingTimeInterval(-Double(StatusDigest.firstSpanDays(sink.digest)) * 86400)
        let model = try await reportModel(days: 90, changesSince: since, connectors: filter)
        return StatusDigest.content(sink: sink, model: model, first: changesSince == nil)
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
