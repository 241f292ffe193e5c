import Foundation
import Testing

@testable import ConnwatchAlerting

/// Against the real journald (scripts/test.sh starts one when the machine has none).
@Suite(.serialized) struct JournalTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `journalctl -o json` for entries matching a field, waiting for journald to flush.
    static func read(_ match: String) throws -> [[String: Any]] {
        for _ in 0..<50 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/journalctl")
            p.arguments = ["-o", "json", "--no-pager", match]
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("jq-\(UUID().uuidString)")
            FileManager.default.createFile(atPath: out.path, contents: nil)
            defer { try? FileManager.default.removeItem(at: out) }
            p.standardOutput = try FileHandle(forWritingTo: out)
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n")
            let entries = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            if !entries.isEmpty { return entries }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return []
    }

    @Test func structuredEntryReachesTheJournalIntact() throws {
        try #require(JournalWriter.journalAvailable(), "journald must run for this test (scripts/test.sh starts it)")
        let marker = "test-\(UUID().uuidString.lowercased())"
        let writer = JournalWriter(identifier: "connwatchd-test")
        #expect(writer.toJournal)
        let ok = writer.send(
            JournalEntry(
                message: "secret of \(marker) expires in 12 days\nsecond line", priority: 4,
                messageID: MessageIDs.byEventType["connector.secret.expiring"],
                fields: [("CONNWATCH_CONNECTOR", marker), ("CONNWATCH_DAYS_LEFT", "12"), ("bad-name", "dropped")]))
        #expect(ok)
        let entries = try Self.read("CONNWATCH_CONNECTOR=\(marker)")
        let e = try #require(entries.first)
        #expect(entries.count == 1)
        #expect(e["MESSAGE"] as? String == "secret of \(marker) expires in 12 days\nsecond line")
        #expect(e["PRIORITY"] as? String == "4")
        #expect(e["MESSAGE_ID"] as? String == "81fdc26e26fd4bbe9d084cbaacfa4a19")
        #expect(e["SYSLOG_IDENTIFIER"] as? String == "connwatchd-test")
        #expect(e["CONNWATCH_DAYS_LEFT"] as? String == "12")
        #expect(e["CODE_FILE"] as? String != nil)
        #expect(e["BAD-NAME"] == nil)
    }

    @Test func fieldNames() {
        #expect(JournalEntry.isValidFieldName("CONNWATCH_CONNECTOR"))
        #expect(!JournalEntry.isValidFieldName("_PID"))
        #expect(!JournalEntry.isValidFieldName("connwatch"))
        #expect(!JournalEntry.isValidFieldName("9X"))
    }

    @Test func stderrFallbackIsOneLine() {
        let line = JournalWriter.stderrLine(
            JournalEntry(message: "a\nb", priority: 2, fields: [("CONNWATCH_CONNECTOR", "x"), ("OTHER", "y")]),
            identifier: "connwatchd")
        #expect(line == "connwatchd[crit]: a b (CONNWATCH_CONNECTOR=x)\n")
    }

    /// Every MESSAGE_ID has a catalog entry, and the catalog has no stray ones.
    @Test func catalogExplainsEveryMessageID() throws {
        let text = try String(
            contentsOf: Self.repo.appendingPathComponent("packaging/catalog/connwatch.catalog"), encoding: .utf8)
        let ids = text.split(separator: "\n").filter { $0.hasPrefix("-- ") }.map { String($0.dropFirst(3)) }
        #expect(Set(ids) == Set(MessageIDs.all))
        #expect(ids.count == MessageIDs.all.count)
        for id in ids { #expect(id.count == 32 && id.allSatisfy(\.isHexDigit)) }
    }
}
