import ErgonCore
import Foundation
import GRDB

/// Reading and writing the queue's records as rows. Every statement the queue runs lives
/// here, next to the schema it must match.
extension SQLiteTaskQueue: StoredValues {
    // MARK: tasks

    static let taskColumns = """
        id, workflow_id, seq, spec, parent_ids, state, attempt, attempt_base, max_attempts,
        agent_id, exit_code, reason, created_at, updated_at
        """

    static func insert(_ task: TaskRecord, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO tasks (\(taskColumns), slug, priority)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                text(task.id), text(task.workflowID), task.seq, try json(task.spec), try json(task.parentIDs.map(text)),
                task.state.rawValue, task.attempt, task.attemptBase, task.maxAttempts, task.agentID, task.exitCode,
                task.reason, seconds(task.createdAt), seconds(task.updatedAt), task.spec.slug, task.spec.priority,
            ])
    }

    /// Saves the fields an operation may change (the spec and graph never change).
    static func update(_ task: TaskRecord, _ db: Database) throws {
        try db.execute(
            sql: """
                UPDATE tasks SET state = ?, attempt = ?, attempt_base = ?, agent_id = ?, exit_code = ?,
                    reason = ?, updated_at = ?
                WHERE id = ?
                """,
            arguments: [
                task.state.rawValue, task.attempt, task.attemptBase, task.agentID, task.exitCode, task.reason,
                seconds(task.updatedAt), text(task.id),
            ])
    }

    /// Tasks matching an SQL condition; `arguments` bind the condition's then the suffix's `?`.
    static func fetchTasks(
        _ db: Database, where condition: String, _ arguments: StatementArguments = [], suffix: String = "ORDER BY seq"
    ) throws -> [TaskRecord] {
        // Cached: the statements a tick runs are compiled once per connection, not every tick.
        // Decoded from the cursor's rows, which find a column by name through the statement's
        // index; a copied row (`fetchAll`) searches its names on every lookup.
        try Array(
            Row.fetchCursor(db.cachedStatement(sql: "SELECT \(taskColumns) FROM tasks WHERE \(condition) \(suffix)"), arguments: arguments)
                .map { try taskRecord($0) })
    }

    /// Held tasks with their current attempt, in one statement: a tick reads every one, and a
    /// statement per task was a fifth of a tick's CPU with a thousand of them. `condition`
    /// names its columns with their table (`tasks.agent_id`): both tables have some alike.
    static func fetchHeld(_ db: Database, where condition: String, _ arguments: StatementArguments) throws -> [HeldTask] {
        let statement = try db.cachedStatement(
            sql: """
                SELECT \(qualified(taskColumns, "tasks")), \(qualified(attemptColumns, "attempts")) FROM tasks
                JOIN attempts ON attempts.task_id = tasks.id AND attempts.number = tasks.attempt
                WHERE \(condition) ORDER BY tasks.seq
                """)
        return try Array(
            Row.fetchCursor(statement, arguments: arguments).map { row in
                HeldTask(task: try taskRecord(row), attempt: try attemptRecord(row, from: taskColumnCount))
            })
    }

    /// `columns` (a list as ``taskColumns``) each with its table, for statements that join another table.
    static func qualified(_ columns: String, _ table: String) -> String {
        columnNames(columns).map { table + "." + $0 }.joined(separator: ", ")
    }

    static func columnNames(_ columns: String) -> [String] {
        columns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    static let taskColumnCount = columnNames(taskColumns).count

    static func fetchTask(_ db: Database, _ id: UUID) throws -> TaskRecord? {
        try fetchTasks(db, where: "id = ?", [text(id)]).first
    }

    /// The stored task, or `.notFound`.
    static func requireTask(_ db: Database, _ id: UUID) throws -> TaskRecord {
        guard let task = try fetchTask(db, id) else { throw TaskIDLookup.unknownID(id) }
        return task
    }

    /// The task in a row that has ``taskColumns``, in their order, from column `base` on. Read
    /// by position: a tick decodes every held task, and a lookup by name costs a search each.
    static func taskRecord(_ row: Row, from base: Int = 0) throws -> TaskRecord {
        TaskRecord(
            id: try uuid(row[base]), workflowID: try uuid(row[base + 1]), seq: row[base + 2],
            spec: try taskSpec(row[base + 3]), parentIDs: try parentIDs(row[base + 4]),
            state: try enumValue(TaskState.self, row[base + 5]), attempt: row[base + 6],
            attemptBase: row[base + 7], maxAttempts: row[base + 8], agentID: row[base + 9],
            exitCode: row[base + 10], reason: row[base + 11], createdAt: date(row[base + 12]),
            updatedAt: date(row[base + 13]))
    }

    // MARK: attempts

    /// Every column of `attempts`, in the order ``attemptRecord(_:from:)`` reads them.
    static let attemptColumns = """
        task_id, number, agent_id, phase, instance_id, gpu, outcome, claimed_at, started_at, ended_at,
        log_cursor, log_spooled, log_shipped, absent_ticks, price_per_hour, billed_from, rental
        """

    static func insert(_ attempt: AttemptRecord, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO attempts (\(attemptColumns))
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: try attemptArguments(attempt))
    }

    /// Saves every field of an attempt; false when no such attempt is stored.
    static func update(_ attempt: AttemptRecord, _ db: Database) throws -> Bool {
        try db.execute(
            sql: """
                UPDATE attempts SET task_id = ?, number = ?, agent_id = ?, phase = ?, instance_id = ?, gpu = ?,
                    outcome = ?, claimed_at = ?, started_at = ?, ended_at = ?, log_cursor = ?, log_spooled = ?,
                    log_shipped = ?, absent_ticks = ?, price_per_hour = ?, billed_from = ?, rental = ?
                WHERE task_id = ? AND number = ?
                """,
            arguments: try attemptArguments(attempt) + [text(attempt.taskID), attempt.number])
        return db.changesCount == 1
    }

    static func attemptArguments(_ attempt: AttemptRecord) throws -> StatementArguments {
        [
            text(attempt.taskID), attempt.number, attempt.agentID, attempt.phase.rawValue, attempt.instanceID,
            attempt.gpu, try attempt.outcome.map(json), seconds(attempt.claimedAt), attempt.startedAt.map(seconds),
            attempt.endedAt.map(seconds), attempt.logCursor, attempt.logSpooled, attempt.logShipped,
            attempt.absentTicks, attempt.pricePerHour, attempt.billedFrom.map(seconds), try attempt.rental.map(json),
        ]
    }

    static func fetchAttempt(_ db: Database, taskID: UUID, number: Int) throws -> AttemptRecord? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(attemptColumns) FROM attempts WHERE task_id = ? AND number = ?"),
            arguments: [text(taskID), number]
        ).map { try attemptRecord($0) }
    }

    /// The attempt in a row that has ``attemptColumns``, in their order, from column `base` on.
    static func attemptRecord(_ row: Row, from base: Int = 0) throws -> AttemptRecord {
        let outcome: String? = row[base + 6]
        let startedAt: Double? = row[base + 8]
        let endedAt: Double? = row[base + 9]
        let billedFrom: Double? = row[base + 15]
        let rental: String? = row[base + 16]
        return AttemptRecord(
            taskID: try uuid(row[base]), number: row[base + 1], agentID: row[base + 2],
            phase: try enumValue(AttemptPhase.self, row[base + 3]), instanceID: row[base + 4], gpu: row[base + 5],
            outcome: try outcome.map { try decode(AttemptOutcome.self, $0) }, claimedAt: date(row[base + 7]),
            startedAt: startedAt.map(date), endedAt: endedAt.map(date), logCursor: row[base + 10],
            logSpooled: row[base + 11], logShipped: row[base + 12], absentTicks: row[base + 13],
            pricePerHour: row[base + 14], billedFrom: billedFrom.map(date),
            rental: try rental.map(rentalChoice))
    }

    // MARK: workflows

    static func insert(_ workflow: WorkflowRecord, _ db: Database) throws {
        try db.execute(
            sql: "INSERT INTO workflows (id, name, created_at, volumes, cleaned_up) VALUES (?, ?, ?, ?, ?)",
            arguments: [
                text(workflow.id), workflow.name, seconds(workflow.createdAt), try json(workflow.volumes),
                workflow.cleanedUp,
            ])
    }

    static func workflowRecord(_ row: Row) throws -> WorkflowRecord {
        WorkflowRecord(
            id: try uuid(row["id"]), name: row["name"], createdAt: date(row["created_at"]),
            volumes: try decode([String].self, row["volumes"]), cleanedUp: row["cleaned_up"],
            notifiedAt: (row["notified_at"] as Double?).map(date))
    }

    // MARK: values (``StoredValues``)

    /// A record that cannot be read, as this engine reports it.
    public static func corrupt(_ problem: String) -> any Error { SQLiteQueueError(.corruptRecord, problem) }
}
