import Crypto
import Foundation
import X509
import _CryptoExtras

/// A self-signed certificate (CN=connwatch golden test, 2026-01-01 to 2036-01-01) and its
/// RSA key, generated when the tests run — no private key is committed. The validity is
/// fixed so that the key file output is the same every run; the key, and so the
/// thumbprint, are fresh each run and computed here.
enum GoldenPKI {
    private static let pair: (cert: String, key: String, thumbprint: String) = {
        let key = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
        let name = try! DistinguishedName { CommonName("connwatch golden test") }
        let iso = ISO8601DateFormatter()
        let cert = try! Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: iso.date(from: "2026-01-01T00:00:00Z")!,
            notValidAfter: iso.date(from: "2036-01-01T00:00:00Z")!,
            issuer: name, subject: name, signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: Certificate.Extensions {}, issuerPrivateKey: .init(key))
        let pem = try! cert.serializeAsPEM().pemString + "\n"
        let der = try! cert.serializeAsPEM().derBytes
        let thumbprint = Insecure.SHA1.hash(data: der).map { String(format: "%02X", $0) }.joined()
        return (pem, key.pemRepresentation + "\n", thumbprint)
    }()

    static var certificatePEM: String { pair.cert }
    static var privateKeyPEM: String { pair.key }
    static var thumbprint: String { pair.thumbprint }
}
