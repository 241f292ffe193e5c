import Foundation
import Testing

/// `--socket`, `--config` and `--json` typed before the command, as operators (and scripts
/// that always pass `--socket`) do — the local commands included.
@Suite struct GlobalOptionsEndToEndTests {
    @Test func globalOptionsBeforeLocalCommands() throws {
        let tree = try ConfigCheckEndToEndTests.ExampleTree()
        defer { tree.remove() }
        let socket = tree.root.appendingPathComponent("absent.sock").path

        // The reference document's sample, typographic quotes and all: a key file error (65),
        // not a usage error (64) about --socket.
        try tree.put("keys/pasted.json", "{\u{201C}private_key\u{201D}: \u{201D}<Private Key>\u{201D}}")
        let keyFile = tree.root.appendingPathComponent("keys/pasted.json").path
        let inspect = try Binaries.run("connwatchctl", ["--socket", socket, "keyfile", "inspect", keyFile])
        #expect(inspect.status == 65, "\(inspect.stderr)")
        #expect(!inspect.stderr.contains("Unknown option"))
        #expect(inspect.stderr.contains(keyFile))
        let inspectJSON = try Binaries.run(
            "connwatchctl", ["--socket", socket, "--json", "keyfile", "inspect", keyFile])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(inspectJSON.stdout.utf8)) as? [String: Any])
        #expect(obj["valid"] as? Bool == false)

        let permissions = try Binaries.run("connwatchctl", ["--json", "permissions", "exchange"])
        #expect(permissions.status == 0, "\(permissions.stderr)")
        let perms = try #require(
            try JSONSerialization.jsonObject(with: Data(permissions.stdout.utf8)) as? [String: Any])
        #expect(perms["kind"] as? String == "exchange")

        let consent = try Binaries.run("connwatchctl", ["--config", tree.config, "consent-url", "contoso-onedrive"])
        #expect(consent.status == 0, "\(consent.stderr)")
        #expect(consent.stdout.hasPrefix("https://login.microsoftonline.com/"))
        #expect(consent.stdout.contains("state=administration/add-casb-tenants"))
        // The same, the option after the name as before.
        let after = try Binaries.run("connwatchctl", ["consent-url", "contoso-onedrive", "--config", tree.config])
        #expect(after.stdout == consent.stdout)

        let check = try Binaries.run(
            "connwatchctl", ["--socket", socket, "--config", tree.config, "--json", "config", "check"],
            environment: ["CREDENTIALS_DIRECTORY": tree.credentials])
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.contains("\"valid\" : true"))

        // A daemon command still takes all three; no daemon listens on the socket: 69.
        let status = try Binaries.run("connwatchctl", ["--socket", socket, "--json", "status"])
        #expect(status.status == 69)
        #expect(status.stderr.contains(socket))
    }
}
