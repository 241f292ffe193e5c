import ConnwatchCore
import Foundation
import NIOHTTP1

extension ObserverClient {
    /// Attempts per HTTP request (429, 5xx, a dropped connection).
    static let maxAttempts = 4
    /// Rounds of retrying inner requests a batch answered with 429 or 5xx.
    static let maxRounds = 4
    /// A `Retry-After` longer than this is not waited for.
    static let maxRetryAfter: TimeInterval = 120

    /// One HTTP request of the pass, counted, with `Retry-After` on 429/503 and a short
    /// backoff on other 5xx, within the pass's deadline. Other statuses are returned.
    func send(_ request: TransportRequest, pass: Pass) async throws(EntraError) -> TransportResponse {
        var attempt = 0
        while true {
            attempt += 1
            pass.httpRequests += 1
            let response: TransportResponse
            do {
                response = try await transport.exchange(request)
            } catch {
                if case .unreachable = error, attempt < 2 {
                    try await wait(1, pass: pass, endpoint: request.endpoint)
                    continue
                }
                throw error
            }
            guard response.status == 429 || response.status >= 500 else { return response }
            let retryAfter = HTTPTransport.retryAfterSeconds(response.headers)
            let delay = TimeInterval(retryAfter ?? (1 << (attempt - 1)))
            if attempt < Self.maxAttempts, delay <= Self.maxRetryAfter,
                clock().addingTimeInterval(delay) < pass.deadline
            {
                try await wait(delay, pass: pass, endpoint: request.endpoint)
                continue
            }
            if response.status == 429 || retryAfter != nil {
                throw .throttled(endpoint: request.endpoint, retryAfter: retryAfter)
            }
            throw .serverError(endpoint: request.endpoint, status: response.status)
        }
    }

    func wait(_ seconds: TimeInterval, pass: Pass, endpoint: String) async throws(EntraError) {
        guard seconds > 0 else { return }
        do { try await sleep(.milliseconds(Int64((seconds * 1000).rounded(.up)))) } catch {
            throw .timeout(endpoint: endpoint)
        }
    }

    /// Waits for `count` slots of the reports limit (5 per 10 s per tenant); throws
    /// `throttled` when they would come after the pass's deadline.
    func acquireReports(_ count: Int, pass: Pass) async throws(EntraError) {
        let t = clock()
        let at = reportsWindow.earliest(count: count, now: t)
        guard at < pass.deadline else {
            throw .throttled(endpoint: "graph reports", retryAfter: Int(at.timeIntervalSince(t).rounded(.up)))
        }
        let slot = reportsWindow.reserve(count: count, now: t)
        try await wait(slot.timeIntervalSince(t), pass: pass, endpoint: "graph reports")
    }

    /// Sends `items` as `POST /{version}/$batch` requests (≤ 20 each, reports ≤ 5 each
    /// through the gate); retries the inner requests answered 429 or 5xx after their
    /// `Retry-After`. Every item gets an answer: its own reply or why there is none.
    func batch(
        _ items: [GraphBatchWire.Item], version: String, token: AccessToken, pass: Pass
    ) async -> [String: Result<GraphBatchWire.Reply, EntraError>] {
        var results: [String: Result<GraphBatchWire.Reply, EntraError>] = [:]
        var pending = items
        let endpoint = "graph POST /\(version)/$batch"
        var round = 0
        while !pending.isEmpty {
            round += 1
            var retry: [GraphBatchWire.Item] = []
            var longest = 0
            for chunk in GraphBatchWire.plan(pending, maxReports: reportsWindow.limit) {
                let reports = chunk.filter(\.isReport).count
                do {
                    if reports > 0 { try await acquireReports(reports, pass: pass) }
                    let response = try await send(
                        TransportRequest(
                            method: .POST, url: "\(graphBase)/\(version)/$batch",
                            headers: [
                                ("Authorization", token.value.withValue { "Bearer \($0)" }),
                                ("Content-Type", "application/json"), ("Accept", "application/json"),
                            ], body: GraphBatchWire.body(chunk), endpoint: endpoint), pass: pass)
                    guard (200..<300).contains(response.status) else {
                        let failure = EntraError.apiError(APIRequester.failure(response, endpoint: endpoint))
                        for item in chunk { results[item.id] = .failure(failure) }
                        continue
                    }
                    let replies = try GraphBatchWire.replies(response.body, asked: chunk, endpoint: endpoint)
                    for item in chunk {
                        guard let reply = replies[item.id] else {
                            results[item.id] = .failure(
                                .badResponse(endpoint: endpoint, detail: "the batch reply left a request unanswered"))
                            continue
                        }
                        guard reply.status == 429 || reply.status >= 500 else {
                            results[item.id] = .success(reply)
                            continue
                        }
                        if reply.status == 429 && item.isReport {
                            reportsThrottled += 1
                            reportsWindow.block(retryAfter: reply.retryAfter, now: clock())
                        }
                        let name = "graph GET /\(version)/" + String(item.url.prefix { $0 != "?" && $0 != "(" })
                        results[item.id] = .failure(
                            reply.status == 429
                                ? .throttled(endpoint: name, retryAfter: reply.retryAfter)
                                : .serverError(endpoint: name, status: reply.status))
                        if round < Self.maxRounds {
                            retry.append(item)
                            longest = max(longest, reply.retryAfter ?? 1)
                        }
                    }
                } catch {
                    for item in chunk { results[item.id] = .failure(error) }
                }
            }
            guard !retry.isEmpty, TimeInterval(longest) <= Self.maxRetryAfter,
                clock().addingTimeInterval(TimeInterval(longest)) < pass.deadline
            else { break }
            // Reports wait at the gate (blocked by their Retry-After); directory reads here.
            if retry.contains(where: { !$0.isReport }) {
                do { try await wait(TimeInterval(longest), pass: pass, endpoint: endpoint) } catch { break }
            }
            pending = retry
        }
        return results
    }

    /// The relative URL (after `/{version}/`) of an absolute `@odata.nextLink`; nil when
    /// it points outside the Graph endpoint (the token is never sent elsewhere).
    func relative(_ nextLink: String, version: String) -> String? {
        let prefix = "\(graphBase)/\(version)/"
        guard nextLink.hasPrefix(prefix) else { return nil }
        return String(nextLink.dropFirst(prefix.count))
    }
}
