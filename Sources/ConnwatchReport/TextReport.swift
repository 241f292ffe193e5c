import ConnwatchCore
import Foundation

/// The plain-text report (``ReportRenderer/text(_:)``).
struct TextReport {
    let m: ReportModel
    let f: ReportFormat

    init(_ m: ReportModel) {
        self.m = m
        f = ReportFormat(m)
    }

    func c(_ s: String) -> String { UntrustedText.clean(s) }

    /// A strip day as one character: `.` no data, `o` ok, `w` warning, `u` unknown, `C` critical.
    static func letter(_ s: CheckStatus?) -> Character {
        switch s {
        case nil: "."
        case .ok: "o"
        case .warning: "w"
        case .unknown: "u"
        case .critical: "C"
        }
    }

    func render() -> String {
        let connectors = m.tenants.flatMap(\.connectors)
        var out = "connwatch report, \(f.minute(m.generatedAt)) (\(c(m.timeZoneIdentifier)))\n"
        var counts: [String] = []
        for s in [CheckStatus.critical, .unknown, .warning, .ok] {
            let n = connectors.filter { $0.status == s }.count
            if n > 0 { counts.append("\(n) \(s)") }
        }
        out +=
            "\(connectors.count) connector\(connectors.count == 1 ? "" : "s") in \(m.tenants.count) tenant\(m.tenants.count == 1 ? "" : "s")"
        out += counts.isEmpty ? "\n" : ": " + counts.joined(separator: ", ") + "\n"
        if m.tenants.isEmpty { out += "\nNo connector is configured.\n" }
        for t in m.tenants { out += tenant(t) }
        out += changes()
        return out
    }

    func tenant(_ t: ReportModel.Tenant) -> String {
        var title = "Tenant "
        if let name = t.displayName { title += c(name) + " " }
        if let d = t.domain { title += "(" + c(d) + ") " }
        title += t.tenantId + (t.observed ? ", observed" : "")
        var out = "\n== \(c(title)) ==\n"
        var table = TextTable(headers: ["CONNECTOR", "KIND", "STATUS", "REASON", "SUMMARY"])
        for k in t.connectors { table.append([k.name, k.kind, k.status.rawValue, k.reason, k.summary]) }
        out += table.render()
        let todo = t.connectors.filter { !$0.remediation.isEmpty }
        if !todo.isEmpty {
            out += "\nWhat to do:\n"
            for k in todo { out += "  \(c(k.name)): \(c(k.remediation))\n" }
        }
        let soon = t.credentials.filter { $0.daysLeft(at: m.generatedAt) <= m.warningDays }
            .sorted { ($0.expiresAt, $0.connector) < ($1.expiresAt, $1.connector) }
        out += "\nExpiring within \(m.warningDays) days:"
        if soon.isEmpty {
            out += " none (\(t.credentials.count) credential\(t.credentials.count == 1 ? "" : "s") in use)\n"
        } else {
            out += "\n"
            var table = TextTable(headers: ["EXPIRES", "CONNECTOR", "CREDENTIAL", "LEFT"])
            for k in soon {
                table.append([
                    f.day(k.expiresAt), k.connector, ReportFormat.credentialLabel(k),
                    ReportFormat.left(k.daysLeft(at: m.generatedAt)),
                ])
            }
            out += table.render().split(separator: "\n", omittingEmptySubsequences: false).map {
                $0.isEmpty ? "" : "  " + $0
            }.joined(separator: "\n")
        }
        if let first = m.stripDays.first, let last = m.stripDays.last {
            out +=
                "\nLast \(m.stripDays.count) days, \(f.day(first)) to \(f.day(last)) (o ok, w warning, u unknown, C critical, . no data):\n"
            let width = t.connectors.map(\.name.count).max() ?? 0
            for k in t.connectors {
                let name = c(k.name)
                out += "  " + name + String(repeating: " ", count: max(0, width - name.count)) + "  "
                out += String(m.stripDays.indices.map { Self.letter($0 < k.days.count ? k.days[$0] : nil) }) + "\n"
            }
        }
        return out
    }

    func changes() -> String {
        guard let since = m.changesSince else { return "" }
        var out = "\n== Changed since \(f.minute(since)) ==\n"
        guard !m.changes.isEmpty else { return out + "Nothing changed.\n" }
        var table = TextTable(headers: ["WHEN", "CONNECTOR", "CHECK", "FROM", "TO", "REASON"])
        for ch in m.changes {
            table.append([
                f.minute(ch.at), ch.connector, ch.check ?? "(connector)", ch.from?.rawValue ?? "new", ch.to.rawValue,
                ch.reason,
            ])
        }
        return out + table.render()
    }
}
