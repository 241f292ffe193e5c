import ConnwatchCore
import Crypto
import Foundation
import NIOSSL
import SwiftASN1
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

    /// A certificate authority for TLS tests: its PEM goes into a `ca_file`.
    struct Authority {
        var key: P256.Signing.PrivateKey
        var certificate: Certificate
        var pem: String

        /// Writes the CA certificate to a new temporary file; returns its path.
        func writePEM() throws -> String {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("test-ca-\(UUID().uuidString).pem")
                .path
            try pem.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
    }

    /// A fresh P-256 CA (cheap: made per test).
    static func authority(_ commonName: String = "connwatch test CA") throws -> Authority {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName(commonName) }
        let publicKey = Certificate.PublicKey(key.publicKey)
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: publicKey, notValidBefore: Date() - 3600,
            notValidAfter: Date() + 86400, issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: publicKey)
            },
            issuerPrivateKey: .init(key))
        return Authority(key: key, certificate: certificate, pem: try certificate.serializeAsPEM().pemString + "\n")
    }

    /// A server TLS configuration whose leaf, issued by `issuer`, names exactly `dnsNames`
    /// and `ipAddresses` (no name at all when both are empty); its subject CN is
    /// `commonName` (to show that a CN is not a name).
    static func server(
        dnsNames: [String], ipAddresses: [[UInt8]] = [], commonName: String = "localhost", issuer: Authority,
        maximumTLSVersion: TLSVersion? = nil
    ) throws -> TLSConfiguration {
        let key = P256.Signing.PrivateKey()
        let publicKey = Certificate.PublicKey(key.publicKey)
        let ipNames = ipAddresses.map { GeneralName.ipAddress(ASN1OctetString(contentBytes: ArraySlice($0))) }
        let names = dnsNames.map { GeneralName.dnsName($0) } + ipNames
        let leaf = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: publicKey, notValidBefore: Date() - 3600,
            notValidAfter: Date() + 86400, issuer: issuer.certificate.subject,
            subject: try DistinguishedName { CommonName(commonName) }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                if !names.isEmpty { SubjectAlternativeNames(names) }
                AuthorityKeyIdentifier(
                    keyIdentifier: SubjectKeyIdentifier(hash: issuer.certificate.publicKey).keyIdentifier)
            },
            issuerPrivateKey: .init(issuer.key))
        var serializer = DER.Serializer()
        try serializer.serialize(leaf)
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try NIOSSLCertificate(bytes: serializer.serializedBytes, format: .der))],
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem)))
        if let maximumTLSVersion {
            tls.maximumTLSVersion = maximumTLSVersion
            tls.minimumTLSVersion = .tlsv1
        }
        return tls
    }
}
