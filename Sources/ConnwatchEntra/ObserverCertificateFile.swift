import ConnwatchCore
import Foundation
import Synchronization

/// The observer's `certificate_file` (SPEC §4): one PEM holding the RSA private key and
/// the certificate registered on the monitoring app, mode 0600. Read through
/// ``SecureFile`` and parsed again only when the file changed (same stamp as
/// ``SharePointKeyFile/loadCached(path:)``): tokens are cached, but a renewed
/// certificate dropped in place is picked up at the next token request.
public enum ObserverCertificateFile {
    public enum LoadError: Error, Sendable, Equatable, CustomStringConvertible {
        case unreadable(path: String)
        case unsafe(path: String, SecureFile.Failure)
        case noCertificate(path: String)
        case noPrivateKey(path: String)
        case encryptedKey(path: String)
        case credential(path: String, CertificateCredential.LoadError)

        public var description: String {
            switch self {
            case .unreadable(let p): "certificate_file \(p): cannot read it"
            case .unsafe(let p, let f): "certificate_file: " + f.explain(p)
            case .noCertificate(let p): "certificate_file \(p): no -----BEGIN CERTIFICATE----- block"
            case .noPrivateKey(let p): "certificate_file \(p): no PEM private key block (PKCS #8 or PKCS #1 RSA)"
            case .encryptedKey(let p): "certificate_file \(p): the private key is encrypted (not supported)"
            case .credential(let p, let e): "certificate_file \(p): \(e)"
            }
        }
    }

    /// Parses the file's bytes; the private key only ever lives inside a `Secret`.
    public static func parse(_ data: Data, path: String) throws(LoadError) -> CertificateCredential {
        let text = String(decoding: data, as: UTF8.self)
        guard text.contains("-----BEGIN CERTIFICATE-----") else { throw .noCertificate(path: path) }
        if text.contains("-----BEGIN " + "ENCRYPTED PRIVATE KEY-----") { throw .encryptedKey(path: path) }
        var key: String?
        for label in ["PRIVATE KEY", "RSA PRIVATE KEY"] {
            if let b = text.range(of: "-----BEGIN \(label)-----"),
                let e = text.range(of: "-----END \(label)-----", range: b.upperBound..<text.endIndex)
            {
                key = String(text[b.lowerBound..<e.upperBound])
                break
            }
        }
        guard let key else { throw .noPrivateKey(path: path) }
        do {
            return try CertificateCredential(certificatePEM: text, privateKey: Secret(key))
        } catch {
            throw .credential(path: path, error)
        }
    }

    public static func load(path: String) throws(LoadError) -> CertificateCredential {
        let data: Data
        do {
            data = try SecureFile.read(path)
        } catch .notFound {
            throw .unreadable(path: path)
        } catch {
            throw .unsafe(path: path, error)
        }
        return try parse(data, path: path)
    }

    /// ``load(path:)``, parsed again only when the file's stamp changed.
    public static func loadCached(path: String) throws(LoadError) -> CertificateCredential {
        guard let before = SharePointKeyFile.Cache.stamp(path) else { throw .unreadable(path: path) }
        if let hit = cache.withLock({ $0[path] }), hit.stamp == before { return hit.credential }
        let credential = try load(path: path)
        let after = SharePointKeyFile.Cache.stamp(path)
        cache.withLock { $0[path] = after == before ? (before, credential) : nil }
        return credential
    }

    private static let cache = Mutex<[String: (stamp: SharePointKeyFile.Cache.Stamp, credential: CertificateCredential)]>(
        [:])
}
