import ConnwatchCore
import Foundation

/// The output of `connwatchd --check-config` and `connwatchctl config check`.
public enum ConfigCheckReport {
    public static let exitConfigError: Int32 = 78

    /// Loads and validates; returns the text to print, where to print it, and the exit code.
    public static func run(
        configPath: String, credentialsDirectory: String?
    ) -> (text: String, isError: Bool, exitCode: Int32) {
        do {
            let loaded = try ConfigLoader(credentialsDirectory: credentialsDirectory).load(path: configPath)
            return (success(loaded), false, 0)
        } catch {
            let n = error.errors.count
            let text =
                error.errors.map(\.description).joined(separator: "\n")
                + "\n\(n) error\(n == 1 ? "" : "s") in the configuration; nothing was loaded\n"
            return (text, true, exitConfigError)
        }
    }

    public static func success(_ loaded: LoadedConfiguration) -> String {
        let c = loaded.configuration
        var out = "configuration OK: \(loaded.files.joined(separator: ", "))\n"
        if c.connectors.isEmpty {
            out += "no connectors configured; add [[connector]] tables to the main file or connectors.d/\n"
        } else {
            var t = TextTable(headers: ["NAME", "KIND", "TENANT", "SOURCE"])
            for conn in c.connectors {
                t.append([conn.name, conn.kind.rawValue, conn.tenantId, conn.source.description])
            }
            out += "\n" + t.render() + "\n"
        }
        let hooks = c.webhooks.map(\.name).joined(separator: ", ")
        out += "\(c.connectors.count) connector\(c.connectors.count == 1 ? "" : "s"), "
        out += "\(c.webhooks.count) webhook\(c.webhooks.count == 1 ? "" : "s")\(hooks.isEmpty ? "" : " (\(hooks))"); "
        out += "check interval \(c.daemon.checkInterval), concurrency \(c.daemon.concurrency), cloud \(c.cloud.name)\n"
        if let z = c.zscaler {
            let checked = c.connectors.filter { $0.kind != .mip }
            let pinned = checked.filter { $0.zscalerTenantId != nil }.count
            let mip = c.connectors.count - checked.count
            out += "zscaler: \(z.apiBase) as API client \(z.clientId); \(checked.count) connector"
            out += "\(checked.count == 1 ? "" : "s") with a zscaler check (\(pinned) by zscaler_tenant_id)"
            out += mip > 0 ? ", \(mip) MIP without (no Zscaler API for MIP accounts)\n" : "\n"
        }
        return out
    }
}
