import ErgonCore
import Foundation
import Logging
import PostgresNIO

/// The shared task queue: one PostgreSQL database used by any number of agents and CLI
/// processes, on any hosts. Each operation is one transaction on a pooled connection; rows
/// are locked where an operation reads what it then writes (`FOR UPDATE`), claims skip rows
/// another agent is claiming (`SKIP LOCKED`), and changes that may give an agent work send a
/// `NOTIFY` that `changes()` turns into wake-ups.
public final class PostgresTaskQueue: TaskQueue {
    /// The most connections one queue object opens at once (its listener has one more).
    public static let maximumConnections = 8
    /// The `NOTIFY` channel of changes that may give an agent work.
    static let notificationChannel = "ergon_queue"
    /// The advisory lock that numbers submissions one at a time, so `seq` increases in
    /// commit order without gaps across every submitter.
    static let submitLock: Int64 = 0x4552_474F_4E5F_5331  // "ERGON_S1"

    /// Where the queue lives (its description leaves out the password).
    public let location: PostgresLocation
    let client: PostgresClient
    /// A pool of one connection for heartbeats alone: a lease must not wait behind the task
    /// work filling `client`'s connections, or a busy agent would be taken for a dead one.
    let leaseClient: PostgresClient
    let logger: Logger
    private let runner: Task<Void, Never>
    let listener: PostgresListener

    private init(
        location: PostgresLocation, client: PostgresClient, leaseClient: PostgresClient, runner: Task<Void, Never>,
        logger: Logger
    ) {
        self.location = location
        self.client = client
        self.leaseClient = leaseClient
        self.logger = logger
        self.runner = runner
        self.listener = PostgresListener(location: location, channel: Self.notificationChannel, logger: logger)
    }

    /// Connects to the database, brings its schema up to date, and starts the connection
    /// pool. Throws `QueueError(.unavailable)` naming the location (never the password) and
    /// the reason when the server cannot be reached or refuses the user or the database, and
    /// `QueueError(.schemaTooNew)` for a database a newer Ergon wrote.
    public static func open(
        _ location: PostgresLocation, logger: Logger = Logger(label: "ergon.postgres")
    ) async throws -> PostgresTaskQueue {
        try await location.withConnection(logger: logger) { connection in
            try await migrate(connection, location: location, logger: logger)
        }
        let configuration: PostgresClient.Configuration
        let leaseConfiguration: PostgresClient.Configuration
        do {
            configuration = try location.clientConfiguration(maximumConnections: maximumConnections)
            leaseConfiguration = try location.clientConfiguration(maximumConnections: 1)
        } catch {
            throw PostgresErrorText.queueError(error, at: location)
        }
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let leaseClient = PostgresClient(configuration: leaseConfiguration, backgroundLogger: logger)
        // The pools serve requests once `run()` began; wait for the runner to get there (its
        // first, synchronous step), so the first request does not find a pool idle.
        let (started, starting) = AsyncStream.makeStream(of: Void.self)
        let runner = Task {
            await withDiscardingTaskGroup { pools in
                pools.addTask { await client.run() }
                pools.addTask { await leaseClient.run() }
                starting.finish()
            }
        }
        for await _ in started {}
        return PostgresTaskQueue(location: location, client: client, leaseClient: leaseClient, runner: runner, logger: logger)
    }

    /// Stops listening, closes the pool's connections, and waits until they are closed.
    /// Operations after `close` fail with `.unavailable`.
    public func close() async {
        let listening = listener.stop()
        runner.cancel()
        await runner.value
        await listening?.value
    }

    deinit {
        listener.stop()
        runner.cancel()
    }

    // MARK: submitting and reading

    /// Adds a validated workflow; its tasks start `unscheduled` or `pending`, numbered after
    /// every task already in the database.
    public func submit(
        _ workflow: WorkflowSpec, defaultMaxAttempts: Int, at now: Date
    ) async throws -> (WorkflowRecord, [TaskRecord]) {
        let submitted = try await transaction { db in
            try await db.execute("SELECT pg_advisory_xact_lock(\(Self.submitLock))")
            let last = try await db.rows("SELECT MAX(seq) AS last FROM tasks").first?["last"].decode(Int64?.self)
            let firstSeq = (last ?? 0) + 1
            let (record, tasks) = try WorkflowEdit.submission(
                workflow, workflowID: UUID(), firstSeq: firstSeq, defaultMaxAttempts: defaultMaxAttempts, at: now)
            try await Self.insert(record, seq: firstSeq, db)
            try await Self.insert(tasks, db)
            try await Self.notifyChange(db)
            return Submitted(workflow: record, tasks: tasks)
        }
        return (submitted.workflow, submitted.tasks)
    }

    private struct Submitted: Sendable {
        var workflow: WorkflowRecord
        var tasks: [TaskRecord]
    }

    /// The workflow with this id, if any.
    public func workflow(_ id: UUID) async throws -> WorkflowRecord? {
        try await read { db in
            try await db.rows("SELECT \(unescaped: Self.workflowColumns) FROM workflows WHERE id = \(Self.text(id))")
                .first.map(Self.workflowRecord)
        }
    }

    /// All workflows in submission order.
    public func workflows() async throws -> [WorkflowRecord] {
        try await read { db in
            try await db.rows("SELECT \(unescaped: Self.workflowColumns) FROM workflows ORDER BY seq").map(Self.workflowRecord)
        }
    }

    /// The task with this id, if any.
    public func task(_ id: UUID) async throws -> TaskRecord? {
        try await read { db in try await Self.fetchTask(db, id) }
    }

    /// Tasks matching the filter, in submission order.
    public func tasks(_ filter: TaskFilter) async throws -> [TaskRecord] {
        let workflowID = filter.workflowID.map(Self.text)
        let states = filter.states.map { $0.map(\.rawValue).sorted() }
        return try await read { db in
            try await Self.fetchTasks(
                db,
                """
                SELECT \(unescaped: Self.taskColumns) FROM tasks
                WHERE (\(workflowID)::text IS NULL OR workflow_id = \(workflowID))
                  AND (\(states)::text[] IS NULL OR state = ANY(\(states)))
                ORDER BY seq
                """)
        }
    }

    /// All attempts of a task, oldest first.
    public func attempts(of taskID: UUID) async throws -> [AttemptRecord] {
        try await read { db in
            try await db.rows(
                """
                SELECT \(unescaped: Self.attemptColumns) FROM attempts WHERE task_id = \(Self.text(taskID))
                ORDER BY number
                """
            ).map { try Self.attemptRecord($0) }
        }
    }

    /// Resolves a full id (any case) or a unique prefix of at least 4 hex digits.
    public func resolveTaskID(_ text: String) async throws -> UUID {
        let query = try TaskIDLookup.query(text)
        return try await read { db in
            switch query {
            case .id(let id):
                guard try await Self.fetchTask(db, id) != nil else { throw TaskIDLookup.unknownID(id) }
                return id
            case .prefix(let prefix):
                // Ids are lowercase hex and hyphens, all below "~" byte-wise (COLLATE "C"):
                // a range scan of the primary key.
                let matches = try await db.rows(
                    "SELECT id, slug FROM tasks WHERE id >= \(prefix) AND id < \(prefix + "~") ORDER BY seq LIMIT 6")
                return try TaskIDLookup.resolve(
                    text,
                    matches: try matches.map { (try Self.uuid($0["id"].decode(String.self)), try $0["slug"].decode(String.self)) })
            }
        }
    }

    // MARK: the agent's side

    /// The tasks this agent holds (`running` or `stopping`) with their current attempt.
    public func heldTasks(agentID: String) async throws -> [HeldTask] {
        try await read { db in try await Self.fetchHeld(db, agentID: agentID) }
    }

    /// Pending tasks in claim order: priority descending, then submission order.
    public func pendingTasks(limit: Int) async throws -> [TaskRecord] {
        try await read { db in
            try await Self.fetchTasks(
                db,
                """
                SELECT \(unescaped: Self.taskColumns) FROM tasks WHERE state = \(TaskState.pending.rawValue)
                ORDER BY priority DESC, seq LIMIT \(max(0, limit))
                """)
        }
    }

    /// Pending tasks that need a GPU, or need none, in claim order.
    public func pendingTasks(limit: Int, needingGPU: Bool) async throws -> [TaskRecord] {
        try await read { db in
            try await Self.fetchTasks(
                db,
                """
                SELECT \(unescaped: Self.taskColumns) FROM tasks
                WHERE state = \(TaskState.pending.rawValue) AND gpu = \(needingGPU)
                ORDER BY priority DESC, seq LIMIT \(max(0, limit))
                """)
        }
    }

    /// Atomically moves a pending task to `running` for this agent and opens its next attempt;
    /// nil when the task is no longer pending, or another agent is claiming it right now.
    public func claim(taskID: UUID, agentID: String, gpu: String?, at now: Date) async throws -> HeldTask? {
        try await transaction { db in
            // A row another transaction holds is skipped, not waited for: that claimer (or a
            // cancel, or a finishing sibling) decides the task, and this agent moves on.
            guard let task = try await Self.fetchTasks(
                db,
                """
                SELECT \(unescaped: Self.taskColumns) FROM tasks
                WHERE id = \(Self.text(taskID)) AND state = \(TaskState.pending.rawValue)
                FOR UPDATE SKIP LOCKED
                """
            ).first else {
                if try await Self.fetchTask(db, taskID) == nil { throw TaskIDLookup.unknownID(taskID) }
                return nil
            }
            return try await Self.claim(db, task, agentID: agentID, gpu: gpu, at: now)
        }
    }

    /// Claims the first pending task of the kind asked for, skipping tasks another agent is
    /// claiming at this moment; nil when none is left.
    public func claimNext(agentID: String, needingGPU: Bool?, gpu: String?, at now: Date) async throws -> HeldTask? {
        try await transaction { db in
            guard let task = try await Self.fetchTasks(
                db,
                """
                SELECT \(unescaped: Self.taskColumns) FROM tasks
                WHERE state = \(TaskState.pending.rawValue) AND (\(needingGPU)::boolean IS NULL OR gpu = \(needingGPU))
                ORDER BY priority DESC, seq LIMIT 1
                FOR UPDATE SKIP LOCKED
                """
            ).first else { return nil }
            return try await Self.claim(db, task, agentID: agentID, gpu: gpu, at: now)
        }
    }

    /// `claim` of a pending task whose row this transaction locked.
    static func claim(
        _ db: PostgresSession, _ task: TaskRecord, agentID: String, gpu: String?, at now: Date
    ) async throws -> HeldTask? {
        guard let held = try WorkflowEdit.claim(task, agentID: agentID, gpu: gpu, at: now) else { return nil }
        try await update(held.task, db)
        try await insert(held.attempt, db)
        return held
    }

    /// Saves every field of an existing attempt, if it is still `attempt.agentID`'s.
    public func updateAttempt(_ attempt: AttemptRecord) async throws {
        try await transaction { db in
            guard let stored = try await Self.fetchAttempt(db, taskID: attempt.taskID, number: attempt.number, lock: true)
            else {
                throw QueueError(.notFound, "task \(Self.text(attempt.taskID)) has no attempt \(attempt.number)")
            }
            try AttemptFence.check(stored: stored, incoming: attempt)
            try await Self.update(attempt, db)
        }
    }

    /// Ends the current attempt and moves the task and its descendants, in one transaction.
    public func finishAttempt(
        taskID: UUID, attempt: Int, outcome: AttemptOutcome, heldBy agentID: String?, at now: Date
    ) async throws -> TaskRecord {
        try await transaction { db in
            let tasks = try await Self.lockWorkflowTasks(of: taskID, db)
            return try await Self.finish(
                db, tasks: tasks, taskID: taskID, attempt: attempt, outcome: outcome, heldBy: agentID, at: now)
        }
    }

    /// `finishAttempt` inside an open transaction, given the workflow's tasks as locked by
    /// `lockWorkflowTasks`. Notifies when a retry or released children are pending now.
    static func finish(
        _ db: PostgresSession, tasks: [TaskRecord], taskID: UUID, attempt: Int, outcome: AttemptOutcome,
        heldBy agentID: String?, at now: Date
    ) async throws -> TaskRecord {
        var edit = WorkflowEdit(tasks: tasks)
        let current = try await fetchAttempt(db, taskID: taskID, number: attempt, lock: true)
        if let agentID, let current { try AttemptFence.check(stored: current, writer: agentID) }
        let finished = try edit.finishAttempt(taskID: taskID, number: attempt, current: current, outcome: outcome, at: now)
        try await update(finished.attempt, db)
        for changed in edit.changed { try await update(changed, db) }
        // Only a task made pending (a retry, released children) is work for another agent:
        // waking every agent at every finish would make each list its backend again.
        if edit.changed.contains(where: { $0.state == .pending }) { try await notifyChange(db) }
        return finished.task
    }

    /// Workflows whose tasks all ended and whose volumes are not removed yet, oldest first.
    /// A workflow without volumes has nothing to clean up and is never listed.
    public func workflowsToCleanUp() async throws -> [WorkflowRecord] {
        let live = TaskState.allCases.filter { !$0.isTerminal }.map(\.rawValue)
        return try await read { db in
            try await db.rows(
                """
                SELECT \(unescaped: Self.workflowColumns) FROM workflows w
                WHERE NOT w.cleaned_up AND w.volumes <> '[]'
                  AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.workflow_id = w.id AND t.state = ANY(\(live)))
                ORDER BY w.seq
                """
            ).map(Self.workflowRecord)
        }
    }

    /// Records that the backend removed the workflow's resources.
    public func markCleanedUp(workflowID: UUID) async throws {
        try await transaction { db in
            let updated = try await db.rows(
                "UPDATE workflows SET cleaned_up = TRUE WHERE id = \(Self.text(workflowID)) RETURNING id")
            guard updated.count == 1 else {
                throw QueueError(.notFound, "no workflow with id \(Self.text(workflowID))")
            }
        }
    }

    // MARK: the user's side

    /// Cancels a task: not yet running → `stopped` at once; running → `stopping`.
    public func cancel(taskID: UUID, at now: Date) async throws -> TaskRecord {
        try await userEdit(taskID) { edit, _ in try edit.cancel(taskID: taskID, at: now) }
    }

    /// Re-runs a failed, error, stopped or cancelled task with a fresh attempt budget. The
    /// workflow runs again, so in the same transaction its report is made due again.
    public func retry(taskID: UUID, at now: Date) async throws -> TaskRecord {
        try await userEdit(taskID) { edit, db in
            let workflowID = Self.text(try await Self.requireTask(db, taskID).workflowID)
            let removed = try await db.rows(
                "SELECT cleaned_up AND volumes <> '[]' AS removed FROM workflows WHERE id = \(workflowID)"
            ).first?["removed"].decode(Bool.self) ?? false
            let retried = try edit.retry(taskID: taskID, volumesRemoved: removed, at: now)
            try await db.execute(
                """
                UPDATE workflows SET notified_at = NULL, notify_claimed_by = NULL, notify_claimed_until = NULL
                WHERE id = \(workflowID)
                """)
            return retried
        }
    }

    // MARK: worker tokens

    /// Records a token's hash for its attempt; tokens of ended attempts of the task go.
    public func recordToken(_ grant: TokenGrant) async throws {
        try await transaction { db in
            try await db.execute(
                "DELETE FROM worker_tokens WHERE task_id = \(Self.text(grant.taskID)) AND attempt < \(grant.attempt)")
            try await db.execute(
                """
                INSERT INTO worker_tokens (hash, task_id, attempt, expires_at)
                VALUES (\(grant.hash), \(Self.text(grant.taskID)), \(grant.attempt), \(Self.seconds(grant.expiresAt)))
                ON CONFLICT (hash) DO UPDATE SET
                    task_id = EXCLUDED.task_id, attempt = EXCLUDED.attempt, expires_at = EXCLUDED.expires_at
                """)
        }
    }

    /// The grant recorded for a token hash, if any.
    public func tokenGrant(hash: String) async throws -> TokenGrant? {
        try await read { db in
            guard let row = try await db.rows(
                "SELECT task_id, attempt, expires_at FROM worker_tokens WHERE hash = \(hash)"
            ).first,
                let taskID = UUID(uuidString: try row["task_id"].decode(String.self))
            else { return nil }
            return TokenGrant(
                hash: hash, taskID: taskID, attempt: try row["attempt"].decode(Int.self),
                expiresAt: Self.date(try row["expires_at"].decode(Double.self)))
        }
    }

    // MARK: helpers

    /// Applies a user's edit to the task's workflow in one transaction, and wakes the agents.
    private func userEdit(
        _ taskID: UUID, _ body: (inout WorkflowEdit, PostgresSession) async throws -> TaskRecord
    ) async throws -> TaskRecord {
        try await transaction { db in
            var edit = WorkflowEdit(tasks: try await Self.lockWorkflowTasks(of: taskID, db))
            let result = try await body(&edit, db)
            for changed in edit.changed { try await Self.update(changed, db) }
            try await Self.notifyChange(db)
            return result
        }
    }

    /// Runs `body` in one transaction on a pooled connection: committed when it returns,
    /// rolled back when it throws. Errors come out as `PostgresErrorText.queueError` says.
    func transaction<T: Sendable>(
        on pool: PostgresClient? = nil, _ body: (PostgresSession) async throws -> T
    ) async throws -> T {
        try await withSession(on: pool) { db in
            try await db.execute("BEGIN")
            do {
                let result = try await body(db)
                try await db.execute("COMMIT")
                return result
            } catch {
                do {
                    try await db.execute("ROLLBACK")
                } catch {
                    // A connection that cannot even roll back must not go back to the pool.
                    try? await db.connection.close()
                }
                throw error
            }
        }
    }

    /// Runs `body`'s reads on a pooled connection, outside a transaction.
    func read<T: Sendable>(_ body: (PostgresSession) async throws -> T) async throws -> T {
        try await withSession(body)
    }

    private func withSession<T: Sendable>(
        on pool: PostgresClient? = nil, _ body: (PostgresSession) async throws -> T
    ) async throws -> T {
        do {
            return try await (pool ?? client).withConnection { connection in
                try await body(PostgresSession(connection: connection, logger: logger))
            }
        } catch {
            throw PostgresErrorText.queueError(error, at: location)
        }
    }
}
