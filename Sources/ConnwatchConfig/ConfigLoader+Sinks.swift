import ConnwatchCore
import Foundation

/// What every alert sink (`[[webhook]]`, `[[email]]`) reads the same way: its name, the
/// filters deciding which notifications it gets, and its timeout. Each returns nil (after
/// reporting the error on the table) when the value is unusable.
extension ConfigLoader {
    /// The filters of a sink (SPEC §5): `min_severity`, `connectors`, `labels`.
    struct SinkFilters {
        var minSeverity = Severity.warning
        var connectors: [String] = []
        var labels: [String: String] = [:]
    }

    /// `name`, required and `[a-z0-9-]`; labels the table's later errors with it.
    /// - Parameters:
    ///   - what: how errors name the sink ("webhook", "e-mail sink").
    ///   - example: a name to suggest when it is missing.
    func readSinkName(_ t: TableReader, what: String, label: String, example: String) -> String? {
        guard let name = t.string("name") else {
            if !t.has("name") { t.error("name", "missing; give the \(what) a name, e.g. name = \"\(example)\"") }
            return nil
        }
        guard Validators.isName(name) else {
            t.error("name", "\"\(name)\" is not a valid name; use lowercase letters, digits and '-'")
            return nil
        }
        t.label = "\(label) \"\(name)\""
        return name
    }

    func readSinkFilters(_ t: TableReader, connectorNames: Set<String>) -> SinkFilters? {
        var filters = SinkFilters()
        var ok = true
        if let v = t.string("min_severity") {
            if let s = Severity(rawValue: v) {
                filters.minSeverity = s
            } else {
                t.error("min_severity", "unknown severity \"\(v)\"; use \"info\", \"warning\" or \"critical\"")
                ok = false
            }
        }
        filters.connectors = t.stringArray("connectors") ?? []
        for c in filters.connectors where !connectorNames.contains(c) {
            t.error("connectors", "\"\(c)\" is not a configured connector")
            ok = false
        }
        filters.labels = t.stringTable("labels") ?? [:]
        return ok ? filters : nil
    }

    /// `timeout`: at least 1 s, at most 5 min. `.some(nil)`: not set.
    func readSinkTimeout(_ t: TableReader) -> ConfigDuration?? {
        let timeout = t.duration("timeout", minimum: .seconds(1))
        if let timeout, timeout > .minutes(5) {
            t.error("timeout", "\(timeout) is too long; use at most 5m")
            return nil
        }
        return .some(timeout)
    }
}
