import ErgonCore
import GRDB

extension SQLiteTaskQueue {
    /// The schema's migrations, oldest first. A migration, once released, never changes:
    /// later schemas are new migrations registered after it, so a newer Ergon opens an
    /// older file by applying only what the file lacks.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            // Ids are lowercase UUID strings; times are seconds since 1970 (REAL);
            // specs, outcomes and lists are JSON text.
            try db.execute(
                sql: """
                    CREATE TABLE workflows (
                        id TEXT NOT NULL PRIMARY KEY,
                        name TEXT NOT NULL,
                        created_at REAL NOT NULL,
                        volumes TEXT NOT NULL,
                        cleaned_up INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE TABLE tasks (
                        id TEXT NOT NULL PRIMARY KEY,
                        workflow_id TEXT NOT NULL REFERENCES workflows(id),
                        seq INTEGER NOT NULL UNIQUE,
                        slug TEXT NOT NULL,
                        priority INTEGER NOT NULL,
                        spec TEXT NOT NULL,
                        parent_ids TEXT NOT NULL,
                        state TEXT NOT NULL,
                        attempt INTEGER NOT NULL,
                        attempt_base INTEGER NOT NULL,
                        max_attempts INTEGER NOT NULL,
                        agent_id TEXT,
                        exit_code INTEGER,
                        reason TEXT,
                        created_at REAL NOT NULL,
                        updated_at REAL NOT NULL,
                        UNIQUE (workflow_id, slug)
                    );
                    CREATE INDEX tasks_by_claim_order ON tasks (state, priority DESC, seq);
                    CREATE INDEX tasks_by_workflow ON tasks (workflow_id, seq);
                    CREATE INDEX tasks_by_agent ON tasks (agent_id, state);
                    CREATE TABLE attempts (
                        task_id TEXT NOT NULL REFERENCES tasks(id),
                        number INTEGER NOT NULL,
                        agent_id TEXT NOT NULL,
                        phase TEXT NOT NULL,
                        instance_id TEXT,
                        gpu TEXT,
                        outcome TEXT,
                        claimed_at REAL NOT NULL,
                        started_at REAL,
                        ended_at REAL,
                        log_cursor TEXT,
                        log_spooled INTEGER NOT NULL,
                        log_shipped INTEGER NOT NULL,
                        absent_ticks INTEGER NOT NULL,
                        PRIMARY KEY (task_id, number)
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v2-worker-tokens") { db in
            // Hashes of the per-attempt tokens of the worker API; the tokens are never stored.
            try db.execute(
                sql: """
                    CREATE TABLE worker_tokens (
                        hash TEXT NOT NULL PRIMARY KEY,
                        task_id TEXT NOT NULL REFERENCES tasks(id),
                        attempt INTEGER NOT NULL,
                        expires_at REAL NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX worker_tokens_by_task ON worker_tokens (task_id, attempt);
                    """)
        }
        migrator.registerMigration("v3-agents") { db in
            // Agents sharing the queue, with their leases; see `Takeover`.
            try db.execute(
                sql: """
                    CREATE TABLE agents (
                        id TEXT NOT NULL PRIMARY KEY,
                        record TEXT NOT NULL,
                        lease_expires_at REAL NOT NULL
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v4-billing") { db in
            // What each attempt's instance costs and since when (`budget`, `ergon tasks show`).
            try db.execute(
                sql: """
                    ALTER TABLE attempts ADD COLUMN price_per_hour REAL;
                    ALTER TABLE attempts ADD COLUMN billed_from REAL;
                    CREATE INDEX attempts_billed ON attempts (ended_at) WHERE price_per_hour IS NOT NULL;
                    """)
        }
        migrator.registerMigration("v5-notify") { db in
            // The report of each ended workflow (`notify.webhook_url`): which agent sends it,
            // until when its claim holds, and when it was delivered.
            try db.execute(
                sql: """
                    ALTER TABLE workflows ADD COLUMN notified_at REAL;
                    ALTER TABLE workflows ADD COLUMN notify_claimed_by TEXT;
                    ALTER TABLE workflows ADD COLUMN notify_claimed_until REAL;
                    """)
        }
        migrator.registerMigration("v6-rental") { db in
            // Which offer each attempt's instance was rented on and why (`ergon tasks show`): a
            // `RentalChoice` as JSON; NULL for docker and for attempts older than this.
            try db.execute(sql: "ALTER TABLE attempts ADD COLUMN rental TEXT")
        }
        migrator.registerMigration("v7-tasks-by-change") { db in
            // The notifier's poll looks only at tasks changed within its lookback, not at all.
            try db.execute(sql: "CREATE INDEX tasks_by_change ON tasks (updated_at)")
        }
        migrator.registerMigration("v8-tasks-by-slug") { db in
            // The effective-cost ranking looks up past runs of a slug (`pastRunTimes`).
            try db.execute(sql: "CREATE INDEX tasks_by_slug ON tasks (slug, state)")
        }
        return migrator
    }

    /// Refuses a file a newer Ergon migrated, then applies the migrations the file lacks.
    static func migrate(_ pool: DatabasePool, path: String) throws {
        let migrator = Self.migrator
        let known = Set(migrator.migrations)
        // Two processes may open a fresh file at once: the loser of the race to apply a
        // migration fails on the tables the winner created, and looks again.
        var attemptsLeft = 3
        while true {
            let applied = try pool.read { try migrator.appliedIdentifiers($0) }
            let unknown = applied.subtracting(known)
            guard unknown.isEmpty else {
                throw QueueError(
                    .schemaTooNew,
                    "\(path): written by a newer Ergon (schema \(unknown.sorted().joined(separator: ", "))); upgrade ergon")
            }
            if applied == known { return }
            do {
                try migrator.migrate(pool)
                return
            } catch {
                attemptsLeft -= 1
                if attemptsLeft == 0 { throw error }
            }
        }
    }
}

extension SQLiteTaskQueue {
    /// The identifiers of the migrations this build knows, oldest first.
    public static var schemaVersions: [String] { migrator.migrations }
}
