import ConnwatchCore
import Foundation

/// A read's outcome in the facts' terms (`ObservedFailure` is not an `Error`).
enum Read<T> {
    case success(T)
    case failure(ObservedFailure)
}

extension ObserverClient {
    typealias Answer = Result<GraphBatchWire.Reply, EntraError>

    /// A failure as the facts carry it; a refusal (403) also names the permission it costs.
    func observed(_ error: EntraError, permission: ObserverPermission, pass: Pass) -> ObservedFailure {
        let f = ObserverWire.observedFailure(error)
        if f.forbidden { pass.refuse(permission) }
        return f
    }

    /// One object read in a batch: its value, nil for a documented 404, or the failure.
    func object<T: Sendable & Equatable>(
        _ answer: Answer?, endpoint: String, permission: ObserverPermission, pass: Pass,
        _ parse: (Data, String) throws(EntraError) -> T
    ) -> Observed<T?> {
        switch body(answer, endpoint: endpoint, permission: permission, pass: pass, notFoundIsNil: true) {
        case .failure(let f): return .failed(f)
        case .success(nil): return .value(nil)
        case .success(let data?):
            do { return .value(try parse(data, endpoint)) } catch {
                return .failed(observed(error, permission: permission, pass: pass))
            }
        }
    }

    /// One page of a list read in a batch.
    func page<T>(
        _ answer: Answer?, endpoint: String, permission: ObserverPermission, pass: Pass,
        _ parse: (Data, String) throws(EntraError) -> ObserverWire.Page<T>
    ) -> Read<ObserverWire.Page<T>> {
        switch body(answer, endpoint: endpoint, permission: permission, pass: pass, notFoundIsNil: false) {
        case .failure(let f): return .failure(f)
        case .success(let data):
            do { return .success(try parse(data ?? Data(), endpoint)) } catch {
                return .failure(observed(error, permission: permission, pass: pass))
            }
        }
    }

    /// The body of a 2xx inner reply; nil for a 404 with Graph's documented error body
    /// when `notFoundIsNil` (a bare 404 may be a proxy's: transient); else the failure.
    private func body(
        _ answer: Answer?, endpoint: String, permission: ObserverPermission, pass: Pass, notFoundIsNil: Bool
    ) -> Read<Data?> {
        guard let answer else { return .failure(Self.unread) }
        switch answer {
        case .failure(let e):
            return .failure(observed(e, permission: permission, pass: pass))
        case .success(let reply):
            if (200..<300).contains(reply.status) { return .success(reply.body) }
            let failure = APIRequester.failure(reply.response, endpoint: endpoint)
            if reply.status == 404, notFoundIsNil, failure.documented { return .success(nil) }
            return .failure(observed(.apiError(failure), permission: permission, pass: pass))
        }
    }
}
