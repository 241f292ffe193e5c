import ConnwatchTestSupport
import Foundation

/// Runs the real `connwatchd` / `connwatchctl` built next to the test bundle
/// (override with `CONNWATCH_BIN_DIR`).
enum Binaries {
    static var directory: URL {
        if let dir = ProcessInfo.processInfo.environment["CONNWATCH_BIN_DIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir)
        }
        // The test runner lives in .build/<triple>/debug/connwatchPackageTests.xctest.
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("connwatchd").path) {
                return url
            }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug")
    }

    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs a binary to completion. Output goes through files, not pipes, so a chatty
    /// child can never block on a full pipe while we wait for it.
    static func run(_ name: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let fm = FileManager.default
        let temporary = try TemporaryDirectory("run")
        let tmp = temporary.url
        let out = tmp.appendingPathComponent("out"), err = tmp.appendingPathComponent("err")
        fm.createFile(atPath: out.path, contents: nil)
        fm.createFile(atPath: err.path, contents: nil)
        let p = Process()
        p.executableURL = directory.appendingPathComponent(name)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "CREDENTIALS_DIRECTORY")
        env.removeValue(forKey: "NOTIFY_SOCKET")
        for (k, v) in environment { env[k] = v }
        p.environment = env
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return Result(
            status: p.terminationStatus,
            stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }
}
