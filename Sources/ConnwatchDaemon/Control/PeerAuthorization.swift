import Foundation
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// The peer of a Unix socket connection as the kernel saw it at `connect()` time
/// (`SO_PEERCRED`). Same layout as Linux `struct ucred { pid_t pid; uid_t uid; gid_t gid; }`,
/// which glibc hides behind `_GNU_SOURCE`.
struct PeerCredentials: Sendable, Equatable {
    var pid: Int32
    var uid: UInt32
    var gid: UInt32
}

enum PeerCredentialsError: Error, CustomStringConvertible {
    case notASocket

    var description: String { "the connection is not a socket; its peer cannot be identified" }
}

extension Channel {
    /// `SO_PEERCRED` of this (Unix socket) channel. NIO's `getOption(.socketOption(.so_peercred))`
    /// would truncate it to an `Int`: read the whole struct instead.
    func peerCredentials() async throws -> PeerCredentials {
        try await peerCredentialsFuture().get()
    }

    /// The same as a future: on the channel's event loop it is complete at once (a
    /// `getsockopt`), which lets the admission at accept time read it.
    func peerCredentialsFuture() -> EventLoopFuture<PeerCredentials> {
        guard let provider = self as? any SocketOptionProvider else {
            return eventLoop.makeFailedFuture(PeerCredentialsError.notASocket)
        }
        return provider.unsafeGetSocketOption(
            level: NIOBSDSocket.OptionLevel.socket, name: NIOBSDSocket.Option(rawValue: SO_PEERCRED))
    }
}

/// User and group lookups (NSS: `/etc/passwd`, `/etc/group`, LDAP…), behind a protocol so
/// that the policy is tested without real accounts.
protocol AccountDirectory: Sendable {
    func userName(uid: UInt32) -> String?
    func groupID(name: String) -> UInt32?
    /// Every group of `user`: `primary` and the supplementary ones of the group database.
    func groupIDs(user: String, primary: UInt32) -> Set<UInt32>
}

/// The system's accounts through the reentrant libc calls.
struct SystemAccounts: AccountDirectory {
    func userName(uid: UInt32) -> String? {
        var pwd = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getpwuid_r(uid, &pwd, &buffer, buffer.count, &result) == 0, result != nil, let name = pwd.pw_name
        else { return nil }
        return String(cString: name)
    }

    func groupID(name: String) -> UInt32? {
        var grp = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 65536)
        guard getgrnam_r(name, &grp, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return grp.gr_gid
    }

    func groupIDs(user: String, primary: UInt32) -> Set<UInt32> {
        var count: Int32 = 64
        while true {
            var groups = [gid_t](repeating: 0, count: Int(count))
            let previous = count
            if getgrouplist(user, primary, &groups, &count) >= 0 {
                return Set(groups.prefix(Int(count))).union([primary])
            }
            // -1: the list was too small; `count` now holds the size it needs.
            if count <= previous || count > 65536 { return [primary] }
        }
    }
}

/// Who may change the daemon over the socket (SPEC §7, the Tailscale model): root, the
/// daemon's own uid, and the users and `@groups` of `[daemon] operators`. Everyone who can
/// open the socket may read.
struct MutationPolicy: Sendable {
    var daemonUID: UInt32
    /// Users (names, or numeric uids) and `@group` names.
    var operators: [String]

    enum Decision: Sendable, Equatable {
        /// Allowed, with the rule that allowed it (for the audit log).
        case allowed(String)
        /// Refused, with the message to send back: who may.
        case denied(String)
    }

    func decide(_ peer: PeerCredentials, accounts: some AccountDirectory) -> Decision {
        let name = accounts.userName(uid: peer.uid)
        if peer.uid == 0 { return .allowed("root") }
        if peer.uid == daemonUID { return .allowed("the daemon's own user") }
        var groups: Set<UInt32>?
        for entry in operators {
            if entry.hasPrefix("@") {
                guard let gid = accounts.groupID(name: String(entry.dropFirst())) else { continue }
                if peer.gid == gid { return .allowed("operator \(entry)") }
                if groups == nil { groups = name.map { accounts.groupIDs(user: $0, primary: peer.gid) } ?? [peer.gid] }
                if groups!.contains(gid) { return .allowed("operator \(entry)") }
            } else if entry == name || entry == String(peer.uid) {
                return .allowed("operator \(entry)")
            }
        }
        let who = name.map { "uid \(peer.uid) (\($0))" } ?? "uid \(peer.uid)"
        let daemonUser = accounts.userName(uid: daemonUID).map { "uid \(daemonUID), \($0)" } ?? "uid \(daemonUID)"
        let listed = operators.isEmpty ? "none yet" : "currently \(operators.joined(separator: ", "))"
        return .denied(
            "permission denied: \(who) may read but not change connwatchd; changes need root, the daemon's own "
                + "user (\(daemonUser)) or a user or @group listed in [daemon] operators (\(listed))")
    }
}
