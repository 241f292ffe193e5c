import Foundation

/// A fault injected into matching requests: latency, an error status, or a broken reply.
///
/// JSON form (snake_case): `{"service": "graph", "path": "appRoleAssignments",
/// "tenant": "…", "latency_ms": 50, "status": 429, "retry_after": 3, "count": 2}` or
/// `{"service": "*", "mode": "timeout", "hold_seconds": 5}`. Modes: `timeout`, `malformed`,
/// `wrong_types`, `oversized`, `truncated`, `empty_body`, `wrong_content_type`, `reset`.
///
/// Every matching fault adds its latency. The first matching fault with a `status` or a
/// `mode` decides the reply. A fault with `count` applies that many times, then lapses.
public struct Fault: Codable, Sendable, Equatable {
    /// Which simulated service a fault targets.
    public enum Service: String, Codable, Sendable, CaseIterable {
        case login, graph, arm, office, sharepoint
        /// Zscaler OneAPI token endpoint and the ZIA API.
        case zslogin, zia
        case any = "*"
    }

    /// A way of answering badly.
    public enum Mode: String, Codable, Sendable, CaseIterable {
        /// Hold the request for `hold_seconds` (default 120) before answering normally.
        case timeout
        /// 200 with a body that is not valid JSON.
        case malformed
        /// 200 with the real reply's JSON, every value replaced by one of another type
        /// (arrays become strings, strings numbers, numbers strings…).
        case wrongTypes = "wrong_types"
        /// 200 with a streamed JSON body of `size_mb` MiB (default 8), no Content-Length.
        case oversized
        /// 200 with the real reply's status line and headers and a `Content-Length` larger
        /// than the bytes that follow (half the real body); then the connection closes.
        case truncated
        /// 200, `Content-Type: application/json`, and no body at all (`Content-Length: 0`).
        case emptyBody = "empty_body"
        /// 200 with an HTML page in place of JSON, as a captive portal, a TLS-inspecting
        /// proxy or a load balancer's error page answers.
        case wrongContentType = "wrong_content_type"
        /// No reply: the connection is reset (TCP RST, `SO_LINGER` 0) as soon as the request
        /// is read.
        case reset
    }

    public var service: Service
    /// Case-insensitive substring of the request path (including the service prefix).
    public var path: String?
    /// Tenant GUID or domain: the URL's tenant on `/login` and `/office`, else the bearer
    /// token's `tid`.
    public var tenant: String?
    public var latencyMs: Int?
    /// An HTTP error status answered with the service's own error body.
    public var status: Int?
    /// Seconds for the `Retry-After` header of a `status` fault.
    public var retryAfter: Int?
    /// Overrides the error code in the body: an AADSTS number on `/login` (e.g. `50196`),
    /// a Graph/ARM/Office error code elsewhere.
    public var errorCode: String?
    /// Apply this many times, then stop; absent means always.
    public var count: Int?
    public var mode: Mode?
    public var holdSeconds: Double?
    public var sizeMb: Double?

    public init(
        service: Service, path: String? = nil, tenant: String? = nil, latencyMs: Int? = nil, status: Int? = nil,
        retryAfter: Int? = nil, errorCode: String? = nil, count: Int? = nil, mode: Mode? = nil,
        holdSeconds: Double? = nil, sizeMb: Double? = nil
    ) {
        self.service = service
        self.path = path
        self.tenant = tenant
        self.latencyMs = latencyMs
        self.status = status
        self.retryAfter = retryAfter
        self.errorCode = errorCode
        self.count = count
        self.mode = mode
        self.holdSeconds = holdSeconds
        self.sizeMb = sizeMb
    }

    /// Latency on every request of every service (the benchmark's 50 ms).
    public static func latency(_ milliseconds: Int, service: Service = .any) -> Fault {
        Fault(service: service, latencyMs: milliseconds)
    }

    /// Checks the values are usable.
    public func validate() throws(SimulatorError) {
        if let status, !(400...599).contains(status) {
            throw .faultInvalid("status \(status) is not an HTTP error status (400–599)")
        }
        if status != nil, mode != nil {
            throw .faultInvalid("a fault has either a status or a mode, not both")
        }
        if let latencyMs, latencyMs < 0 { throw .faultInvalid("latency_ms must not be negative") }
        if let retryAfter, retryAfter < 0 { throw .faultInvalid("retry_after must not be negative") }
        if let count, count < 0 { throw .faultInvalid("count must not be negative") }
        if let holdSeconds, holdSeconds < 0 { throw .faultInvalid("hold_seconds must not be negative") }
        if let sizeMb, sizeMb <= 0 || sizeMb > 4096 { throw .faultInvalid("size_mb must be in (0, 4096]") }
        if latencyMs == nil, status == nil, mode == nil {
            throw .faultInvalid("a fault needs latency_ms, status or mode")
        }
    }

    /// Decodes `[Fault]` or `{"faults": [Fault]}`.
    public static func decodeList(_ bytes: [UInt8]) throws(SimulatorError) -> [Fault] {
        struct Wrapped: Decodable { var faults: [Fault] }
        let decoder = ScenarioCoding.decoder()
        let data = Data(bytes)
        let faults: [Fault]
        do {
            if let list = try? decoder.decode([Fault].self, from: data) {
                faults = list
            } else {
                faults = try decoder.decode(Wrapped.self, from: data).faults
            }
        } catch let error as DecodingError {
            throw .faultInvalid(ScenarioCoding.describe(error, source: "faults"))
        } catch {
            throw .faultInvalid("\(error)")
        }
        for fault in faults { try fault.validate() }
        return faults
    }
}
