import ErgonCore
import Foundation
import GRDB

/// The embedded task queue: one SQLite file in WAL mode, shared safely by the agent and
/// any number of CLI processes. Each operation is one transaction; writes take SQLite's
/// write lock up front (`BEGIN IMMEDIATE`) and wait up to `busyTimeout` for another process.
public final class SQLiteTaskQueue: TaskQueue {
    /// How long a write waits for another process's transaction before failing.
    public static let busyTimeout: TimeInterval = 10

    /// The database file.
    public let path: String
    /// The file touched after submit, cancel and retry commit, when given.
    public let wakeupFile: String?
    let pool: DatabasePool

    /// Opens (or creates) the queue file and brings its schema up to date. Throws
    /// `SQLiteQueueError(.cannotOpen)` naming the path when the file cannot be used, and
    /// `QueueError(.schemaTooNew)` for a file a newer Ergon wrote.
    public init(path: String, wakeupFile: String? = nil) throws {
        self.path = path
        self.wakeupFile = wakeupFile
        var configuration = Configuration()
        configuration.busyMode = .timeout(Self.busyTimeout)
        configuration.label = "ergon-queue"
        // DatabasePool puts the file in WAL mode, with synchronous=NORMAL.
        do {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            pool = try Self.openPool(path: path, configuration: configuration)
        } catch let error as QueueError {
            throw error
        } catch {
            throw SQLiteQueueError(.cannotOpen, "\(path): cannot open the task queue: \(Self.describe(error))")
        }
    }

    // MARK: submitting and reading

    /// Adds a validated workflow; its tasks start `unscheduled` or `pending`, numbered after
    /// every task already in the file.
    public func submit(
        _ workflow: WorkflowSpec, defaultMaxAttempts: Int, at now: Date
    ) async throws -> (WorkflowRecord, [TaskRecord]) {
        let submitted = try await pool.write { db in
            let firstSeq = (try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM tasks") ?? 0) + 1
            let (record, tasks) = try WorkflowEdit.submission(
                workflow, workflowID: UUID(), firstSeq: firstSeq, defaultMaxAttempts: defaultMaxAttempts, at: now)
            try Self.insert(record, db)
            for task in tasks { try Self.insert(task, db) }
            return (record, tasks)
        }
        wakeUp()
        return submitted
    }

    /// The workflow with this id, if any.
    public func workflow(_ id: UUID) async throws -> WorkflowRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM workflows WHERE id = ?", arguments: [Self.text(id)])
                .map(Self.workflowRecord)
        }
    }

    /// All workflows in submission order.
    public func workflows() async throws -> [WorkflowRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM workflows ORDER BY rowid").map(Self.workflowRecord)
        }
    }

    /// The task with this id, if any.
    public func task(_ id: UUID) async throws -> TaskRecord? {
        try await pool.read { db in try Self.fetchTask(db, id) }
    }

    /// Tasks matching the filter, in submission order.
    public func tasks(_ filter: TaskFilter) async throws -> [TaskRecord] {
        var conditions = ["1"]
        var arguments: StatementArguments = []
        if let workflowID = filter.workflowID {
            conditions.append("workflow_id = ?")
            arguments += [Self.text(workflowID)]
        }
        if let states = filter.states {
            conditions.append("state IN (\(Self.placeholders(states.count)))")
            arguments += StatementArguments(states.map(\.rawValue))
        }
        return try await pool.read { [conditions, arguments] db in
            try Self.fetchTasks(db, where: conditions.joined(separator: " AND "), arguments)
        }
    }

    /// All attempts of a task, oldest first.
    public func attempts(of taskID: UUID) async throws -> [AttemptRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT \(Self.attemptColumns) FROM attempts WHERE task_id = ? ORDER BY number",
                arguments: [Self.text(taskID)]
            ).map { try Self.attemptRecord($0) }
        }
    }

    /// Resolves a full id (any case) or a unique prefix of at least 4 hex digits.
    public func resolveTaskID(_ text: String) async throws -> UUID {
        let query = try TaskIDLookup.query(text)
        return try await pool.read { db in
            switch query {
            case .id(let id):
                guard try Self.fetchTask(db, id) != nil else { throw TaskIDLookup.unknownID(id) }
                return id
            case .prefix(let prefix):
                // Ids are lowercase hex and hyphens, all below "~": a range scan of the primary key.
                let matches = try Row.fetchAll(
                    db, sql: "SELECT id, slug FROM tasks WHERE id >= ? AND id < ? ORDER BY seq LIMIT 6",
                    arguments: [prefix, prefix + "~"])
                return try TaskIDLookup.resolve(text, matches: try matches.map { (try Self.uuid($0["id"]), $0["slug"]) })
            }
        }
    }

    // MARK: the agent's side

    /// The tasks this agent holds (`running` or `stopping`) with their current attempt.
    public func heldTasks(agentID: String) async throws -> [HeldTask] {
        try await pool.read { db in
            try Self.fetchHeld(
                db, where: "tasks.agent_id = ? AND tasks.state IN (?, ?)",
                [agentID, TaskState.running.rawValue, TaskState.stopping.rawValue])
        }
    }

    /// Priced attempts billed after `since`.
    public func billedAttempts(since: Date) async throws -> [AttemptRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.attemptColumns) FROM attempts
                    WHERE price_per_hour IS NOT NULL AND (ended_at IS NULL OR ended_at > ?)
                    """,
                arguments: [Self.seconds(since)]
            ).map { try Self.attemptRecord($0) }
        }
    }

    /// Run times of the last completed tasks with this slug and image, newest first.
    public func pastRunTimes(slug: String, image: String, limit: Int) async throws -> [TimeInterval] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT a.ended_at - a.started_at FROM tasks t
                    JOIN attempts a ON a.task_id = t.id AND a.number = t.attempt
                    WHERE t.slug = ? AND t.state = ? AND json_extract(t.spec, '$.image') = ?
                        AND a.started_at IS NOT NULL AND a.ended_at IS NOT NULL
                    ORDER BY a.ended_at DESC, t.seq DESC LIMIT ?
                    """,
                arguments: [slug, TaskState.completed.rawValue, image, max(0, limit)]
            ).map { row in row[0] as Double }
        }
    }

    /// Pending tasks in claim order: priority descending, then submission order.
    public func pendingTasks(limit: Int) async throws -> [TaskRecord] {
        try await pool.read { db in
            try Self.fetchTasks(
                db, where: "state = ?", [TaskState.pending.rawValue, max(0, limit)],
                suffix: "ORDER BY priority DESC, seq LIMIT ?")
        }
    }

    /// Pending tasks that need a GPU, or need none, in claim order.
    public func pendingTasks(limit: Int, needingGPU: Bool) async throws -> [TaskRecord] {
        try await pool.read { db in
            try Self.fetchTasks(
                db, where: "state = ? AND coalesce(json_extract(spec, '$.gpu'), 0) = ?",
                [TaskState.pending.rawValue, needingGPU ? 1 : 0, max(0, limit)],
                suffix: "ORDER BY priority DESC, seq LIMIT ?")
        }
    }

    /// Atomically moves a pending task to `running` for this agent and opens its next attempt;
    /// nil when the task is no longer pending (another agent or process got it first).
    public func claim(taskID: UUID, agentID: String, gpu: String?, at now: Date) async throws -> HeldTask? {
        try await pool.write { db in try Self.claim(db, try Self.requireTask(db, taskID), agentID: agentID, gpu: gpu, at: now) }
    }

    /// Claims the first pending task of the kind asked for; the write lock makes it exclusive.
    public func claimNext(agentID: String, needingGPU: Bool?, gpu: String?, at now: Date) async throws -> HeldTask? {
        try await pool.write { db in
            var condition = "state = ?"
            var arguments: StatementArguments = [TaskState.pending.rawValue]
            if let needingGPU {
                condition += " AND coalesce(json_extract(spec, '$.gpu'), 0) = ?"
                arguments += [needingGPU ? 1 : 0]
            }
            guard let next = try Self.fetchTasks(db, where: condition, arguments, suffix: "ORDER BY priority DESC, seq LIMIT 1").first
            else { return nil }
            return try Self.claim(db, next, agentID: agentID, gpu: gpu, at: now)
        }
    }

    /// `claim` inside an open write transaction.
    static func claim(_ db: Database, _ task: TaskRecord, agentID: String, gpu: String?, at now: Date) throws -> HeldTask? {
        guard let held = try WorkflowEdit.claim(task, agentID: agentID, gpu: gpu, at: now) else { return nil }
        // The write lock is held since BEGIN IMMEDIATE; the state guard keeps the claim
        // exclusive even so, and the changed-row count tells who won.
        try db.execute(
            sql: """
                UPDATE tasks SET state = ?, attempt = ?, agent_id = ?, reason = ?, updated_at = ?
                WHERE id = ? AND state = ?
                """,
            arguments: [
                held.task.state.rawValue, held.task.attempt, held.task.agentID, held.task.reason,
                Self.seconds(held.task.updatedAt), Self.text(task.id), TaskState.pending.rawValue,
            ])
        guard db.changesCount == 1 else { return nil }
        try Self.insert(held.attempt, db)
        return held
    }

    /// Saves every field of an existing attempt, if it is still `attempt.agentID`'s.
    public func updateAttempt(_ attempt: AttemptRecord) async throws {
        try await pool.write { db in
            guard let stored = try Self.fetchAttempt(db, taskID: attempt.taskID, number: attempt.number) else {
                throw QueueError(.notFound, "task \(Self.text(attempt.taskID)) has no attempt \(attempt.number)")
            }
            try AttemptFence.check(stored: stored, incoming: attempt)
            _ = try Self.update(attempt, db)
        }
    }

    /// Ends the current attempt and moves the task and its descendants, in one transaction.
    public func finishAttempt(
        taskID: UUID, attempt: Int, outcome: AttemptOutcome, heldBy agentID: String?, at now: Date
    ) async throws -> TaskRecord {
        try await pool.write { db in
            try Self.finish(db, taskID: taskID, attempt: attempt, outcome: outcome, heldBy: agentID, at: now)
        }
    }

    /// `finishAttempt` inside an open write transaction.
    static func finish(
        _ db: Database, taskID: UUID, attempt: Int, outcome: AttemptOutcome, heldBy agentID: String?, at now: Date
    ) throws -> TaskRecord {
        let task = try Self.requireTask(db, taskID)
        var edit = WorkflowEdit(tasks: try Self.fetchTasks(db, where: "workflow_id = ?", [Self.text(task.workflowID)]))
        let current = try Self.fetchAttempt(db, taskID: taskID, number: attempt)
        if let agentID, let current { try AttemptFence.check(stored: current, writer: agentID) }
        let finished = try edit.finishAttempt(taskID: taskID, number: attempt, current: current, outcome: outcome, at: now)
        _ = try Self.update(finished.attempt, db)
        for changed in edit.changed { try Self.update(changed, db) }
        return finished.task
    }

    /// Workflows whose tasks all ended and whose volumes are not removed yet, oldest first.
    /// A workflow without volumes has nothing to clean up and is never listed.
    public func workflowsToCleanUp() async throws -> [WorkflowRecord] {
        let live = TaskState.allCases.filter { !$0.isTerminal }.map(\.rawValue)
        return try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM workflows w
                    WHERE w.cleaned_up = 0 AND w.volumes <> '[]'
                      AND NOT EXISTS (
                          SELECT 1 FROM tasks t WHERE t.workflow_id = w.id AND t.state IN (\(Self.placeholders(live.count))))
                    ORDER BY w.rowid
                    """,
                arguments: StatementArguments(live)
            ).map(Self.workflowRecord)
        }
    }

    /// Records that the backend removed the workflow's resources.
    public func markCleanedUp(workflowID: UUID) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE workflows SET cleaned_up = 1 WHERE id = ?", arguments: [Self.text(workflowID)])
            guard db.changesCount == 1 else {
                throw QueueError(.notFound, "no workflow with id \(Self.text(workflowID))")
            }
        }
    }

    // MARK: many agents

    /// Registers the agent or renews its lease; returns the record as it was.
    public func heartbeat(_ agent: AgentRecord) async throws -> AgentRecord? {
        try await pool.write { db in
            let before = try Self.fetchAgent(db, agent.id)
            try db.execute(
                sql: "INSERT OR REPLACE INTO agents (id, record, lease_expires_at) VALUES (?, ?, ?)",
                arguments: [agent.id, try Self.json(agent), Self.seconds(agent.leaseExpiresAt)])
            return before
        }
    }

    /// Every agent the queue knows, by id.
    public func agents() async throws -> [AgentRecord] {
        try await pool.read { db in
            try String.fetchAll(db, sql: "SELECT record FROM agents ORDER BY id").map { try Self.decode(AgentRecord.self, $0) }
        }
    }

    /// The tasks every agent holds, with their current attempt.
    public func heldTasks() async throws -> [HeldTask] {
        try await pool.read { db in
            try Self.fetchHeld(
                db, where: "tasks.agent_id IS NOT NULL AND tasks.state IN (?, ?)",
                [TaskState.running.rawValue, TaskState.stopping.rawValue])
        }
    }

    /// Moves a task of an agent whose lease ended to `to`, in one transaction.
    public func adopt(taskID: UUID, from: String, to: String, expiredBefore: Date, at now: Date) async throws -> HeldTask? {
        try await pool.write { db in
            guard WorkflowEdit.leaseEnded(try Self.fetchAgent(db, from), before: expiredBefore) else { return nil }
            let task = try Self.requireTask(db, taskID)
            let current = try Self.fetchAttempt(db, taskID: taskID, number: task.attempt)
            guard let held = WorkflowEdit.adoption(task, current: current, from: from, to: to, at: now) else { return nil }
            try Self.update(held.task, db)
            _ = try Self.update(held.attempt, db)
            return held
        }
    }

    /// Ends the current attempt of a task of an agent whose lease ended, in one transaction.
    public func abandon(
        taskID: UUID, attempt: Int, from: String, expiredBefore: Date, outcome: AttemptOutcome, at now: Date
    ) async throws -> TaskRecord? {
        let ended = try await pool.write { db -> TaskRecord? in
            guard WorkflowEdit.leaseEnded(try Self.fetchAgent(db, from), before: expiredBefore) else { return nil }
            let task = try Self.requireTask(db, taskID)
            guard task.agentID == from, task.attempt == attempt, task.state == .running || task.state == .stopping else {
                return nil
            }
            return try Self.finish(db, taskID: taskID, attempt: attempt, outcome: outcome, heldBy: from, at: now)
        }
        if ended != nil { wakeUp() }
        return ended
    }

    /// Agents on this file are woken by its wake-up file, which the agent watches itself.
    public func changes() -> AsyncStream<Void> { Self.silentChanges() }

    static func fetchAgent(_ db: Database, _ id: String) throws -> AgentRecord? {
        try String.fetchOne(db, sql: "SELECT record FROM agents WHERE id = ?", arguments: [id])
            .map { try decode(AgentRecord.self, $0) }
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
            let workflowID = Self.text(try Self.requireTask(db, taskID).workflowID)
            let removed = try Row.fetchOne(
                db, sql: "SELECT cleaned_up = 1 AND volumes <> '[]' AS removed FROM workflows WHERE id = ?",
                arguments: [workflowID])?["removed"] as Bool? ?? false
            let retried = try edit.retry(taskID: taskID, volumesRemoved: removed, at: now)
            try db.execute(
                sql: """
                    UPDATE workflows SET notified_at = NULL, notify_claimed_by = NULL, notify_claimed_until = NULL
                    WHERE id = ?
                    """,
                arguments: [workflowID])
            return retried
        }
    }

    // MARK: worker tokens

    /// Records a token's hash for its attempt; tokens of ended attempts of the task go.
    public func recordToken(_ grant: TokenGrant) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM worker_tokens WHERE task_id = ? AND attempt < ?",
                arguments: [Self.text(grant.taskID), grant.attempt])
            try db.execute(
                sql: "INSERT OR REPLACE INTO worker_tokens (hash, task_id, attempt, expires_at) VALUES (?, ?, ?, ?)",
                arguments: [grant.hash, Self.text(grant.taskID), grant.attempt, grant.expiresAt.timeIntervalSince1970])
        }
    }

    /// The grant recorded for a token hash, if any.
    public func tokenGrant(hash: String) async throws -> TokenGrant? {
        try await pool.read { db in
            guard let row = try Row.fetchOne(
                db, sql: "SELECT task_id, attempt, expires_at FROM worker_tokens WHERE hash = ?", arguments: [hash]),
                let taskID = UUID(uuidString: row["task_id"] as String)
            else { return nil }
            return TokenGrant(
                hash: hash, taskID: taskID, attempt: row["attempt"],
                expiresAt: Date(timeIntervalSince1970: row["expires_at"]))
        }
    }

    // MARK: helpers

    /// Applies a user's edit to the task's workflow in one transaction, then wakes the agent.
    private func userEdit(
        _ taskID: UUID, _ body: @escaping @Sendable (inout WorkflowEdit, Database) throws -> TaskRecord
    ) async throws -> TaskRecord {
        let result = try await pool.write { db in
            let task = try Self.requireTask(db, taskID)
            var edit = WorkflowEdit(tasks: try Self.fetchTasks(db, where: "workflow_id = ?", [Self.text(task.workflowID)]))
            let result = try body(&edit, db)
            for changed in edit.changed { try Self.update(changed, db) }
            return result
        }
        wakeUp()
        return result
    }

    private func wakeUp() {
        // Best effort: the change is committed, and the agent's poll is the fallback.
        if let wakeupFile { WakeupFile(path: wakeupFile).touch() }
    }

    static func placeholders(_ count: Int) -> String {
        count == 0 ? "NULL" : Array(repeating: "?", count: count).joined(separator: ", ")
    }

    /// Opens the pool and migrates. Processes that open a fresh file together race to put it
    /// in WAL mode, which SQLite answers with "database is locked" at once rather than through
    /// the busy timeout: the loser tries again, for up to `busyTimeout`.
    private static func openPool(path: String, configuration: Configuration) throws -> DatabasePool {
        let deadline = Date().addingTimeInterval(busyTimeout)
        var pause: useconds_t = 20_000
        while true {
            do {
                let pool = try DatabasePool(path: path, configuration: configuration)
                try migrate(pool, path: path)
                return pool
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && Date() < deadline {
                usleep(pause)
                pause = min(pause * 2, 500_000)
            }
        }
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? error.description }
        return error.localizedDescription
    }
}
