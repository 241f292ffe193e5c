import ConnwatchCore
import Foundation

/// `[daemon]`, `[cloud]` and `[alerts]`.
extension ConfigLoader {
    /// A `no_proxy` entry: `*`, a host name, `.domain`, an IPv4/IPv6 address, each with an
    /// optional `:port` (what NO_PROXY takes).
    static func isNoProxyEntry(_ s: String) -> Bool {
        if s == "*" { return true }
        var host = Substring(s)
        if let colon = host.lastIndex(of: ":"), !host.contains("]"), host.filter({ $0 == ":" }).count == 1 {
            guard let port = Int(host[host.index(after: colon)...]), (1...65535).contains(port) else { return false }
            host = host[..<colon]
        }
        if host.hasPrefix(".") { host = host.dropFirst() }
        guard !host.isEmpty, host.count <= 253 else { return false }
        return host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-.:[]".contains($0)) }
    }

    /// Why a `proxy` value cannot be used, or nil. The value itself is never quoted: a proxy
    /// URL may carry a password.
    static func proxyProblem(_ v: String) -> String? {
        guard let url = URL(string: v), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty,
            ["http", "https"].contains(scheme)
        else { return "not an http:// URL (e.g. \"http://proxy.example:3128\")" }
        if url.user != nil || url.password != nil {
            return "credentials in the proxy URL are refused (the configuration is readable by the connwatch group): remove them and store user:password in a credential, proxy_credential = \"<id>\""
        }
        if scheme == "https" {
            return "an https:// proxy (TLS to the proxy itself) is not supported; use the proxy's http:// address: every tunnel through it to Microsoft, Zscaler and webhooks is TLS end to end"
        }
        return nil
    }


    func readDaemon(_ t: TableReader) -> DaemonSettings {
        var d = DaemonSettings()
        if let v = t.duration("check_interval", minimum: .seconds(10)) { d.checkInterval = v }
        if let v = t.int("concurrency", range: 1...1024) { d.concurrency = v }
        if let v = t.string("database") {
            if v.hasPrefix("/") { d.database = v } else { t.error("database", "\"\(v)\" must be an absolute path") }
        }
        if let v = t.string("socket") {
            if !v.hasPrefix("/") {
                t.error("socket", "\"\(v)\" must be an absolute path")
            } else if v.utf8.count > 107 {
                t.error("socket", "path is \(v.utf8.count) bytes; a Unix socket path has at most 107")
            } else {
                d.socket = v
            }
        }
        if let v = t.string("socket_group") {
            if isAccountName(v) { d.socketGroup = v } else { t.error("socket_group", "\"\(v)\" is not a group name") }
        }
        if let v = t.duration("history_retention", minimum: .days(1)) { d.historyRetention = v }
        if let v = t.string("ca_file") {
            let path = SecretResolver(credentialsDirectory: nil, baseDirectory: dir(t)).absolute(v)
            if let data = FileManager.default.contents(atPath: path) {
                if String(decoding: data, as: UTF8.self).contains("-----BEGIN CERTIFICATE-----") {
                    d.caFile = path
                } else {
                    t.error("ca_file", "\(path) holds no PEM certificate (-----BEGIN CERTIFICATE-----); give a PEM file of extra trust anchors")
                }
            } else {
                t.error("ca_file", "\(path): no such file or not readable; give a PEM file of extra trust anchors")
            }
        }
        if let v = t.string("proxy") {
            if let problem = ConfigLoader.proxyProblem(v) {
                t.error("proxy", problem)
            } else {
                d.proxy = v
            }
        }
        if let v = t.stringArray("no_proxy") {
            if let bad = v.first(where: { !ConfigLoader.isNoProxyEntry($0) }) {
                t.error(
                    "no_proxy",
                    "\"\(bad)\" is not a host, .domain, IP address or \"*\" (each with an optional :port)")
            } else {
                d.noProxy = v
            }
        }
        let resolver = SecretResolver(
            credentialsDirectory: credentialsDirectory, baseDirectory: dir(t), resolve: resolveSecrets)
        if case .secret(let s) = resolver.resolve(
            t, base: "proxy", inline: nil, required: false, what: "the proxy's user:password", fix: "")
        {
            if !resolveSecrets || s.withValue({ $0.contains(":") && !$0.hasPrefix(":") }) {
                d.proxyCredentials = s
            } else {
                t.error(
                    t.has("proxy_credential") ? "proxy_credential" : "proxy_file",
                    "the stored value must be user:password (it is not shown)")
            }
            if !t.has("proxy") {
                t.error(
                    t.has("proxy_credential") ? "proxy_credential" : "proxy_file",
                    "set proxy = \"http://host:port\" too; the credentials are for that proxy (the environment's HTTPS_PROXY is not given them)"
                )
            }
        }
        if let v = t.stringArray("operators") {
            for op in v {
                let name = op.hasPrefix("@") ? String(op.dropFirst()) : op
                if !isAccountName(name) {
                    t.error("operators", "\"\(op)\" is neither a user name nor an @group")
                }
            }
            d.operators = v
        }
        if let v = t.int("failure_threshold", range: 1...100) { d.failureThreshold = v }
        t.finish()
        return d
    }

    func readCloud(_ t: TableReader) -> CloudSettings {
        var name = CloudName.global
        if let v = t.string("name") {
            if let c = CloudName(rawValue: v) {
                name = c
            } else {
                t.error("name", "unknown cloud \"\(v)\"; use \"global\", \"usgov\" or \"china\"")
            }
        }
        var endpoints = name.defaultEndpoints
        func endpoint(_ key: String, _ set: (inout CloudEndpoints, String) -> Void) {
            guard let v = t.string(key) else { return }
            if Validators.isHTTPURL(v, allowHTTP: false) {
                set(&endpoints, v.hasSuffix("/") ? String(v.dropLast()) : v)
            } else {
                t.error(key, "\"\(v)\" is not an https:// URL")
            }
        }
        endpoint("login_endpoint") { $0.login = $1 }
        endpoint("graph_endpoint") { $0.graph = $1 }
        endpoint("management_endpoint") { $0.management = $1 }
        endpoint("office_management_endpoint") { $0.officeManagement = $1 }
        endpoint("sharepoint_endpoint") { $0.sharePoint = $1 }
        t.finish()
        return CloudSettings(name: name, endpoints: endpoints)
    }

    func readAlerts(_ t: TableReader) -> AlertSettings {
        var a = AlertSettings()
        let warning = t.int("warning_days", range: 0...3650)
        let critical = t.int("critical_days", range: 0...3650)
        if let warning { a.warningDays = warning }
        if let critical { a.criticalDays = critical }
        if warning != nil || critical != nil, a.criticalDays >= a.warningDays {
            t.error(
                critical != nil ? "critical_days" : "warning_days",
                "thresholds out of order: critical_days (\(a.criticalDays)) must be less than warning_days (\(a.warningDays))"
            )
        }
        if let ladder = t.intArray("ladder_days") {
            if ladder.isEmpty {
                t.error("ladder_days", "must list at least one day count, e.g. [60, 30, 14, 7, 3, 1, 0]")
            } else if ladder.contains(where: { $0 < 0 || $0 > 3650 }) {
                t.error("ladder_days", "day counts must be between 0 and 3650")
            } else if zip(ladder, ladder.dropFirst()).contains(where: { $0 <= $1 }) {
                t.error(
                    "ladder_days",
                    "thresholds out of order: list distinct day counts from largest to smallest, e.g. [60, 30, 14, 7, 3, 1, 0]"
                )
            } else {
                a.ladderDays = ladder
            }
        }
        if let v = t.duration("repeat_critical", minimum: .minutes(1)) { a.repeatCritical = v }
        if let v = t.bool("send_resolved") { a.sendResolved = v }
        t.finish()
        return a
    }
}
