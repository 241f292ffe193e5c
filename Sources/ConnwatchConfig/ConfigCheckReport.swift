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
            var t = TextTable(headers: ["NAME", "KIND", "TENANT", "WATCHED WITH", "SOURCE"])
            for conn in c.connectors {
                t.append([
                    conn.name, conn.kind.rawValue, conn.tenantId, watchedWith(conn, in: c), conn.source.description,
                ])
            }
            out += "\n" + t.render() + "\n"
        }
        let hooks = c.webhooks.map(\.name).joined(separator: ", ")
        out += "\(c.connectors.count) connector\(c.connectors.count == 1 ? "" : "s"), "
        out += "\(c.webhooks.count) webhook\(c.webhooks.count == 1 ? "" : "s")\(hooks.isEmpty ? "" : " (\(hooks))"); "
        out += "check interval \(c.daemon.checkInterval), concurrency \(c.daemon.concurrency), cloud \(c.cloud.name)\n"
        out += observerSummary(c)
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

    /// "secret", "observer" or "secret + observer" (SPEC §3b: both sets of checks).
    public static func watchedWith(_ connector: ConnectorConfig, in c: Configuration) -> String {
        if connector.isObserved { return "observer" }
        return c.observer(forTenant: connector.tenantId) == nil ? "secret" : "secret + observer"
    }

    /// How many connectors are observed and how many hold a secret, then one line per observer.
    static func observerSummary(_ c: Configuration) -> String {
        let observed = c.connectors.filter(\.isObserved).count
        let held = c.connectors.count - observed
        let both = c.connectors.filter { !$0.isObserved && c.observer(forTenant: $0.tenantId) != nil }.count
        var out =
            c.tenants.isEmpty
            ? "no [[tenant]] observers; "
            : "\(c.tenants.count) observer\(c.tenants.count == 1 ? "" : "s") ([[tenant]]); "
        out += "\(observed) connector\(observed == 1 ? "" : "s") observed (no secret held), "
        out += "\(held) with \(held == 1 ? "its" : "their") own secret"
        out += both > 0 ? " (\(both) of them also observed)\n" : "\n"
        for t in c.tenants {
            let credential = t.credential.isCertificate ? "certificate" : "client secret"
            let subs = "\(t.subscriptions.count) subscription\(t.subscriptions.count == 1 ? "" : "s")"
            let signIn =
                t.signInLogs
                ? "sign-in logs (window \(t.signInWindow), stale after \(t.signInStaleAfter))" : "no sign-in logs"
            let watching = c.connectors.filter { $0.tenantId.lowercased() == t.tenantId }.count
            out += "observer \(t.tenantId): monitoring app \(t.clientId) with a \(credential), \(subs), \(signIn); "
            out += "\(watching) connector\(watching == 1 ? "" : "s") in the tenant (\(t.source))\n"
        }
        return out
    }
}
