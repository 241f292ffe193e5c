import ConnwatchTestSupport
import Foundation

@testable import ConnwatchConfig
@testable import ConnwatchCore

/// A temporary directory holding one configuration fixture plus the secret files the
/// fixtures refer to, created with real modes at test time.
struct FixtureSandbox {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let clientSecretValue = "Xq8~fixture.client-secret_value"
    static let signingKey = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    /// The observers' certificate and key, on the run's test key 0.
    static let monitorPEM = try! TestPKI.rsaCertificate(commonName: "connwatch monitoring app (test)")

    let directory: TemporaryDirectory
    var root: URL { directory.url }
    let credentials: URL
    var configPath: String { root.appendingPathComponent("connwatch.toml").path }

    init(fixture relative: String) throws {
        let fm = FileManager.default
        directory = try TemporaryDirectory("fixture")
        credentials = directory.url.appendingPathComponent("credentials")
        try fm.createDirectory(at: credentials, withIntermediateDirectories: true)
        let source = FixtureSandbox.fixtures.appendingPathComponent(relative)
        var isDir: ObjCBool = false
        _ = fm.fileExists(atPath: source.path, isDirectory: &isDir)
        if isDir.boolValue {
            for item in try fm.contentsOfDirectory(atPath: source.path) {
                try fm.copyItem(at: source.appendingPathComponent(item), to: root.appendingPathComponent(item))
            }
        } else {
            try fm.copyItem(at: source, to: root.appendingPathComponent("connwatch.toml"))
        }
        try write("credentials/c1", FixtureSandbox.clientSecretValue + "\n", mode: 0o600)
        try write("credentials/hook", FixtureSandbox.signingKey + "\n", mode: 0o600)
        try write("credentials/hook-url", "https://hooks.slack.example/services/T0/B0/tok3n\n", mode: 0o600)
        try write("loose-secret", FixtureSandbox.clientSecretValue, mode: 0o644)
        try write("tight-secret", FixtureSandbox.clientSecretValue, mode: 0o600)
        try write("empty-secret", "\n", mode: 0o600)
        try write("keyfile.json", "{}", mode: 0o600)
        try write("loose-keyfile.json", "{}", mode: 0o644)
        try write("credentials/proxy-login", "alice:hunter2-proxy-pass\n", mode: 0o600)
        // Observer certificate files (PEM key + certificate), made with the run's test key:
        // no private key is ever committed.
        let pem = FixtureSandbox.monitorPEM
        try write("monitor.pem", pem.privateKeyFile + pem.certificateFile, mode: 0o600)
        try write("monitor-loose.pem", pem.privateKeyFile + pem.certificateFile, mode: 0o644)
        try write("monitor-cert-only.pem", pem.certificateFile, mode: 0o600)
        try write("monitor-key-only.pem", pem.privateKeyFile, mode: 0o600)
        let encrypted =
            "-----BEGIN " + "ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQwwHAQI\n-----END " + "ENCRYPTED PRIVATE KEY-----\n"
        try write("monitor-encrypted.pem", encrypted + pem.certificateFile, mode: 0o600)
        try write("credentials/monitor-fabrikam", "Mq3~fixture.monitor-secret\n", mode: 0o600)
        try fm.createSymbolicLink(
            atPath: root.appendingPathComponent("link-monitor.pem").path, withDestinationPath: "monitor.pem")
        // Links to good files: a secret file is opened without following links.
        try fm.createSymbolicLink(
            atPath: root.appendingPathComponent("link-secret").path, withDestinationPath: "tight-secret")
        try fm.createSymbolicLink(
            atPath: root.appendingPathComponent("link-keyfile.json").path, withDestinationPath: "keyfile.json")
    }

    func write(_ path: String, _ text: String, mode: Int) throws { try directory.write(path, text, mode: mode) }

    func load(withCredentials: Bool = true) throws(ConfigErrors) -> LoadedConfiguration {
        try ConfigLoader(credentialsDirectory: withCredentials ? credentials.path : nil).load(path: configPath)
    }

    /// Error lines with the sandbox path replaced by `<dir>`.
    func errorLines(withCredentials: Bool = true) -> [String]? {
        do {
            _ = try load(withCredentials: withCredentials)
            return nil
        } catch {
            return error.errors.map { $0.description.replacingOccurrences(of: root.path, with: "<dir>") }
        }
    }

    func remove() { try? FileManager.default.removeItem(at: root) }
}
