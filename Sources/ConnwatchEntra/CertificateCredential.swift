import ConnwatchCore
import Crypto
import Foundation
import X509
import _CryptoExtras

/// A certificate credential: the X.509 certificate registered on the app and its RSA
/// private key (Entra accepts RSA for client assertions).
public struct CertificateCredential: Sendable {
    public let certificate: Certificate
    public let certificateDER: [UInt8]
    let privateKey: _RSA.Signing.PrivateKey

    public enum Algorithm: String, Sendable {
        /// `x5t` = base64url SHA-1 thumbprint; what MSAL sends, still accepted.
        case rs256 = "RS256"
        /// `x5t#S256` = base64url SHA-256 thumbprint; the current recommendation.
        case ps256 = "PS256"
    }

    public enum LoadError: Error, Sendable, Equatable, CustomStringConvertible {
        case certificate(String)
        case privateKey(String)
        case keyMismatch

        public var description: String {
            switch self {
            case .certificate(let d): "public_cert is not a valid PEM certificate: \(d)"
            case .privateKey(let d): "private_key is not a usable RSA private key: \(d)"
            case .keyMismatch: "the private key does not belong to the certificate"
            }
        }
    }

    /// - Parameters:
    ///   - certificatePEM: `-----BEGIN CERTIFICATE-----` PEM.
    ///   - privateKey: PKCS#8 or PKCS#1 PEM of an RSA key (a `Secret`: it never prints).
    public init(certificatePEM: String, privateKey: Secret) throws(LoadError) {
        guard let der = CertificateCredential.pemBody(certificatePEM, label: "CERTIFICATE") else {
            throw .certificate("no -----BEGIN CERTIFICATE----- block")
        }
        do {
            certificate = try Certificate(derEncoded: der)
        } catch {
            throw .certificate("cannot parse it")
        }
        certificateDER = der
        let key: _RSA.Signing.PrivateKey
        do {
            key = try privateKey.withValue { try _RSA.Signing.PrivateKey(unsafePEMRepresentation: $0) }
        } catch {
            throw .privateKey("not an RSA key in PEM form (encrypted keys are not supported)")
        }
        guard let certKey = _RSA.Signing.PublicKey(certificate.publicKey),
            certKey.derRepresentation == key.publicKey.derRepresentation
        else { throw .keyMismatch }
        self.privateKey = key
    }

    /// The base64 body of the first `-----BEGIN <label>-----` block, decoded.
    static func pemBody(_ pem: String, label: String) -> [UInt8]? {
        guard let begin = pem.range(of: "-----BEGIN \(label)-----"),
            let end = pem.range(of: "-----END \(label)-----", range: begin.upperBound..<pem.endIndex)
        else { return nil }
        let b64 = pem[begin.upperBound..<end.lowerBound].filter { !$0.isWhitespace }
        return Data(base64Encoded: String(b64)).map { [UInt8]($0) }
    }

    /// Upper-case hex SHA-1 of the DER: what the Entra portal shows as the thumbprint.
    public var sha1Thumbprint: String {
        Hex.encode(Insecure.SHA1.hash(data: certificateDER), uppercase: true)
    }

    public var sha1ThumbprintBytes: Data { Data(Insecure.SHA1.hash(data: certificateDER)) }

    public var sha256ThumbprintBytes: Data { Data(SHA256.hash(data: certificateDER)) }

    public var notValidAfter: Date { certificate.notValidAfter }
    public var notValidBefore: Date { certificate.notValidBefore }

    /// A client assertion for the token endpoint (microsoft-facts §2.12): `aud` is the
    /// token endpoint, `iss` = `sub` = the client id, a fresh `jti`, valid 10 minutes.
    public func clientAssertion(
        audience: String, clientId: String, now: Date, algorithm: Algorithm = .ps256
    ) throws
        -> Secret
    {
        var header: [String: JSONValue] = ["typ": "JWT", "alg": .string(algorithm.rawValue)]
        switch algorithm {
        case .rs256: header["x5t"] = .string(Base64URL.encode(sha1ThumbprintBytes))
        case .ps256: header["x5t#S256"] = .string(Base64URL.encode(sha256ThumbprintBytes))
        }
        let iat = Int64(now.timeIntervalSince1970)
        let claims: [String: JSONValue] = [
            "aud": .string(audience), "iss": .string(clientId), "sub": .string(clientId),
            "jti": .string(UUID().uuidString.lowercased()), "nbf": .int(iat), "iat": .int(iat), "exp": .int(iat + 600),
        ]
        // The byte-level writer, not JSONSerialization: its sorted keys compare strings with
        // the locale's ICU collator, which loaded ~1.5 MiB of ICU data into every daemon that
        // checks a SharePoint connector (BENCHMARKS.md).
        let h = Base64URL.encode(Data(CompactJSON.bytes(.object(header))))
        let c = Base64URL.encode(Data(CompactJSON.bytes(.object(claims))))
        let input = Data("\(h).\(c)".utf8)
        let signature =
            switch algorithm {
            case .rs256: try privateKey.signature(for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5)
            case .ps256: try privateKey.signature(for: SHA256.hash(data: input), padding: .PSS)
            }
        return Secret("\(h).\(c).\(Base64URL.encode(signature.rawRepresentation))")
    }
}
