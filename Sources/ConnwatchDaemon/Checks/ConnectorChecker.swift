import ConnwatchCore
import ConnwatchEntra
import Foundation

/// Runs every check of one connector against Microsoft: gathers the facts (one token per
/// resource, shared by all checks of the cycle; one Graph read of the application) and
/// hands them to the Core evaluators.
public struct ConnectorChecker: Sendable {
    public let clients: MicrosoftClients
    public let endpoints: CloudEndpoints
    public let thresholds: ExpiryThresholds
    /// Zscaler's side, when `[zscaler]` is configured.
    public let zscaler: ZscalerMonitor?

    public init(
        clients: MicrosoftClients, endpoints: CloudEndpoints, thresholds: ExpiryThresholds,
        zscaler: ZscalerMonitor? = nil
    ) {
        self.clients = clients
        self.endpoints = endpoints
        self.thresholds = thresholds
        self.zscaler = zscaler
    }

    typealias KeyFile = Result<CertificateCredential, SharePointKeyFile.ParseError>
    typealias Tokens = [ResourceID: Result<AccessToken, EntraError>]

    /// All checks of `CheckPlan` for the connector, in plan order. Never throws: every
    /// failure becomes a result.
    ///
    /// Written as small async steps, with the synchronous evaluation out of line: an async
    /// function's context holds everything any of its suspension points might need, and
    /// this one in a single body took 20 KB per check in flight (1.3 MB of the heap at 64
    /// concurrent checks; BENCHMARKS.md).
    public func run(_ connector: ConnectorConfig, now: Date) async -> [CheckResult] {
        // An observed connector (no secret held) has none of these checks: its tenant's
        // observer checks it (SPEC §3b).
        guard let secret = connector.clientSecret else { return [] }
        let plan = CheckPlan.checks(for: connector.kind, zscaler: zscaler != nil)
        let keyFile = Self.keyFile(connector)
        // 1. Tokens, one per resource, fresh (the credential check proves the credential now).
        let (tokens, observations) = await tokens(connector, keyFile: keyFile)
        let credential = CredentialCheck.evaluate(
            tokens: observations, secretLooksLikeGUID: secret.looksLikeGUID, now: now)
        // 2. The application object (secret expiry, certificate registration), via Graph.
        let application = await application(connector, plan: plan, tokens: tokens, credential: credential)
        // 3. The checks, in plan order.
        var results: [CheckResult] = []
        results.reserveCapacity(plan.count)
        for check in plan {
            if let local = evaluate(
                check, connector, credential: credential, observations: observations, keyFile: keyFile,
                application: application, now: now)
            {
                results.append(local)
            } else if let remote = await remoteResult(check, connector, tokens: tokens, earlier: results, now: now) {
                results.append(remote)
            }
        }
        return results
    }

    /// The SharePoint key file: needed for the SharePoint token and the certificate check.
    private static func keyFile(_ connector: ConnectorConfig) -> KeyFile? {
        guard connector.kind == .sharepoint, let path = connector.keyFile else { return nil }
        return Result { () throws(SharePointKeyFile.ParseError) in try SharePointKeyFile.loadCached(path: path) }
    }

    /// One token per resource the kind needs, requested concurrently, and what each says.
    @inline(never)
    private func tokens(
        _ connector: ConnectorConfig, keyFile: KeyFile?
    ) async -> (Tokens, [TokenObservation]) {
        let req = connector.requirements
        var tokens: Tokens = [:]
        var observations: [TokenObservation] = []
        await withTaskGroup(of: (ResourceID, Result<AccessToken, EntraError>?, ObservedFailure?).self) { group in
            for resource in req.resources {
                group.addTask {
                    await self.token(for: resource, connector: connector, keyFile: keyFile)
                }
            }
            for await (resource, result, preflight) in group {
                if let preflight {
                    observations.append(TokenObservation(resource: resource, outcome: .failed(preflight)))
                    continue
                }
                guard let result else { continue }
                tokens[resource] = result
                observations.append(Self.observation(resource, result))
            }
        }
        observations.sort { req.resources.firstIndex(of: $0.resource)! < req.resources.firstIndex(of: $1.resource)! }
        return (tokens, observations)
    }

    private static func observation(
        _ resource: ResourceID, _ result: Result<AccessToken, EntraError>
    ) -> TokenObservation {
        switch result {
        case .success(let t):
            TokenObservation(
                resource: resource,
                outcome: .value(
                    GrantedToken(
                        roles: t.claims.roles, hasRolesClaim: t.claims.hasRolesClaim, objectId: t.claims.objectId)))
        case .failure(let e):
            TokenObservation(resource: resource, outcome: .failed(e.observed))
        }
    }

    /// The application's secrets and certificates as Graph lists them, when the plan has a
    /// check that reads them.
    @inline(never)
    private func application(
        _ connector: ConnectorConfig, plan: [CheckKind], tokens: Tokens, credential: CheckResult
    ) async -> Observed<ApplicationCredentials> {
        let blocked = Observed<ApplicationCredentials>.blocked(
            ObservedFailure(reason: credential.reason, transient: false, message: "no Graph token"))
        guard plan.contains(.secretExpiry) || plan.contains(.certificate) else { return blocked }
        let graphToken: Result<AccessToken, EntraError>
        if let t = tokens[.graph] {
            graphToken = t
        } else if credential.status != .ok {
            // The credential already failed: another token request would only fail again.
            graphToken = .failure(.unreachable(endpoint: "token", detail: credential.summary))
        } else {
            // Fresh, like every other token of a check, and so not kept in the token
            // cache: one kept per connector was ~4 MB at 10,000 connectors, to spare one
            // request in a later cycle only if that came before the token expired.
            graphToken = await fetchToken(
                connector, .secret(connector.heldSecret),
                scope: PermissionCatalog.resource(.graph).defaultScope(), force: true)
        }
        switch graphToken {
        case .success(let t):
            do {
                return Self.credentials(try await clients.graph.application(appId: connector.clientId, token: t))
            } catch {
                return .failed(error.observed)
            }
        case .failure(let e):
            return .blocked(
                credential.status != .ok
                    ? ObservedFailure(reason: credential.reason, transient: false, message: credential.summary)
                    : e.observed)
        }
    }

    private static func credentials(_ app: ApplicationInfo) -> Observed<ApplicationCredentials> {
        .value(
            ApplicationCredentials(
                secrets: app.passwordCredentials.map {
                    SecretInfo(
                        keyId: $0.keyId, displayName: $0.displayName, hint: $0.hint, start: $0.startDateTime,
                        end: $0.endDateTime)
                },
                certificates: app.keyCredentials.map {
                    RegisteredCertificate(keyId: $0.keyId, thumbprint: $0.thumbprintHex, end: $0.endDateTime)
                }))
    }

    /// The checks decided from what was already gathered; nil for those that read more.
    @inline(never)
    private func evaluate(
        _ check: CheckKind, _ connector: ConnectorConfig, credential: CheckResult, observations: [TokenObservation],
        keyFile: KeyFile?, application: Observed<ApplicationCredentials>, now: Date
    ) -> CheckResult? {
        switch check {
        case .credential:
            credential
        case .secretExpiry:
            SecretExpiryCheck.evaluate(
                application: application, secretHint: connector.heldSecret.hint,
                configuredExpiry: connector.secretExpires, thresholds: thresholds, now: now)
        case .certificate:
            certificateResult(keyFile: keyFile, application: application, now: now)
        case .consent:
            ConsentCheck.evaluate(kind: connector.kind, tokens: observations, now: now)
        case .roles, .probe, .zscaler:
            nil
        // Observer-mode checks (SPEC §3b) are not in a secret-holding connector's plan yet.
        case .app, .signin, .observer:
            nil
        }
    }

    /// The checks that read more from Microsoft (or Zscaler).
    @inline(never)
    private func remoteResult(
        _ check: CheckKind, _ connector: ConnectorConfig, tokens: Tokens, earlier: [CheckResult], now: Date
    ) async -> CheckResult? {
        switch check {
        case .roles:
            return await rolesResult(connector, tokens: tokens, now: now)
        case .probe:
            return ProbeCheck.evaluate(calls: await probes(connector, tokens: tokens), now: now)
        case .zscaler:
            // Last in the plan: the Entra-side results explain Zscaler's verdict.
            guard let zscaler else { return nil }
            return await zscaler.check(connector, entra: earlier)
        case .credential, .secretExpiry, .certificate, .consent:
            preconditionFailure("\(check) is evaluated locally")
        // Observer-mode checks (SPEC §3b): not wired into the checker yet.
        case .app, .signin, .observer:
            return nil
        }
    }

    private func token(
        for resource: ResourceID, connector: ConnectorConfig,
        keyFile: Result<CertificateCredential, SharePointKeyFile.ParseError>?
    )
        async -> (ResourceID, Result<AccessToken, EntraError>?, ObservedFailure?)
    {
        let r = PermissionCatalog.resource(resource)
        if r.certificateOnly {
            guard let host = connector.sharePointHost else {
                return (
                    resource, nil,
                    ObservedFailure(
                        reason: .resourceMissing, transient: false,
                        message:
                            "sharepoint_host is not set and cannot be derived from the tenant; set it (e.g. contoso.sharepoint.com)"
                    )
                )
            }
            switch keyFile {
            case .success(let cert):
                return (
                    resource,
                    await fetchToken(
                        connector, .certificate(cert), scope: r.defaultScope(sharePointHost: host), force: true), nil
                )
            case .failure(let e):
                return (
                    resource, nil,
                    ObservedFailure(
                        reason: .keyfileInvalid, transient: false, message: "the key file is unusable: \(e)")
                )
            case nil:
                return (
                    resource, nil,
                    ObservedFailure(reason: .keyfileInvalid, transient: false, message: "no key_file configured")
                )
            }
        }
        return (
            resource,
            await fetchToken(connector, .secret(connector.heldSecret), scope: r.defaultScope(), force: true), nil
        )
    }

    @inline(never)
    private func fetchToken(
        _ c: ConnectorConfig, _ credential: ClientCredential, scope: String, force: Bool
    ) async
        -> Result<AccessToken, EntraError>
    {
        do {
            return .success(
                try await clients.tokens.token(
                    tenant: c.tenantId, clientId: c.clientId, credential: credential, scope: scope, forceRefresh: force)
            )
        } catch {
            return .failure(error)
        }
    }

    /// An observed SharePoint connector's local key file, when `key_file` is configured
    /// (its certificate is judged with the registered ones, SPEC §3b).
    static func localCertificate(_ connector: ConnectorConfig) -> Result<LocalCertificate, KeyFileProblemError>? {
        keyFile(connector).map { local($0) }
    }

    private static func local(_ keyFile: KeyFile?) -> Result<LocalCertificate, KeyFileProblemError> {
        let local: Result<LocalCertificate, KeyFileProblemError>
        switch keyFile {
        case .success(let cert):
            local = .success(
                LocalCertificate(
                    thumbprint: cert.sha1Thumbprint, notAfter: cert.notValidAfter,
                    subject: String(describing: cert.certificate.subject)))
        case .failure(.credential(.keyMismatch)):
            local = .failure(KeyFileProblemError(.keyMismatch))
        case .failure(let e):
            local = .failure(KeyFileProblemError(.invalid(e.description)))
        case nil:
            local = .failure(KeyFileProblemError(.invalid("no key_file configured")))
        }
        return local
    }

    private func certificateResult(
        keyFile: Result<CertificateCredential, SharePointKeyFile.ParseError>?,
        application: Observed<ApplicationCredentials>, now: Date
    ) -> CheckResult {
        let local = Self.local(keyFile)
        // A Graph read blocked only because the SharePoint token failed is still useful
        // for the certificate check when it succeeded: `application` is independent.
        return CertificateCheck.evaluate(keyFile: local, application: application, thresholds: thresholds, now: now)
    }

    private func rolesResult(
        _ c: ConnectorConfig, tokens: [ResourceID: Result<AccessToken, EntraError>], now: Date
    ) async -> CheckResult {
        guard let sub = c.subscriptionId else {
            return CheckResult(
                check: .roles, status: .unknown, reason: .rolesUnreadable, summary: "no subscription_id configured",
                checkedAt: now)
        }
        let assignments: Observed<[ObservedRoleAssignment]>
        switch tokens[.azureServiceManagement] {
        case .success(let t):
            guard let oid = t.claims.objectId else {
                assignments = .failed(
                    ObservedFailure(
                        reason: .badResponse, transient: false, message: "the management token has no oid claim"))
                break
            }
            do {
                let list = try await clients.arm.roleAssignments(subscriptionId: sub, principalId: oid, token: t)
                assignments = .value(
                    list.map { ObservedRoleAssignment(roleDefinitionId: $0.roleDefinitionGuid, scope: $0.scope) })
            } catch {
                assignments = .failed(error.observed)
            }
        case .failure(let e):
            assignments = .blocked(e.observed)
        case nil:
            assignments = .blocked(
                ObservedFailure(reason: .resourceMissing, transient: false, message: "no management token"))
        }
        return RolesCheck.evaluate(assignments: assignments, subscriptionId: sub, now: now)
    }

    private func probes(
        _ c: ConnectorConfig, tokens: [ResourceID: Result<AccessToken, EntraError>]
    ) async -> [ProbeCheck.Call] {
        func with(
            _ resource: ResourceID, _ name: String, _ body: (AccessToken) async throws(EntraError) -> String
        ) async -> ProbeCheck.Call {
            switch tokens[resource] {
            case .success(let t):
                do { return .init(name: name, outcome: .value(try await body(t))) } catch {
                    return .init(name: name, outcome: .failed(error.observed))
                }
            case .failure(let e):
                return .init(name: name, outcome: .blocked(e.observed))
            case nil:
                return .init(
                    name: name,
                    outcome: .blocked(
                        ObservedFailure(reason: .resourceMissing, transient: false, message: "no token for \(resource)")
                    ))
            }
        }
        let graph = clients.graph, office = clients.office, arm = clients.arm, sp = clients.sharePoint
        let officeCall: () async -> ProbeCheck.Call = {
            await with(.office365Management, "Office 365 subscriptions/list") { t throws(EntraError) in
                let subs = try await office.subscriptionsList(tenantId: t.claims.tenantId ?? c.tenantId, token: t)
                return "\(subs.count) content subscription\(subs.count == 1 ? "" : "s")"
            }
        }
        switch c.kind {
        case .exchange:
            return [
                await with(.graph, "Graph users") { t throws(EntraError) in
                    try await graph.probe(.users, token: t); return ""
                }
            ]
        case .onedrive, .teams:
            return [
                await with(.graph, "Graph groups") { t throws(EntraError) in
                    try await graph.probe(.groups, token: t); return ""
                },
                await officeCall(),
            ]
        case .sharepoint:
            return [
                await with(.sharePoint, "SharePoint web") { t throws(EntraError) in
                    "site \"\(try await sp.webTitle(host: c.sharePointHost ?? "", token: t))\""
                },
                await officeCall(),
            ]
        case .azureBlob:
            return [
                await with(.azureServiceManagement, "ARM subscriptions") { t throws(EntraError) in
                    let subs = try await arm.subscriptions(token: t)
                    return "\(subs.count) subscription\(subs.count == 1 ? "" : "s") visible"
                }
            ]
        case .mip:
            return []
        }
    }
}

extension ConnectorConfig {
    /// The connector's own secret, for code reached only from ``ConnectorChecker/run(_:now:)``
    /// after it returned early for an observed connector.
    fileprivate var heldSecret: Secret { clientSecret ?? Secret("") }
}
