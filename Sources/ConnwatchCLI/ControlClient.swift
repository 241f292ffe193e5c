import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A reply of connwatchd's control socket.
public struct HTTPReply: Sendable, Equatable {
    public var status: Int
    /// Header names lowercased.
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Why no reply came.
public enum ControlClientError: Error, Equatable, CustomStringConvertible {
    /// Nothing listens (no file, connection refused) or the socket cannot be opened.
    case unreachable(path: String, reason: String)
    /// The socket exists but this user may not open it.
    case permissionDenied(path: String)
    /// The daemon did not answer in time.
    case timeout(path: String)
    /// The connection broke, or the reply is not HTTP.
    case badReply(String)

    public var description: String {
        switch self {
        case .unreachable(let p, let r): "cannot reach connwatchd at \(p): \(r)"
        case .permissionDenied(let p): "permission denied opening \(p)"
        case .timeout(let p): "connwatchd did not answer on \(p) in time"
        case .badReply(let r): "connwatchd's reply is unreadable: \(r)"
        }
    }
}

/// How connwatchctl talks to the daemon; tests substitute canned replies.
public protocol ControlTransport: Sendable {
    func send(_ method: String, _ path: String, body: Data?) throws(ControlClientError) -> HTTPReply
}

/// A blocking HTTP/1.1 client over the Unix socket: one request per connection
/// (`Connection: close`), the reply read to the end. Enough for a command line tool, and
/// it speaks exactly what `curl --unix-socket` does.
public struct UnixSocketClient: ControlTransport {
    public var path: String
    /// How long to wait for the reply; nil waits for as long as it takes (`check`).
    public var timeout: Duration?

    public init(path: String, timeout: Duration? = .seconds(60)) {
        self.path = path
        self.timeout = timeout
    }

    public func send(_ method: String, _ target: String, body: Data? = nil) throws(ControlClientError) -> HTTPReply {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .unreachable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw .unreachable(path: path, reason: "the path is longer than a Unix socket path may be")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if rc != 0 {
            let e = errno
            if e == EACCES || e == EPERM { throw .permissionDenied(path: path) }
            throw .unreachable(path: path, reason: String(cString: strerror(e)))
        }
        if let timeout {
            var tv = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
        var request = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\nUser-Agent: connwatchctl\r\n"
        request += "Accept: application/json\r\nConnection: close\r\n"
        if let body {
            request += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        } else if method == "POST" || method == "PUT" {
            request += "Content-Length: 0\r\n"
        }
        request += "\r\n"
        var out = Data(request.utf8)
        if let body { out.append(body) }
        let sendError: ControlClientError? = out.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var sent = 0
            while sent < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                if n < 0 {
                    if errno == EINTR { continue }
                    if errno == EAGAIN || errno == EWOULDBLOCK { return .timeout(path: path) }
                    return .badReply("sending the request: \(String(cString: strerror(errno)))")
                }
                sent += n
            }
            return nil
        }
        if let sendError { throw sendError }
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var sized = false
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { throw .timeout(path: path) }
                if errno == ECONNRESET && !received.isEmpty { break }
                throw .badReply("reading the reply: \(String(cString: strerror(errno)))")
            }
            buffer.withUnsafeBufferPointer { received.append($0.baseAddress!, count: n) }
            if !sized, let total = HTTPReplyParser.expectedSize(received) {
                // Room for the whole reply at once (16 MB for 10,000 connectors), not doubling.
                sized = true
                received.reserveCapacity(total)
            }
        }
        return try HTTPReplyParser.parse(received)
    }
}

/// Parses a whole HTTP/1.1 response: status line, headers, then a body delimited by
/// `Content-Length`, chunked encoding, or the end of the connection.
public enum HTTPReplyParser {
    /// Head plus `Content-Length`, once the head has arrived; nil before or without one.
    static func expectedSize(_ data: Data) -> Int? {
        guard let headEnd = data.withUnsafeBytes({ find([13, 10, 13, 10], in: $0, from: 0) }) else { return nil }
        let head = String(decoding: data[data.startIndex..<(data.startIndex + headEnd)], as: UTF8.self)
        for line in head.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":"), line[..<colon].lowercased() == "content-length" else {
                continue
            }
            guard let n = Int(line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)), n >= 0,
                n <= 1 << 31
            else { return nil }
            return headEnd + 4 + n
        }
        return nil
    }

    public static func parse(_ data: Data) throws(ControlClientError) -> HTTPReply {
        // Works on the received bytes in place: a status reply of 10,000 connectors is 16 MB,
        // and every copy of it costs page faults.
        let headEnd: Int? = data.withUnsafeBytes { raw in find([13, 10, 13, 10], in: raw, from: 0) }
        guard let headEnd else {
            throw .badReply(data.isEmpty ? "the connection closed without a reply" : "no end of headers")
        }
        let start = data.startIndex
        let head = String(decoding: data[start..<(start + headEnd)], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw .badReply("status line \"\(statusLine.prefix(60))\"")
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { throw .badReply("header line \"\(line.prefix(60))\"") }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        let bodyStart = start + headEnd + 4
        let available = data.endIndex - bodyStart
        let body: Data
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            let dechunked = data.withUnsafeBytes { raw in
                Result { () throws(ControlClientError) in
                    try dechunk(UnsafeRawBufferPointer(rebasing: raw[(headEnd + 4)...]))
                }
            }
            body = Data(try dechunked.get())
        } else if let length = headers["content-length"].flatMap({ Int($0) }) {
            guard available >= length else { throw .badReply("body shorter than its Content-Length") }
            body = data[bodyStart..<(bodyStart + length)]  // a slice: no copy
        } else {
            body = data[bodyStart..<data.endIndex]
        }
        return HTTPReply(status: status, headers: headers, body: body)
    }

    static func dechunk(_ bytes: [UInt8]) throws(ControlClientError) -> [UInt8] {
        try bytes.withUnsafeBytes { raw in Result { () throws(ControlClientError) in try dechunk(raw) } }.get()
    }

    static func dechunk(_ bytes: UnsafeRawBufferPointer) throws(ControlClientError) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while true {
            guard let lineEnd = find([13, 10], in: bytes, from: i) else { throw .badReply("truncated chunk") }
            let sizeText = String(decoding: bytes[i..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                throw .badReply("chunk size \"\(sizeText.prefix(20))\"")
            }
            i = lineEnd + 2
            if size == 0 { return out }
            guard i + size <= bytes.count else { throw .badReply("truncated chunk") }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i..<(i + size)]))
            i += size + 2
        }
    }

    static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        bytes.withUnsafeBytes { find(needle, in: $0, from: start) }
    }

    static func find(_ needle: [UInt8], in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard !needle.isEmpty, bytes.count >= needle.count else { return nil }
        var i = start
        let last = bytes.count - needle.count
        outer: while i <= last {
            for (k, b) in needle.enumerated() where bytes[i + k] != b {
                i += 1
                continue outer
            }
            return i
        }
        return nil
    }
}
