import ConnwatchCore
import Crypto
import Foundation
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

    static func rsaCertificate(
        commonName: String = "Zscaler SharePoint Connector (test)", notBefore: Date = Date().addingTimeInterval(-3600),
        notAfter: Date = Date().addingTimeInterval(365 * 86400)
    ) throws -> Pair {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let name = try DistinguishedName { CommonName(commonName) }
        let cert = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: notBefore,
            notValidAfter: notAfter, issuer: name, subject: name, signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: Certificate.Extensions {}, issuerPrivateKey: .init(key))
        let pem = try cert.serializeAsPEM().pemString
        return Pair(certificatePEM: pem, privateKeyPEM: Secret(key.pemRepresentation), certificate: cert, key: key)
    }
}
