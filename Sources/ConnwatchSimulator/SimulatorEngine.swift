import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Routes a request to a simulated service by path prefix, counts it, applies faults.
///
/// `/login` identity platform, `/graph` Microsoft Graph, `/arm` Azure Resource Manager,
/// `/office` Office 365 Management API, `/sharepoint/{host}` SharePoint REST, `/zslogin`
/// Zscaler OneAPI token endpoint, `/zia` ZIA API, `/_sim` control.
final class SimulatorEngine: Sendable {
    let state: SimulatorState
    let scheme: String
    let fallbackAuthority: String
    let caCertificatePEM: String
    private let identity: IdentityPlatform
    private let graph: GraphService
    /// The Graph service, for `$batch`'s inner requests.
    var graphService: GraphService { graph }
    private let arm: ARMService
    private let office: OfficeManagementService
    private let sharePoint: SharePointService
    let zscaler = ZscalerService()
    let auth: ResourceAuth
    private let logger: Logger

    /// Body limits: token forms and API calls are tiny; a scenario for 10,000 connectors is not.
    static let serviceBodyLimit = 1 << 20
    static let controlBodyLimit = 256 << 20

    init(state: SimulatorState, pki: SimulatorPKI, tls: Bool, authority: String, logger: Logger) {
        self.state = state
        self.scheme = tls ? "https" : "http"
        self.fallbackAuthority = authority
        self.caCertificatePEM = pki.caCertificatePEM
        let auth = ResourceAuth(signer: pki.tokenSigner)
        self.auth = auth
        identity = IdentityPlatform(signer: pki.tokenSigner)
        graph = GraphService(auth: auth)
        arm = ARMService(auth: auth)
        office = OfficeManagementService(auth: auth)
        sharePoint = SharePointService(auth: auth)
        self.logger = logger
    }

    /// - Parameter connection: the request's TCP channel, for the `reset` fault (nil: that
    ///   fault answers nothing else, and the request is served normally).
    func respond(to incoming: Request, connection: (any Channel)? = nil) async -> Response {
        var incoming = incoming
        let rawSegments = incoming.uri.path.split(separator: "/", omittingEmptySubsequences: true)
        let segments = rawSegments.map { URLCoding.decode($0, plusIsSpace: false) }
        let prefix = segments.first ?? ""
        let service: Fault.Service? =
            switch prefix {
            case "login": .login
            case "graph": .graph
            case "arm": .arm
            case "office": .office
            case "sharepoint": .sharepoint
            case "zslogin": .zslogin
            case "zia": .zia
            default: nil
            }
        guard service != nil || prefix == "_sim" else {
            return SimResponse(
                status: .notFound,
                json: .object([("error", .object([("code", "NotFound"), ("message", "No simulated service here.")]))])
            ).response()
        }

        let limit = service == nil ? Self.controlBodyLimit : Self.serviceBodyLimit
        let body: [UInt8]
        do {
            let buffer = try await incoming.collectBody(upTo: limit)
            body = Array(buffer.readableBytesView)
        } catch {
            return SimResponse(
                status: .contentTooLarge,
                json: .object([
                    ("error", .object([("code", "RequestTooLarge"), ("message", "Request body too large.")]))
                ])
            ).response()
        }
        let query = incoming.uri.query.map { URLCoding.parseForm($0).values } ?? [:]
        let request = SimRequest(
            method: incoming.method, path: "/" + segments.joined(separator: "/"),
            segments: Array(segments.dropFirst()), query: query, headers: incoming.headers, body: body,
            origin: scheme + "://" + (incoming.head.authority ?? fallbackAuthority))

        guard let service else {
            return ControlAPI(state: state, caCertificatePEM: caCertificatePEM, zscaler: zscaler).handle(request)
                .response()
        }
        // Method and path only: never headers, bodies or queries (tokens, secrets, assertions).
        logger.debug("request", metadata: ["method": "\(request.method.rawValue)", "path": "\(request.path)"])

        let (index, faultsActive) = state.admit(service)
        if service == .graph, Self.isGraphBatch(request) {
            return graphBatch(request, index: index, faultsActive: faultsActive).response()
        }
        var decision = FaultDecision()
        if faultsActive {
            let tenantRaw: String? =
                switch service {
                case .login: request.segments.first
                case .office: request.segments.count > 2 ? request.segments[2] : nil
                case .zslogin, .zia: nil
                default: auth.unverifiedTenant(request)
                }
            decision = state.decide(
                service: service, path: request.path, tenantId: tenantRaw.flatMap { index.tenant($0)?.id },
                tenantRaw: tenantRaw, index: index)
        }
        if decision.latencyMs > 0 {
            guard await pause(seconds: Double(decision.latencyMs) / 1000) else { return Self.aborted() }
        }
        if let fault = decision.action {
            if let status = fault.status {
                return Self.statusFault(service: service, status: status, fault: fault, request: request).response()
            }
            switch fault.mode {
            case .timeout:
                guard await pause(seconds: fault.holdSeconds ?? 120) else { return Self.aborted() }
            case .oversized:
                return Self.oversized(megabytes: fault.sizeMb ?? 8)
            case .reset:
                if let connection {
                    await Self.reset(connection)
                    return Self.aborted()
                }
            case .emptyBody:
                return SimResponse(status: .ok, raw: [], contentType: "application/json; charset=utf-8").response()
            case .wrongContentType:
                return SimResponse(
                    status: .ok, raw: Array(Self.htmlPage.utf8), contentType: "text/html; charset=utf-8"
                ).response()
            case .malformed, .wrongTypes, .truncated, nil:
                break
            }
        }

        var response = dispatch(service, request, index: index)
        switch decision.action?.mode {
        case .malformed:
            let real = response.bodyBytes
            let cut = real.count > 8 ? Array(real.prefix(real.count / 2)) : Array(#"{"value":[{"id":"#.utf8)
            response = SimResponse(status: .ok, raw: cut, contentType: "application/json; charset=utf-8")
        case .wrongTypes:
            let node: JSONNode
            switch response.body {
            case .json(let n): node = n
            case .raw(let bytes): node = JSONNode.parse(bytes) ?? .object([])
            case .empty: node = .object([])
            }
            response = SimResponse(status: .ok, json: WrongTypes.scramble(node), headers: response.headers)
        case .truncated:
            return Self.truncated(response)
        default:
            break
        }
        return response.response()
    }

    private func dispatch(_ service: Fault.Service, _ request: SimRequest, index: ScenarioIndex) -> SimResponse {
        switch service {
        case .login: identity.handle(request, index: index)
        case .graph: graph.handle(request, index: index)
        case .arm: arm.handle(request, index: index)
        case .office: office.handle(request, index: index)
        case .sharepoint: sharePoint.handle(request, index: index)
        case .zslogin: zscaler.token(request, scenario: index.scenario.zscaler)
        case .zia: zscaler.zia(request, scenario: index.scenario.zscaler)
        case .any: SimResponse(status: .notFound, json: .object([]))
        }
    }

    /// Sleeps in short steps; false as soon as the server is stopping or the task is
    /// cancelled, so that held requests never delay a shutdown.
    private func pause(seconds: Double) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int64(seconds * 1000))
        while clock.now < deadline {
            if state.isStopping { return false }
            let step = min(deadline - clock.now, .milliseconds(100))
            do {
                try await Task.sleep(for: step)
            } catch {
                return false
            }
        }
        return !state.isStopping
    }

    private static func aborted() -> Response {
        SimResponse(
            status: .serviceUnavailable,
            json: .object([("error", .object([("code", "ServiceUnavailable"), ("message", "Simulator stopping.")]))])
        ).response()
    }

    /// An error status in the service's own error format, with `Retry-After` when set.
    static func statusFault(service: Fault.Service, status: Int, fault: Fault, request: SimRequest) -> SimResponse {
        let httpStatus = HTTPResponse.Status(code: status)
        var response: SimResponse
        switch service {
        case .login:
            response = AADError.fault(status: status, code: fault.errorCode).response(
                correlationId: RequestIDs.correlation(request))
        case .graph:
            let code =
                fault.errorCode
                ?? (status == 429 ? "TooManyRequests" : status == 503 ? "serviceNotAvailable" : "generalException")
            let message =
                status == 429
                ? "Too many requests from Identifier:\(GUID.random()) under category:throttle.aad.ags.tenant. Please try again later."
                : "The service is temporarily unavailable. Please try again later."
            let requestId = GUID.random()
            response = GraphService.errorResponse(
                GraphService.Failure(status: httpStatus, code: code, message: message), requestId: requestId,
                clientRequestId: request.header("client-request-id") ?? requestId)
        case .office:
            let code = fault.errorCode ?? (status == 429 ? "AF429" : "AF50000")
            response = SimResponse(
                status: httpStatus,
                json: .object([
                    (
                        "error",
                        .object([
                            ("code", .string(code)),
                            ("message", .string(status == 429 ? "Too many requests." : "An internal error occurred.")),
                        ])
                    )
                ]))
        case .sharepoint:
            response = SimResponse(
                status: httpStatus,
                json: .object([
                    (
                        "odata.error",
                        .object([
                            (
                                "code",
                                .string(
                                    fault.errorCode ?? "-2147024860, Microsoft.SharePoint.SPQueryThrottledException")
                            ),
                            (
                                "message",
                                .object([
                                    ("lang", "en-US"),
                                    ("value", "The request has been throttled. Please try again later."),
                                ])
                            ),
                        ])
                    )
                ]))
        case .zslogin:
            response = SimResponse(
                status: httpStatus,
                json: .object([
                    ("error", .string(fault.errorCode ?? (status == 429 ? "too_many_requests" : "server_error"))),
                    ("error_description", "The service is temporarily unavailable."),
                ]))
        case .zia:
            // ZIA's 429 body repeats the wait: {"message": "Rate Limit (2/SECOND) exceeded", "Retry-After": "N seconds"}.
            var members: [(String, JSONNode)] = [
                (
                    "message",
                    .string(status == 429 ? "Rate Limit (2/SECOND) exceeded" : "An unexpected error occurred.")
                )
            ]
            if status == 429 { members.append(("Retry-After", .string("\(fault.retryAfter ?? 1) seconds"))) }
            if let code = fault.errorCode { members.insert(("code", .string(code)), at: 0) }
            response = SimResponse(status: httpStatus, json: .object(members))
        case .arm, .any:
            let code =
                fault.errorCode
                ?? (status == 429 ? "TooManyRequests" : status == 503 ? "ServiceUnavailable" : "InternalServerError")
            response = SimResponse(
                status: httpStatus,
                json: .object([
                    (
                        "error",
                        .object([
                            ("code", .string(code)),
                            (
                                "message",
                                .string(
                                    status == 429 ? "The request is being throttled." : "The service is unavailable.")
                            ),
                        ])
                    )
                ]))
        }
        response.status = httpStatus
        if let retryAfter = fault.retryAfter { response.headers.append(("Retry-After", String(retryAfter))) }
        return response
    }

    /// What a captive portal or a proxy's error page sends in place of JSON.
    static let htmlPage =
        "<!DOCTYPE html>\n<html><head><title>Access denied</title></head>"
        + "<body><h1>Access denied</h1><p>Your request was blocked by the network gateway.</p></body></html>\n"

    /// Resets the connection: `SO_LINGER` 0, then close, so the kernel sends an RST (over
    /// TLS a close_notify may go first; either way the client gets no reply).
    static func reset(_ channel: any Channel) async {
        if let socket = channel as? any SocketOptionProvider {
            try? await socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
        }
        try? await channel.close()
    }

    /// The `truncated` fault: the real reply's status line and headers with a 200 and the
    /// full `Content-Length`, then only the first half of the body, then the connection
    /// closes (the body writer throws, and Hummingbird closes a connection whose reply failed).
    static func truncated(_ real: SimResponse) -> Response {
        struct Truncated: Error {}
        var bytes = real.bodyBytes
        if bytes.count < 16 { bytes = Array(#"{"value":[{"id":"00000000-0000-0000-0000-000000000000"}]}"#.utf8) }
        let sent = Array(bytes.prefix(bytes.count / 2))
        var headers = HTTPFields()
        headers[.contentType] = real.contentType
        for (name, value) in real.headers {
            if let field = HTTPField.Name(name), field != .contentLength {
                headers.append(HTTPField(name: field, value: value))
            }
        }
        let body = ResponseBody(contentLength: bytes.count) { writer in
            var buffer = ByteBufferAllocator().buffer(capacity: sent.count)
            buffer.writeBytes(sent)
            try await writer.write(buffer)
            // Let the half reach the socket before the close drops what is still queued.
            try? await Task.sleep(for: .milliseconds(50))
            throw Truncated()
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// A 200 whose JSON body streams `megabytes` MiB without a Content-Length.
    static func oversized(megabytes: Double) -> Response {
        let total = max(64, Int(megabytes * 1_048_576))
        let body = ResponseBody { writer in
            let item = Array(#"{"id":"00000000-0000-0000-0000-000000000000","displayName":"padding"},"#.utf8)
            var chunk = ByteBufferAllocator().buffer(capacity: 64 * 1024)
            while chunk.readableBytes + item.count <= 64 * 1024 { chunk.writeBytes(item) }
            var written = 0
            var head = ByteBufferAllocator().buffer(capacity: 16)
            head.writeString(#"{"value":["#)
            written += head.readableBytes
            try await writer.write(head)
            let tail = Array(#"{"id":"end"}]}"#.utf8)
            while written + chunk.readableBytes + tail.count <= total {
                try await writer.write(chunk)
                written += chunk.readableBytes
            }
            var rest = ByteBufferAllocator().buffer(capacity: total - written)
            while written + rest.readableBytes + item.count + tail.count <= total { rest.writeBytes(item) }
            rest.writeBytes(tail)
            try await writer.write(rest)
            try await writer.finish(nil)
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: .ok, headers: headers, body: body)
    }
}

/// The `wrong_types` fault: valid JSON in which each value has another type than the
/// documented one (an array becomes a string, a string a number…), one level deep.
enum WrongTypes {
    static func scramble(_ node: JSONNode) -> JSONNode {
        switch node {
        case .object(let members): .object(members.map { ($0.0, swap($0.1)) })
        case .array(let items):
            .array(items.map { item in if case .object = item { scramble(item) } else { swap(item) } })
        default: swap(node)
        }
    }

    private static func swap(_ node: JSONNode) -> JSONNode {
        switch node {
        case .array(let items): .string("\(items.count) items")
        case .object: .array([.int(1)])
        case .string(let s): .int(s.count)
        case .int(let i): .string(String(i))
        case .double(let d): .string(String(d))
        case .bool(let b): .string(b ? "yes" : "no")
        case .null: .array([])
        }
    }
}

/// Hummingbird glue.
struct SimulatorResponder: HTTPResponder {
    typealias Context = SimulatorRequestContext
    let engine: SimulatorEngine

    func respond(to request: Request, context: SimulatorRequestContext) async throws -> Response {
        await engine.respond(to: request, connection: context.channel)
    }
}

/// Hummingbird's basic context plus the connection, which the `reset` fault closes.
struct SimulatorRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
        channel = source.channel
    }
}
