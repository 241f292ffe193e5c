import ConnwatchCore
import Foundation

/// The credential-expiry timeline of one tenant, as inline SVG: the x axis runs from a few
/// days before today to `horizon` days after; today is a labelled line; the critical zone
/// (expired, or within `critical_days`) and the warning zone (within `warning_days`) are
/// shaded. One `<g class="credential">` row per credential in use, its marker at the expiry:
/// an expired one pinned at the left edge in the critical colour, one beyond the horizon
/// pinned at the right edge with an arrow. The bar from today to the marker is the life left.
struct TimelineSVG {
    let m: ReportModel
    let f: ReportFormat
    let credentials: [ReportModel.Credential]

    static let width = 1000.0
    static let plotLeft = 330.0
    static let plotRight = 960.0
    static let axisY = 34.0
    static let rowHeight = 24.0

    func e(_ s: String) -> String { UntrustedText.html(s) }

    /// Days shown before today: enough to see the expired pinned apart from today's line.
    var lead: Double { Double(max(3, m.horizonDays / 12)) }

    /// x of a point `days` from now, not clamped.
    func x(_ days: Double) -> Double {
        let span = lead + Double(m.horizonDays)
        return Self.plotLeft + (days + lead) / span * (Self.plotRight - Self.plotLeft)
    }

    func clamp(_ v: Double) -> Double { min(max(v, Self.plotLeft), Self.plotRight) }

    static func n(_ v: Double) -> String {
        let r = (v * 10).rounded() / 10
        return r == r.rounded() ? String(Int(r)) : String(r)
    }

    /// Tick spacing in days: at most about eight ticks over the horizon.
    var tickStep: Int {
        for step in [1, 7, 14, 30, 60, 90, 180, 365, 730] where m.horizonDays / step <= 8 { return step }
        return 1825
    }

    func render() -> String {
        let rows = credentials.count
        let plotBottom = Self.axisY + 8 + Double(max(rows, 1)) * Self.rowHeight
        let height = plotBottom + 20
        let n = Self.n
        var out =
            "<svg class=\"timeline\" width=\"\(n(Self.width))\" height=\"\(n(height))\" viewBox=\"0 0 \(n(Self.width)) \(n(height))\" role=\"img\" aria-label=\"credential expiry timeline, \(m.horizonDays) days\" style=\"display:block;max-width:100%;height:auto;font-family:'DejaVu Sans',Helvetica,Arial,sans-serif\">\n"
        // Zones: critical (left edge to today + critical_days), warning (to today + warning_days).
        let critEnd = clamp(x(Double(m.criticalDays)))
        let warnEnd = clamp(x(Double(m.warningDays)))
        let top = Self.axisY
        out +=
            "<rect class=\"zone-critical\" x=\"\(n(Self.plotLeft))\" y=\"\(n(top))\" width=\"\(n(critEnd - Self.plotLeft))\" height=\"\(n(plotBottom - top))\" fill=\"\(ReportFormat.criticalZone)\"><title>critical: expired or within \(m.criticalDays) days</title></rect>\n"
        if warnEnd > critEnd {
            out +=
                "<rect class=\"zone-warning\" x=\"\(n(critEnd))\" y=\"\(n(top))\" width=\"\(n(warnEnd - critEnd))\" height=\"\(n(plotBottom - top))\" fill=\"\(ReportFormat.warningZone)\"><title>warning: within \(m.warningDays) days</title></rect>\n"
        }
        // Zone captions, ticks and the axis.
        // Zone captions under the plot, where no row can run into them.
        out += text(
            x: Self.plotLeft + 2, y: plotBottom + 13, "critical: expired or ≤ \(m.criticalDays) d", size: 10,
            colour: ReportFormat.colour(.critical))
        if warnEnd > critEnd {
            out += text(
                x: max(critEnd + 2, Self.plotLeft + 150), y: plotBottom + 13, "warning: ≤ \(m.warningDays) d", size: 10,
                colour: "#9a6700")
        }
        out +=
            "<line x1=\"\(n(Self.plotLeft))\" y1=\"\(n(top))\" x2=\"\(n(Self.plotRight))\" y2=\"\(n(top))\" stroke=\"\(ReportFormat.rule)\"/>\n"
        var day = tickStep
        while day <= m.horizonDays {
            let tx = x(Double(day))
            out +=
                "<line x1=\"\(n(tx))\" y1=\"\(n(top - 4))\" x2=\"\(n(tx))\" y2=\"\(n(plotBottom))\" stroke=\"\(ReportFormat.rule)\" stroke-dasharray=\"2,3\"/>\n"
            out += text(x: tx, y: top - 8, "+\(day) d", size: 10, colour: ReportFormat.muted, anchor: "middle")
            day += tickStep
        }
        let today = x(0)
        out +=
            "<line class=\"today\" x1=\"\(n(today))\" y1=\"\(n(top - 20))\" x2=\"\(n(today))\" y2=\"\(n(plotBottom))\" stroke=\"\(ReportFormat.ink)\" stroke-width=\"2\"/>\n"
        out += text(
            x: today + 4, y: top - 22, "today \(f.day(m.generatedAt))", size: 11, colour: ReportFormat.ink,
            weight: "600")
        out += text(x: 8, y: top - 8, "credential in use", size: 11, colour: ReportFormat.muted, weight: "600")
        if credentials.isEmpty {
            out += text(
                x: 8, y: top + 8 + Self.rowHeight * 0.65, "No credential in use has a known expiry.", size: 12,
                colour: ReportFormat.muted)
        }
        for (i, c) in credentials.enumerated() {
            out += row(c, y: top + 8 + Double(i) * Self.rowHeight)
        }
        return out + "</svg>\n"
    }

    func row(_ c: ReportModel.Credential, y: Double) -> String {
        let n = Self.n
        let days = c.expiresAt.timeIntervalSince(m.generatedAt) / 86400
        let left = c.daysLeft(at: m.generatedAt)
        let colour = ReportFormat.colour(c.status)
        let mid = y + Self.rowHeight / 2
        var out =
            "<g class=\"credential\" data-connector=\"\(e(c.connector))\" data-credential=\"\(e(c.credentialId))\" data-which=\"\(c.which.rawValue)\" data-expires=\"\(RFC3339.string(c.expiresAt))\" data-status=\"\(c.status.rawValue)\">"
        out +=
            "<title>\(e(c.connector)): \(e(ReportFormat.credentialLabel(c))) expires \(f.minute(c.expiresAt)), \(ReportFormat.left(left))</title>"
        // The connector's name (cut at 22 characters; the tooltip has it whole), then which credential.
        let name = UntrustedText.clean(c.connector)
        let shown = name.count > 22 ? String(name.prefix(21)) + "…" : name
        out += text(x: 8, y: mid + 4, shown, size: 12, colour: ReportFormat.ink, weight: "600", inline: true)
        out += text(
            x: 8 + Double(shown.count) * 7.6 + 8, y: mid + 4, ReportFormat.credentialLabel(c), size: 11,
            colour: ReportFormat.muted, inline: true, clip: Self.plotLeft - 16)
        let today = x(0)
        let date = "\(f.day(c.expiresAt)) · \(ReportFormat.left(left))"
        let mx: Double
        if days < -lead || x(days) < Self.plotLeft {
            // Expired before the axis starts: pinned at the left edge.
            mx = Self.plotLeft + 6
            out += marker(mx, mid, colour: ReportFormat.colour(.critical))
            out += text(x: today + 8, y: mid + 4, date, size: 11, colour: ReportFormat.colour(.critical), inline: true)
        } else if x(days) > Self.plotRight {
            // Beyond the horizon: a bar to the right edge and an arrow.
            mx = Self.plotRight
            out +=
                "<rect x=\"\(n(today))\" y=\"\(n(mid - 3))\" width=\"\(n(mx - today - 8))\" height=\"6\" rx=\"3\" fill=\"\(colour)\" fill-opacity=\"0.35\"/>"
            out +=
                "<path class=\"beyond\" d=\"M\(n(mx - 10)) \(n(mid - 6)) L\(n(mx)) \(n(mid)) L\(n(mx - 10)) \(n(mid + 6)) Z\" fill=\"\(colour)\"/>"
            out += text(
                x: mx - 14, y: mid + 4, "\(date) →", size: 11, colour: ReportFormat.ink, anchor: "end", inline: true)
        } else {
            mx = x(days)
            if mx > today {
                out +=
                    "<rect x=\"\(n(today))\" y=\"\(n(mid - 3))\" width=\"\(n(mx - today))\" height=\"6\" rx=\"3\" fill=\"\(colour)\" fill-opacity=\"0.35\"/>"
            }
            out += marker(mx, mid, colour: colour)
            let labelRight = mx + 10 + Double(date.count) * 6.2 < Self.plotRight
            out += text(
                x: labelRight ? max(mx, today) + 10 : mx - 10, y: mid + 4, date, size: 11, colour: ReportFormat.ink,
                anchor: labelRight ? "start" : "end", inline: true)
        }
        return out + "</g>\n"
    }

    func marker(_ cx: Double, _ cy: Double, colour: String) -> String {
        "<circle cx=\"\(Self.n(cx))\" cy=\"\(Self.n(cy))\" r=\"6\" fill=\"\(colour)\" stroke=\"#ffffff\" stroke-width=\"1.5\"/>"
    }

    /// An SVG text (escaped); `clip` shortens a long label to about that x.
    func text(
        x: Double, y: Double, _ s: String, size: Int, colour: String, weight: String? = nil, anchor: String? = nil,
        inline: Bool = false, clip: Double? = nil
    ) -> String {
        var s = UntrustedText.clean(s)
        if let clip {
            let room = max(4, Int((clip - x) / (Double(size) * 0.6)))
            if s.count > room { s = String(s.prefix(room - 1)) + "…" }
        }
        var attrs = "x=\"\(Self.n(x))\" y=\"\(Self.n(y))\" font-size=\"\(size)\" fill=\"\(colour)\""
        if let weight { attrs += " font-weight=\"\(weight)\"" }
        if let anchor { attrs += " text-anchor=\"\(anchor)\"" }
        return "<text \(attrs)>\(e(s))</text>" + (inline ? "" : "\n")
    }
}
