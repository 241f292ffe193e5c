import ConnwatchCore

/// One configuration problem: where (file, line when known), which key, what is wrong
/// and how to fix it. Never contains a secret value.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    /// `daemon.concurrency`, `connector "contoso".client_id`, or empty for file-level problems.
    public var key: String
    public var message: String

    public init(file: String, line: Int?, key: String, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    /// `FILE:LINE: KEY: MESSAGE`, the line and key omitted when unknown.
    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        s += ": "
        if !key.isEmpty { s += "\(key): " }
        return s + message
    }
}

/// Every problem found in one load: the loader reports all of them at once.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ConfigError]

    public init(_ errors: [ConfigError]) { self.errors = errors }

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// Collects errors while a load walks every file.
final class ErrorSink {
    var errors: [ConfigError] = []
    func add(_ e: ConfigError) { errors.append(e) }
}

/// Keys whose values are secrets or name where a secret is (`client_secret_credential`,
/// `url_file`, `url`, `proxy`…). Configuration errors never quote their values (SPEC §9):
/// the usual mistake is pasting the secret itself into them.
enum SecretKeys {
    static func holdsSecret(_ key: String) -> Bool {
        key.hasSuffix("_credential") || key.hasSuffix("_file") || key.hasPrefix("url")
            || ["secret", "client_secret", "password", "proxy", "private_key"].contains(key)
    }
}
