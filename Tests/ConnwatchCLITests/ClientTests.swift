import Foundation
import Synchronization
import Testing

@testable import ConnwatchCLI

#if canImport(Glibc)
    import Glibc
#endif

/// The HTTP/1.1 client: parsing replies, and a real round trip over a Unix socket.
@Suite struct ClientTests {
    @Test func parsesContentLengthChunkedAndCloseDelimitedBodies() throws {
        let sized = try HTTPReplyParser.parse(
            Data("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}trailing".utf8))
        #expect(
            sized
                == HTTPReply(
                    status: 200, headers: ["content-type": "application/json", "content-length": "2"],
                    body: Data("{}".utf8)))
        let chunked = try HTTPReplyParser.parse(
            Data(
                "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3;x=y\r\n:1}\r\n0\r\n\r\n"
                    .utf8))
        #expect(chunked.status == 404 && chunked.text == "{\"a\":1}")
        let closed = try HTTPReplyParser.parse(Data("HTTP/1.1 500 Oops\r\n\r\nbody".utf8))
        #expect(closed.status == 500 && closed.text == "body")
    }

    @Test func parsesInPlaceFromASliceAndALargeBody() throws {
        // A Data slice (non-zero start index) and a 3 MB body: offsets are the slice's own.
        let big = String(repeating: "0123456789abcdef", count: 196_608)
        let raw = Data(("junk" + "HTTP/1.1 200 OK\r\nContent-Length: \(big.utf8.count)\r\n\r\n" + big).utf8)
        let reply = try HTTPReplyParser.parse(raw[4...])
        #expect(reply.status == 200 && reply.body.count == big.utf8.count && reply.text == big)
        let chunks = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        let chunked = try HTTPReplyParser.parse(Data(("xx" + chunks).utf8)[2...])
        #expect(chunked.text == "abcde")
    }

    @Test(arguments: [
        ("", "the connection closed without a reply"), ("HTTP/1.1 200 OK\r\nX: y", "no end of headers"),
        ("SSH-2.0-OpenSSH\r\n\r\n", #"status line "SSH-2.0-OpenSSH""#),
        ("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "body shorter than its Content-Length"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", #"chunk size "zz""#),
    ])
    func refusesWhatIsNotAReply(raw: String, why: String) {
        #expect(throws: ControlClientError.badReply(why)) { try HTTPReplyParser.parse(Data(raw.utf8)) }
    }

    @Test func nothingListeningIsUnreachable() async throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/none.sock"
        let error = await onThread { () -> ControlClientError? in
            do {
                _ = try UnixSocketClient(path: path).send("GET", "/v1/status", body: nil)
                return nil
            } catch { return error as? ControlClientError }
        }
        #expect(error == .unreachable(path: path, reason: "No such file or directory"))
    }

    @Test func roundTripOverAUnixSocket() async throws {
        let dir = try TemporaryDirectory()
        let server = try OneShotServer(
            path: dir.path + "/s.sock",
            reply:
                "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"silence\":true}"
        )
        let body = Data(#"{"connector":"x"}"#.utf8)
        let reply = await onThread {
            try? UnixSocketClient(path: server.path, timeout: .seconds(10)).send("POST", "/v1/silences", body: body)
        }
        #expect(reply?.status == 201)
        #expect(reply?.text == #"{"silence":true}"#)
        let request = server.received()
        #expect(request.hasPrefix("POST /v1/silences HTTP/1.1\r\nHost: localhost\r\n"))
        #expect(request.contains("Connection: close\r\n"))
        #expect(request.contains("Content-Length: 17\r\n"))
        #expect(request.hasSuffix("\r\n\r\n" + #"{"connector":"x"}"#))
    }

    @Test func aSilentDaemonTimesOut() async throws {
        let dir = try TemporaryDirectory()
        let server = try OneShotServer(path: dir.path + "/s.sock", reply: nil)
        let error = await onThread { () -> ControlClientError? in
            do {
                _ = try UnixSocketClient(path: server.path, timeout: .seconds(1)).send("GET", "/v1/status", body: nil)
                return nil
            } catch { return error as? ControlClientError }
        }
        #expect(error == .timeout(path: server.path))
    }
}

/// Runs blocking socket code on its own thread: never on the cooperative pool, where it
/// could starve the other tests on a 2-core machine.
func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}

struct TemporaryDirectory: ~Copyable {
    let path: String

    init() throws {
        path =
            FileManager.default.temporaryDirectory.appendingPathComponent("cwctl-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Accepts one connection on a Unix socket, reads the request, answers `reply` (or holds
/// the connection silent for 3 s when nil), closes.
final class OneShotServer: Sendable {
    let path: String
    private let request = Mutex<String?>(nil)

    init(path: String, reply: String?) throws {
        self.path = path
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard fd >= 0, bound == 0, listen(fd, 1) == 0 else { throw POSIXError(.EADDRINUSE) }
        Thread { [self] in
            let client = accept(fd, nil, nil)
            var received = Data()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = recv(client, &buffer, buffer.count, 0)
                if n <= 0 { break }
                received.append(contentsOf: buffer[0..<n])
                let text = String(decoding: received, as: UTF8.self)
                if let end = text.range(of: "\r\n\r\n") {
                    let length =
                        text[..<end.lowerBound].split(separator: "\r\n")
                        .first { $0.lowercased().hasPrefix("content-length:") }
                        .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                    if text.utf8.count - text.utf8.distance(from: text.startIndex, to: end.upperBound) >= length {
                        break
                    }
                }
            }
            request.withLock { $0 = String(decoding: received, as: UTF8.self) }
            if let reply {
                _ = Array(reply.utf8).withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            } else {
                Thread.sleep(forTimeInterval: 3)
            }
            close(client)
            close(fd)
        }.start()
    }

    func received() -> String { request.withLock { $0 } ?? "" }
}
