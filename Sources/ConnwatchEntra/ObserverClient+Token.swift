import ConnwatchCore
import Foundation

extension ObserverClient {
    /// Why there is no token, as the facts say it.
    struct TokenFailureFacts: Error {
        var observed: ObservedFailure
        var credential: ObserverFacts.Credential
    }

    /// The observer's credential: the certificate (parsed again only when the file
    /// changed) or the secret; and what its expiry is watched by.
    func credential() -> Result<(ClientCredential, ObserverFacts.Credential), TokenFailureFacts> {
        switch tenant.credential {
        case .secret(let secret):
            let hint = secret.withValue { String($0.prefix(3)) }
            return .success((.secret(secret), .secret(hint: hint)))
        case .certificate(let path):
            do {
                let cert = try ObserverCertificateFile.loadCached(path: path)
                return .success(
                    (
                        .certificate(cert, .ps256),
                        .certificate(thumbprint: cert.sha1Thumbprint, notAfter: cert.notValidAfter)
                    ))
            } catch {
                return .failure(
                    TokenFailureFacts(
                        observed: ObservedFailure(
                            reason: .observerFailed, transient: false, message: error.description,
                            details: ["certificate_file": .string(path)]),
                        credential: .certificate(thumbprint: "", notAfter: nil)))
            }
        }
    }

    /// A token for `scope` (Graph, or ARM for `roles`), from the cache while it has more
    /// than five minutes left. A definite refusal (an AADSTS answer) is `observer_failed`;
    /// network trouble, 5xx, 429 and unreadable replies are transient.
    func token(scope: String) async -> Result<(AccessToken, ObserverFacts.Credential), TokenFailureFacts> {
        let credential: ClientCredential
        let facts: ObserverFacts.Credential
        switch self.credential() {
        case .success(let (c, f)):
            credential = c
            facts = f
        case .failure(let f):
            return .failure(f)
        }
        do {
            let token = try await tokens.token(
                tenant: tenant.tenantId, clientId: tenant.clientId, credential: credential, scope: scope)
            return .success((token, facts))
        } catch {
            let observed: ObservedFailure
            if case .tokenRejected(let f) = error, !f.isTransient {
                observed = .observerRefused(f.message, details: f.details)
            } else {
                observed = ObservedFailure(
                    reason: error.reason == .probeFailed ? .badResponse : error.reason, transient: true,
                    message: error.description)
            }
            return .failure(TokenFailureFacts(observed: observed, credential: facts))
        }
    }
}
