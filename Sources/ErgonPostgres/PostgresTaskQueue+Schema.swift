import ErgonCore
import Logging
import PostgresNIO

extension PostgresTaskQueue {
    /// One step of the schema. A migration, once released, never changes: later schemas are
    /// new migrations appended after it, so a newer Ergon upgrades an older database by
    /// applying only what it lacks.
    struct Migration: Sendable {
        var version: String
        var statements: [PostgresQuery]
    }

    /// The schema's migrations, oldest first.
    static let migrations: [Migration] = [
        Migration(
            version: "v1",
            statements: [
                // Ids are lowercase UUID strings compared byte by byte (COLLATE "C"), so a prefix
                // is a range scan as in SQLite; times are seconds since 1970; specs, outcomes,
                // lists and agent records are the JSON text the SQLite queue writes.
                """
                CREATE TABLE workflows (
                    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
                    seq BIGINT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL,
                    volumes TEXT NOT NULL,
                    cleaned_up BOOLEAN NOT NULL DEFAULT FALSE
                )
                """,
                """
                CREATE TABLE tasks (
                    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
                    workflow_id TEXT COLLATE "C" NOT NULL REFERENCES workflows(id),
                    seq BIGINT NOT NULL UNIQUE,
                    slug TEXT NOT NULL,
                    priority BIGINT NOT NULL,
                    gpu BOOLEAN NOT NULL,
                    spec TEXT NOT NULL,
                    parent_ids TEXT NOT NULL,
                    state TEXT NOT NULL,
                    attempt BIGINT NOT NULL,
                    attempt_base BIGINT NOT NULL,
                    max_attempts BIGINT NOT NULL,
                    agent_id TEXT,
                    exit_code BIGINT,
                    reason TEXT,
                    created_at DOUBLE PRECISION NOT NULL,
                    updated_at DOUBLE PRECISION NOT NULL,
                    UNIQUE (workflow_id, slug)
                )
                """,
                "CREATE INDEX tasks_by_claim_order ON tasks (state, priority DESC, seq)",
                "CREATE INDEX tasks_by_workflow ON tasks (workflow_id, seq)",
                "CREATE INDEX tasks_by_agent ON tasks (agent_id, state)",
                """
                CREATE TABLE attempts (
                    task_id TEXT COLLATE "C" NOT NULL REFERENCES tasks(id),
                    number BIGINT NOT NULL,
                    agent_id TEXT NOT NULL,
                    phase TEXT NOT NULL,
                    instance_id TEXT,
                    gpu TEXT,
                    outcome TEXT,
                    claimed_at DOUBLE PRECISION NOT NULL,
                    started_at DOUBLE PRECISION,
                    ended_at DOUBLE PRECISION,
                    log_cursor TEXT,
                    log_spooled BIGINT NOT NULL,
                    log_shipped BIGINT NOT NULL,
                    absent_ticks BIGINT NOT NULL,
                    PRIMARY KEY (task_id, number)
                )
                """,
                // Hashes of the per-attempt tokens of the worker API; the tokens are never stored.
                """
                CREATE TABLE worker_tokens (
                    hash TEXT NOT NULL PRIMARY KEY,
                    task_id TEXT COLLATE "C" NOT NULL REFERENCES tasks(id),
                    attempt BIGINT NOT NULL,
                    expires_at DOUBLE PRECISION NOT NULL
                )
                """,
                "CREATE INDEX worker_tokens_by_task ON worker_tokens (task_id, attempt)",
                // Agents sharing the queue, with their leases; see `Takeover`.
                """
                CREATE TABLE agents (
                    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
                    record TEXT NOT NULL,
                    lease_expires_at DOUBLE PRECISION NOT NULL
                )
                """,
            ]),
        Migration(
            version: "v2-billing",
            statements: [
                // What each attempt's instance costs and since when (`budget`, `ergon tasks show`).
                "ALTER TABLE attempts ADD COLUMN price_per_hour DOUBLE PRECISION",
                "ALTER TABLE attempts ADD COLUMN billed_from DOUBLE PRECISION",
                "CREATE INDEX attempts_billed ON attempts (ended_at) WHERE price_per_hour IS NOT NULL",
            ]),
        Migration(
            version: "v3-notify",
            statements: [
                // The report of each ended workflow (`notify.webhook_url`): which agent sends it,
                // until when its claim holds, and when it was delivered.
                "ALTER TABLE workflows ADD COLUMN notified_at DOUBLE PRECISION",
                "ALTER TABLE workflows ADD COLUMN notify_claimed_by TEXT",
                "ALTER TABLE workflows ADD COLUMN notify_claimed_until DOUBLE PRECISION",
            ]),
        Migration(
            version: "v4-rental",
            statements: [
                // Which offer each attempt's instance was rented on and why (`ergon tasks show`): a
                // `RentalChoice` as JSON; NULL for docker and for attempts older than this.
                "ALTER TABLE attempts ADD COLUMN rental TEXT",
            ]),
        Migration(
            version: "v5-tasks-by-change",
            statements: [
                // The notifier's poll looks only at tasks changed within its lookback, not at all.
                "CREATE INDEX tasks_by_change ON tasks (updated_at)",
            ]),
        Migration(
            version: "v6-tasks-by-slug",
            statements: [
                // The effective-cost ranking looks up past runs of a slug (`pastRunTimes`).
                "CREATE INDEX tasks_by_slug ON tasks (slug, state)",
            ]),
    ]

    /// The advisory lock that serializes migrations, so agents starting at once are safe.
    static let migrationLock: Int64 = 0x4552_474F_4E5F_4D31  // "ERGON_M1"

    /// Refuses a database a newer Ergon migrated, then applies the migrations it lacks, in
    /// order, in one transaction under `migrationLock`.
    static func migrate(_ connection: PostgresConnection, location: PostgresLocation, logger: Logger) async throws {
        let db = PostgresSession(connection: connection, logger: logger)
        try await db.execute("BEGIN")
        do {
            try await db.execute("SELECT pg_advisory_xact_lock(\(migrationLock))")
            try await db.execute(
                """
                CREATE TABLE IF NOT EXISTS ergon_schema_migrations (
                    version TEXT NOT NULL PRIMARY KEY,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """)
            let applied = Set(
                try await db.rows("SELECT version FROM ergon_schema_migrations").map { try $0["version"].decode(String.self) })
            let unknown = applied.subtracting(schemaVersions)
            guard unknown.isEmpty else {
                throw QueueError(
                    .schemaTooNew,
                    "\(location): written by a newer Ergon (schema \(unknown.sorted().joined(separator: ", "))); upgrade ergon")
            }
            for migration in migrations where !applied.contains(migration.version) {
                logger.debug("applying PostgreSQL queue migration", metadata: ["version": "\(migration.version)"])
                for statement in migration.statements { try await db.execute(statement) }
                try await db.execute("INSERT INTO ergon_schema_migrations (version) VALUES (\(migration.version))")
            }
            try await db.execute("COMMIT")
        } catch {
            try? await db.execute("ROLLBACK")
            throw error
        }
    }

    /// The identifiers of the migrations this build knows, oldest first.
    public static var schemaVersions: [String] { migrations.map(\.version) }
}
