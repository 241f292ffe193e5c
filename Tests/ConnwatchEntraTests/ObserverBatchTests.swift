import ConnwatchCore
import ConnwatchTestSupport
import Foundation
import Testing

@testable import ConnwatchEntra

/// The observer client's pure parts: batch planning, the batch reply reader, the reports
/// window and the certificate file.
struct ObserverBatchTests {
    typealias Item = GraphBatchWire.Item

    static func items(directory: Int, reports: Int) -> [Item] {
        (0..<directory).map { Item(id: "d\($0)", url: "applications(appId='\($0)')") }
            + (0..<reports).map { Item(id: "r\($0)", url: "auditLogs/signIns?$filter=x\($0)") }
    }

    @Test(arguments: [
        // (directory reads, reports, reports per batch) -> batch sizes
        (0, 0, 5, [Int]()),
        (1, 0, 5, [1]),
        (20, 0, 5, [20]),
        (21, 0, 5, [20, 1]),
        (201, 0, 5, [20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 1]),
        (0, 5, 5, [5]),
        (0, 12, 5, [5, 5, 2]),
        (3, 7, 5, [5, 3, 2]),
        (0, 30, 50, [20, 10]),
    ])
    func batchesHoldAtMostTwentyAndReportsAtMostTheGate(
        directory: Int, reports: Int, maxReports: Int, sizes: [Int]
    ) {
        let plan = GraphBatchWire.plan(Self.items(directory: directory, reports: reports), maxReports: maxReports)
        #expect(plan.map(\.count).sorted() == sizes.sorted())
        // Never mixed, every item once.
        for batch in plan { #expect(Set(batch.map(\.isReport)).count == 1) }
        #expect(plan.flatMap { $0 }.count == directory + reports)
        #expect(Set(plan.flatMap { $0 }.map(\.id)).count == directory + reports)
    }

    @Test func targetsAreReadOnceEachKeepingAzureBlob() {
        let a = "C0000000-0000-4000-8000-00000000000A"
        let targets = [
            ObservationTarget(clientId: a, kind: .exchange),
            ObservationTarget(clientId: "b", kind: .teams),
            ObservationTarget(clientId: a.lowercased(), kind: .azureBlob, subscriptionId: "s"),
            ObservationTarget(clientId: "b", kind: .onedrive),
        ]
        let unique = ObserverClient.unique(targets)
        #expect(unique.map(\.kind) == [.azureBlob, .teams])
        #expect(unique[0].subscriptionId == "s")
    }

    @Test func theBatchBodyIsGraphsShape() throws {
        let body = GraphBatchWire.body([Item(id: "a0", url: "servicePrincipals(appId='x')")])
        let json = try #require(CompactJSON.object(body))
        guard case .array(let requests)? = json["requests"], case .object(let r)? = requests.first else {
            Issue.record("no requests array")
            return
        }
        #expect(r["id"] == "a0")
        #expect(r["method"] == "GET")
        #expect(r["url"] == "/servicePrincipals(appId='x')")
    }

    @Test func repliesAreReadStrictly() throws {
        let asked = [Item(id: "1", url: "a"), Item(id: "2", url: "b")]
        let ok = Data(
            #"{"responses":[{"id":"2","status":429,"headers":{"Retry-After":"3"},"body":{"error":{"code":"TooManyRequests","message":"slow"}}},{"id":"1","status":200,"body":{"value":[]}}]}"#
                .utf8)
        let replies = try GraphBatchWire.replies(ok, asked: asked, endpoint: "batch")
        #expect(replies["1"]?.status == 200)
        #expect(replies["2"]?.retryAfter == 3)
        #expect(CompactJSON.object(replies["1"]!.body)?["value"] == .array([]))

        let bad: [String] = [
            #"{"responses":"x"}"#,
            #"{"value":[]}"#,
            #"{"responses":[{"id":"1","status":"200"}]}"#,
            #"{"responses":[{"id":"1","status":200},{"id":"1","status":200}]}"#,
            #"{"responses":[{"id":"9","status":200}]}"#,
            #"{"responses":[{"id":"1","status":200,"body":[1]}]}"#,
            "not json",
        ]
        for body in bad {
            #expect(throws: EntraError.self, "\(body)") {
                try GraphBatchWire.replies(Data(body.utf8), asked: asked, endpoint: "batch")
            }
            do {
                _ = try GraphBatchWire.replies(Data(body.utf8), asked: asked, endpoint: "batch")
            } catch {
                #expect(error.isTransient, "a reply nobody documents is transient: \(body)")
            }
        }
    }

    @Test func theReportsWindowAdmitsFivePerTenSeconds() {
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        var w = ReportsWindow(limit: 5, window: 10)
        // (count asked, at offset) -> slot offset
        let table: [(Int, TimeInterval, TimeInterval)] = [
            (2, 0, 0),  // 2 used
            (3, 1, 1),  // 5 used
            (1, 2, 10),  // the oldest (t0) leaves at 10
            (2, 3, 11),  // the next two (t0+1 ×2 … ) leave at 11
            (5, 12, 21),  // all five of 10, 11, 11, … must leave: the newest reserved at 11 → 21
        ]
        for (count, at, expected) in table {
            let slot = w.reserve(count: count, now: t0.addingTimeInterval(at))
            #expect(slot == t0.addingTimeInterval(expected), "\(count) at +\(at)")
        }
        // At no instant more than five inside any 10 s window.
        let times = w.sent
        for t in times {
            #expect(times.filter { $0 >= t && $0 < t.addingTimeInterval(10) }.count <= 5)
        }
        // A 429 blocks until its Retry-After, even with room in the window.
        var b = ReportsWindow(limit: 5, window: 10)
        b.block(retryAfter: 7, now: t0)
        #expect(b.earliest(count: 1, now: t0.addingTimeInterval(1)) == t0.addingTimeInterval(7))
        #expect(b.earliest(count: 1, now: t0.addingTimeInterval(8)) == t0.addingTimeInterval(8))
    }

    @Test func theCertificateFileHoldsKeyAndCertificate() throws {
        let pair = try TestPKI.rsaCertificate(commonName: "observer", key: 3)
        let other = try TestPKI.rsaCertificate(commonName: "other", key: 1)
        let both = Data((pair.privateKeyFile + pair.certificateFile).utf8)
        let credential = try ObserverCertificateFile.parse(both, path: "obs.pem")
        #expect(credential.sha1Thumbprint == pair.thumbprint)
        // Either order.
        let reversed = Data((pair.certificateFile + pair.privateKeyFile).utf8)
        #expect(try ObserverCertificateFile.parse(reversed, path: "obs.pem").sha1Thumbprint == pair.thumbprint)

        let cases: [(String, ObserverCertificateFile.LoadError)] = [
            (pair.privateKeyFile, .noCertificate(path: "p")),
            (pair.certificateFile, .noPrivateKey(path: "p")),
            (
                other.privateKeyFile + pair.certificateFile,
                .credential(path: "p", .keyMismatch)
            ),
        ]
        for (text, expected) in cases {
            #expect(throws: expected) { try ObserverCertificateFile.parse(Data(text.utf8), path: "p") }
        }
        // The error never carries the key.
        let e = ObserverCertificateFile.LoadError.noCertificate(path: "p").description
        #expect(!e.contains("PRIVATE"))
    }

    @Test func theCertificateFileMustBePrivate() throws {
        let pair = try TestPKI.rsaCertificate(commonName: "observer", key: 3)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("obsfile-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/observer.pem"
        try (pair.privateKeyFile + pair.certificateFile).write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
        #expect(throws: ObserverCertificateFile.LoadError.self) { try ObserverCertificateFile.loadCached(path: path) }
        chmod(path, 0o600)
        #expect(try ObserverCertificateFile.loadCached(path: path).sha1Thumbprint == pair.thumbprint)
        // Replaced in place: the new certificate is read.
        let renewed = try TestPKI.rsaCertificate(commonName: "renewed", key: 3)
        try (renewed.privateKeyFile + renewed.certificateFile).write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        #expect(try ObserverCertificateFile.loadCached(path: path).sha1Thumbprint == renewed.thumbprint)
    }
}
