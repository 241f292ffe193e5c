import ConnwatchCore
import ConnwatchTestSupport
import Foundation
import Testing

@testable import ConnwatchCLI

/// `keyfile create --output`: a private key is written only to a new file of mode 0600,
/// never through a symlink, and renamed into place whole.
@Suite struct KeyFileWriteTests {
    func pems(_ dir: borrowing TemporaryDirectory) throws -> (cert: String, key: String) {
        try TestPKI.golden.writePEMFiles(in: dir.path)
    }

    func mode(_ path: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    /// Everything in the directory but the PEM inputs.
    func entries(_ dir: borrowing TemporaryDirectory) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !$0.hasSuffix(".pem") }.sorted()
    }

    /// The attack: a symlink planted where the key file will go, pointing at a file the
    /// attacker can read (or one the operator would not want overwritten). Refused, with and
    /// without --force; the link and its target untouched; nothing left behind.
    @Test(arguments: [false, true])
    func aSymlinkAtTheTargetIsRefusedAndItsTargetUntouched(force: Bool) throws {
        let dir = try TemporaryDirectory()
        let (cert, key) = try pems(dir)
        let elsewhere = try TemporaryDirectory()
        let bait = elsewhere.path + "/world-readable.json"
        try "bait\n".write(toFile: bait, atomically: false, encoding: .utf8)
        chmod(bait, 0o644)
        let output = dir.path + "/sp.json"
        try FileManager.default.createSymbolicLink(atPath: output, withDestinationPath: bait)

        let out = KeyFileCreate.outcome(cert: cert, key: key, output: output, force: force)
        #expect(out.exitCode == 73, "\(out)")
        #expect(out.stdout.isEmpty)
        #expect(out.stderr.contains("\(output) is a symlink"), "\(out.stderr)")
        #expect(try String(contentsOfFile: bait, encoding: .utf8) == "bait\n")
        #expect(try mode(bait) == 0o644)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: output) == bait)
        #expect(try entries(dir) == ["sp.json"], "a temporary file was left behind")

        // A dangling link (the attacker's file not there yet) is refused the same way.
        try FileManager.default.removeItem(atPath: bait)
        let dangling = KeyFileCreate.outcome(cert: cert, key: key, output: output, force: force)
        #expect(dangling.exitCode == 73 && dangling.stderr.contains("is a symlink"), "\(dangling)")
        #expect(!FileManager.default.fileExists(atPath: bait))
        #expect(try entries(dir) == ["sp.json"])
    }

    /// The file is 0600 whatever the mode of the file it replaces (and the umask: the test
    /// process runs with the usual 022).
    @Test func theResultIs0600AndReplacesAnExistingFileWhole() throws {
        let dir = try TemporaryDirectory()
        let (cert, key) = try pems(dir)
        let output = dir.path + "/sp.json"
        try "old contents\n".write(toFile: output, atomically: false, encoding: .utf8)
        chmod(output, 0o644)
        let before = try #require(try FileManager.default.attributesOfItem(atPath: output)[.systemFileNumber] as? Int)

        let out = KeyFileCreate.outcome(cert: cert, key: key, output: output, force: true)
        #expect(out.exitCode == 0, "\(out)")
        #expect(try mode(output) == 0o600)
        let text = try String(contentsOfFile: output, encoding: .utf8)
        #expect(text.hasPrefix(#"{"private_key": "-----BEGIN "#) && text.hasSuffix("\"}\n"))
        // A new file renamed into place, not the old one truncated and rewritten.
        let after = try #require(try FileManager.default.attributesOfItem(atPath: output)[.systemFileNumber] as? Int)
        #expect(before != after)
        #expect(try entries(dir) == ["sp.json"])
    }

    /// A target that is a directory, and a directory that does not exist: refused, and no
    /// temporary file is left behind.
    @Test func noTemporaryFileIsLeftBehindOnAnError() throws {
        let dir = try TemporaryDirectory()
        let (cert, key) = try pems(dir)
        let output = dir.path + "/sp.json"
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: false)
        let out = KeyFileCreate.outcome(cert: cert, key: key, output: output, force: true)
        #expect(out.exitCode == 73 && out.stderr.contains("not a regular file"), "\(out)")
        #expect(try entries(dir) == ["sp.json"])

        let missing = KeyFileCreate.outcome(cert: cert, key: key, output: dir.path + "/no/such/sp.json", force: false)
        #expect(missing.exitCode == 73 && missing.stderr.contains("cannot create a file beside"), "\(missing)")
        #expect(try entries(dir) == ["sp.json"])
    }
}
