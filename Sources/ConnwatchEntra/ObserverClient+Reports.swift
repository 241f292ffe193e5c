import ConnwatchCore
import Foundation

extension ObserverClient {
    struct ReportsRead {
        var activity: [String: Observed<[CredentialActivity]>]
        var signIns: [String: SignInLog]
    }

    enum ReportKind {
        /// nil: listed for the whole tenant.
        case activity(String?)
        case window(String?)
        case latest(String)
    }

    /// Up to this many targets, the reports are read per app (`appId eq '…'`, two
    /// requests each); beyond, once for the whole tenant and split by `appId` — a
    /// handful of requests whatever the number of connectors, where per-app reads would
    /// need 2 per connector against a limit of 5 per 10 s.
    static let perAppReportsMax = 2

    static let servicePrincipalClause = "signInEventTypes/any(t: t eq 'servicePrincipal')"

    /// Credential activity (beta `reports/appCredentialSignInActivities`) and the sign-in
    /// log (beta `auditLogs/signIns`, service-principal sign-ins within `sign_in_window`),
    /// then, for apps without a success in the window, the latest success within
    /// `sign_in_stale_after` (`status/errorCode eq 0`, `$top=1`). All in `POST /beta/$batch`,
    /// through the reports gate.
    /// - Parameter absent: targets without an app or a service principal: `app` blocks
    ///   their `signin`, so their latest success is not asked for.
    func readReports(
        _ targets: [ObservationTarget], absent: Set<String>, token: AccessToken, pass: Pass
    ) async -> ReportsRead {
        guard !targets.isEmpty else { return ReportsRead(activity: [:], signIns: [:]) }
        let settings = tenant.signInSettings
        let windowStart = pass.now.addingTimeInterval(-settings.window)
        let staleStart = pass.now.addingTimeInterval(-settings.staleAfter)
        let keys = targets.map { $0.clientId.lowercased() }
        let perApp = targets.count <= Self.perAppReportsMax

        var kinds: [String: ReportKind] = [:]
        var queue: [GraphBatchWire.Item] = []
        var counter = 0
        var pages: [String: Int] = [:]
        func enqueue(_ kind: ReportKind, _ url: String) {
            counter += 1
            kinds["r\(counter)"] = kind
            queue.append(.init(id: "r\(counter)", url: url))
        }
        func windowURL(_ appId: String?) -> String {
            var filter = "\(Self.servicePrincipalClause) and createdDateTime ge \(CivilTime(windowStart).rfc3339)"
            if let appId { filter = "appId eq '\(appId)' and " + filter }
            return "auditLogs/signIns?$filter=\(urlEscape(filter))"
        }
        if perApp {
            for key in keys {
                enqueue(.activity(key), "reports/appCredentialSignInActivities?$filter=\(urlEscape("appId eq '\(key)'"))")
                enqueue(.window(key), windowURL(key))
            }
        } else {
            enqueue(.activity(nil), "reports/appCredentialSignInActivities")
            enqueue(.window(nil), windowURL(nil))
        }

        // Rows by app; a failure by app, or for all ("*").
        var activity: [String: [CredentialActivity]] = [:]
        var events: [String: [SignInEvent]] = [:]
        var activityFailure: [String: ObservedFailure] = [:]
        var windowFailure: [String: ObservedFailure] = [:]
        var latest: [String: Observed<SignInEvent?>] = [:]
        let activityEndpoint = "graph GET /beta/reports/appCredentialSignInActivities"
        let signInEndpoint = "graph GET /beta/auditLogs/signIns"
        var latestAsked = false
        // The sign-in log needs both (the "known issue"): refused with AuditLog.Read.All
        // granted, it is Directory.Read.All that is missing.
        let signInPermission: ObserverPermission =
            pass.roles.contains("AuditLog.Read.All") ? .directoryReadAll : .auditLogReadAll
        while !queue.isEmpty {
            let round = queue
            queue = []
            let replies = await batch(round, version: "beta", token: token, pass: pass)
            for item in round {
                switch kinds[item.id]! {
                case .activity(let key):
                    switch page(
                        replies[item.id], endpoint: activityEndpoint, permission: .auditLogReadAll, pass: pass,
                        ObserverWire.credentialActivitiesByApp)
                    {
                    case .failure(let f): activityFailure[key ?? "*"] = f
                    case .success(let p):
                        for row in p.items { activity[row.appId, default: []].append(row.activity) }
                        if let next = p.nextLink {
                            if let url = relative(next, version: "beta"), morePages(&pages, "a" + (key ?? "*")) {
                                enqueue(.activity(key), url)
                            } else {
                                activityFailure[key ?? "*"] = Self.outside(activityEndpoint)
                            }
                        }
                    }
                case .window(let key):
                    switch page(
                        replies[item.id], endpoint: signInEndpoint, permission: signInPermission, pass: pass,
                        ObserverWire.signInsByApp)
                    {
                    case .failure(let f): windowFailure[key ?? "*"] = f
                    case .success(let p):
                        for row in p.items { events[row.appId, default: []].append(row.event) }
                        if let next = p.nextLink {
                            if let url = relative(next, version: "beta"), morePages(&pages, "w" + (key ?? "*")) {
                                enqueue(.window(key), url)
                            } else {
                                windowFailure[key ?? "*"] = Self.outside(signInEndpoint)
                            }
                        }
                    }
                case .latest(let key):
                    switch page(
                        replies[item.id], endpoint: signInEndpoint, permission: signInPermission, pass: pass,
                        ObserverWire.signInsByApp)
                    {
                    case .failure(let f): latest[key] = .failed(f)
                    case .success(let p):
                        latest[key] = .value(
                            p.items.filter { $0.appId == key && $0.event.succeeded }.map(\.event)
                                .max { $0.createdAt < $1.createdAt })
                    }
                }
            }
            // The window is complete: ask for the latest success of the apps without one in it.
            guard queue.isEmpty, !latestAsked else { continue }
            latestAsked = true
            for key in keys where (windowFailure[key] ?? windowFailure["*"]) == nil {
                if absent.contains(key) {
                    latest[key] = .value(nil)
                    continue
                }
                let successes = (events[key] ?? []).filter(\.succeeded)
                if let newest = successes.max(by: { $0.createdAt < $1.createdAt }) {
                    latest[key] = .value(newest.createdAt >= staleStart ? newest : nil)
                } else if settings.staleAfter <= settings.window {
                    latest[key] = .value(nil)
                } else {
                    let filter =
                        "appId eq '\(key)' and \(Self.servicePrincipalClause) and status/errorCode eq 0 and createdDateTime ge \(CivilTime(staleStart).rfc3339)"
                    enqueue(.latest(key), "auditLogs/signIns?$filter=\(urlEscape(filter))&$top=1")
                }
            }
        }

        var out = ReportsRead(activity: [:], signIns: [:])
        for key in keys {
            if let f = activityFailure[key] ?? activityFailure["*"] {
                out.activity[key] = .failed(f)
            } else {
                out.activity[key] = .value(activity[key] ?? [])
            }
            if let f = windowFailure[key] ?? windowFailure["*"] {
                out.signIns[key] = SignInLog(window: .failed(f), latestSuccess: .blocked(f))
            } else {
                let inWindow = (events[key] ?? []).filter { $0.createdAt >= windowStart }
                out.signIns[key] = SignInLog(
                    window: .value(inWindow), latestSuccess: latest[key] ?? .failed(Self.unread))
            }
        }
        return out
    }
}
