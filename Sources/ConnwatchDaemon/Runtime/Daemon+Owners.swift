import ConnwatchCore
import Foundation
import Synchronization

/// A weak way back to the daemon for closures made while it is being initialised (the
/// delivery worker's owner lookup); set at the end of ``Daemon``'s init.
final class DaemonLink: Sendable {
    private struct Weak {
        weak var daemon: Daemon?
    }

    private let state = Mutex(Weak())

    var daemon: Daemon? { state.withLock { $0.daemon } }

    func set(_ daemon: Daemon) { state.withLock { $0.daemon = daemon } }
}

extension Daemon {
    /// The owners of connector `name`'s app for an `[[email]]` sink with `owners = true`
    /// (SPEC §5), through ``OwnersDirectory``: the current configuration's connector, read
    /// by its tenant's observer when observed, else with its own secret on the current
    /// checker's clients.
    func owners(ofConnector name: String) async -> OwnersLookup {
        guard let connector = configuration.connectors.first(where: { $0.name == name }) else {
            return .unavailable("owners not read: connector \(name) is no longer configured")
        }
        return await ownersDirectory.owners(of: connector)
    }

    /// ``OwnersDirectory``'s reader for this daemon.
    static func ownersReader(_ link: DaemonLink) -> OwnersDirectory.Reader {
        { [link] connector in
            guard let daemon = link.daemon else { return .unavailable("owners not read: the daemon is stopping") }
            let checker = daemon.checkerLeases.enter { daemon.checker }
            let lookup = await OwnersDirectory.read(
                connector, clients: checker.clients, observer: daemon.observers.monitor(forTenant: connector.tenantId))
            if let retired = daemon.checkerLeases.leave(checker) { await retired.shutdown() }
            return lookup
        }
    }
}
