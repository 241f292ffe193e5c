import Foundation
import HTTPTypes

/// The simulator's own control endpoint under `/_sim` (plain JSON, no authentication: it
/// listens on loopback for tests and the demo).
///
/// `GET /_sim/scenario`, `PUT /_sim/scenario`, `GET|PUT /_sim/faults`, `GET /_sim/stats`,
/// `POST /_sim/reset-stats`, `GET /_sim/ca.pem`, `GET /_sim/health`. `PUT /_sim/faults`
/// takes ``Fault``s: error statuses with `Retry-After`, latency, and the modes `timeout`,
/// `malformed`, `wrong_types`, `oversized`, `truncated`, `empty_body`,
/// `wrong_content_type` and `reset` (config/demo/README.md §Faults).
struct ControlAPI: Sendable {
    let state: SimulatorState
    let caCertificatePEM: String
    var zscaler: ZscalerService? = nil

    private func error(_ status: HTTPResponse.Status, _ message: String) -> SimResponse {
        SimResponse(status: status, json: .object([("error", .string(message))]))
    }

    func handle(_ request: SimRequest) -> SimResponse {
        let route = request.segments.joined(separator: "/")
        switch (request.method, route) {
        case (.get, "health"):
            return SimResponse(json: .object([("status", "ok"), ("generation", .int(state.index.generation))]))
        case (.get, "ca.pem"):
            return SimResponse(status: .ok, raw: Array(caCertificatePEM.utf8), contentType: "application/x-pem-file")
        case (.get, "scenario"):
            do {
                return SimResponse(
                    status: .ok, raw: Array(try state.index.scenario.encoded()),
                    contentType: "application/json; charset=utf-8")
            } catch {
                return self.error(.internalServerError, "\(error)")
            }
        case (.put, "scenario"):
            do {
                var scenario = try Scenario.decode(Data(request.body), source: "PUT /_sim/scenario")
                try scenario.resolveCertificateFiles(relativeTo: FileManager.default.currentDirectoryPath)
                try state.replace(scenario)
                return SimResponse(json: .object([("status", "ok"), ("generation", .int(state.index.generation))]))
            } catch {
                return self.error(.badRequest, "\(error)")
            }
        case (.get, "faults"):
            do {
                let data = try ScenarioCoding.encoder().encode(state.faults)
                return SimResponse(status: .ok, raw: Array(data), contentType: "application/json; charset=utf-8")
            } catch {
                return self.error(.internalServerError, "\(error)")
            }
        case (.put, "faults"):
            do {
                let faults = try Fault.decodeList(request.body)
                try state.setFaults(faults)
                return SimResponse(json: .object([("status", "ok"), ("faults", .int(faults.count))]))
            } catch {
                return self.error(.badRequest, "\(error)")
            }
        case (.get, "stats"):
            let counts = state.counts()
            return SimResponse(
                json: .object([
                    ("total", .int(counts.total)),
                    (
                        "services",
                        .object(counts.services.keys.sorted().map { ($0, JSONNode.int(counts.services[$0] ?? 0)) })
                    ),
                    // 429s the ZIA routes answered because a client broke 2/s or 1,000/h.
                    ("zia_rate_limited", .int(zscaler?.rateLimited ?? 0)),
                ]))
        case (.post, "reset-stats"):
            state.resetCounts()
            zscaler?.resetStats()
            return SimResponse(json: .object([("status", "ok")]))
        default:
            return error(.notFound, "no control route \(request.method.rawValue) /_sim/\(route)")
        }
    }
}
