import ConnwatchCore
import Foundation

/// Dates and colours shared by the two renderers.
struct ReportFormat {
    let calendar: Calendar
    let zoneName: String

    init(_ m: ReportModel) {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = m.timeZone
        calendar = c
        zoneName = m.timeZoneIdentifier
    }

    private func fields(_ d: Date) -> DateComponents {
        calendar.dateComponents([.year, .month, .day, .hour, .minute], from: d)
    }

    /// `2026-12-07`, local.
    func day(_ d: Date) -> String {
        let f = fields(d)
        return String(format: "%04d-%02d-%02d", f.year!, f.month!, f.day!)
    }

    /// `2026-12-07 17:40`, local.
    func minute(_ d: Date) -> String {
        let f = fields(d)
        return String(format: "%04d-%02d-%02d %02d:%02d", f.year!, f.month!, f.day!, f.hour!, f.minute!)
    }

    /// `13 days left`, `expires today`, `expired 6 days ago`.
    static func left(_ days: Int) -> String {
        switch days {
        case ..<(-1): "expired \(-days) days ago"
        case -1: "expired 1 day ago"
        case 0: "expires within a day"
        case 1: "1 day left"
        default: "\(days) days left"
        }
    }

    /// What the credential is, for a label: `secret abc… (key 0b1c2d3e…)`.
    static func credentialLabel(_ c: ReportModel.Credential) -> String {
        let id = c.credentialId.count > 8 ? String(c.credentialId.prefix(8)) + "…" : c.credentialId
        switch c.which {
        case .secret:
            // An expiry from the operator's `secret_expires` (Graph could not say which secret).
            if c.credentialId.hasPrefix("secret_expires:") { return "secret (per secret_expires)" }
            return c.hint.map { "secret \($0)… (key \(id))" } ?? "secret (key \(id))"
        case .certificate: return "certificate \(id)"
        case .observer: return "observer credential \(id)"
        }
    }

    // MARK: Colours (shared by the HTML table, strips and timeline)

    static func colour(_ s: CheckStatus?) -> String {
        switch s {
        case .ok: "#2da44e"
        case .warning: "#d4a72c"
        case .unknown: "#8c959f"
        case .critical: "#cf222e"
        case nil: "#eaeef2"
        }
    }

    /// Text on a status colour.
    static func onColour(_ s: CheckStatus) -> String { s == .warning ? "#24292f" : "#ffffff" }

    static let criticalZone = "#ffebe9"
    static let warningZone = "#fff8c5"
    static let ink = "#24292f"
    static let muted = "#57606a"
    static let rule = "#d0d7de"
}
