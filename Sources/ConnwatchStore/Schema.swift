import GRDB

/// The versioned schema. Each migration runs in its own transaction (GRDB's
/// `DatabaseMigrator`). A migration is frozen once released, and so are the enum lists
/// its CHECK constraints spell out: they are literals here, not derived from Core, and a
/// test compares them with Core's cases. A new Core case therefore fails that test until
/// a new migration widens the constraint; never edit these lists or `v1` in place.
///
/// Times are INTEGER milliseconds since the Unix epoch (6 bytes a value instead of 23
/// for ISO text): the size budget is 1 KiB per connector per day.
enum Schema {
    /// The lists v1 was created with (frozen).
    static let v1CheckKinds = ["credential", "secret_expiry", "certificate", "consent", "roles", "probe", "zscaler"]
    /// v3 widens the CHECK constraints with observer mode (SPEC §3b).
    static let checkKinds = v1CheckKinds + ["app", "signin", "observer"]
    static let statuses = ["ok", "warning", "unknown", "critical"]
    static let connectorKinds = ["exchange", "onedrive", "sharepoint", "teams", "azure-blob", "mip"]
    static let severities = ["info", "warning", "critical"]
    static let phases = ["firing", "resolved"]
    static let deliveryStatuses = ["pending", "delivering", "delivered", "dead", "gone"]
    static let attemptOutcomes = ["delivered", "retry", "dead", "gone"]
    static let daemonEventKinds = ["start", "stop", "reload", "reload_failed"]
    static let causes = [
        "first_notification", "changed", "ladder_step", "reminder_due", "silence_ended", "resolved",
        "no_longer_checked",
    ]
    static let eventTypes =
        v1EventTypes + [
            "connector.signin.failing", "connector.signin.stale", "connector.app.disabled", "connector.app.missing",
            "observer.credential.invalid", "observer.secret.expiring", "observer.secret.expired",
            "observer.permission.missing",
        ]
    static let v1EventTypes = [
        "connector.secret.expiring", "connector.secret.expired", "connector.certificate.expiring",
        "connector.certificate.expired", "connector.certificate.invalid", "connector.credential.invalid",
        "connector.consent.missing", "connector.permissions.excess", "connector.roles.missing",
        "connector.validation.failed", "connector.unreachable", "connector.zscaler.validation_failed",
        "connector.zscaler.reauth_required", "connector.zscaler.inactive",
    ]

    static func list(_ values: [String]) -> String {
        "(" + values.map { "'\($0)'" }.joined(separator: ", ") + ")"
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-history-alerts-outbox") { db in
            try db.execute(sql: v1)
        }
        // The commit compares a 64-bit hash of a result's content instead of six text
        // columns, so that an unchanged connector costs one UPDATE for all its checks.
        // NULL (rows written before v2) never matches: the next result rewrites the row.
        migrator.registerMigration("v2-latest-content-hash") { db in
            try db.execute(sql: "ALTER TABLE latest_result ADD COLUMN content_hash INTEGER")
        }
        // Observer mode (SPEC §3b) adds checks and event types: SQLite cannot alter a
        // CHECK constraint, so the five tables that name them are rebuilt (the "12 steps"
        // of sqlite.org/lang_altertable.html; GRDB runs a migration with foreign keys off
        // and checks them before it commits).
        migrator.registerMigration("v3-observer-checks-and-events") { db in
            try widen(db, tables: ["latest_result", "result_history", "transition", "alert_state", "notification"])
        }
        // The digest e-mail (SPEC §5): one row per (sink, period), inserted when the period is
        // due — the unique key is what keeps a period from being sent twice, across restarts too.
        migrator.registerMigration("v4-digest") { db in
            try db.execute(sql: v4Digest)
        }
        return migrator
    }

    /// Rebuilds `tables` from their own stored SQL with the v1 enum lists replaced by the
    /// current ones: columns, order, defaults and the other constraints stay as they are.
    static func widen(_ db: Database, tables: [String]) throws {
        for table in tables {
            guard
                let sql = try String.fetchOne(
                    db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", arguments: [table])
            else { continue }
            let indexes = try String.fetchAll(
                db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
                arguments: [table])
            let widened =
                sql
                .replacingOccurrences(of: list(v1CheckKinds), with: list(checkKinds))
                .replacingOccurrences(of: list(v1EventTypes), with: list(eventTypes))
                .replacingOccurrences(of: "CREATE TABLE \(table) (", with: "CREATE TABLE \(table)_widened (")
            try db.execute(sql: widened)
            try db.execute(sql: "INSERT INTO \(table)_widened SELECT * FROM \(table)")
            try db.execute(sql: "DROP TABLE \(table)")
            try db.execute(sql: "ALTER TABLE \(table)_widened RENAME TO \(table)")
            for index in indexes { try db.execute(sql: index) }
        }
    }

    /// Digest statuses (frozen with v4): `pending` until the server took it (or, leased by a
    /// sender, while it is being sent), `delivered`, or `dead` after a 5xx or the last retry.
    static let digestStatuses = ["pending", "delivered", "dead"]

    static let v4Digest = """
        CREATE TABLE digest (
            -- the [[email]] sink's name
            sink TEXT NOT NULL CHECK (length(sink) > 0),
            -- daily:YYYY-MM-DD or weekly:YYYY-Www (local time)
            period TEXT NOT NULL CHECK (length(period) > 0),
            due_at INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN \(list(digestStatuses))),
            attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            next_attempt_at INTEGER NOT NULL,
            -- set while a sender holds it; an expired lease (the sender died) is claimed again
            lease_until INTEGER,
            last_error TEXT,
            -- the same on every attempt and after a restart
            message_id TEXT NOT NULL CHECK (length(message_id) > 0),
            -- the due time of the sink's previous delivered digest; NULL for the first
            changes_since INTEGER,
            -- JSON array of the addresses the server accepted
            recipients TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(recipients)),
            sent_at INTEGER,
            PRIMARY KEY (sink, period),
            CHECK ((status = 'delivered') = (sent_at IS NOT NULL))
        ) WITHOUT ROWID;
        CREATE INDEX digest_open ON digest(next_attempt_at) WHERE status = 'pending';
        CREATE INDEX digest_by_sink ON digest(sink, status, due_at);
        """

    static let v1 = """
        CREATE TABLE connector (
            name TEXT NOT NULL PRIMARY KEY CHECK (length(name) > 0),
            kind TEXT NOT NULL CHECK (kind IN \(list(connectorKinds))),
            tenant_id TEXT NOT NULL,
            client_id TEXT NOT NULL,
            labels TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(labels)),
            -- worst status of its latest results; NULL until the first check
            status TEXT CHECK (status IN \(list(statuses))),
            first_seen INTEGER NOT NULL,
            last_seen INTEGER NOT NULL CHECK (last_seen >= first_seen),
            removed_at INTEGER
        ) WITHOUT ROWID;

        CREATE TABLE latest_result (
            connector TEXT NOT NULL REFERENCES connector(name) ON DELETE CASCADE,
            check_kind TEXT NOT NULL CHECK (check_kind IN \(list(v1CheckKinds))),
            status TEXT NOT NULL CHECK (status IN \(list(statuses))),
            reason TEXT NOT NULL CHECK (length(reason) > 0),
            summary TEXT NOT NULL,
            details TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details)),
            remediation TEXT NOT NULL DEFAULT '',
            expiry_credential_id TEXT,
            expires_at INTEGER,
            checked_at INTEGER NOT NULL,
            -- since when status, reason and summary are what they are
            changed_at INTEGER NOT NULL,
            consecutive_failures INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
            last_ok_at INTEGER,
            -- the last ok result (JSON) while the current one is not ok; NULL when it is
            last_good TEXT CHECK (last_good IS NULL OR json_valid(last_good)),
            PRIMARY KEY (connector, check_kind),
            CHECK ((expiry_credential_id IS NULL) = (expires_at IS NULL))
        ) WITHOUT ROWID;

        CREATE TABLE result_history (
            id INTEGER PRIMARY KEY,
            connector TEXT NOT NULL REFERENCES connector(name) ON DELETE CASCADE,
            check_kind TEXT NOT NULL CHECK (check_kind IN \(list(v1CheckKinds))),
            status TEXT NOT NULL CHECK (status IN \(list(statuses))),
            reason TEXT NOT NULL CHECK (length(reason) > 0),
            summary TEXT NOT NULL,
            details TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details)),
            remediation TEXT NOT NULL DEFAULT '',
            expiry_credential_id TEXT,
            expires_at INTEGER,
            checked_at INTEGER NOT NULL
        );
        CREATE INDEX result_history_by_connector ON result_history(connector, checked_at);
        CREATE INDEX result_history_by_time ON result_history(checked_at);

        CREATE TABLE transition (
            id INTEGER PRIMARY KEY,
            connector TEXT NOT NULL REFERENCES connector(name) ON DELETE CASCADE,
            -- NULL: the connector's own status
            check_kind TEXT CHECK (check_kind IN \(list(v1CheckKinds))),
            from_status TEXT CHECK (from_status IN \(list(statuses))),
            to_status TEXT NOT NULL CHECK (to_status IN \(list(statuses))),
            reason TEXT NOT NULL CHECK (length(reason) > 0),
            at INTEGER NOT NULL,
            CHECK (from_status IS NULL OR from_status <> to_status)
        );
        CREATE INDEX transition_by_connector ON transition(connector, at);
        CREATE INDEX transition_by_time ON transition(at);

        CREATE TABLE alert_state (
            connector TEXT NOT NULL REFERENCES connector(name) ON DELETE CASCADE,
            check_kind TEXT NOT NULL CHECK (check_kind IN \(list(v1CheckKinds))),
            firing INTEGER NOT NULL CHECK (firing IN (0, 1)),
            alert_id TEXT,
            -- ConnwatchCore.AlertState as JSON
            state TEXT NOT NULL CHECK (json_valid(state)),
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (connector, check_kind),
            CHECK (firing = 0 OR alert_id IS NOT NULL)
        ) WITHOUT ROWID;
        CREATE INDEX alert_state_firing ON alert_state(alert_id) WHERE firing = 1;

        CREATE TABLE notification (
            -- the Standard Webhooks webhook-id: never changes, never contains '.'
            id TEXT NOT NULL PRIMARY KEY CHECK (length(id) > 0 AND instr(id, '.') = 0),
            alert_id TEXT NOT NULL CHECK (length(alert_id) > 0),
            connector TEXT NOT NULL REFERENCES connector(name) ON DELETE CASCADE,
            check_kind TEXT NOT NULL CHECK (check_kind IN \(list(v1CheckKinds))),
            event_type TEXT NOT NULL CHECK (event_type IN \(list(v1EventTypes))),
            state TEXT NOT NULL CHECK (state IN \(list(phases))),
            severity TEXT NOT NULL CHECK (severity IN \(list(severities))),
            status TEXT NOT NULL CHECK (status IN \(list(statuses))),
            reason TEXT NOT NULL CHECK (length(reason) > 0),
            cause TEXT NOT NULL CHECK (cause IN \(list(causes))),
            ladder_days INTEGER,
            summary TEXT NOT NULL,
            remediation TEXT NOT NULL DEFAULT '',
            details TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details)),
            days_left INTEGER,
            expires_at INTEGER,
            missing_permissions TEXT CHECK (missing_permissions IS NULL OR json_valid(missing_permissions)),
            suppressed INTEGER NOT NULL CHECK (suppressed IN (0, 1)),
            -- the rendered webhook `data` object
            body TEXT NOT NULL CHECK (json_valid(body)),
            created_at INTEGER NOT NULL,
            CHECK ((cause = 'ladder_step') = (ladder_days IS NOT NULL))
        );
        CREATE INDEX notification_by_alert ON notification(alert_id);
        CREATE INDEX notification_by_time ON notification(created_at);
        CREATE INDEX notification_by_connector ON notification(connector, created_at);

        CREATE TABLE delivery (
            -- AUTOINCREMENT: an id shown to an operator is never reused after pruning
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            notification_id TEXT NOT NULL REFERENCES notification(id) ON DELETE CASCADE,
            -- copied from the notification: deliveries go out in order per (connector, webhook)
            connector TEXT NOT NULL,
            webhook TEXT NOT NULL CHECK (length(webhook) > 0),
            status TEXT NOT NULL CHECK (status IN \(list(deliveryStatuses))),
            attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            next_attempt_at INTEGER NOT NULL,
            lease_until INTEGER,
            last_http_status INTEGER CHECK (last_http_status BETWEEN 100 AND 599),
            last_error TEXT,
            created_at INTEGER NOT NULL,
            finished_at INTEGER,
            UNIQUE (notification_id, webhook),
            CHECK (status <> 'delivering' OR lease_until IS NOT NULL),
            CHECK ((status IN ('delivered', 'dead', 'gone')) = (finished_at IS NOT NULL))
        );
        CREATE INDEX delivery_open_by_queue ON delivery(connector, webhook, id)
            WHERE status IN ('pending', 'delivering');
        CREATE INDEX delivery_open_by_due ON delivery(next_attempt_at)
            WHERE status IN ('pending', 'delivering');
        CREATE INDEX delivery_by_webhook ON delivery(webhook, status);
        CREATE INDEX delivery_finished ON delivery(finished_at) WHERE finished_at IS NOT NULL;

        CREATE TABLE delivery_attempt (
            id INTEGER PRIMARY KEY,
            delivery_id INTEGER NOT NULL REFERENCES delivery(id) ON DELETE CASCADE,
            at INTEGER NOT NULL,
            http_status INTEGER CHECK (http_status BETWEEN 100 AND 599),
            error TEXT,
            duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0),
            outcome TEXT NOT NULL CHECK (outcome IN \(list(attemptOutcomes)))
        );
        CREATE INDEX delivery_attempt_by_delivery ON delivery_attempt(delivery_id);

        -- webhooks that answered 410 Gone: nothing more is sent to them
        CREATE TABLE webhook_gone (
            name TEXT NOT NULL PRIMARY KEY CHECK (length(name) > 0),
            gone_at INTEGER NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE silence (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            -- a connector name, or '*' for all
            connector TEXT NOT NULL CHECK (length(connector) > 0),
            reason TEXT NOT NULL,
            author TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL CHECK (expires_at > created_at),
            removed_at INTEGER
        );
        CREATE INDEX silence_open ON silence(expires_at) WHERE removed_at IS NULL;

        CREATE TABLE daemon_event (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN \(list(daemonEventKinds))),
            message TEXT NOT NULL DEFAULT '',
            at INTEGER NOT NULL
        );
        CREATE INDEX daemon_event_by_time ON daemon_event(at);
        """
}
