import Foundation

/// One connector an observer reads about (SPEC §3b): what it needs to know to plan its reads.
public struct ObservationTarget: Sendable, Hashable {
    /// The connector app's Application (client) ID.
    public var clientId: String
    public var kind: ConnectorKind
    /// azure-blob: the subscription whose role assignments are read (with `Reader`).
    public var subscriptionId: String?

    public init(clientId: String, kind: ConnectorKind, subscriptionId: String? = nil) {
        self.clientId = clientId
        self.kind = kind
        self.subscriptionId = subscriptionId
    }

    public init(_ connector: ConnectorConfig) {
        self.init(clientId: connector.clientId, kind: connector.kind, subscriptionId: connector.subscriptionId)
    }
}

/// What one observer read about its tenant in one pass: its own facts (token, own app
/// object, refused permissions) and, per connector app, the facts the observed checks
/// evaluate. The seam between the observer's client (ConnwatchEntra) and the daemon.
public struct TenantObservation: Sendable {
    public var observer: ObserverFacts
    /// Keyed by the connector's client ID, lower-cased. A target missing here was not
    /// read (treat as blocked by the observer's failure).
    public var connectors: [String: ObservedConnectorFacts]
    /// When the pass started.
    public var readAt: Date
    /// Graph and ARM HTTP requests the pass made (a `$batch` counts once), for the budget
    /// of SPEC §3b and `/metrics`.
    public var httpRequests: Int

    public init(
        observer: ObserverFacts, connectors: [String: ObservedConnectorFacts], readAt: Date, httpRequests: Int
    ) {
        self.observer = observer
        self.connectors = connectors
        self.readAt = readAt
        self.httpRequests = httpRequests
    }

    /// The facts of one connector app; blocked by the observer's failure when not read.
    public func facts(for clientId: String, signInLogs: Bool) -> ObservedConnectorFacts {
        if let f = connectors[clientId.lowercased()] { return f }
        let failure: ObservedFailure
        switch observer.token {
        case .failed(let f), .blocked(let f): failure = f
        case .value:
            failure = ObservedFailure(
                reason: .observerFailed, transient: true, message: "the observer did not read this connector app")
        }
        return .blocked(failure, signInLogs: signInLogs)
    }
}
