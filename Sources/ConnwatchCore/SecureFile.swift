import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a file that holds a secret (a client secret, a signing key, a SharePoint key
/// file, an observer's private key) without trusting the path: the file is opened with
/// `O_NOFOLLOW` and judged by `fstat` of the open descriptor, so what is checked is what
/// is read (no window between a `stat` and an `open` in which the path can be swapped).
///
/// Refused: a symlink, anything but a regular file, a file that group or others can read
/// (`checkMode`), a file owned by anyone but root or the user this process runs as, a
/// file whose mode or owner cannot be read (fail closed), and files over `maxBytes`.
public enum SecureFile {
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case notFound
        case symlink
        case notRegularFile
        /// Group/other bits are set; the full permission bits.
        case looseMode(UInt32)
        /// Owned by neither root nor this process's user.
        case foreignOwner(uid: UInt32)
        case unreadable(errno: Int32)
        case tooLarge(limit: Int)

        /// What is wrong and how to fix it, about `shown` ("/etc/connwatch/keys/a.pem",
        /// "credential \"x\""). Callers pass the path only once the file exists: a value
        /// that names no file may be a pasted secret and is never quoted.
        public func explain(_ shown: String) -> String {
            switch self {
            case .notFound: "\(shown): no such file"
            case .symlink:
                "\(shown) is a symlink; secret files are opened without following links: name the file itself"
            case .notRegularFile: "\(shown) is not a regular file"
            case .looseMode(let mode):
                "\(shown) is readable by group or others (mode \(String(mode, radix: 8).leftPaddedOctal)); run: chmod 600 \(shown)"
            case .foreignOwner(let uid):
                "\(shown) is owned by uid \(uid); a secret file must be owned by root or by the user connwatch runs as (uid \(geteuid())): run: chown root \(shown)"
            case .unreadable(let e):
                e == EACCES
                    ? "\(shown) cannot be read (permission denied); the daemon's user must be able to read it"
                    : "\(shown) cannot be read (\(String(cString: strerror(e))))"
            case .tooLarge(let limit): "\(shown) is larger than \(limit) bytes; it cannot be a secret file"
            }
        }

        public var description: String { explain("the file") }
    }

    /// The file's bytes, read through one descriptor opened with `O_NOFOLLOW`.
    /// - Parameter checkMode: refuse group/other permission bits (false for systemd
    ///   credentials, whose directory systemd already locks down).
    public static func read(_ path: String, checkMode: Bool = true, maxBytes: Int = 1 << 20) throws(Failure) -> Data {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        if fd < 0 {
            let e = errno
            switch e {
            case ENOENT, ENOTDIR: throw .notFound
            // O_NOFOLLOW on a symlink fails with ELOOP.
            case ELOOP: throw .symlink
            default: throw .unreadable(errno: e)
            }
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .unreadable(errno: errno) }
        try judge(mode: UInt32(st.st_mode), owner: st.st_uid, checkMode: checkMode)
        guard st.st_size <= maxBytes else { throw .tooLarge(limit: maxBytes) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(errno: errno)
            }
            if n == 0 { break }
            data.append(contentsOf: buffer[0..<n])
            guard data.count <= maxBytes else { throw .tooLarge(limit: maxBytes) }
        }
        return data
    }

    /// The rules on an `fstat` result, apart so that they are table-tested without files
    /// owned by other users.
    public static func judge(
        mode: UInt32, owner: UInt32, checkMode: Bool, processUser: UInt32 = geteuid()
    ) throws(Failure) {
        guard mode & UInt32(S_IFMT) == UInt32(S_IFREG) else { throw .notRegularFile }
        if checkMode, mode & 0o077 != 0 { throw .looseMode(mode & 0o7777) }
        guard owner == 0 || owner == processUser else { throw .foreignOwner(uid: owner) }
    }
}

extension String {
    /// An octal mode shown with four digits: `0644`.
    fileprivate var leftPaddedOctal: String { count >= 4 ? self : String(repeating: "0", count: 4 - count) + self }
}
