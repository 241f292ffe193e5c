import ConnwatchCore
import Foundation
import GRDB

extension HistoryStore {
    /// Time-based retention (`history_retention`), failures kept longest: what was ok,
    /// delivered or routine goes after `retention`, what was a failure (a non-ok result
    /// or transition, a critical notification, a dead or gone delivery, a failed reload)
    /// after twice that. Never deleted: latest rows and alert states of configured
    /// connectors, notifications of incidents still firing or with deliveries left
    /// (a notification goes after its deliveries, so a dead delivery keeps its body),
    /// active silences. Connectors removed from the configuration more than
    /// twice `retention` ago go with everything they had.
    public func prune(now: Date, retention: ConfigDuration) async throws -> PruneSummary {
        let cutoff = now.ms - retention.seconds * 1000
        let failureCutoff = now.ms - 2 * retention.seconds * 1000
        return try await write("pruning history") { db in
            var summary = PruneSummary()
            let args: StatementArguments = ["cutoff": cutoff, "failureCutoff": failureCutoff]

            try db.execute(
                sql: """
                    DELETE FROM result_history
                    WHERE checked_at < :failureCutoff OR (checked_at < :cutoff AND status = 'ok')
                    """, arguments: args)
            summary.history = db.changesCount
            try db.execute(
                sql: "DELETE FROM transition WHERE at < :failureCutoff OR (at < :cutoff AND to_status = 'ok')",
                arguments: args)
            summary.transitions = db.changesCount

            // Deliveries first: a notification is deleted only once none is left.
            try db.execute(
                sql: """
                    DELETE FROM delivery
                    WHERE (status = 'delivered' AND finished_at < :cutoff)
                       OR (status IN ('dead', 'gone') AND finished_at < :failureCutoff)
                    """, arguments: args)
            summary.deliveries = db.changesCount
            try db.execute(
                sql: """
                    DELETE FROM notification
                    WHERE created_at < CASE severity WHEN 'critical' THEN :failureCutoff ELSE :cutoff END
                      AND alert_id NOT IN (SELECT alert_id FROM alert_state WHERE firing = 1)
                      AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.notification_id = notification.id)
                    """, arguments: args)
            summary.notifications = db.changesCount

            try db.execute(
                sql: "DELETE FROM silence WHERE coalesce(removed_at, expires_at) < :cutoff", arguments: args)
            summary.silences = db.changesCount
            try db.execute(
                sql: """
                    DELETE FROM daemon_event
                    WHERE at < CASE kind WHEN 'reload_failed' THEN :failureCutoff ELSE :cutoff END
                    """, arguments: args)
            summary.daemonEvents = db.changesCount
            try db.execute(
                sql: "DELETE FROM connector WHERE removed_at IS NOT NULL AND removed_at < :failureCutoff",
                arguments: args)
            summary.connectors = db.changesCount
            return summary
        }
    }
}
