import ConnwatchCore
import ConnwatchTestSupport
import Foundation
import Testing

@testable import ConnwatchCLI

/// `connwatchctl report`: text to stdout, or the page to a file written like a key file.
@Suite struct ReportCommandTests {
    static let page = "<!DOCTYPE html>\n<html><body>report</body></html>\n"

    static func daemon(format: String, days: Int = 90, body: String, type: String) -> CannedDaemon {
        CannedDaemon([
            "GET /v1/report?days=\(days)&since=7d&format=\(format)": .success(
                HTTPReply(status: 200, headers: ["content-type": type], body: Data(body.utf8)))
        ])
    }

    @Test func printsTheTextReport() {
        let d = Self.daemon(format: "text", body: "connwatch report, …\n", type: "text/plain; charset=utf-8")
        let out = ReportCommand.outcome(html: nil, days: 90, since: "7d", d.context())
        #expect(out == Outcome(stdout: "connwatch report, …\n"))
    }

    @Test func writesThePageThroughATemporaryFile() throws {
        let dir = try TemporaryDirectory("report")
        let file = dir.path + "/report.html"
        try Data("old".utf8).write(to: URL(fileURLWithPath: file))
        let d = Self.daemon(format: "html", days: 30, body: Self.page, type: "text/html; charset=utf-8")
        let out = ReportCommand.outcome(html: file, days: 30, since: "7d", d.context())
        #expect(out.exitCode == 0 && out.stdout.contains("wrote the report to \(file)"), "\(out)")
        #expect(try String(contentsOfFile: file, encoding: .utf8) == Self.page)
        let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
        #expect(mode == 0o644)
        // Nothing left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["report.html"])
    }

    @Test func refusesASymlink() throws {
        let dir = try TemporaryDirectory("report")
        let target = dir.path + "/elsewhere"
        try Data("keep".utf8).write(to: URL(fileURLWithPath: target))
        let link = dir.path + "/report.html"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let d = Self.daemon(format: "html", body: Self.page, type: "text/html; charset=utf-8")
        let out = ReportCommand.outcome(html: link, days: 90, since: "7d", d.context())
        #expect(out.exitCode == 73 && out.stderr.contains("is a symlink; refusing to write the report"), "\(out)")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "keep")
    }

    @Test func daemonErrorsKeepTheirExitCodes() {
        let refused = CannedDaemon([
            "GET /v1/report?days=90&since=7d&format=text": .success(
                HTTPReply(
                    status: 400, headers: ["content-type": "application/json"],
                    body: Data(#"{"error":"days=0: a number from 1 to 3650","schema_version":1}"#.utf8)))
        ])
        let out = ReportCommand.outcome(html: nil, days: 90, since: "7d", refused.context())
        #expect(out.exitCode == Exit.usage && out.stderr.contains("a number from 1 to 3650"))
        let down = CannedDaemon([
            "GET /v1/report?days=90&since=7d&format=text": .failure(.unreachable(path: "/x", reason: "no such file"))
        ])
        #expect(ReportCommand.outcome(html: nil, days: 90, since: "7d", down.context()).exitCode == Exit.unavailable)
    }

    /// A reply that is not the report (wrong content type) is not written anywhere.
    @Test func aReplyOfTheWrongTypeIsRefused() throws {
        let dir = try TemporaryDirectory("report")
        let file = dir.path + "/report.html"
        let d = Self.daemon(format: "html", body: "{}", type: "application/json")
        let out = ReportCommand.outcome(html: file, days: 90, since: "7d", d.context())
        #expect(out.exitCode == Exit.software)
        #expect(!FileManager.default.fileExists(atPath: file))
    }
}
