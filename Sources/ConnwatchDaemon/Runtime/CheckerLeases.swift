import ConnwatchEntra
import Synchronization

/// Connector checks in flight per set of HTTPS clients. A reload that replaces the clients
/// retires the old ones; they are shut down when the last check that started on them ends.
///
/// Shutting them down at once failed every check in flight with "shutting down": counted as
/// transient failures of Microsoft's side, and a burst of reloads (50 in 10 s) turned healthy
/// connectors `unknown` and paged someone for nothing (issue 19).
final class CheckerLeases: Sendable {
    private struct Entry {
        var inFlight = 0
        var retired: MicrosoftClients?
    }

    private let entries = Mutex<[ObjectIdentifier: Entry]>([:])

    /// Takes the current checker (read by `current` under the lease lock, so a reload cannot
    /// retire it between the read and the lease) and counts a check on it.
    func enter(_ current: () -> ConnectorChecker) -> ConnectorChecker {
        entries.withLock { entries in
            let checker = current()
            entries[ObjectIdentifier(checker.clients.transport), default: Entry()].inFlight += 1
            return checker
        }
    }

    /// A check on `checker` ended; returns its clients when they were retired and are now unused.
    func leave(_ checker: ConnectorChecker) -> MicrosoftClients? {
        let key = ObjectIdentifier(checker.clients.transport)
        return entries.withLock { entries in
            guard var e = entries[key] else { return nil }
            e.inFlight -= 1
            if e.inFlight > 0 {
                entries[key] = e
                return nil
            }
            entries[key] = nil
            return e.retired
        }
    }

    /// A reload replaced `clients`; returns them when no check uses them (shut them down now),
    /// else nil: the last check to leave returns them.
    func retire(_ clients: MicrosoftClients) -> MicrosoftClients? {
        let key = ObjectIdentifier(clients.transport)
        return entries.withLock { entries in
            guard var e = entries[key], e.inFlight > 0 else { return clients }
            e.retired = clients
            entries[key] = e
            return nil
        }
    }
}
