import ConnwatchCore
import Foundation

/// `[[webhook]]` tables.
extension ConfigLoader {
    func readWebhook(_ t: TableReader, connectorNames: Set<String>) -> WebhookConfig? {
        var ok = true
        let name = t.string("name")
        if let name {
            if Validators.isName(name) {
                t.label = "webhook \"\(name)\""
            } else {
                t.error("name", "\"\(name)\" is not a valid name; use lowercase letters, digits and '-'")
                ok = false
            }
        } else if !t.has("name") {
            t.error("name", "missing; give the webhook a name, e.g. name = \"soc\"")
            ok = false
        } else {
            ok = false
        }
        let resolver = SecretResolver(
            credentialsDirectory: credentialsDirectory, baseDirectory: dir(t), resolve: resolveSecrets)
        var url: Secret?
        if let inline = t.string("url") {
            if t.has("url_credential") || t.has("url_file") {
                t.error("url", "set one of url, url_credential or url_file, not several")
                _ = t.string("url_credential")
                _ = t.string("url_file")
                ok = false
            } else if Validators.isHTTPURL(inline) {
                url = Secret(inline)
            } else {
                t.error("url", "not an http:// or https:// URL")
                ok = false
            }
        } else if t.has("url") {
            ok = false
        } else {
            switch resolver.resolve(
                t, base: "url", inline: nil, required: true, what: "the webhook URL",
                fix: "set url = \"https://…\", or url_credential = \"<id>\" when the URL holds a token (Slack, Teams)")
            {
            case .secret(let s):
                if !resolveSecrets || s.withValue({ Validators.isHTTPURL($0) }) {
                    url = s
                } else {
                    t.error(
                        t.has("url_credential") ? "url_credential" : "url_file",
                        "the stored URL is not an http:// or https:// URL")
                    ok = false
                }
            case .absent, .failed: ok = false
            }
        }

        var signing: [Secret] = []
        if t.has("secret") {
            t.error(
                "secret",
                "inline secrets are refused; store the whsec_ key in a systemd credential and set secret_credential = \"<id>\" (or secret_file = \"/path\", mode 0600)"
            )
            ok = false
        }
        let credIDs = t.stringOrStringArray("secret_credential") ?? []
        let files = t.stringOrStringArray("secret_file") ?? []
        for id in credIDs {
            if case .secret(let s) = resolver.fromCredential(
                t, key: "secret_credential", id: id, what: "the signing key")
            {
                signing.append(s)
            } else {
                ok = false
            }
        }
        for f in files {
            if case .secret(let s) = resolver.fromFile(t, key: "secret_file", path: f, what: "the signing key") {
                signing.append(s)
            } else {
                ok = false
            }
        }
        for (i, s) in signing.enumerated() where resolveSecrets && !ConfigLoader.isStandardWebhooksKey(s) {
            let key = i < credIDs.count ? "secret_credential" : "secret_file"
            t.error(
                key,
                "the signing key is not a Standard Webhooks key; expected \"whsec_\" followed by base64 of 24 to 64 random bytes"
            )
            ok = false
        }

        var format = WebhookFormat.standard
        if let v = t.string("format") {
            if let f = WebhookFormat(rawValue: v) {
                format = f
            } else {
                t.error("format", "unknown format \"\(v)\"; use \"standard\", \"slack\" or \"teams\"")
                ok = false
            }
        }
        // A Slack or Teams incoming-webhook URL is itself the credential (its path carries
        // the token): it may not sit in the configuration, which the connwatch group reads.
        if format != .standard, t.has("url") {
            t.error(
                "url",
                "an inline url is refused for \(format.rawValue) webhooks: their URL carries a token; store it in a systemd credential and set url_credential = \"<id>\" (or url_file = \"/path\", mode 0600)"
            )
            ok = false
        }
        var minSeverity = Severity.warning
        if let v = t.string("min_severity") {
            if let s = Severity(rawValue: v) {
                minSeverity = s
            } else {
                t.error("min_severity", "unknown severity \"\(v)\"; use \"info\", \"warning\" or \"critical\"")
                ok = false
            }
        }
        let connectors = t.stringArray("connectors") ?? []
        for c in connectors where !connectorNames.contains(c) {
            t.error("connectors", "\"\(c)\" is not a configured connector")
            ok = false
        }
        let labels = t.stringTable("labels") ?? [:]
        let timeout = t.duration("timeout", minimum: .seconds(1))
        if let timeout, timeout > .minutes(5) {
            t.error("timeout", "\(timeout) is too long; use at most 5m")
            ok = false
        }
        t.finish(allowed: ConfigLoader.webhookKeys)
        guard ok, let name, let url else { return nil }
        var hook = WebhookConfig(
            name: name, url: url, signingSecrets: signing, source: SourceLocation(file: t.file, line: t.line(nil)))
        hook.format = format
        hook.minSeverity = minSeverity
        hook.connectors = connectors
        hook.labels = labels
        if let timeout { hook.timeout = timeout }
        return hook
    }
}
