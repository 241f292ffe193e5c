import ConnwatchCore
import Foundation

/// Renders a ``ReportModel``: the HTML page and its plain-text twin. Pure: the same model
/// gives the same bytes (golden tests hold them).
public enum ReportRenderer {
    /// One self-contained HTML page: inline styles only (it is also the HTML part of the
    /// digest mail, and mail clients drop `<style>` blocks), no script, no URL of any kind
    /// (no fonts, images, links or stylesheets to fetch: opening it makes no request), the
    /// pictures as inline SVG. Every string from Microsoft, Zscaler or the configuration
    /// goes through ``UntrustedText/html(_:)``.
    public static func html(_ m: ReportModel) -> String {
        HTMLReport(m).render()
    }

    /// The same content as plain text: a status table per tenant, what to do, the
    /// credentials expiring within `warning_days` by date, the strips as letters, the
    /// changes. Untrusted strings are ``UntrustedText/clean(_:)``ed (tables do it themselves).
    public static func text(_ m: ReportModel) -> String {
        TextReport(m).render()
    }
}
