import Foundation
import NIOSSL
import X509

/// Whether a server certificate names the host a URL asked for (RFC 6125), checked by
/// connwatch itself instead of NIOSSL's hostname verification: that one also accepts a
/// certificate whose IP address name equals the address the socket is connected to —
/// through a CONNECT proxy the proxy's — so a certificate naming only `IP:127.0.0.1`
/// passed for `https://localhost` and, through a local proxy, for
/// `login.microsoftonline.com` (issue 16.1). Here the name comes from the URL only.
///
/// Pure and table-tested; any TLS client of connwatch (HTTP, later SMTP) uses it.
public enum TLSNameCheck {
    /// True when the certificate's names cover `host`:
    /// - a DNS host matches a DNS name case-insensitively (one trailing dot ignored), or a
    ///   wildcard whose only `*` is the whole left-most label and which has at least two
    ///   labels after it (`*.example.com` covers `a.example.com`, not `example.com`,
    ///   `a.b.example.com` or, as `*.com`, anything);
    /// - an IP literal host (IPv4, or IPv6 with or without brackets) matches only an IP
    ///   address name of exactly those bytes;
    /// - an IP address name never matches a DNS host, a DNS name never an IP host, and the
    ///   subject's common name is never used (the CA/Browser Forum requires the names in
    ///   subjectAltName; connwatch does not fall back).
    public static func matches(host: String, dnsNames: [String], ipAddresses: [[UInt8]]) -> Bool {
        if let address = addressBytes(host) {
            return ipAddresses.contains(address)
        }
        guard let wanted = normalized(host), !wanted.contains(UInt8(ascii: "*")) else { return false }
        for name in dnsNames {
            guard let name = normalized(name) else { continue }
            if name == wanted { return true }
            if wildcardMatches(name, wanted) { return true }
        }
        return false
    }

    /// The names of a (chain-verified) leaf certificate, for ``matches(host:dnsNames:ipAddresses:)``.
    /// Nil when the certificate cannot be parsed (which then names nothing).
    public static func names(of certificate: NIOSSLCertificate) -> (dnsNames: [String], ipAddresses: [[UInt8]])? {
        guard let parsed = try? Certificate(derEncoded: try certificate.toDERBytes()),
            let alternativeNames = try? parsed.extensions.subjectAlternativeNames
        else { return nil }
        var dns: [String] = []
        var ips: [[UInt8]] = []
        for name in alternativeNames {
            switch name {
            case .dnsName(let text): dns.append(text)
            case .ipAddress(let octets): ips.append(Array(octets.bytes))
            default: continue
            }
        }
        return (dns, ips)
    }

    /// ``matches(host:dnsNames:ipAddresses:)`` for a certificate.
    public static func certificate(_ certificate: NIOSSLCertificate, names host: String) -> Bool {
        guard let names = names(of: certificate) else { return false }
        return matches(host: host, dnsNames: names.dnsNames, ipAddresses: names.ipAddresses)
    }

    /// The bytes of an IPv4 or IPv6 literal (brackets allowed), nil for a DNS name.
    public static func addressBytes(_ host: String) -> [UInt8]? {
        var text = host
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    /// ASCII-lowercased bytes without one trailing dot; nil for an empty name, an empty
    /// label or a byte outside printable ASCII (dNSName is an IA5String; a host in Unicode
    /// form must be written as its A-label to match).
    private static func normalized(_ name: String) -> [UInt8]? {
        var bytes = Array(name.utf8)
        if bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
        guard !bytes.isEmpty else { return nil }
        var previousDot = true
        for i in bytes.indices {
            let b = bytes[i]
            guard b > 0x20, b < 0x7F else { return nil }
            if b == UInt8(ascii: ".") {
                if previousDot { return nil }
                previousDot = true
            } else {
                previousDot = false
                if b >= 0x41, b <= 0x5A { bytes[i] = b + 32 }
            }
        }
        return bytes
    }

    /// `*.rest` against `label.rest`: `*` the whole first label, no other `*`, at least two
    /// labels in `rest`, and exactly one non-empty label in the host in its place.
    private static func wildcardMatches(_ pattern: [UInt8], _ host: [UInt8]) -> Bool {
        guard pattern.count > 2, pattern[0] == UInt8(ascii: "*"), pattern[1] == UInt8(ascii: ".") else { return false }
        let rest = pattern[2...]
        guard !rest.contains(UInt8(ascii: "*")), rest.contains(UInt8(ascii: ".")) else { return false }
        guard let dot = host.firstIndex(of: UInt8(ascii: ".")), dot > 0 else { return false }
        return host[(dot + 1)...].elementsEqual(rest)
    }
}
