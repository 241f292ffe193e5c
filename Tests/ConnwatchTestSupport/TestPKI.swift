import ConnwatchCore
import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import Synchronization
import X509
import _CryptoExtras

/// Certificates and keys made at test time: nothing private is ever committed.
///
/// - ``rsaCertificate(commonName:notBefore:notAfter:key:)``: a self-signed RSA certificate,
///   as registered on an app (client credentials, SharePoint key files, client assertions);
/// - ``golden``: one with a fixed subject and validity, for byte-stable golden outputs;
/// - ``authority(_:)`` and ``server(dnsNames:ipAddresses:commonName:issuer:maximumTLSVersion:)``:
///   a P-256 CA and TLS server configurations it issues, for TLS verification tests.
public enum TestPKI {
    /// A self-signed RSA certificate and its key.
    public struct Pair: Sendable {
        public var certificatePEM: String
        public var privateKeyPEM: Secret
        public var certificate: Certificate
        public var key: _RSA.Signing.PrivateKey
        /// The certificate's DER encoding.
        public var der: [UInt8]

        /// The SHA-1 thumbprint in upper-case hex, as the Entra portal shows it.
        public var thumbprint: String { Insecure.SHA1.hash(data: der).map { String(format: "%02X", $0) }.joined() }
        /// The certificate as a PEM file's text (ending in a newline).
        public var certificateFile: String { certificatePEM + "\n" }
        /// The private key as a PEM file's text (ending in a newline).
        public var privateKeyFile: String { key.pemRepresentation + "\n" }

        /// Writes ``certificateFile`` and ``privateKeyFile`` to `cert.pem` and `key.pem` in
        /// `directory`; returns their paths.
        public func writePEMFiles(in directory: String) throws -> (cert: String, key: String) {
            let cert = directory + "/cert.pem", key = directory + "/key.pem"
            try certificateFile.write(toFile: cert, atomically: true, encoding: .utf8)
            try privateKeyFile.write(toFile: key, atomically: true, encoding: .utf8)
            return (cert, key)
        }

        /// A client assertion built by hand (microsoft-facts §2.12): RS256 with `x5t`
        /// (SHA-1), or PS256 with `x5t#S256`; signed with `other`'s key when given.
        public func assertion(
            clientId: String, audience: String, pss: Bool = false, lifetime: TimeInterval = 600,
            issuedAgo: TimeInterval = 0, signWith other: Pair? = nil, fractionalTimes: Bool = false
        ) -> String {
            let header: [String: String] =
                pss
                ? ["alg": "PS256", "typ": "JWT", "x5t#S256": b64url(Array(SHA256.hash(data: der)))]
                : ["alg": "RS256", "typ": "JWT", "x5t": b64url(Array(Insecure.SHA1.hash(data: der)))]
            let now = Int(Date().timeIntervalSince1970 - issuedAgo)
            // MSAL Python sends time.time() floats; RFC 7519 NumericDate allows them.
            let times: [String: Any] =
                fractionalTimes
                ? ["nbf": Double(now) + 0.25, "iat": Double(now) + 0.25, "exp": Double(now) + lifetime + 0.25]
                : ["nbf": now, "iat": now, "exp": now + Int(lifetime)]
            let claims: [String: Any] =
                ["aud": audience, "iss": clientId, "sub": clientId, "jti": UUID().uuidString].merging(times) { a, _ in a }
            let input =
                b64url(Array(try! JSONSerialization.data(withJSONObject: header))) + "."
                + b64url(Array(try! JSONSerialization.data(withJSONObject: claims)))
            let signature = try! (other ?? self).key.signature(
                for: SHA256.hash(data: Array(input.utf8)), padding: pss ? .PSS : .insecurePKCS1v1_5)
            return input + "." + b64url(Array(signature.rawRepresentation))
        }
    }

    /// A self-signed certificate on test key number `key` (same number, same key within a
    /// run: keys are generated once per run, not per test, to spare the shared threads).
    public static func rsaCertificate(
        commonName: String = "Zscaler SharePoint Connector (test)", notBefore: Date = Date().addingTimeInterval(-3600),
        notAfter: Date = Date().addingTimeInterval(365 * 86400), key number: Int = 0
    ) throws -> Pair {
        let key = try key(number)
        let name = try DistinguishedName { CommonName(commonName) }
        let cert = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: notBefore,
            notValidAfter: notAfter, issuer: name, subject: name, signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: Certificate.Extensions {}, issuerPrivateKey: .init(key))
        let document = try cert.serializeAsPEM()
        return Pair(
            certificatePEM: document.pemString, privateKeyPEM: Secret(key.pemRepresentation), certificate: cert,
            key: key, der: document.derBytes)
    }

    /// CN=connwatch golden test, valid 2026-01-01 to 2036-01-01 on key 0: the validity is
    /// fixed so that outputs showing it are the same every run; the key, and so the
    /// thumbprint, are the run's own (compute expectations from ``Pair/thumbprint``).
    public static let golden: Pair = {
        let iso = ISO8601DateFormatter()
        return try! rsaCertificate(
            commonName: "connwatch golden test", notBefore: iso.date(from: "2026-01-01T00:00:00Z")!,
            notAfter: iso.date(from: "2036-01-01T00:00:00Z")!)
    }()

    /// RSA-2048 key number `n`, generated at first use in this run.
    public static func key(_ n: Int) throws -> _RSA.Signing.PrivateKey {
        try keys.withLock { keys in
            if let key = keys[n] { return key }
            let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            keys[n] = key
            return key
        }
    }

    private static let keys = Mutex<[Int: _RSA.Signing.PrivateKey]>([:])

    /// A certificate authority for TLS tests: its PEM goes into a `ca_file`.
    public struct Authority: Sendable {
        public var key: P256.Signing.PrivateKey
        public var certificate: Certificate
        public var pem: String

        /// Writes the CA certificate to a new temporary file; returns its path.
        public func writePEM() throws -> String {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("test-ca-\(UUID().uuidString).pem")
                .path
            try pem.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
    }

    /// A fresh P-256 CA (cheap: made per test).
    public static func authority(_ commonName: String = "connwatch test CA") throws -> Authority {
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
    public static func server(
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

/// Base64url without padding (RFC 7515 §2), built by hand for tests.
public func b64url(_ bytes: [UInt8]) -> String {
    Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

/// The bytes of base64url text, padded or not; nil when it is not base64url.
public func b64urlDecode(_ s: some StringProtocol) -> [UInt8]? {
    var t = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while t.count % 4 != 0 { t += "=" }
    return Data(base64Encoded: t).map { Array($0) }
}
