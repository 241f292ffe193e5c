import ConnwatchCore

/// The coordinator's alert states, stored by what they hold.
///
/// Most alert states carry only ladder memory — which credential the expiry ladder belongs
/// to and the smallest step announced — because every expiry-bearing check keeps one for
/// as long as its credential is in use (9,500 secret-expiry and 1,667 certificate states at
/// 10,000 connectors, against ~1,300 open incidents). A full `AlertState` is ~140 bytes per
/// table slot; those ladder-only states are kept as (credential, step) instead, ~6 MB → ~2 MB
/// at 10,000 connectors (BENCHMARKS.md). Reads give back the same `AlertState` either way.
struct AlertStateTable {
    private struct Ladder: Equatable {
        var credentialId: String
        var step: Int?
    }

    private var ladders: [AlertKey: Ladder] = [:]
    private var full: [AlertKey: AlertState] = [:]

    init(_ states: [AlertKey: AlertState] = [:]) {
        for (key, state) in states { self[key] = state }
    }

    var count: Int { ladders.count + full.count }
    /// How many are stored as ladder memory only (for tests).
    var ladderOnlyCount: Int { ladders.count }

    /// Idle states are not stored: setting one (or nil) removes the key.
    subscript(key: AlertKey) -> AlertState? {
        get {
            if let ladder = ladders[key] {
                return AlertState(ladderCredentialId: ladder.credentialId, ladderStep: ladder.step)
            }
            return full[key]
        }
        set {
            guard let state = newValue, !state.isIdle else {
                ladders[key] = nil
                full[key] = nil
                return
            }
            if let id = state.ladderCredentialId,
                AlertState(ladderCredentialId: id, ladderStep: state.ladderStep) == state
            {
                ladders[key] = Ladder(credentialId: id, step: state.ladderStep)
                full[key] = nil
            } else {
                full[key] = state
                ladders[key] = nil
            }
        }
    }

    /// The states whose key is not in `present` (what reconciliation resolves and forgets).
    func absent(from present: Set<AlertKey>) -> [AlertKey: AlertState] {
        var out: [AlertKey: AlertState] = [:]
        for key in ladders.keys where !present.contains(key) { out[key] = self[key] }
        for (key, state) in full where !present.contains(key) { out[key] = state }
        return out
    }
}
