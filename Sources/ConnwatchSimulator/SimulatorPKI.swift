import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import Synchronization
import X509
import _CryptoExtras

/// The simulator's key material, generated fresh at every start and never written
/// anywhere except the CA certificate (public) on request.
///
/// - a P-256 CA, whose PEM clients trust through a CA file;
/// - a TLS leaf for `localhost`, `127.0.0.1` and `::1` (plus the bind host) signed by it;
/// - the RSA key that signs access tokens, published in the JWKS like Entra ID's keys.
struct SimulatorPKI: Sendable {
    let caCertificatePEM: String
    let tlsConfiguration: TLSConfiguration
    let tokenSigner: TokenSigner

    /// - Parameter tokenKeyBits: size of the RSA key that signs access tokens: 2048 as
    ///   Entra ID's; the benchmark uses 1024 so that the simulator's own signing does not
    ///   crowd out the client it measures on a small machine (clients never verify access
    ///   tokens: Microsoft says not to).
    static func generate(host: String, tokenKeyBits: Int = 2048) throws(SimulatorError) -> SimulatorPKI {
        do {
            let now = Date()
            let caKey = P256.Signing.PrivateKey()
            let caName = try DistinguishedName {
                OrganizationName("connwatch simulator")
                CommonName("connwatch-sim CA")
            }
            let caPublic = Certificate.PublicKey(caKey.publicKey)
            let caCertificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(),
                publicKey: caPublic, notValidBefore: now - 3600, notValidAfter: now + 365 * 86_400,
                issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                    SubjectKeyIdentifier(hash: caPublic)
                },
                issuerPrivateKey: Certificate.PrivateKey(caKey))

            let leafKey = P256.Signing.PrivateKey()
            let leafPublic = Certificate.PublicKey(leafKey.publicKey)
            var names: [GeneralName] = [
                .dnsName("localhost"),
                .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
                .ipAddress(ASN1OctetString(contentBytes: ArraySlice([UInt8](repeating: 0, count: 15) + [1]))),
            ]
            if let bytes = IPAddressBytes.parse(host) {
                if bytes != [127, 0, 0, 1] {
                    names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes))))
                }
            } else if host != "localhost", !host.isEmpty {
                names.append(.dnsName(host))
            }
            let leafName = try DistinguishedName {
                OrganizationName("connwatch simulator")
                CommonName("localhost")
            }
            let leafCertificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(),
                publicKey: leafPublic, notValidBefore: now - 3600, notValidAfter: now + 90 * 86_400,
                issuer: caName, subject: leafName, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([.serverAuth])
                    SubjectAlternativeNames(names)
                    SubjectKeyIdentifier(hash: leafPublic)
                    AuthorityKeyIdentifier(keyIdentifier: SubjectKeyIdentifier(hash: caPublic).keyIdentifier)
                },
                issuerPrivateKey: Certificate.PrivateKey(caKey))

            let caPEM = try caCertificate.serializeAsPEM().pemString
            let leafDER = try derBytes(leafCertificate)
            let tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: [.certificate(try NIOSSLCertificate(bytes: leafDER, format: .der))],
                privateKey: .privateKey(
                    try NIOSSLPrivateKey(bytes: Array(leafKey.pemRepresentation.utf8), format: .pem))
            )
            return SimulatorPKI(caCertificatePEM: caPEM + "\n", tlsConfiguration: tls, tokenSigner: try TokenSigner(keyBits: tokenKeyBits))
        } catch let error as SimulatorError {
            throw error
        } catch {
            throw .keyGeneration("\(error)")
        }
    }

    static func derBytes(_ certificate: Certificate) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return serializer.serializedBytes
    }
}

/// Signs and verifies the simulator's access tokens (RS256, like Entra ID's v1.0 tokens).
final class TokenSigner: Sendable {
    private let privateKey: _RSA.Signing.PrivateKey
    private let publicKey: _RSA.Signing.PublicKey
    /// Key ID: base64url SHA-1 of the signing certificate, as Entra ID's `kid`/`x5t`.
    let keyId: String
    /// The JWKS entry (`kty`, `use`, `kid`, `x5t`, `n`, `e`, `x5c`).
    let jwk: JSONNode
    private let headerSegment: String

    init(keyBits: Int = 2048) throws {
        privateKey =
            keyBits >= 2048
            ? try _RSA.Signing.PrivateKey(keySize: .init(bitCount: keyBits))
            : try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: keyBits))
        publicKey = privateKey.publicKey
        let now = Date()
        let name = try DistinguishedName { CommonName("accounts.connwatch-sim.invalid") }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(publicKey), notValidBefore: now - 86_400,
            notValidAfter: now + 365 * 86_400, issuer: name, subject: name,
            signatureAlgorithm: .sha256WithRSAEncryption, extensions: Certificate.Extensions(),
            issuerPrivateKey: Certificate.PrivateKey(privateKey))
        let der = try SimulatorPKI.derBytes(certificate)
        keyId = Base64URL.encode(Insecure.SHA1.hash(data: der))
        let primitives = try publicKey.getKeyPrimitives()
        jwk = .object([
            ("kty", "RSA"), ("use", "sig"), ("kid", .string(keyId)), ("x5t", .string(keyId)),
            ("n", .string(Base64URL.encode(primitives.modulus))),
            ("e", .string(Base64URL.encode(primitives.publicExponent))),
            ("x5c", .array([.string(Data(der).base64EncodedString())])),
            ("cloud_instance_name", "microsoftonline.com"),
        ])
        headerSegment = Base64URL.encode(
            JSONNode.object([("typ", "JWT"), ("alg", "RS256"), ("x5t", .string(keyId)), ("kid", .string(keyId))])
                .bytes)
    }

    /// A compact JWS of `claims`; the token's facts are remembered so that resource APIs
    /// need neither parse nor verify it again.
    func sign(_ claims: JSONNode) throws -> String {
        let input = headerSegment + "." + Base64URL.encode(claims.bytes)
        let signature = try privateKey.signature(
            for: SHA256.hash(data: Array(input.utf8)), padding: .insecurePKCS1v1_5)
        let token = input + "." + Base64URL.encode(signature.rawRepresentation)
        if let facts = TokenFacts(claims) { cache.insert(token, facts) }
        return token
    }

    /// The facts of a token this signer issued, or nil when the token is malformed, was
    /// signed by another key, or uses another algorithm. Lifetime is checked by callers.
    func verify(_ token: String) -> TokenFacts? {
        if let facts = cache.lookup(token) { return facts }
        guard let jwt = CompactJWT(token), jwt.header["alg"]?.stringValue == "RS256",
            jwt.header["kid"]?.stringValue == keyId
        else { return nil }
        let signature = _RSA.Signing.RSASignature(rawRepresentation: jwt.signature)
        guard
            publicKey.isValidSignature(
                signature, for: SHA256.hash(data: jwt.signingInput), padding: .insecurePKCS1v1_5),
            let facts = TokenFacts(jwt.payload)
        else { return nil }
        cache.insert(token, facts)
        return facts
    }

    /// The `tid` of a token without verifying it (fault matching only).
    func unverifiedTenant(_ token: String) -> String? {
        if let facts = cache.lookup(token) { return facts.tenantId }
        return CompactJWT(token)?.payload["tid"]?.stringValue
    }

    private let cache = TokenCache()
}

/// What the resource APIs need from an access token.
struct TokenFacts: Sendable {
    let audience: String
    let tenantId: String?
    let appId: String?
    let objectId: String?
    let appidacr: String?
    let isAppToken: Bool
    let roles: Set<String>
    let notBefore: Int?
    let expiry: Int?

    init?(_ claims: JSONNode) {
        guard case .object = claims else { return nil }
        audience = claims["aud"]?.stringValue ?? ""
        tenantId = claims["tid"]?.stringValue
        appId = claims["appid"]?.stringValue
        objectId = claims["oid"]?.stringValue
        appidacr = claims["appidacr"]?.stringValue
        isAppToken = claims["idtyp"]?.stringValue == "app"
        roles = Set(claims["roles"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        notBefore = claims["nbf"]?.intValue
        expiry = claims["exp"]?.intValue
    }
}

/// Verified tokens by their text. Bounded: when full it starts over, which only costs a
/// re-verification (10,000 connectors with three tokens each stay well inside).
final class TokenCache: Sendable {
    private static let capacity = 200_000
    private let entries = Mutex<[String: TokenFacts]>([:])

    func lookup(_ token: String) -> TokenFacts? { entries.withLock { $0[token] } }

    func insert(_ token: String, _ facts: TokenFacts) {
        entries.withLock { map in
            if map.count >= Self.capacity { map.removeAll(keepingCapacity: true) }
            map[token] = facts
        }
    }
}

/// A JWS in compact serialisation, parsed but not verified.
struct CompactJWT {
    let header: JSONNode
    let payload: JSONNode
    let signingInput: [UInt8]
    let signature: [UInt8]

    init?(_ token: String) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, token.utf8.count < 64 * 1024,
            let headerBytes = Base64URL.decode(parts[0]), let header = JSONNode.parse(headerBytes),
            case .object = header,
            let payloadBytes = Base64URL.decode(parts[1]), let payload = JSONNode.parse(payloadBytes),
            case .object = payload,
            let signature = Base64URL.decode(parts[2])
        else { return nil }
        self.header = header
        self.payload = payload
        self.signingInput = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        self.signature = signature
    }
}

/// IPv4/IPv6 literal → address bytes (for the certificate's IP SANs).
enum IPAddressBytes {
    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}
