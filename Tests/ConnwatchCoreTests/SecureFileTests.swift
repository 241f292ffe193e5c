import ConnwatchTestSupport
import Foundation
import Testing

@testable import ConnwatchCore

#if canImport(Glibc)
    import Glibc
#endif

/// Secret files are judged on the open descriptor: no symlink, a regular file, mode 0600 or
/// tighter, owned by root or this process's user; anything that cannot be judged is refused.
@Suite struct SecureFileTests {
    let temporary = try! TemporaryDirectory("securefile")
    var dir: URL { temporary.url }

    func file(_ name: String, _ text: String, mode: Int) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    static let rules: [(mode: UInt32, owner: UInt32, checkMode: Bool, expected: SecureFile.Failure?)] = [
        (UInt32(S_IFREG) | 0o600, 0, true, nil),
        (UInt32(S_IFREG) | 0o400, 1234, true, nil),  // the process's own user (processUser below)
        (UInt32(S_IFREG) | 0o640, 0, true, .looseMode(0o640)),
        (UInt32(S_IFREG) | 0o604, 0, true, .looseMode(0o604)),
        (UInt32(S_IFREG) | 0o644, 0, false, nil),  // systemd credentials: mode not judged
        (UInt32(S_IFREG) | 0o600, 999, true, .foreignOwner(uid: 999)),
        (UInt32(S_IFREG) | 0o600, 999, false, .foreignOwner(uid: 999)),
        (UInt32(S_IFDIR) | 0o700, 0, true, .notRegularFile),
        (UInt32(S_IFIFO) | 0o600, 0, true, .notRegularFile),
    ]

    @Test(arguments: rules.indices)
    func rulesOnAnFstatResult(index: Int) {
        let r = Self.rules[index]
        let outcome = Result { () throws(SecureFile.Failure) in
            try SecureFile.judge(mode: r.mode, owner: r.owner, checkMode: r.checkMode, processUser: 1234)
        }
        switch (outcome, r.expected) {
        case (.success, nil): break
        case (.failure(let got), let want?): #expect(got == want)
        default: Issue.record("mode \(String(r.mode, radix: 8)) owner \(r.owner): got \(outcome), want \(String(describing: r.expected))")
        }
    }

    @Test func readsAPrivateFile() throws {
        let path = try file("ok", "s3cret\n", mode: 0o600)
        #expect(try SecureFile.read(path) == Data("s3cret\n".utf8))
    }

    @Test func refusesASymlinkEvenToAGoodFile() throws {
        let target = try file("target", "s3cret", mode: 0o600)
        let link = dir.appendingPathComponent("link").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        #expect(throws: SecureFile.Failure.symlink) { try SecureFile.read(link) }
        #expect(SecureFile.Failure.symlink.explain(link).contains("symlink"))
        #expect(!SecureFile.Failure.symlink.explain(link).contains("chmod"))
    }

    @Test func refusesGroupOrOtherReadable() throws {
        let path = try file("loose", "s3cret", mode: 0o644)
        #expect(throws: SecureFile.Failure.looseMode(0o644)) { try SecureFile.read(path) }
        #expect(try SecureFile.read(path, checkMode: false) == Data("s3cret".utf8))
    }

    @Test func refusesAFifoWithoutBlocking() throws {
        let path = dir.appendingPathComponent("fifo").path
        #expect(mkfifo(path, 0o600) == 0)
        #expect(throws: SecureFile.Failure.notRegularFile) { try SecureFile.read(path) }
    }

    @Test func refusesAMissingFileAndATooLargeOne() throws {
        #expect(throws: SecureFile.Failure.notFound) { try SecureFile.read(dir.appendingPathComponent("none").path) }
        let big = try file("big", String(repeating: "x", count: 2048), mode: 0o600)
        #expect(throws: SecureFile.Failure.tooLarge(limit: 1024)) { try SecureFile.read(big, maxBytes: 1024) }
    }

    /// A file another (non-root) user owns: real when the tests run as root (CI does).
    @Test(.enabled(if: geteuid() == 0)) func refusesAFileOwnedByAnotherUser() throws {
        let path = try file("foreign", "s3cret", mode: 0o600)
        #expect(chown(path, 65534, 65534) == 0)
        #expect(throws: SecureFile.Failure.foreignOwner(uid: 65534)) { try SecureFile.read(path) }
        #expect(chown(path, 0, 0) == 0)
        #expect(try SecureFile.read(path) == Data("s3cret".utf8))
    }

    static let shapes: [(String, Validators.PastedShape)] = [
        ("contoso-onedrive", .other),
        ("webhook-soc", .other),
        ("Contoso-Ex@1", .other),
        ("Xq8~fixture.client-secret_value", .secret),
        ("Q7xK2mN9pL4vR8sT1wY6zA3bC5dE0fGh", .secret),
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", .signingKey),
        ("https://hooks.slack.com/services/T0/B0/abc", .url),
        ("/etc/connwatch/secrets/Contoso-OneDrive-2024", .other),
        ("~/secret", .other),
    ]

    @Test(arguments: shapes.indices)
    func pastedShapes(index: Int) {
        #expect(Validators.pastedShape(Self.shapes[index].0) == Self.shapes[index].1, "\(Self.shapes[index].0)")
    }
}
