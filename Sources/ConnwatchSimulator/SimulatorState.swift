import Foundation
import Synchronization

/// Per-service request counters.
public struct RequestCounts: Codable, Sendable, Equatable {
    /// Requests to the simulated Microsoft services (the control endpoint is not counted).
    public var total: Int
    /// `login`, `graph`, `arm`, `office`, `sharepoint` → count.
    public var services: [String: Int]

    public init(total: Int = 0, services: [String: Int] = [:]) {
        self.total = total
        self.services = services
    }

    /// The count of one service.
    public subscript(service: Fault.Service) -> Int { services[service.rawValue] ?? 0 }
}

/// What the faults say about one request.
struct FaultDecision: Sendable {
    var latencyMs = 0
    /// The fault whose status or mode answers the request.
    var action: Fault?
}

/// The simulator's mutable state behind one lock: the compiled scenario, the faults with
/// their remaining counts, and the counters.
///
/// A `Mutex` rather than an actor: every request touches it once or twice for a few
/// microseconds, and a lock avoids an executor hop per request under 64 concurrent clients.
final class SimulatorState: Sendable {
    private struct Storage {
        var index: ScenarioIndex
        var faults: [(fault: Fault, remaining: Int?)]
        var counts: [Fault.Service: Int] = [:]
        var total = 0
    }

    private let storage: Mutex<Storage>
    private let stopping = Mutex(false)
    private let createdAt: Date

    /// Set when shutdown begins: held and delayed requests return at once.
    var isStopping: Bool { stopping.withLock { $0 } }

    func beginStopping() { stopping.withLock { $0 = true } }

    init(scenario: Scenario, createdAt: Date) throws(SimulatorError) {
        self.createdAt = createdAt
        let index = try ScenarioIndex(scenario, generation: 1, createdAt: createdAt)
        let faults = scenario.faults ?? []
        for f in faults { try f.validate() }
        storage = Mutex(Storage(index: index, faults: faults.map { ($0, $0.count) }))
    }

    /// The current scenario index; counts the request for `service` when given.
    func admit(_ service: Fault.Service?) -> (index: ScenarioIndex, faultsActive: Bool) {
        storage.withLock { s in
            if let service {
                s.counts[service, default: 0] += 1
                s.total += 1
            }
            return (s.index, !s.faults.isEmpty)
        }
    }

    var index: ScenarioIndex { storage.withLock { $0.index } }

    /// Matches the faults against a request and consumes their counts.
    /// - Parameter explicitPathOnly: only faults whose `path` matches (a Graph `$batch`
    ///   itself: path-less faults act on its inner requests instead).
    func decide(
        service: Fault.Service, path: String, tenantId: String?, tenantRaw: String?, index: ScenarioIndex,
        explicitPathOnly: Bool = false
    )
        -> FaultDecision
    {
        let lowerPath = path.lowercased()
        return storage.withLock { s in
            var decision = FaultDecision()
            for i in s.faults.indices {
                let (fault, remaining) = s.faults[i]
                if let remaining, remaining <= 0 { continue }
                guard fault.service == .any || fault.service == service else { continue }
                if explicitPathOnly, fault.path?.isEmpty ?? true { continue }
                if let p = fault.path, !p.isEmpty, !lowerPath.contains(p.lowercased()) { continue }
                if let t = fault.tenant?.lowercased() {
                    let matches = t == tenantRaw?.lowercased() || (tenantId != nil && index.tenant(t)?.id == tenantId)
                    if !matches { continue }
                }
                let acts = fault.status != nil || fault.mode != nil
                if acts, decision.action != nil {
                    continue  // an earlier fault already answers; this one keeps its count
                }
                decision.latencyMs += fault.latencyMs ?? 0
                if acts { decision.action = fault }
                if let remaining { s.faults[i].remaining = remaining - 1 }
            }
            return decision
        }
    }

    /// Replaces the scenario (and its faults, when it has some).
    func replace(_ scenario: Scenario) throws(SimulatorError) {
        try storage.withLock { (s: inout Storage) throws(SimulatorError) in
            let index = try ScenarioIndex(scenario, generation: s.index.generation + 1, createdAt: createdAt)
            if let faults = scenario.faults {
                for f in faults { try f.validate() }
                s.faults = faults.map { ($0, $0.count) }
            }
            s.index = index
        }
    }

    /// Edits the scenario in place; nothing changes when the edit or the result is invalid.
    func update(_ body: (inout Scenario) throws -> Void) throws {
        try storage.withLock { (s: inout Storage) throws in
            var scenario = s.index.scenario
            try body(&scenario)
            let index = try ScenarioIndex(scenario, generation: s.index.generation + 1, createdAt: createdAt)
            if scenario.faults != s.index.scenario.faults, let faults = scenario.faults {
                for f in faults { try f.validate() }
                s.faults = faults.map { ($0, $0.count) }
            }
            s.index = index
        }
    }

    func setFaults(_ faults: [Fault]) throws(SimulatorError) {
        for f in faults { try f.validate() }
        storage.withLock { $0.faults = faults.map { ($0, $0.count) } }
    }

    var faults: [Fault] { storage.withLock { s in s.faults.map(\.fault) } }

    func counts() -> RequestCounts {
        storage.withLock { s in
            var services: [String: Int] = [:]
            for service in Fault.Service.allCases where service != .any {
                services[service.rawValue] = s.counts[service] ?? 0
            }
            return RequestCounts(total: s.total, services: services)
        }
    }

    func resetCounts() {
        storage.withLock { s in
            s.counts = [:]
            s.total = 0
        }
    }
}
