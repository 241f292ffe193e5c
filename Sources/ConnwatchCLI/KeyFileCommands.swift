import ArgumentParser
import ConnwatchCore
import ConnwatchEntra
import Foundation

/// `connwatchctl keyfile create|inspect`: the SharePoint key file of reference step 5, done right.
struct KeyFileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keyfile", abstract: "Create or inspect the SharePoint private key JSON file (reference step 5).",
        subcommands: [KeyFileCreate.self, KeyFileInspect.self])
}

/// Exit code for a key file that is not valid (sysexits EX_DATAERR).
let exitDataError: Int32 = 65

struct KeyFileCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Write {\"private_key\": …, \"public_cert\": …} from two PEM files, mode 0600.")

    @Option(name: .long, help: "Certificate PEM file (the one uploaded to the app).")
    var cert: String

    @Option(name: .long, help: "Unencrypted private key PEM file (openssl pkcs12 -nocerts -nodes).")
    var key: String

    @Option(name: [.short, .long], help: "Output file (created with mode 0600; default: standard output).")
    var output: String?

    @Flag(name: .long, help: "Replace an existing output file.")
    var force = false

    func run() throws { try Self.outcome(cert: cert, key: key, output: output, force: force).emit() }

    static func outcome(cert: String, key: String, output: String?, force: Bool) -> Outcome {
        func fail(_ message: String, _ code: Int32 = Exit.usage) -> Outcome {
            Outcome(stderr: "connwatchctl: \(message)\n", exitCode: code)
        }
        guard let certPEM = try? String(contentsOfFile: cert, encoding: .utf8) else {
            return fail("cannot read the certificate file \(cert)")
        }
        guard let keyData = FileManager.default.contents(atPath: key) else {
            return fail("cannot read the private key file \(key)")
        }
        let keyPEM = Secret(String(decoding: keyData, as: UTF8.self))
        let credential: CertificateCredential
        do {
            credential = try CertificateCredential(certificatePEM: certPEM, privateKey: keyPEM)
        } catch {
            return fail("\(error)", exitDataError)
        }
        let file = SharePointKeyFile.render(certificatePEM: certPEM, privateKeyPEM: keyPEM)
        guard let output else {
            // Asked for on standard output: the operator redirects it.
            return file.withValue { Outcome(stdout: $0) }
        }
        if FileManager.default.fileExists(atPath: output) && !force {
            return fail("\(output) exists; pass --force to replace it")
        }
        // Create it 0600 from the start: the key never sits in a world-readable file.
        let fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return fail("cannot create \(output): \(String(cString: strerror(errno)))", 73) }
        fchmod(fd, 0o600)
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        file.withValue { handle.write(Data($0.utf8)) }
        return Outcome(
            stdout:
                "wrote \(output) (mode 0600); certificate thumbprint (SHA-1) \(credential.sha1Thumbprint), expires \(RFC3339.string(credential.notValidAfter))\n"
        )
    }
}

struct KeyFileInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Validate a key file: JSON (naming typographic quotes), key/certificate match, expiry, thumbprint.")

    @Argument(help: "The key file.")
    var file: String

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func run() throws { try Self.outcome(file: file, json: json, now: Date()).emit() }

    static func outcome(file: String, json: Bool, now: Date) -> Outcome {
        func encode(_ obj: [String: Any]) -> String {
            let data =
                (try? JSONSerialization.data(
                    withJSONObject: obj, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])) ?? Data()
            return String(decoding: data, as: UTF8.self) + "\n"
        }
        let c: CertificateCredential
        do {
            c = try SharePointKeyFile.load(path: file)
        } catch {
            if json {
                return Outcome(
                    stdout: encode(["schema_version": 1, "file": file, "valid": false, "error": error.description]),
                    exitCode: exitDataError)
            }
            return Outcome(stderr: "\(file): \(error.description)\n", exitCode: exitDataError)
        }
        let days = Int((c.notValidAfter.timeIntervalSince(now) / 86400).rounded(.down))
        let subject = String(describing: c.certificate.subject)
        let expired = c.notValidAfter <= now
        let code = expired ? exitDataError : 0
        if json {
            return Outcome(
                stdout: encode([
                    "schema_version": 1, "file": file, "valid": !expired, "subject": subject,
                    "not_after": RFC3339.string(c.notValidAfter), "days_left": days,
                    "thumbprint_sha1": c.sha1Thumbprint, "key_matches_certificate": true,
                ]), exitCode: code)
        }
        var t = TextTable(headers: ["FIELD", "VALUE"])
        t.append(["file", file])
        t.append(["format", "valid JSON, one line, straight quotes"])
        t.append(["subject", subject])
        t.append(["key", "matches the certificate"])
        t.append(["expires", "\(RFC3339.string(c.notValidAfter)) (\(expired ? "expired" : "\(days) days left"))"])
        t.append(["thumbprint", "\(c.sha1Thumbprint)  (compare with Certificates & secrets in the portal)"])
        return Outcome(stdout: t.render(), exitCode: code)
    }
}
