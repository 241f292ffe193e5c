import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Plain blocking Unix-socket calls for tests of the control socket. Blocking I/O runs on
/// its own thread (``onThread(_:)``), never on the cooperative pool.
public enum UnixSocket {
    /// `sockaddr_un` for `path` (which must fit: 107 bytes at most).
    public static func address(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }

    /// A new stream socket bound to `path`, or -1.
    public static func bound(_ path: String) -> Int32 { opened(path) { bind($0, $1, $2) } }

    /// A new stream socket on which `call` (bind or connect) succeeded for `path`, or -1.
    private static func opened(_ path: String, _ call: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var address = address(path)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            return -1
        }
        return fd
    }

    /// A socket file nobody listens on (bound, then closed), as a crashed daemon leaves.
    public static func makeStale(_ path: String) {
        let fd = bound(path)
        if fd >= 0 { close(fd) }
    }

    /// A socket listening on `path`; throws when it cannot bind or listen.
    public static func listening(_ path: String, backlog: Int32 = 4) throws -> Int32 {
        let fd = bound(path)
        guard fd >= 0, listen(fd, backlog) == 0 else {
            if fd >= 0 { close(fd) }
            throw POSIXError(.EADDRINUSE)
        }
        return fd
    }

    /// A stream socket connected to `path` (receives time out after `timeout` seconds), or -1.
    public static func connected(_ path: String, timeout: Int = 30) -> Int32 {
        let fd = opened(path) { connect($0, $1, $2) }
        guard fd >= 0 else { return -1 }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    /// Sends `text` in one send(2) (no SIGPIPE).
    public static func send(_ fd: Int32, _ text: some StringProtocol) {
        _ = Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads from `fd` until EOF, an error or a time-out, or until `done` says what was
    /// received is complete.
    public static func receive(_ fd: Int32, until done: (Data) -> Bool = { _ in false }) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !done(data) {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        return data
    }
}

/// Runs blocking socket code on its own thread: never on the cooperative pool, where it
/// could starve the other tests on a 2-core machine.
public func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}

/// An HTTP/1.1 client of the control socket for tests: one request per connection
/// (`Connection: close`), the reply read to EOF, written by hand so that it checks the
/// daemon's wire format rather than sharing the CLI's client.
public struct ControlSocketClient: Sendable {
    /// A reply: the status, the head (status line and headers) and the body as sent.
    public struct Reply: Sendable {
        public var status: Int
        public var head: String
        public var body: Data
        public var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public let path: String

    public init(path: String) { self.path = path }

    /// `method target` with a JSON `body` (when given) and extra header lines.
    public func request(_ method: String, _ target: String, body: String? = nil, headers: [String] = []) async
        -> Reply
    {
        var raw = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        for h in headers { raw += h + "\r\n" }
        if let body { raw += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        raw += "\r\n" + (body ?? "")
        return await exchange(raw)
    }

    /// Sends `raw` as is (malformed requests too) and reads the reply to EOF; status 0 when
    /// there was none.
    public func exchange(_ raw: String) async -> Reply {
        let path = path
        return await onThread {
            let fd = UnixSocket.connected(path)
            guard fd >= 0 else { return Reply(status: 0, head: "", body: Data()) }
            defer { close(fd) }
            UnixSocket.send(fd, raw)
            let text = String(decoding: UnixSocket.receive(fd), as: UTF8.self)
            let parts = text.components(separatedBy: "\r\n\r\n")
            let head = parts.first ?? ""
            let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
            let body = Data(parts.dropFirst().joined(separator: "\r\n\r\n").utf8)
            return Reply(status: status, head: head, body: body)
        }
    }
}

/// A control-socket server for tests of clients: accepts one connection on `path`, reads
/// the request (head and Content-Length body), answers `reply` (or holds the connection
/// silent for 3 s when nil), closes.
public final class OneShotServer: Sendable {
    public let path: String
    private let request = Mutex<String?>(nil)

    public init(path: String, reply: String?) throws {
        self.path = path
        let fd = try UnixSocket.listening(path, backlog: 1)
        Thread { [self] in
            let client = accept(fd, nil, nil)
            let received = UnixSocket.receive(client) { data in
                let text = String(decoding: data, as: UTF8.self)
                guard let end = text.range(of: "\r\n\r\n") else { return false }
                let length =
                    text[..<end.lowerBound].split(separator: "\r\n")
                    .first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                return text.utf8.count - text.utf8.distance(from: text.startIndex, to: end.upperBound) >= length
            }
            request.withLock { $0 = String(decoding: received, as: UTF8.self) }
            if let reply {
                UnixSocket.send(client, reply)
            } else {
                Thread.sleep(forTimeInterval: 3)
            }
            close(client)
            close(fd)
        }.start()
    }

    /// The request as received (empty until it has been read).
    public func received() -> String { request.withLock { $0 } ?? "" }
}
