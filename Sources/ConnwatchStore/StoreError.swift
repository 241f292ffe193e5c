/// Why the history store refused or failed. Descriptions name the file and say what to
/// do; none of them carries a stored value (GRDB keeps statement arguments out of its
/// error messages unless told otherwise, and connwatch never tells it).
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The database's directory does not exist. connwatch does not create it: systemd's
    /// `StateDirectory=` (or the package's tmpfiles.d entry) does, with the right owner.
    case directoryMissing(path: String, directory: String)
    /// The file was migrated by a newer connwatch (it lists migrations this version does
    /// not know). It was opened read-only and left untouched.
    case newerDatabase(path: String, unknownMigrations: [String])
    /// The file is an SQLite database, but not one connwatch wrote.
    case notAConnwatchDatabase(path: String)
    /// SQLite could not open or migrate the file.
    case cannotOpen(path: String, reason: String)
    /// A statement failed (constraint, I/O, busy…): the transaction was rolled back.
    case sqlite(operation: String, message: String)
    /// A stored row does not decode into a Core value (hand-edited, or a bug).
    case unreadableRow(table: String, detail: String)
    /// `recordAttempt` for a delivery that is not currently claimed (never claimed,
    /// already finished, or its lease was taken over).
    case deliveryNotLeased(id: Int64)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .directoryMissing(let path, let directory):
            "cannot open the database \(path): the directory \(directory) does not exist; create it (systemd does with StateDirectory=connwatch) or set [daemon] database to a path in an existing directory"
        case .newerDatabase(let path, let unknown):
            "the database \(path) was written by a newer connwatch (unknown schema migrations: \(unknown.joined(separator: ", "))); it was left untouched: upgrade connwatch, or move the file away to start a new history"
        case .notAConnwatchDatabase(let path):
            "\(path) is an SQLite database that connwatch did not create; it was left untouched: point [daemon] database elsewhere, or move the file away"
        case .cannotOpen(let path, let reason):
            "cannot open the database \(path): \(reason)"
        case .sqlite(let operation, let message):
            "database error during \(operation): \(message)"
        case .unreadableRow(let table, let detail):
            "unreadable row in table \(table): \(detail)"
        case .deliveryNotLeased(let id):
            "delivery \(id) is not claimed (already finished, never claimed, or its lease expired and was taken over)"
        case .invalidArgument(let why):
            "invalid argument: \(why)"
        }
    }
}
