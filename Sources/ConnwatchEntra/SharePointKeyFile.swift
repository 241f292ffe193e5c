import ConnwatchCore
import Foundation
import Synchronization

/// The SharePoint private key JSON file of reference step 5:
/// `{"private_key": "-----BEGIN …KEY-----\n…", "public_cert": "-----BEGIN CERTIFICATE-----\n…"}`
/// on one line with `\n` escapes. The reference document's own sample uses typographic
/// quotes (“ ” instead of "), which is not JSON; this parser says so precisely.
public enum SharePointKeyFile {
    public enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        case unreadable(path: String)
        /// The file is not safe to read a private key from (a symlink, group/other-readable,
        /// owned by another user): ``SecureFile``'s judgement.
        case unsafe(path: String, SecureFile.Failure)
        case typographicQuotes(line: Int, column: Int, character: String)
        case notJSON(String)
        case missingField(String)
        case notPEM(field: String)
        case credential(CertificateCredential.LoadError)

        public var description: String {
            switch self {
            case .unreadable(let p): "\(p): cannot read the key file"
            case .unsafe(let p, let failure): failure.explain(p)
            case .typographicQuotes(let l, let c, let ch):
                "typographic quote \(ch) at line \(l), column \(c): the file must use straight ASCII quotes (\") — the reference document's sample has curly ones; rewrite the file, e.g. with connwatchctl keyfile create"
            case .notJSON(let d): "not valid JSON (\(d)); expected {\"private_key\": \"…\", \"public_cert\": \"…\"}"
            case .missingField(let f): "the \"\(f)\" field is missing or not a string"
            case .notPEM(let f): "the \"\(f)\" field is not PEM text (line breaks must be written as \\n)"
            case .credential(let e): e.description
            }
        }
    }

    /// Parses the key file's bytes. The private key only ever lives inside a `Secret`.
    public static func parse(_ data: Data) throws(ParseError) -> CertificateCredential {
        let text = String(decoding: data, as: UTF8.self)
        let curly: Set<Character> = [
            "\u{201C}", "\u{201D}", "\u{2018}", "\u{2019}", "\u{201E}", "\u{00AB}", "\u{00BB}",
        ]
        var line = 1, column = 0
        for ch in text {
            column += 1
            if ch == "\n" {
                line += 1
                column = 0
            } else if curly.contains(ch) {
                throw .typographicQuotes(line: line, column: column, character: String(ch))
            }
        }
        let obj: [String: JSONValue]
        switch Result(catching: { () throws(CompactJSON.ParseError) in try CompactJSON.parse(data) }) {
        case .success(.object(let o)): obj = o
        case .success: throw .notJSON("the top level is not an object")
        case .failure: throw .notJSON("syntax error")
        }
        guard let key = obj["private_key"]?.stringValue, !key.isEmpty else { throw .missingField("private_key") }
        guard let cert = obj["public_cert"]?.stringValue, !cert.isEmpty else { throw .missingField("public_cert") }
        guard key.contains("-----BEGIN") && key.contains("PRIVATE KEY-----") else {
            throw .notPEM(field: "private_key")
        }
        guard cert.contains("-----BEGIN CERTIFICATE-----") else { throw .notPEM(field: "public_cert") }
        do {
            return try CertificateCredential(certificatePEM: cert, privateKey: Secret(key))
        } catch {
            throw .credential(error)
        }
    }

    /// Reads the file as a secret file (``SecureFile``: no symlink, mode 0600, owned by root
    /// or this process's user), at every read — the configuration's check at load time
    /// does not cover a file replaced since.
    public static func load(path: String) throws(ParseError) -> CertificateCredential {
        let data: Data
        do {
            data = try SecureFile.read(path)
        } catch .notFound {
            throw .unreadable(path: path)
        } catch {
            throw .unsafe(path: path, error)
        }
        return try parse(data)
    }

    /// ``load(path:)`` through ``cache``: SharePoint connectors commonly share one key file,
    /// and parsing it (PEM, X.509, the RSA key) on every check was ~4% of a cycle's CPU.
    public static func loadCached(path: String) throws(ParseError) -> CertificateCredential {
        try cache.load(path: path)
    }

    static let cache = Cache()

    /// Parsed key files by path, valid while the file is the same: same device and inode,
    /// size, modification and change time (a rewrite, a rename over it, a chmod all show).
    /// Failures are not kept: a fixed file is read again at the next check.
    final class Cache: Sendable {
        struct Stamp: Equatable {
            var device: UInt64
            var inode: UInt64
            var size: Int64
            var modified: timespec
            var changed: timespec

            static func == (a: Stamp, b: Stamp) -> Bool {
                a.device == b.device && a.inode == b.inode && a.size == b.size
                    && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec
                    && a.changed.tv_sec == b.changed.tv_sec && a.changed.tv_nsec == b.changed.tv_nsec
            }
        }

        private let entries = Mutex<[String: (stamp: Stamp, credential: CertificateCredential)]>([:])

        static func stamp(_ path: String) -> Stamp? {
            var st = stat()
            // lstat: a symlink put in the file's place has a stamp of its own, so it is
            // read (and refused) instead of served from the cache.
            guard lstat(path, &st) == 0 else { return nil }
            return Stamp(
                device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size), modified: st.st_mtim,
                changed: st.st_ctim)
        }

        func load(path: String) throws(ParseError) -> CertificateCredential {
            guard let before = Self.stamp(path) else { throw .unreadable(path: path) }
            if let hit = entries.withLock({ $0[path] }), hit.stamp == before { return hit.credential }
            let credential = try SharePointKeyFile.load(path: path)
            // Keep it only if the file did not change while it was read.
            if Self.stamp(path) == before {
                entries.withLock { $0[path] = (before, credential) }
            } else {
                entries.withLock { $0[path] = nil }
            }
            return credential
        }

        func removeAll() { entries.withLock { $0.removeAll() } }
    }

    /// Writes the key file format from two PEM texts: one line, `\n` escapes, straight quotes.
    public static func render(certificatePEM: String, privateKeyPEM: Secret) -> Secret {
        func escape(_ s: String) -> String {
            var out = ""
            for ch in s.replacingOccurrences(of: "\r\n", with: "\n") {
                switch ch {
                case "\n": out += "\\n"
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                default: out.append(ch)
                }
            }
            return out
        }
        return privateKeyPEM.withValue { key in
            Secret("{\"private_key\": \"\(escape(key))\", \"public_cert\": \"\(escape(certificatePEM))\"}\n")
        }
    }
}
