import ConnwatchCore
import Foundation

/// `[[webhook]]` tables.
extension ConfigLoader {
    func readWebhook(_ t: TableReader, connectorNames: Set<String>) -> WebhookConfig? {
        var ok = true
        let name = readSinkName(t, what: "webhook", label: "webhook", example: "soc")
        if name == nil { ok = false }
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
        let filters = readSinkFilters(t, connectorNames: connectorNames)
        let timeout = readSinkTimeout(t)
        if filters == nil || timeout == nil { ok = false }
        t.finish(allowed: ConfigLoader.webhookKeys)
        guard ok, let name, let url, let filters, let timeout else { return nil }
        var hook = WebhookConfig(
            name: name, url: url, signingSecrets: signing, source: SourceLocation(file: t.file, line: t.line(nil)))
        hook.format = format
        hook.minSeverity = filters.minSeverity
        hook.connectors = filters.connectors
        hook.labels = filters.labels
        if let timeout { hook.timeout = timeout }
        return hook
    }
}
