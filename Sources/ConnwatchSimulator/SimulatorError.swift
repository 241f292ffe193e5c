/// Why the simulator could not start or accept a scenario.
public enum SimulatorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A scenario file could not be read.
    case scenarioUnreadable(path: String, reason: String)
    /// Scenario JSON is malformed or has a wrong type; the message names the JSON path.
    case scenarioInvalid(String)
    /// The scenario is well-formed but inconsistent (duplicate IDs, unknown resource, bad
    /// certificate, a role assignment on a subscription the tenant does not have…).
    case scenarioInconsistent(String)
    /// A fault definition is invalid.
    case faultInvalid(String)
    /// Generating the CA, the TLS certificate or the token signing key failed.
    case keyGeneration(String)
    /// The HTTP(S) server could not bind or start.
    case serverStart(String)
    /// Writing the CA certificate to a file failed.
    case fileWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .scenarioUnreadable(let path, let reason): "cannot read scenario \(path): \(reason)"
        case .scenarioInvalid(let message): "invalid scenario: \(message)"
        case .scenarioInconsistent(let message): "inconsistent scenario: \(message)"
        case .faultInvalid(let message): "invalid fault: \(message)"
        case .keyGeneration(let message): "key generation failed: \(message)"
        case .serverStart(let message): "server failed to start: \(message)"
        case .fileWrite(let path, let reason): "cannot write \(path): \(reason)"
        }
    }
}
