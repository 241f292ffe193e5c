import ConnwatchCore
import Crypto
import Foundation
import Synchronization
import X509
import _CryptoExtras

/// Certificates and keys made at test time: nothing private is ever committed.
enum TestPKI {
    struct Pair {
        var certificatePEM: String
        var privateKeyPEM: Secret
        var certificate: Certificate
        var key: _RSA.Signing.PrivateKey
    }

    /// A self-signed certificate on test key number `key` (same number, same key within a
    /// run: keys are generated once per run, not per test, to spare the shared threads).
    static func rsaCertificate(
        commonName: String = "Zscaler SharePoint Connector (test)", notBefore: Date = Date().addingTimeInterval(-3600),
        notAfter: Date = Date().addingTimeInterval(365 * 86400), key number: Int = 0
    ) throws -> Pair {
        let key = try key(number)
        let name = try DistinguishedName { CommonName(commonName) }
        let cert = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: notBefore,
            notValidAfter: notAfter, issuer: name, subject: name, signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: Certificate.Extensions {}, issuerPrivateKey: .init(key))
        let pem = try cert.serializeAsPEM().pemString
        return Pair(certificatePEM: pem, privateKeyPEM: Secret(key.pemRepresentation), certificate: cert, key: key)
    }

    /// RSA-2048 key number `n`, generated at first use in this run.
    static func key(_ n: Int) throws -> _RSA.Signing.PrivateKey {
        try keys.withLock { keys in
            if let key = keys[n] { return key }
            let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            keys[n] = key
            return key
        }
    }

    private static let keys = Mutex<[Int: _RSA.Signing.PrivateKey]>([:])
}
