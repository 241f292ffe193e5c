import Logging

/// swift-log → journal: ordinary logs with PRIORITY by level and
/// `SYSLOG_IDENTIFIER=connwatchd`; metadata becomes `CONNWATCH_*` fields.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let writer: JournalWriter
    let label: String

    public init(label: String, writer: JournalWriter) {
        self.label = label
        self.writer = writer
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        let fields: [(String, String)] = all.sorted { $0.key < $1.key }.compactMap { k, v in
            let name = "CONNWATCH_" + k.uppercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
            return JournalEntry.isValidFieldName(name) ? (name, "\(v)") : nil
        }
        writer.send(
            JournalEntry(message: "\(event.message)", priority: Self.priority(event.level), fields: fields),
            file: event.file, line: Int(event.line), function: event.function)
    }
}
