import NIOHTTP1

/// Request targets and what a request may carry: URLs split for a request, header and
/// target checks that keep the request framing intact, idempotency for the stale retry,
/// and the `NO_PROXY` rules.
extension HTTP1Client {
    /// An absolute `http(s)://host[:port]/path?query` URL split for a request.
    struct Target: Sendable, Equatable {
        var origin: Origin
        /// Origin-form request target: path and query, never empty.
        var path: String
        /// The `Host` header: host, and the port when it is not the scheme's.
        var hostHeader: String

        /// Nil for anything but http/https URLs with a host; user info is refused (no
        /// credentials in URLs).
        init?(_ url: String) {
            // Byte-wise: every request parses its URL, so this stays off Foundation's URL.
            let bytes = Array(url.utf8)
            func lower(_ b: UInt8) -> UInt8 { b >= 65 && b <= 90 ? b + 32 : b }
            func hasPrefix(_ p: StaticString) -> Bool {
                guard bytes.count >= p.utf8CodeUnitCount else { return false }
                return (0..<p.utf8CodeUnitCount).allSatisfy { lower(bytes[$0]) == p.utf8Start[$0] }
            }
            let tls: Bool
            var i: Int
            if hasPrefix("https://") {
                (tls, i) = (true, 8)
            } else if hasPrefix("http://") {
                (tls, i) = (false, 7)
            } else {
                return nil
            }
            let authorityStart = i
            while i < bytes.count, bytes[i] != 0x2F, bytes[i] != 0x3F, bytes[i] != 0x23 { i += 1 }  // / ? #
            let authority = bytes[authorityStart..<i]
            var pathEnd = i
            while pathEnd < bytes.count, bytes[pathEnd] != 0x23 { pathEnd += 1 }
            let path = bytes[i..<pathEnd]
            guard !authority.isEmpty, !authority.contains(0x40) else { return nil }  // @: no user info
            var host: ArraySlice<UInt8>
            var portBytes: ArraySlice<UInt8>?
            if authority.first == 0x5B {  // [IPv6]
                guard let close = authority.firstIndex(of: 0x5D) else { return nil }
                host = authority[(authority.startIndex + 1)..<close]
                let after = authority[(close + 1)...]
                if !after.isEmpty {
                    guard after.first == 0x3A else { return nil }
                    portBytes = after.dropFirst()
                }
            } else if let colon = authority.lastIndex(of: 0x3A) {
                host = authority[..<colon]
                portBytes = authority[(colon + 1)...]
            } else {
                host = authority
            }
            let defaultPort = tls ? 443 : 80
            var port = defaultPort
            if let portBytes {
                guard !portBytes.isEmpty, portBytes.count <= 5, portBytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
                else { return nil }
                port = portBytes.reduce(0) { $0 * 10 + Int($1 - 0x30) }
                guard (1...65535).contains(port) else { return nil }
            }
            guard !host.isEmpty else { return nil }
            let hostString = String(decoding: host, as: UTF8.self)
            origin = Origin(tls: tls, host: hostString, port: port)
            if path.isEmpty {
                self.path = "/"
            } else if path.first == 0x3F {
                self.path = "/" + String(decoding: path, as: UTF8.self)
            } else {
                self.path = String(decoding: path, as: UTF8.self)
            }
            let bracketed = host.contains(0x3A) ? "[\(hostString)]" : hostString
            hostHeader = port == defaultPort ? bracketed : "\(bracketed):\(port)"
        }
    }

    /// GET, HEAD, PUT, DELETE, OPTIONS: sending one twice does no harm (RFC 9110 §9.2.2).
    static func isIdempotent(_ method: HTTPMethod) -> Bool {
        switch method {
        case .GET, .HEAD, .PUT, .DELETE, .OPTIONS: true
        default: false
        }
    }

    /// Whether `origin` goes direct instead of through the proxy, by `NO_PROXY` entries as
    /// curl reads them: `*` (everything), a host name (itself and its subdomains), `.domain`
    /// (the same), an IP address (exactly; no CIDR ranges), each optionally with `:port`
    /// (then only that port). Case-insensitive; entries normalised by
    /// ``normalizedNoProxyEntry(_:)``.
    static func bypassesProxy(_ origin: Origin, noProxy: [String]) -> Bool {
        guard !noProxy.isEmpty else { return false }
        var host = origin.host.lowercased()
        if host.hasSuffix(".") { host.removeLast() }
        let hostIsAddress = TLSNameCheck.addressBytes(host) != nil
        for entry in noProxy {
            if entry == "*" { return true }
            var name = Substring(entry)
            var port: Substring?
            if name.hasPrefix("[") {  // [v6] or [v6]:port
                guard let close = name.firstIndex(of: "]") else { continue }
                let after = name[name.index(after: close)...]
                if after.hasPrefix(":") { port = after.dropFirst() } else if !after.isEmpty { continue }
                name = name[name.index(after: name.startIndex)..<close]
            } else if let colon = name.firstIndex(of: ":"), colon == name.lastIndex(of: ":") {  // host:port
                port = name[name.index(after: colon)...]
                name = name[..<colon]
            }
            if let port, Int(port) != origin.port { continue }
            if name.hasPrefix(".") { name = name.dropFirst() }
            guard !name.isEmpty else { continue }
            if host == name { return true }
            // Domain suffixes for host names only (`0.0.1` is no domain of `127.0.0.1`).
            if !hostIsAddress, host.hasSuffix("." + name) { return true }
        }
        return false
    }

    /// One `NO_PROXY` entry trimmed, lowercased, without a trailing dot; nil when empty.
    static func normalizedNoProxyEntry(_ entry: String) -> String? {
        var text = Substring(entry.lowercased())
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text.isEmpty ? nil : String(text)
    }

    static func breaksFraming(_ text: String) -> Bool {
        text.utf8.contains { $0 == 13 || $0 == 10 || $0 == 0 }
    }

    /// A byte ≤ 0x20 (controls, space) or 0x7F (DEL): not allowed in a request target or
    /// host (RFC 9112 §3.2; a URL must percent-encode them).
    static func unsafeInTarget(_ text: String) -> Bool {
        text.utf8.contains { $0 <= 0x20 || $0 == 0x7F }
    }

    /// A header field name: non-empty, printable ASCII without space, colon or DEL.
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && !text.utf8.contains { $0 <= 0x20 || $0 >= 0x7F || $0 == UInt8(ascii: ":") }
    }
}
