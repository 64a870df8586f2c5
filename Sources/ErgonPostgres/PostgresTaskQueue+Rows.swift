import ErgonCore
import Foundation
import Logging
import PostgresNIO

/// One connection inside one operation (usually a transaction), with the logger its
/// statements log to.
struct PostgresSession {
    let connection: PostgresConnection
    let logger: Logger

    /// Runs a statement and collects its rows.
    func rows(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        try await connection.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
    }

    /// Runs a statement whose rows do not matter.
    func execute(_ query: PostgresQuery) async throws {
        _ = try await connection.query(query, logger: logger).collect()
    }
}

/// Reading and writing the queue's records as rows. Every statement that touches a record
/// lives here, next to the schema it must match.
extension PostgresTaskQueue: StoredValues {
    // MARK: tasks

    static let taskColumns = """
        id, workflow_id, seq, spec, parent_ids, state, attempt, attempt_base, max_attempts,
        agent_id, exit_code, reason, created_at, updated_at
        """

    /// Stores new tasks, a few hundred rows per statement.
    static func insert(_ tasks: [TaskRecord], _ db: PostgresSession) async throws {
        let columnCount = 17
        let rowsPerStatement = 500
        for start in stride(from: 0, to: tasks.count, by: rowsPerStatement) {
            let chunk = tasks[start..<min(start + rowsPerStatement, tasks.count)]
            var binds = PostgresBindings(capacity: chunk.count * columnCount)
            var rows: [String] = []
            for task in chunk {
                let first = binds.count + 1
                rows.append("(" + (first..<first + columnCount).map { "$\($0)" }.joined(separator: ", ") + ")")
                binds.append(text(task.id))
                binds.append(text(task.workflowID))
                binds.append(task.seq)
                binds.append(try json(task.spec))
                binds.append(try json(task.parentIDs.map(text)))
                binds.append(task.state.rawValue)
                binds.append(task.attempt)
                binds.append(task.attemptBase)
                binds.append(task.maxAttempts)
                binds.append(task.agentID)
                binds.append(task.exitCode)
                binds.append(task.reason)
                binds.append(seconds(task.createdAt))
                binds.append(seconds(task.updatedAt))
                binds.append(task.spec.slug)
                binds.append(task.spec.priority)
                binds.append(task.spec.gpu)
            }
            try await db.execute(
                PostgresQuery(
                    unsafeSQL: "INSERT INTO tasks (\(taskColumns), slug, priority, gpu) VALUES \(rows.joined(separator: ", "))",
                    binds: binds))
        }
    }

    /// Saves the fields an operation may change (the spec and graph never change).
    static func update(_ task: TaskRecord, _ db: PostgresSession) async throws {
        try await db.execute(
            """
            UPDATE tasks SET state = \(task.state.rawValue), attempt = \(task.attempt),
                attempt_base = \(task.attemptBase), agent_id = \(task.agentID), exit_code = \(task.exitCode),
                reason = \(task.reason), updated_at = \(seconds(task.updatedAt))
            WHERE id = \(text(task.id))
            """)
    }

    /// The tasks a query selecting `taskColumns` returns.
    static func fetchTasks(_ db: PostgresSession, _ query: PostgresQuery) async throws -> [TaskRecord] {
        try await db.rows(query).map(taskRecord)
    }

    static func fetchTask(_ db: PostgresSession, _ id: UUID) async throws -> TaskRecord? {
        try await fetchTasks(db, "SELECT \(unescaped: taskColumns) FROM tasks WHERE id = \(text(id))").first
    }

    /// The stored task, or `.notFound`.
    static func requireTask(_ db: PostgresSession, _ id: UUID) async throws -> TaskRecord {
        guard let task = try await fetchTask(db, id) else { throw TaskIDLookup.unknownID(id) }
        return task
    }

    /// Every task of the workflow of task `id`, in submission order, locked for this
    /// transaction: the edits of one workflow (finishing, cancelling, retrying) read the
    /// whole graph and must not interleave. Rows are locked in `seq` order, the same in
    /// every transaction, so two of them cannot deadlock. `.notFound` for an unknown task.
    static func lockWorkflowTasks(of id: UUID, _ db: PostgresSession) async throws -> [TaskRecord] {
        let task = try await requireTask(db, id)
        return try await fetchTasks(
            db,
            """
            SELECT \(unescaped: taskColumns) FROM tasks WHERE workflow_id = \(text(task.workflowID))
            ORDER BY seq FOR UPDATE
            """)
    }

    static func taskRecord(_ row: PostgresRandomAccessRow) throws -> TaskRecord {
        TaskRecord(
            id: try uuid(row["id"].decode(String.self)), workflowID: try uuid(row["workflow_id"].decode(String.self)),
            seq: try row["seq"].decode(Int64.self), spec: try taskSpec(row["spec"].decode(String.self)),
            parentIDs: try parentIDs(row["parent_ids"].decode(String.self)),
            state: try enumValue(TaskState.self, row["state"].decode(String.self)),
            attempt: try row["attempt"].decode(Int.self), attemptBase: try row["attempt_base"].decode(Int.self),
            maxAttempts: try row["max_attempts"].decode(Int.self), agentID: try row["agent_id"].decode(String?.self),
            exitCode: try row["exit_code"].decode(Int?.self), reason: try row["reason"].decode(String?.self),
            createdAt: date(try row["created_at"].decode(Double.self)),
            updatedAt: date(try row["updated_at"].decode(Double.self)))
    }

    // MARK: attempts

    static let attemptColumns = """
        task_id, number, agent_id, phase, instance_id, gpu, outcome, claimed_at, started_at, ended_at,
        log_cursor, log_spooled, log_shipped, absent_ticks, price_per_hour, billed_from, rental
        """

    static func insert(_ attempt: AttemptRecord, _ db: PostgresSession) async throws {
        let outcome = try attempt.outcome.map(json)
        let rental = try attempt.rental.map(json)
        try await db.execute(
            """
            INSERT INTO attempts (\(unescaped: attemptColumns))
            VALUES (\(text(attempt.taskID)), \(attempt.number), \(attempt.agentID), \(attempt.phase.rawValue),
                \(attempt.instanceID), \(attempt.gpu), \(outcome), \(seconds(attempt.claimedAt)),
                \(attempt.startedAt.map(seconds)), \(attempt.endedAt.map(seconds)), \(attempt.logCursor),
                \(attempt.logSpooled), \(attempt.logShipped), \(attempt.absentTicks), \(attempt.pricePerHour),
                \(attempt.billedFrom.map(seconds)), \(rental))
            """)
    }

    /// Saves every field of an attempt; false when no such attempt is stored.
    @discardableResult
    static func update(_ attempt: AttemptRecord, _ db: PostgresSession) async throws -> Bool {
        let outcome = try attempt.outcome.map(json)
        let rental = try attempt.rental.map(json)
        let updated = try await db.rows(
            """
            UPDATE attempts SET agent_id = \(attempt.agentID), phase = \(attempt.phase.rawValue),
                instance_id = \(attempt.instanceID), gpu = \(attempt.gpu), outcome = \(outcome),
                claimed_at = \(seconds(attempt.claimedAt)), started_at = \(attempt.startedAt.map(seconds)),
                ended_at = \(attempt.endedAt.map(seconds)), log_cursor = \(attempt.logCursor),
                log_spooled = \(attempt.logSpooled), log_shipped = \(attempt.logShipped),
                absent_ticks = \(attempt.absentTicks), price_per_hour = \(attempt.pricePerHour),
                billed_from = \(attempt.billedFrom.map(seconds)), rental = \(rental)
            WHERE task_id = \(text(attempt.taskID)) AND number = \(attempt.number)
            RETURNING number
            """)
        return updated.count == 1
    }

    /// The stored attempt; with `lock`, its row stays locked until the transaction ends.
    static func fetchAttempt(
        _ db: PostgresSession, taskID: UUID, number: Int, lock: Bool = false
    ) async throws -> AttemptRecord? {
        try await db.rows(
            """
            SELECT \(unescaped: attemptColumns) FROM attempts WHERE task_id = \(text(taskID)) AND number = \(number)
            \(unescaped: lock ? "FOR UPDATE" : "")
            """
        ).first.map { try attemptRecord($0) }
    }

    /// The attempt in `row`, whose attempt columns are named with `prefix` (`a_` in joins).
    static func attemptRecord(_ row: PostgresRandomAccessRow, prefix: String = "") throws -> AttemptRecord {
        func column(_ name: String) -> PostgresCell { row[prefix + name] }
        return AttemptRecord(
            taskID: try uuid(column("task_id").decode(String.self)), number: try column("number").decode(Int.self),
            agentID: try column("agent_id").decode(String.self),
            phase: try enumValue(AttemptPhase.self, column("phase").decode(String.self)),
            instanceID: try column("instance_id").decode(String?.self), gpu: try column("gpu").decode(String?.self),
            outcome: try column("outcome").decode(String?.self).map { try decode(AttemptOutcome.self, $0) },
            claimedAt: date(try column("claimed_at").decode(Double.self)),
            startedAt: try column("started_at").decode(Double?.self).map(date),
            endedAt: try column("ended_at").decode(Double?.self).map(date),
            logCursor: try column("log_cursor").decode(String?.self), logSpooled: try column("log_spooled").decode(Int64.self),
            logShipped: try column("log_shipped").decode(Int64.self), absentTicks: try column("absent_ticks").decode(Int.self),
            pricePerHour: try column("price_per_hour").decode(Double?.self),
            billedFrom: try column("billed_from").decode(Double?.self).map(date),
            rental: try column("rental").decode(String?.self).map(rentalChoice))
    }

    /// Tasks held by an agent (`running` or `stopping`) with their current attempt, in
    /// submission order; `agentID` nil for every agent.
    static func fetchHeld(_ db: PostgresSession, agentID: String?) async throws -> [HeldTask] {
        let columns = taskColumns.split(separator: ",").map { "t." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let attempt = attemptColumns.split(separator: ",").map {
            let name = $0.trimmingCharacters(in: .whitespacesAndNewlines)
            return "a.\(name) AS a_\(name)"
        }
        let rows = try await db.rows(
            """
            SELECT \(unescaped: (columns + attempt).joined(separator: ", "))
            FROM tasks t JOIN attempts a ON a.task_id = t.id AND a.number = t.attempt
            WHERE t.agent_id IS NOT NULL AND (\(agentID)::text IS NULL OR t.agent_id = \(agentID))
              AND t.state IN (\(TaskState.running.rawValue), \(TaskState.stopping.rawValue))
            ORDER BY t.seq
            """)
        return try rows.map { row in
            let attempt = try attemptRecord(row, prefix: "a_")
            return HeldTask(task: try taskRecord(row), attempt: attempt)
        }
    }

    // MARK: workflows

    /// Stores a workflow; `seq` orders workflows (the first `seq` of its tasks).
    static func insert(_ workflow: WorkflowRecord, seq: Int64, _ db: PostgresSession) async throws {
        let volumes = try json(workflow.volumes)
        try await db.execute(
            """
            INSERT INTO workflows (id, seq, name, created_at, volumes, cleaned_up)
            VALUES (\(text(workflow.id)), \(seq), \(workflow.name), \(seconds(workflow.createdAt)), \(volumes),
                \(workflow.cleanedUp))
            """)
    }

    static let workflowColumns = "id, name, created_at, volumes, cleaned_up, notified_at"

    static func workflowRecord(_ row: PostgresRandomAccessRow) throws -> WorkflowRecord {
        WorkflowRecord(
            id: try uuid(row["id"].decode(String.self)), name: try row["name"].decode(String.self),
            createdAt: date(try row["created_at"].decode(Double.self)),
            volumes: try decode([String].self, row["volumes"].decode(String.self)),
            cleanedUp: try row["cleaned_up"].decode(Bool.self),
            notifiedAt: try row["notified_at"].decode(Double?.self).map(date))
    }

    // MARK: agents

    /// The agent's record; with `lock`, its row stays locked until the transaction ends.
    static func fetchAgent(_ db: PostgresSession, _ id: String, lock: Bool = false) async throws -> AgentRecord? {
        try await db.rows(
            "SELECT record FROM agents WHERE id = \(id) \(unescaped: lock ? "FOR UPDATE" : "")"
        ).first.map { try decode(AgentRecord.self, $0["record"].decode(String.self)) }
    }

    // MARK: wake-ups

    /// Tells every listening agent the queue changed; delivered when the transaction commits.
    static func notifyChange(_ db: PostgresSession) async throws {
        try await db.execute("SELECT pg_notify(\(notificationChannel), '')")
    }

    // MARK: values (``StoredValues``)

    /// A record that cannot be read, as this engine reports it.
    public static func corrupt(_ problem: String) -> any Error { PostgresQueueError(.corruptRecord, problem) }
}
