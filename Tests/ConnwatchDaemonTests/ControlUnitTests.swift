import ConnwatchCore
import ConnwatchTestSupport
import Foundation
import NIOCore
import Synchronization
import Testing

@testable import ConnwatchDaemon

#if canImport(Glibc)
    import Glibc
#endif

/// Accounts as a table: uid → name, group name → gid, user → supplementary gids.
struct FakeAccounts: AccountDirectory {
    var users: [UInt32: String] = [0: "root", 990: "connwatch", 1000: "alice", 1001: "bob", 1002: "carol"]
    var groups: [String: UInt32] = ["wheel": 10, "connwatch": 990, "ops": 2000]
    var memberships: [String: Set<UInt32>] = ["carol": [2000]]

    func userName(uid: UInt32) -> String? { users[uid] }
    func groupID(name: String) -> UInt32? { groups[name] }
    func groupIDs(user: String, primary: UInt32) -> Set<UInt32> { (memberships[user] ?? []).union([primary]) }
}

@Suite struct MutationPolicyTests {
    let policy = MutationPolicy(daemonUID: 990, operators: ["alice", "1003", "@wheel", "@ops", "@nosuchgroup"])
    let accounts = FakeAccounts()

    func peer(_ uid: UInt32, gid: UInt32 = 100) -> PeerCredentials { PeerCredentials(pid: 42, uid: uid, gid: gid) }

    @Test func rootTheDaemonAndOperatorsMayChange() {
        #expect(policy.decide(peer(0), accounts: accounts) == .allowed("root"))
        #expect(policy.decide(peer(990), accounts: accounts) == .allowed("the daemon's own user"))
        #expect(policy.decide(peer(1000), accounts: accounts) == .allowed("operator alice"))
        #expect(policy.decide(peer(1003), accounts: accounts) == .allowed("operator 1003"), "a numeric uid")
        #expect(policy.decide(peer(1001, gid: 10), accounts: accounts) == .allowed("operator @wheel"), "primary group")
        #expect(policy.decide(peer(1002), accounts: accounts) == .allowed("operator @ops"), "supplementary group")
    }

    @Test func everyoneElseIsToldWhoMay() {
        let decision = policy.decide(peer(1001), accounts: accounts)
        #expect(
            decision
                == .denied(
                    "permission denied: uid 1001 (bob) may read but not change connwatchd; changes need root, the daemon's own user (uid 990, connwatch) or a user or @group listed in [daemon] operators (currently alice, 1003, @wheel, @ops, @nosuchgroup)"
                ))
        let none = MutationPolicy(daemonUID: 990, operators: [])
        guard case .denied(let message) = none.decide(peer(4242), accounts: accounts) else {
            Issue.record("uid 4242 allowed")
            return
        }
        #expect(message.hasPrefix("permission denied: uid 4242 may read"))
        #expect(message.hasSuffix("(none yet)"))
    }

    @Test func theSystemDirectoryKnowsRoot() {
        let system = SystemAccounts()
        #expect(system.userName(uid: 0) == "root")
        #expect(system.groupID(name: "root") == 0)
        #expect(system.groupIDs(user: "root", primary: 0).contains(0))
        #expect(system.groupID(name: "no-such-group-\(UInt32.random(in: 0...99999))") == nil)
    }
}

@Suite struct MetricsExpositionTests {
    static let now = Date(timeIntervalSince1970: 1_795_000_000)

    @Test func rendersTheTextFormat() {
        let expiring = CheckResult(
            check: .secretExpiry, status: .warning, reason: .secretExpiring, summary: "s",
            checkedAt: Self.now.addingTimeInterval(-60),
            expiry: CredentialExpiry(credentialId: "k", expiresAt: Self.now.addingTimeInterval(9.5 * 86400)))
        let report = StatusReport(
            daemon: .init(version: "0.1.0", startedAt: Self.now.addingTimeInterval(-3600), lastCycleAt: nil),
            connectors: [
                .init(
                    identity: ConnectorIdentity(name: "a\"b\\c", kind: .exchange, tenantId: "t", clientId: "c"),
                    checks: [expiring]),
                .init(identity: ConnectorIdentity(name: "new", kind: .teams, tenantId: "t", clientId: "c"), checks: []),
            ])
        let metrics = CheckMetrics()
        metrics.record(connector: "a\"b\\c", kind: .exchange, duration: .milliseconds(300), results: [expiring])
        metrics.record(connector: "a\"b\\c", kind: .exchange, duration: .seconds(4), results: [expiring])
        metrics.record(connector: "gone", kind: .exchange, duration: .seconds(1), results: [])
        let text = MetricsExposition(
            report: report, checks: metrics.snapshot(),
            consecutiveFailures: [AlertKey(connector: "new", check: .credential): 2],
            deliveries: ["pending": 3, "dead": 1], firingAlerts: 1, activeSilences: 0, commitFailures: 0, now: Self.now
        ).render()
        let lines = Set(text.split(separator: "\n").map(String.init))
        for expected in [
            "# TYPE connwatch_connector_status gauge",
            #"connwatch_connector_status{connector="a\"b\\c",kind="exchange",status="warning"} 1"#,
            #"connwatch_connector_status{connector="a\"b\\c",kind="exchange",status="ok"} 0"#,
            #"connwatch_connector_status{connector="new",kind="teams",status="unknown"} 1"#,
            #"connwatch_check_status{connector="a\"b\\c",check="secret_expiry",reason="secret_expiring"} 1"#,
            #"connwatch_credential_days_left{connector="a\"b\\c",check="secret_expiry"} 9"#,
            "connwatch_last_cycle_timestamp_seconds 0",
            "connwatch_start_time_seconds 1794996400",
            "# TYPE connwatch_check_duration_seconds histogram",
            #"connwatch_check_duration_seconds_bucket{kind="exchange",le="0.25"} 0"#,
            #"connwatch_check_duration_seconds_bucket{kind="exchange",le="0.5"} 1"#,
            #"connwatch_check_duration_seconds_bucket{kind="exchange",le="5"} 3"#,
            #"connwatch_check_duration_seconds_bucket{kind="exchange",le="+Inf"} 3"#,
            #"connwatch_check_duration_seconds_sum{kind="exchange"} 5.3"#,
            #"connwatch_check_duration_seconds_count{kind="exchange"} 3"#,
            #"connwatch_connector_check_duration_seconds{connector="a\"b\\c"} 4"#,
            #"connwatch_check_results_total{check="secret_expiry",status="warning"} 2"#,
            #"connwatch_check_consecutive_failures{connector="new",check="credential"} 2"#,
            #"connwatch_webhook_deliveries{status="pending"} 3"#,
            #"connwatch_webhook_deliveries{status="gone"} 0"#,
            "connwatch_alerts_firing 1",
        ] {
            #expect(lines.contains(expected), "\(expected)")
        }
        #expect(!text.contains(#"connector="gone""#), "a connector no longer configured is not listed")
        // Every family is declared once, before its samples.
        let types = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        #expect(Set(types).count == types.count)
        #expect(text.hasSuffix("\n"))
    }

    @Test func formatsNumbers() {
        #expect(MetricsExposition.format(3) == "3")
        #expect(MetricsExposition.format(0.25) == "0.25")
        #expect(MetricsExposition.format(.infinity) == "+Inf")
        #expect(MetricsExposition.escape("a\nb\"c\\") == #"a\nb\"c\\"#)
    }
}

@Suite struct ControlSocketClaimTests {
    @Test func replacesAStaleSocketAndRemovesItsOwnOnRelease() throws {
        let temporary = try TemporaryDirectory("claim")
        let path = temporary.path + "/c.sock"
        UnixSocket.makeStale(path)
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(ControlSocketClaim.probe(path) == .refused)
        let claim = try ControlSocketClaim.claim(path: path)
        #expect(!FileManager.default.fileExists(atPath: path), "the stale file is gone")
        // While claimed, nobody else gets it.
        #expect(throws: ControlSocketError.self) { try ControlSocketClaim.claim(path: path) }
        UnixSocket.makeStale(path)  // as if bound
        claim.release()
        #expect(!FileManager.default.fileExists(atPath: path))
        let again = try ControlSocketClaim.claim(path: path)
        again.release()
    }

    @Test func neverDeletesALiveSocketOrAnotherFile() throws {
        let temporary = try TemporaryDirectory("claim")
        let dir = temporary.path
        let live = dir + "/live.sock"
        UnixSocket.makeStale(live)
        unlink(live)
        let fd = try UnixSocket.listening(live)
        defer { close(fd) }
        do {
            _ = try ControlSocketClaim.claim(path: live)
            Issue.record("claimed a live socket")
        } catch {
            guard case .inUse = error else {
                Issue.record("\(error)")
                return
            }
            #expect(error.description.contains("another connwatchd is serving the control socket"))
        }
        #expect(FileManager.default.fileExists(atPath: live))

        let file = dir + "/file.sock"
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: file))
        #expect(throws: ControlSocketError.self) { try ControlSocketClaim.claim(path: file) }
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "keep me")
    }

    @Test func createsAMissingDirectory() throws {
        let temporary = try TemporaryDirectory("claim")
        let dir = temporary.path
        let claim = try ControlSocketClaim.claim(path: dir + "/run/c.sock")
        var isDir: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: dir + "/run", isDirectory: &isDir) && isDir.boolValue)
        claim.release()
    }

    @Test func socketPathFollowsTheRuntimeDirectoryOnlyForTheDefault() {
        var settings = DaemonSettings()
        #expect(ControlSocketClaim.path(settings: settings, environment: [:]) == "/run/connwatch/connwatch.sock")
        #expect(
            ControlSocketClaim.path(settings: settings, environment: ["RUNTIME_DIRECTORY": "/run/cw:/run/other"])
                == "/run/cw/connwatch.sock")
        settings.socket = "/srv/c.sock"
        #expect(
            ControlSocketClaim.path(settings: settings, environment: ["RUNTIME_DIRECTORY": "/run/cw"]) == "/srv/c.sock")
    }
}

@Suite struct ControlGateTests {
    @Test func concurrentReadersShareOneStatusReport() async {
        let cache = StatusCache(maxAge: .seconds(60))
        let fetches = Shared(0)
        let report = StatusReport(daemon: .init(version: "t", startedAt: Date(), lastCycleAt: nil), connectors: [])
        await withTaskGroup(of: StatusReport.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    await cache.report {
                        fetches.withLock { $0 += 1 }
                        try? await Task.sleep(for: .milliseconds(50))
                        return report
                    }
                }
            }
            for await r in group { #expect(r == report) }
        }
        #expect(fetches.withLock { $0 } == 1)
        _ = await cache.report {
            fetches.withLock { $0 += 1 }
            return report
        }
        #expect(fetches.withLock { $0 } == 1, "still fresh: not fetched again")
        await cache.invalidate()
        _ = await cache.report {
            fetches.withLock { $0 += 1 }
            return report
        }
        #expect(fetches.withLock { $0 } == 2, "invalidated: fetched again")
    }

    @Test func reloadsRunOneAtATime() async {
        let gate = ReloadGate()
        let state = Shared((running: 0, most: 0, runs: 0))
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<5 {
                group.addTask {
                    _ = await gate.run {
                        state.withLock {
                            $0.running += 1
                            $0.most = max($0.most, $0.running)
                        }
                        try? await Task.sleep(for: .milliseconds(20))
                        state.withLock {
                            $0.running -= 1
                            $0.runs += 1
                        }
                        return nil
                    }
                }
            }
        }
        #expect(state.withLock { $0.most } == 1)
        #expect(state.withLock { $0.runs } == 5)
    }
}

/// A value tasks share.
final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ v: Value) { value = Mutex(v) }
    func withLock<R: Sendable>(_ body: (inout sending Value) -> sending R) -> R { value.withLock(body) }
}

/// docs/control-api.yaml lists the API's enumerations; they must be Core's, so that a new
/// reason or event type cannot be added without documenting it.
@Suite struct ControlAPIDocumentTests {
    static let document: String = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/control-api.yaml")
        return (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    }()

    /// The values of `enum:` under the schema `name` (block or flow style).
    static func enumeration(_ name: String) -> [String] {
        let lines = document.components(separatedBy: "\n")
        guard let start = lines.firstIndex(of: "    \(name):") else { return [] }
        var values: [String] = []
        var inEnum = false
        for line in lines[(start + 1)...] {
            if !line.hasPrefix("      ") && !line.isEmpty { break }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("enum: [") {
                return trimmed.dropFirst(7).dropLast().split(separator: ",").map {
                    $0.trimmingCharacters(in: .whitespaces)
                }
            }
            if trimmed == "enum:" {
                inEnum = true
            } else if inEnum, trimmed.hasPrefix("- ") {
                values.append(String(trimmed.dropFirst(2)))
            } else if inEnum {
                break
            }
        }
        return values
    }

    @Test func enumerationsMatchCore() {
        #expect(!Self.document.isEmpty)
        #expect(Self.enumeration("Reason") == Reason.allCases.map(\.rawValue))
        #expect(Self.enumeration("EventType") == AlertEventType.allCases.map(\.rawValue))
        #expect(Self.enumeration("CheckKind") == CheckKind.allCases.map(\.rawValue))
        #expect(Self.enumeration("ConnectorKind") == ConnectorKind.allCases.map(\.rawValue))
        #expect(Self.enumeration("Status") == ["ok", "warning", "unknown", "critical"])
        #expect(Set(CheckStatus.allCases.map(\.rawValue)) == Set(Self.enumeration("Status")))
    }

    @Test func everyRouteIsDocumented() {
        for route in [
            "/v1/status:", "/v1/connectors/{name}:", "/v1/connectors/{name}/history:", "/v1/connectors/{name}/check:",
            "/v1/check:", "/v1/reload:", "/v1/alerts:", "/v1/silences:", "/v1/silences/{id}:", "/v1/deliveries:",
            "/v1/deliveries/{id}/retry:", "/metrics:",
        ] {
            #expect(Self.document.contains("\n  \(route)\n"), "\(route)")
        }
    }
}

@Suite struct StatusJSONCacheTests {
    static let now = Date(timeIntervalSince1970: 1_795_000_000)

    func report(_ summaries: [String]) -> StatusReport {
        StatusReport(
            daemon: .init(version: "0.1.0", startedAt: Self.now, lastCycleAt: Self.now.addingTimeInterval(60)),
            connectors: summaries.enumerated().map { i, summary in
                .init(
                    identity: ConnectorIdentity(
                        name: "c\(i)", kind: .exchange, tenantId: "t", clientId: "c", labels: ["n": "\(i)"]),
                    checks: [
                        CheckResult(
                            check: .secretExpiry, status: .warning, reason: .secretExpiring, summary: summary,
                            details: ["hint": "Xq8", "when": ["a": 1, "b": [true, .null]]],
                            checkedAt: Self.now,
                            expiry: CredentialExpiry(credentialId: "k", expiresAt: Self.now.addingTimeInterval(86400))),
                        CheckResult(check: .consent, status: .ok, reason: .ok, summary: "ok", checkedAt: Self.now),
                    ])
            })
    }

    /// Plays the coordinator: a status for each connector whose stamp the cache does not know.
    func update(_ r: StatusReport, stamps: [UInt64], epoch: UInt64 = 1) -> @Sendable ([String: StatusStamp]) async
        -> StatusUpdate
    {
        { known in
            StatusUpdate(
                daemon: r.daemon,
                entries: zip(r.connectors, stamps).map { c, rev in
                    let stamp = StatusStamp(epoch: epoch, revision: rev)
                    return .init(name: c.name, stamp: stamp, status: known[c.name] == stamp ? nil : c)
                })
        }
    }

    func all(_ b: ByteBuffer) -> [UInt8] { b.getBytes(at: b.readerIndex, length: b.readableBytes) ?? [] }

    func expected(_ r: StatusReport) throws -> [UInt8] {
        Array(try StatusReport.encoder.encode(r)) + [0x0A]
    }

    @Test func assembledRepliesAreByteForByteTheEncodersAndFollowStamps() async throws {
        let cache = StatusJSONCache()
        let first = report(["a \"quoted\" / summary", "b", "c"])
        var body = try await cache.body(update(first, stamps: [1, 2, 3]))
        #expect(all(body) == (try expected(first)))
        // Same stamps: every fragment reused — even a status that differs is not re-encoded
        // (the stamp is the contract), which shows the fragments are what is sent.
        let sneaky = report(["a \"quoted\" / summary", "not re-encoded", "c"])
        body = try await cache.body(update(sneaky, stamps: [1, 2, 3]))
        #expect(all(body) == (try expected(first)))
        // One connector re-stamped and one removed (a reload): its new JSON, the other's old one.
        let changed = report(["a \"quoted\" / summary", "B changed"])
        body = try await cache.body(update(changed, stamps: [1, 4]))
        #expect(all(body) == (try expected(changed)))
        // A new epoch re-encodes everything.
        let again = report(["A", "B"])
        body = try await cache.body(update(again, stamps: [1, 4], epoch: 2))
        #expect(all(body) == (try expected(again)))
        let empty = StatusReport(daemon: first.daemon, connectors: [])
        body = try await cache.body(update(empty, stamps: []))
        #expect(all(body) == (try expected(empty)))
        body = try await cache.body(update(changed, stamps: [7, 8]))
        let bytes = body.readBytes(length: body.readableBytes) ?? []
        #expect(try StatusReport.decoder.decode(StatusReport.self, from: Data(bytes)) == changed)
    }
}
