import ConnwatchTestSupport
import Foundation
import Testing

@testable import ConnwatchCLI

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
        let dir = try TemporaryDirectory("ctl")
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
