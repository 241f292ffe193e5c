import ConnwatchCore
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Why the control socket cannot be set up. Start-up stops with this message.
enum ControlSocketError: Error, CustomStringConvertible {
    case inUse(path: String)
    case notASocket(path: String)
    case cannotVerify(path: String, reason: String)
    case directory(path: String, reason: String)
    case lock(path: String, reason: String)
    case remove(path: String, reason: String)

    var description: String {
        switch self {
        case .inUse(let p):
            "another connwatchd is serving the control socket \(p); stop it first, or give this one its own "
                + "[daemon] socket"
        case .notASocket(let p):
            "\(p) exists and is not a socket; it was left alone: remove it or choose another [daemon] socket"
        case .cannotVerify(let p, let r):
            "cannot tell whether a daemon still serves \(p) (\(r)); it was left alone"
        case .directory(let p, let r): "cannot create the socket directory \(p): \(r)"
        case .lock(let p, let r): "cannot lock \(p): \(r)"
        case .remove(let p, let r): "cannot remove the stale socket \(p): \(r)"
        }
    }
}

/// The control socket's file: claimed before binding, secured after, removed on exit.
///
/// Claiming never deletes a socket that another live daemon serves: an exclusive `flock`
/// on `<socket>.lock` (held for the daemon's life) excludes a concurrent start, and a
/// socket file is removed only when connecting to it is refused — nobody listens.
final class ControlSocketClaim: Sendable {
    let path: String
    private let lockFD: Int32

    private init(path: String, lockFD: Int32) {
        self.path = path
        self.lockFD = lockFD
    }

    /// The socket's path: `[daemon] socket`; when that is the default and systemd gave a
    /// `RuntimeDirectory=` (`$RUNTIME_DIRECTORY`), the socket goes there — the same path
    /// under the packaged unit, a private one for a daemon run elsewhere.
    static func path(settings: DaemonSettings, environment: [String: String]) -> String {
        if settings.socket == DaemonSettings.defaultSocket,
            let dir = environment["RUNTIME_DIRECTORY"]?.split(separator: ":").first, !dir.isEmpty
        {
            return String(dir) + "/connwatch.sock"
        }
        return settings.socket
    }

    /// Makes the path ready for `bind`: creates a missing parent directory (0755), takes
    /// the lock, removes a stale socket file.
    static func claim(path: String) throws(ControlSocketError) -> ControlSocketClaim {
        let directory = (path as NSString).deletingLastPathComponent
        var st = stat()
        if stat(directory, &st) != 0 {
            if mkdir(directory, 0o755) != 0 && errno != EEXIST {
                throw .directory(path: directory, reason: String(cString: strerror(errno)))
            }
        }
        let lockPath = path + ".lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .lock(path: lockPath, reason: String(cString: strerror(errno))) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            close(fd)
            if e == EWOULDBLOCK { throw .inUse(path: path) }
            throw .lock(path: lockPath, reason: String(cString: strerror(e)))
        }
        let claim = ControlSocketClaim(path: path, lockFD: fd)
        if lstat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFSOCK else { throw .notASocket(path: path) }
            switch probe(path) {
            case .listening: throw .inUse(path: path)
            case .refused:
                if unlink(path) != 0 && errno != ENOENT {
                    throw .remove(path: path, reason: String(cString: strerror(errno)))
                }
            case .other(let reason): throw .cannotVerify(path: path, reason: reason)
            }
        }
        return claim
    }

    enum Probe: Equatable {
        case listening
        case refused
        case other(String)
    }

    /// Connects without blocking: accepted, or a full backlog, means somebody listens.
    static func probe(_ path: String) -> Probe {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .other(String(cString: strerror(errno))) }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return .other("path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if rc == 0 { return .listening }
        switch errno {
        case EAGAIN, EINPROGRESS: return .listening
        case ECONNREFUSED, ENOENT: return .refused
        case let e: return .other(String(cString: strerror(e)))
        }
    }

    /// After `bind`: mode 0660 and the configured group (when it exists). Problems are
    /// logged, not fatal: the socket works for root and the daemon's user regardless.
    func secure(group: String, accounts: some AccountDirectory, logger: Logger) {
        if chmod(path, 0o660) != 0 {
            logger.warning("cannot set mode 0660 on \(path): \(String(cString: strerror(errno)))")
        }
        guard let gid = accounts.groupID(name: group) else {
            logger.warning(
                "group \(group) ([daemon] socket_group) does not exist; only root and connwatchd's own user can open \(path)"
            )
            return
        }
        // Already the group when it is the daemon's own (the packaged unit): no chown, which
        // the unit's system call filter would refuse anyway.
        var st = stat()
        if stat(path, &st) == 0 && st.st_gid == gid { return }
        if chown(path, uid_t.max, gid) != 0 {
            logger.warning("cannot give \(path) to group \(group): \(String(cString: strerror(errno)))")
        }
    }

    /// On exit: removes the socket file (still holding the lock, so it is ours), then
    /// releases the lock.
    func release() {
        var st = stat()
        if lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK {
            unlink(path)
        }
        flock(lockFD, LOCK_UN)
        close(lockFD)
    }
}
