import ConnwatchCore
import Foundation

/// The optional `[zscaler]` table.
extension ConfigLoader {
    func readZscaler(_ t: TableReader) -> ZscalerSettings? {
        var ok = true
        func url(_ key: String, example: String) -> String? {
            if let v = t.string(key) {
                if Validators.isHTTPURL(v, allowHTTP: false) { return v.hasSuffix("/") ? String(v.dropLast()) : v }
                t.error(key, "\"\(v)\" is not an https:// URL (e.g. \"\(example)\")")
                ok = false
            } else if t.has(key) {
                ok = false
            } else {
                t.error(key, "missing; e.g. \(key) = \"\(example)\"")
                ok = false
            }
            return nil
        }
        let token = url("token_endpoint", example: "https://example.zslogin.net/oauth2/v1/token")
        let api = url("api_base", example: "https://api.zsapi.net/zia/api/v1")
        var clientId: String?
        if let v = t.string("client_id") {
            if ConfigLoader.isOneAPIClientID(v) {
                clientId = v
            } else {
                t.error(
                    "client_id",
                    "\"\(v)\" is not an API client ID (letters, digits, '-', '_' and '.', up to 128); copy it from ZIdentity > API Clients")
                ok = false
            }
        } else if t.has("client_id") {
            ok = false
        } else {
            t.error("client_id", "missing; the ID of the OneAPI client (ZIdentity > Integration > API Clients)")
            ok = false
        }
        if t.has("audience") {
            t.error("audience", "the OneAPI audience is fixed (\(ZscalerSettings.audience)); remove the key")
            ok = false
        }
        let resolver = SecretResolver(
            credentialsDirectory: credentialsDirectory, baseDirectory: dir(t), resolve: resolveSecrets)
        var secret: Secret?
        switch resolver.resolve(
            t, base: "client_secret", inline: "client_secret", required: true, what: "the OneAPI client secret",
            fix:
                "set client_secret_credential = \"<id>\" (a systemd credential) or client_secret_file = \"/path\" (mode 0600) holding the API client's secret"
        ) {
        case .secret(let s): secret = s
        case .absent, .failed: ok = false
        }
        let age = t.duration("max_validation_age", minimum: .hours(1))
        if t.has("max_validation_age"), age == nil { ok = false }
        t.finish(allowed: ConfigLoader.zscalerKeys)
        guard ok, let token, let api, let clientId, let secret else { return nil }
        var z = ZscalerSettings(
            tokenEndpoint: token, apiBase: api, clientId: clientId, clientSecret: secret,
            source: SourceLocation(file: t.file, line: t.line(nil)))
        if let age { z.maxValidationAge = age }
        return z
    }

    static func isOneAPIClientID(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 128 && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }
}
