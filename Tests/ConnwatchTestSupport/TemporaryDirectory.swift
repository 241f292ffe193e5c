import Foundation

/// A new empty directory, removed with everything in it when the last reference goes away
/// (keep the value for as long as the directory is used).
///
/// Its path is short (`cw-<prefix>-XXXXXXXX` in the temporary directory, or in `/tmp` when
/// that one's path is long) so that Unix socket paths inside it fit in `sockaddr_un`.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public var url: URL { URL(fileURLWithPath: path, isDirectory: true) }

    public init(_ prefix: String = "test") throws {
        var root = FileManager.default.temporaryDirectory.path
        if root.utf8.count > 48 { root = "/tmp" }
        path = root + "/cw-\(prefix)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Writes `text` to `relativePath` inside the directory (creating the directories on the
    /// way) with permissions `mode`; returns the file's path.
    @discardableResult
    public func write(_ relativePath: String, _ text: String, mode: Int = 0o600) throws -> String {
        let url = url.appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: url.path)
        return url.path
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
