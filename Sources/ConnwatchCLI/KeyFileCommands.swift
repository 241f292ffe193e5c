import ArgumentParser
import ConnwatchCore
import ConnwatchEntra
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

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

    @Option(
        name: [.short, .long],
        help: "Output file (created with mode 0600, never through a symlink; default: standard output).")
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
        switch KeyFileWriter.write(file, to: output, replace: force) {
        case .success: break
        case .failure(.exists): return fail("\(output) exists; pass --force to replace it")
        case .failure(let e): return fail(e.description, 73)
        }
        return Outcome(
            stdout:
                "wrote \(output) (mode 0600); certificate thumbprint (SHA-1) \(credential.sha1Thumbprint), expires \(RFC3339.string(credential.notValidAfter))\n"
        )
    }
}

/// Writes a key file the way a file holding a private key must be written: the bytes go to a
/// new temporary file beside the target, created with `O_CREAT|O_EXCL|O_NOFOLLOW` and mode
/// 0600 (never an existing file, never through a link someone planted, never readable by
/// anyone else for a moment), are fsynced, and the file is then renamed over the target, so
/// the target is either the old file or the whole new one. A target that is a symlink is
/// refused: following it would write the key wherever the link points (a world-readable
/// directory, or over another file), and replacing it would surprise whoever made it.
/// Nothing is left behind on an error.
enum KeyFileWriter {
    enum Failure: Error, Equatable, CustomStringConvertible {
        case exists
        case symlink(String, what: String = "a private key")
        case notAFile(String)
        case system(String, what: String, errno: Int32)

        var description: String {
            switch self {
            case .exists: "the file exists"
            case .symlink(let p, let what):
                "\(p) is a symlink; refusing to write \(what) through it (remove the link or name the real file)"
            case .notAFile(let p): "\(p) exists and is not a regular file"
            case .system(let p, let what, let e): "cannot \(what) \(p): \(String(cString: strerror(e)))"
            }
        }
    }

    static func write(_ contents: Secret, to path: String, replace: Bool) -> Result<Void, Failure> {
        contents.withValue { write(bytes: Array($0.utf8), to: path, replace: replace, mode: 0o600, what: "a private key") }
    }

    /// The same steps for any file: `mode` is set whatever the umask; `what` names the
    /// contents in the symlink refusal. The report (`connwatchctl report --html`) is written
    /// so too, mode 0644: it holds no secret, but a link planted where it goes must not
    /// redirect it over another file.
    static func write(bytes: [UInt8], to path: String, replace: Bool, mode: mode_t, what: String) -> Result<Void, Failure> {
        var st = stat()
        if lstat(path, &st) == 0 {
            switch st.st_mode & S_IFMT {
            case S_IFLNK: return .failure(.symlink(path, what: what))
            case S_IFREG: if !replace { return .failure(.exists) }
            default: return .failure(.notAFile(path))
            }
        } else if errno != ENOENT {
            return .failure(.system(path, what: "look at", errno: errno))
        }
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let temporary = directory + "/." + url.lastPathComponent + ".tmp-" + suffix
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return .failure(.system(path, what: "create a file beside", errno: errno)) }
        func fail(_ what: String, _ e: Int32) -> Result<Void, Failure> {
            unlink(temporary)
            return .failure(.system(path, what: what, errno: e))
        }
        // The mode is `mode` whatever the umask (created 0600, then fchmod).
        guard fchmod(fd, mode) == 0 else {
            let e = errno
            close(fd)
            return fail("set the mode of a new file for", e)
        }
        let written: Int32? = {
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += n
            }
            return fsync(fd) == 0 ? nil : errno
        }()
        if let e = written {
            close(fd)
            return fail("write", e)
        }
        guard close(fd) == 0 else { return fail("write", errno) }
        guard rename(temporary, path) == 0 else { return fail("replace", errno) }
        // The rename itself on disk: a crash now leaves the new file, not none.
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            fsync(dirFD)
            close(dirFD)
        }
        return .success(())
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
