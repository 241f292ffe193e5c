/// The health of one check or one connector.
///
/// Ordered by how much an operator should care: `ok < warning < unknown < critical`
/// (SPEC §3). A connector's status is the worst of its checks' statuses.
public enum CheckStatus: String, Sendable, Codable, CaseIterable, Comparable, CustomStringConvertible {
    case ok
    case warning
    case unknown
    case critical

    private var rank: Int {
        switch self {
        case .ok: 0
        case .warning: 1
        case .unknown: 2
        case .critical: 3
        }
    }

    public static func < (lhs: CheckStatus, rhs: CheckStatus) -> Bool { lhs.rank < rhs.rank }

    public var description: String { rawValue }

    /// Monitoring Plugins exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    public var monitoringPluginsExitCode: Int32 {
        switch self {
        case .ok: 0
        case .warning: 1
        case .critical: 2
        case .unknown: 3
        }
    }

    /// The worst status of a sequence; `ok` for an empty one.
    public static func worst<S: Sequence>(_ statuses: S) -> CheckStatus where S.Element == CheckStatus {
        statuses.max() ?? .ok
    }
}

/// Alert severity: how loudly a sink should speak. Derived from a check status.
public enum Severity: String, Sendable, Codable, CaseIterable, Comparable, CustomStringConvertible {
    case info
    case warning
    case critical

    private var rank: Int {
        switch self {
        case .info: 0
        case .warning: 1
        case .critical: 2
        }
    }

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }

    public var description: String { rawValue }
}
