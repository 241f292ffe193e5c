import CSystemd
import Foundation

/// One structured journal entry. Field names are `A–Z0–9_`, not starting with `_`.
public struct JournalEntry: Sendable, Equatable {
    public var message: String
    /// syslog priority 0–7 (2 crit, 3 err, 4 warning, 5 notice, 6 info, 7 debug).
    public var priority: Int
    /// 32 lower-case hex digits; explained by the catalog for `journalctl -x`.
    public var messageID: String?
    public var fields: [(String, String)]

    public init(message: String, priority: Int, messageID: String? = nil, fields: [(String, String)] = []) {
        self.message = message
        self.priority = priority
        self.messageID = messageID
        self.fields = fields
    }

    public static func == (a: JournalEntry, b: JournalEntry) -> Bool {
        a.message == b.message && a.priority == b.priority && a.messageID == b.messageID
            && a.fields.map { "\($0.0)=\($0.1)" } == b.fields.map { "\($0.0)=\($0.1)" }
    }

    /// Valid journal field name (systemd.journal-fields(7)).
    public static func isValidFieldName(_ s: String) -> Bool {
        guard let first = s.first, first != "_", !first.isNumber, s.count <= 64 else { return false }
        return s.allSatisfy { ($0.isASCII && $0.isUppercase) || ($0.isASCII && $0.isNumber) || $0 == "_" }
    }
}

/// Where alert transitions are journaled: the port the daemon writes through, so that a
/// test can read back the entries (and their `CONNWATCH_*` fields) a cycle produced.
public protocol JournalSink: Sendable {
    /// `file`, `line` and `function` are the caller's (journald's `CODE_*` fields).
    /// - Returns: false when the entry could not reach journald (it went elsewhere).
    @discardableResult
    func send(_ entry: JournalEntry, file: String, line: Int, function: String) -> Bool
}

/// Writes to the systemd journal through the native protocol (`sd_journal_sendv`), or to
/// stderr when no journald listens (libsystemd would silently drop the entry).
public struct JournalWriter: JournalSink {
    public let identifier: String
    public let toJournal: Bool

    /// - Parameter forceStderr: write to stderr even when journald is there (tests, `--once`).
    public init(identifier: String = "connwatchd", forceStderr: Bool = false) {
        self.identifier = identifier
        self.toJournal = !forceStderr && JournalWriter.journalAvailable()
    }

    /// journald listens on its native socket.
    public static func journalAvailable() -> Bool {
        var st = stat()
        return stat("/run/systemd/journal/socket", &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK
    }

    @discardableResult
    public func send(
        _ entry: JournalEntry, file: String = #fileID, line: Int = #line, function: String = #function
    ) -> Bool {
        guard toJournal else {
            FileHandle.standardError.write(Data(JournalWriter.stderrLine(entry, identifier: identifier).utf8))
            return true
        }
        var items: [String] = [
            "MESSAGE=\(entry.message)", "PRIORITY=\(max(0, min(7, entry.priority)))", "SYSLOG_IDENTIFIER=\(identifier)",
        ]
        if let id = entry.messageID { items.append("MESSAGE_ID=\(id)") }
        for (k, v) in entry.fields where JournalEntry.isValidFieldName(k) { items.append("\(k)=\(v)") }
        if JournalWriter.sendv(items, file: file, line: line, function: function) { return true }
        // journald went away (or its socket is stale): the entry is not lost, it goes to stderr.
        FileHandle.standardError.write(Data(JournalWriter.stderrLine(entry, identifier: identifier).utf8))
        return false
    }

    /// One buffer per item, an iovec array pointing into them. Values may hold newlines.
    private static func sendv(_ items: [String], file: String, line: Int, function: String) -> Bool {
        let buffers = items.map { Array($0.utf8) }
        var result: Int32 = -1
        var iov = [iovec](repeating: iovec(), count: buffers.count)
        func fill(_ i: Int) {
            if i == buffers.count {
                result = iov.withUnsafeMutableBufferPointer { p in
                    sd_journal_sendv_with_location(
                        "CODE_FILE=\(file)", "CODE_LINE=\(line)", function, p.baseAddress, Int32(p.count))
                }
                return
            }
            buffers[i].withUnsafeBytes { raw in
                iov[i] = iovec(iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress), iov_len: raw.count)
                fill(i + 1)
            }
        }
        fill(0)
        return result >= 0
    }

    static func stderrLine(_ e: JournalEntry, identifier: String) -> String {
        let level = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"][max(0, min(7, e.priority))]
        var s = "\(identifier)[\(level)]: \(e.message)"
        let extra = e.fields.filter { $0.0.hasPrefix("CONNWATCH_") }
        if !extra.isEmpty { s += " (" + extra.map { "\($0.0)=\($0.1)" }.joined(separator: " ") + ")" }
        return s.replacingOccurrences(of: "\n", with: " ") + "\n"
    }
}
