import ConnwatchCore
import Foundation

/// The page (``ReportRenderer/html(_:)``). Layout in tables and inline styles, the way
/// HTML mail is written; a system font stack, so nothing is fetched.
struct HTMLReport {
    let m: ReportModel
    let f: ReportFormat

    init(_ m: ReportModel) {
        self.m = m
        f = ReportFormat(m)
    }

    static let font = "font-family:-apple-system,'Segoe UI','DejaVu Sans',Helvetica,Arial,sans-serif"

    func e(_ s: String) -> String { UntrustedText.html(s) }

    func render() -> String {
        var out = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>connwatch report \(f.minute(m.generatedAt))</title>
            </head>
            <body style="margin:0;padding:24px;background:#f6f8fa;color:\(ReportFormat.ink);\(Self.font);font-size:14px;line-height:1.4">
            <div style="max-width:1240px;margin:0 auto;background:#ffffff;border:1px solid \(ReportFormat.rule);border-radius:6px;padding:24px">

            """
        out += header()
        for tenant in m.tenants { out += section(tenant) }
        if m.tenants.isEmpty {
            out += "<p style=\"color:\(ReportFormat.muted)\">No connector is configured.</p>\n"
        }
        out += changes()
        out += """
            <p style="margin:24px 0 0;color:\(ReportFormat.muted);font-size:12px">connwatch — generated \(f.minute(m.generatedAt)) (\(e(m.timeZoneIdentifier))). Status colours: <span style="color:\(ReportFormat.colour(.ok))">■</span> ok <span style="color:\(ReportFormat.colour(.warning))">■</span> warning <span style="color:\(ReportFormat.colour(.unknown))">■</span> unknown <span style="color:\(ReportFormat.colour(.critical))">■</span> critical <span style="color:\(ReportFormat.colour(nil))">■</span> no data.</p>
            </div>
            </body>
            </html>

            """
        return out
    }

    func header() -> String {
        let connectors = m.tenants.flatMap(\.connectors)
        var counts: [String] = []
        for s in [CheckStatus.critical, .unknown, .warning, .ok] {
            let n = connectors.filter { $0.status == s }.count
            if n > 0 { counts.append("\(pill(s, text: "\(n) \(s)"))") }
        }
        let expiring = m.allCredentials.filter { $0.daysLeft(at: m.generatedAt) <= m.warningDays }.count
        return """
            <h1 style="margin:0 0 4px;font-size:22px">connwatch report</h1>
            <p style="margin:0 0 8px;color:\(ReportFormat.muted)">Generated \(f.minute(m.generatedAt)) (\(e(m.timeZoneIdentifier))) · \(connectors.count) connector\(connectors.count == 1 ? "" : "s") in \(m.tenants.count) tenant\(m.tenants.count == 1 ? "" : "s") · \(expiring) credential\(expiring == 1 ? "" : "s") expired or expiring within \(m.warningDays) days · timeline \(m.horizonDays) days ahead</p>
            <p style="margin:0 0 16px">\(counts.joined(separator: " "))</p>

            """
    }

    func pill(_ s: CheckStatus, text: String? = nil) -> String {
        "<span style=\"display:inline-block;background:\(ReportFormat.colour(s));color:\(ReportFormat.onColour(s));border-radius:10px;padding:1px 8px;font-weight:600;font-size:12px\">\(e(text ?? s.rawValue))</span>"
    }

    func section(_ t: ReportModel.Tenant) -> String {
        var title = e(t.displayName ?? "Tenant")
        if let d = t.domain { title += " · " + e(d) }
        let observed =
            t.observed
            ? " <span style=\"font-size:12px;font-weight:normal;color:\(ReportFormat.muted)\">observed</span>" : ""
        var out = """
            <section class="tenant" data-tenant="\(e(t.tenantId))" style="margin:24px 0 0">
            <h2 style="margin:0 0 8px;font-size:18px;border-bottom:1px solid \(ReportFormat.rule);padding-bottom:4px">\(title) <span style="font-size:12px;font-weight:normal;color:\(ReportFormat.muted);font-family:monospace">\(e(t.tenantId))</span>\(observed)</h2>
            <table class="connectors" cellpadding="0" cellspacing="0" style="border-collapse:collapse;width:100%;table-layout:fixed;font-size:13px">
            <tr style="text-align:left;color:\(ReportFormat.muted)">\(th("Connector", width: 170))\(th("Status", width: 80))\(th("Reason", width: 130))\(th("Summary"))\(th("What to do"))\(th("Last \(m.stripDays.count) days", width: 226))</tr>

            """
        for c in t.connectors { out += row(c) }
        out += "</table>\n"
        out += "<h3 style=\"margin:16px 0 4px;font-size:14px\">Credential expiry</h3>\n"
        out += TimelineSVG(m: m, f: f, credentials: t.credentials).render()
        out += "</section>\n"
        return out
    }

    func th(_ s: String, width: Int? = nil) -> String {
        let w = width.map { " width=\"\($0)\"" } ?? ""
        return
            "<th\(w) style=\"padding:6px 8px;border-bottom:2px solid \(ReportFormat.rule);font-weight:600\">\(s)</th>"
    }

    func td(_ s: String, extra: String = "") -> String {
        "<td style=\"padding:6px 8px;border-bottom:1px solid \(ReportFormat.rule);vertical-align:top\(extra)\">\(s)</td>"
    }

    func row(_ c: ReportModel.Connector) -> String {
        var name =
            "<strong style=\"word-break:break-word\">\(e(c.name))</strong><br><span style=\"color:\(ReportFormat.muted);font-size:12px\">\(e(c.kind))"
        if !c.labels.isEmpty {
            name +=
                " · " + c.labels.sorted { $0.key < $1.key }.map { e("\($0.key)=\($0.value)") }.joined(separator: ", ")
        }
        name += "</span>"
        let todo = c.remediation.isEmpty ? "<span style=\"color:\(ReportFormat.muted)\">—</span>" : e(c.remediation)
        return "<tr class=\"connector\" data-connector=\"\(e(c.name))\" data-status=\"\(c.status.rawValue)\">"
            + td(name) + td(pill(c.status))
            + td("<code style=\"font-size:12px;word-break:break-word\">\(e(c.reason))</code>")
            + td(e(c.summary)) + td(todo) + td(strip(c), extra: ";white-space:nowrap") + "</tr>\n"
    }

    /// One rect per day, oldest first, coloured by the day's worst status.
    func strip(_ c: ReportModel.Connector) -> String {
        let w = 6
        let gap = 1
        let width = m.stripDays.count * (w + gap) - gap
        var out =
            "<svg class=\"strip\" data-connector=\"\(e(c.name))\" width=\"\(width)\" height=\"16\" viewBox=\"0 0 \(width) 16\" role=\"img\" aria-label=\"worst status per day, last \(m.stripDays.count) days\">"
        for (i, day) in m.stripDays.enumerated() {
            let s = i < c.days.count ? c.days[i] : nil
            out +=
                "<rect class=\"day\" x=\"\(i * (w + gap))\" y=\"0\" width=\"\(w)\" height=\"16\" rx=\"1\" fill=\"\(ReportFormat.colour(s))\"><title>\(f.day(day)): \(s?.rawValue ?? "no data")</title></rect>"
        }
        return out + "</svg>"
    }

    func changes() -> String {
        guard let since = m.changesSince else { return "" }
        var out = """
            <section class="changes" style="margin:24px 0 0">
            <h2 style="margin:0 0 8px;font-size:18px;border-bottom:1px solid \(ReportFormat.rule);padding-bottom:4px">Changed since \(f.minute(since))</h2>

            """
        if m.changes.isEmpty {
            out += "<p style=\"color:\(ReportFormat.muted)\">Nothing changed.</p>\n</section>\n"
            return out
        }
        out += """
            <table cellpadding="0" cellspacing="0" style="border-collapse:collapse;width:100%;font-size:13px">
            <tr style="text-align:left;color:\(ReportFormat.muted)">\(th("When"))\(th("Connector"))\(th("Check"))\(th("Change"))\(th("Reason"))</tr>

            """
        for c in m.changes {
            let from = c.from.map { pill($0) } ?? "<span style=\"color:\(ReportFormat.muted)\">new</span>"
            out +=
                "<tr class=\"change\">" + td(f.minute(c.at), extra: ";white-space:nowrap") + td(e(c.connector))
                + td(e(c.check ?? "(connector)")) + td("\(from) → \(pill(c.to))", extra: ";white-space:nowrap")
                + td("<code style=\"font-size:12px\">\(e(c.reason))</code>") + "</tr>\n"
        }
        return out + "</table>\n</section>\n"
    }
}
