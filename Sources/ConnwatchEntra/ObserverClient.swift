import ConnwatchCore
import Foundation

/// A tenant's observer (SPEC §3b): the read-only monitoring app that reads everything
/// about the tenant's connector apps in bulk, so observed connectors need no secret.
///
/// One pass (``observe(_:now:)``) gets the observer's token (cached until shortly before
/// expiry, unlike a connector's check tokens), reads its own app object, then every
/// target's app and service principal, grants, resource `appRoles` (cached per tenant),
/// credential activity and sign-ins (through the reports gate) and ARM role assignments,
/// with Graph JSON batching, `@odata.nextLink` paging and `Retry-After`. Every failure is
/// classified into the facts (``ObserverWire/observedFailure(_:)``); the pass never throws.
///
/// `TenantObservation.httpRequests` counts every Graph and ARM HTTP request of the pass,
/// retries included (a `$batch` counts once); token requests are not counted (they are
/// cached and rare, and go to the login endpoint, not the Graph budget).
///
/// Passes of one client run one at a time (a second call waits for the first).
public actor ObserverClient {
    let tenant: TenantConfig
    let graphBase: String
    let managementBase: String
    let transport: HTTPTransport
    let tokens: TokenClient
    let clock: @Sendable () -> Date
    let sleep: @Sendable (Duration) async throws -> Void
    /// How long one pass may take, waits for `Retry-After` and the reports gate included.
    let passBudget: TimeInterval

    /// Resource service principals by object id (lower case): their `appRoles`, read once
    /// per tenant and kept for ``resourceTTL``.
    var resources: [String: ObserverWire.ResourceRoles] = [:]
    var resourcesReadAt: Date?
    let resourceTTL: TimeInterval = 86400
    /// The reports limit, shared by every pass of this tenant.
    var reportsWindow = ReportsWindow()
    /// Reports requests Graph answered 429 (the gate should keep this at zero), for tests.
    var reportsThrottled = 0
    private var previousPass: Task<Void, Never>?

    /// - Parameters:
    ///   - transport: the daemon's shared HTTP client (connections reused).
    ///   - clock: wall time for token expiry, the reports gate and the pass deadline.
    ///   - sleep: waits for `Retry-After` and the reports gate.
    ///   - passBudget: a pass gives up waiting after this long (what is unread is `throttled`).
    public init(
        tenant: TenantConfig, endpoints: CloudEndpoints, transport: HTTPTransport,
        clock: @escaping @Sendable () -> Date = Date.init,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
        passBudget: TimeInterval = 900
    ) {
        self.tenant = tenant
        graphBase = endpoints.graph.hasSuffix("/") ? String(endpoints.graph.dropLast()) : endpoints.graph
        managementBase =
            endpoints.management.hasSuffix("/") ? String(endpoints.management.dropLast()) : endpoints.management
        self.transport = transport
        tokens = TokenClient(transport: transport, loginEndpoint: endpoints.login, now: clock)
        self.clock = clock
        self.sleep = sleep
        self.passBudget = passBudget
    }

    /// Reads everything the observed checks of `targets` need, in one pass.
    /// - Parameter now: the cycle's time: the sign-in window and staleness are measured from it.
    public func observe(_ targets: [ObservationTarget], now: Date) async -> TenantObservation {
        let previous = previousPass
        let pass = Task { () -> TenantObservation in
            await previous?.value
            return await self.run(targets, now: now)
        }
        previousPass = Task { _ = await pass.value }
        return await pass.value
    }

    /// Nothing to release: the transport is the caller's. Forgets cached tokens and roles.
    public func shutdown() async {
        await tokens.clear()
        resources = [:]
    }

    // MARK: - One pass

    /// What one pass counts and collects.
    final class Pass {
        let now: Date
        let deadline: Date
        var httpRequests = 0
        var refused: [ObserverPermission] = []
        /// The Graph token's `roles`: which permission a refusal points at.
        var roles: Set<String> = []

        init(now: Date, deadline: Date) {
            self.now = now
            self.deadline = deadline
        }

        func refuse(_ p: ObserverPermission) { if !refused.contains(p) { refused.append(p) } }
    }

    func run(_ targets: [ObservationTarget], now: Date) async -> TenantObservation {
        let pass = Pass(now: now, deadline: clock().addingTimeInterval(passBudget))
        let unique = Self.unique(targets)
        let credentialFacts: ObserverFacts.Credential
        let graphToken: AccessToken
        switch await token(scope: PermissionCatalog.resource(.graph).defaultScope()) {
        case .success(let (token, credential)):
            graphToken = token
            credentialFacts = credential
        case .failure(let failure):
            let facts = ObserverFacts(
                token: .failed(failure.observed), ownApplication: .blocked(failure.observed),
                credential: failure.credential, signInLogs: tenant.signInLogs)
            var connectors: [String: ObservedConnectorFacts] = [:]
            for t in unique {
                connectors[t.clientId.lowercased()] = .blocked(failure.observed, signInLogs: tenant.signInLogs)
            }
            return TenantObservation(observer: facts, connectors: connectors, readAt: now, httpRequests: 0)
        }
        let claims = graphToken.claims
        pass.roles = Set(claims.roles)
        let granted = GrantedToken(roles: claims.roles, hasRolesClaim: claims.hasRolesClaim, objectId: claims.objectId)

        let directory = await readDirectory(unique, token: graphToken, pass: pass)
        let absent = Set(
            directory.facts.filter { $0.value.application == .value(nil) || $0.value.servicePrincipal == .value(nil) }
                .keys)
        let logs =
            tenant.signInLogs ? await readReports(unique, absent: absent, token: graphToken, pass: pass) : nil
        let roles = await readRoleAssignments(
            unique, servicePrincipalIds: directory.servicePrincipalIds, pass: pass)

        var connectors: [String: ObservedConnectorFacts] = [:]
        for t in unique {
            let key = t.clientId.lowercased()
            var facts = directory.facts[key] ?? .blocked(Self.unread, signInLogs: tenant.signInLogs)
            if let logs {
                facts.credentialActivity = logs.activity[key] ?? .value([])
                facts.signIns = logs.signIns[key]
            } else {
                facts.signIns = nil
            }
            if t.kind == .azureBlob { facts.roleAssignments = roles[key] ?? .failed(Self.unread) }
            connectors[key] = facts
        }
        let observer = ObserverFacts(
            token: .value(granted), ownApplication: directory.ownApplication, credential: credentialFacts,
            signInLogs: tenant.signInLogs, refused: pass.refused)
        return TenantObservation(
            observer: observer, connectors: connectors, readAt: now, httpRequests: pass.httpRequests)
    }

    static let unread = ObservedFailure(
        reason: .observerFailed, transient: true, message: "the observer did not read this connector app")

    /// Targets once each (by client ID, case-insensitively), in order; an app listed
    /// twice keeps its azure-blob entry (the only kind that needs more reads).
    static func unique(_ targets: [ObservationTarget]) -> [ObservationTarget] {
        var index: [String: Int] = [:]
        var out: [ObservationTarget] = []
        for t in targets {
            let key = t.clientId.lowercased()
            if let i = index[key] {
                if t.kind == .azureBlob && out[i].kind != .azureBlob { out[i] = t }
                continue
            }
            index[key] = out.count
            out.append(t)
        }
        return out
    }
}
