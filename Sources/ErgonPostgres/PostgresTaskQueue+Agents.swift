import ErgonCore
import Foundation
import PostgresNIO

/// Many agents on one queue: leases, takeovers, and wake-ups.
extension PostgresTaskQueue {
    /// Registers the agent or renews its lease; returns the record as it was.
    public func heartbeat(_ agent: AgentRecord) async throws -> AgentRecord? {
        let record = try Self.json(agent)
        return try await transaction(on: leaseClient) { db in
            let before = try await Self.fetchAgent(db, agent.id, lock: true)
            try await db.execute(
                """
                INSERT INTO agents (id, record, lease_expires_at)
                VALUES (\(agent.id), \(record), \(Self.seconds(agent.leaseExpiresAt)))
                ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record, lease_expires_at = EXCLUDED.lease_expires_at
                """)
            return before
        }
    }

    /// Every agent the queue knows, by id.
    public func agents() async throws -> [AgentRecord] {
        try await read { db in
            try await db.rows("SELECT record FROM agents ORDER BY id").map {
                try Self.decode(AgentRecord.self, $0["record"].decode(String.self))
            }
        }
    }

    /// The tasks every agent holds, with their current attempt.
    public func heldTasks() async throws -> [HeldTask] {
        try await read { db in try await Self.fetchHeld(db, agentID: nil) }
    }

    /// Priced attempts billed after `since`.
    public func billedAttempts(since: Date) async throws -> [AttemptRecord] {
        try await read { db in
            try await db.rows(
                """
                SELECT \(unescaped: Self.attemptColumns) FROM attempts
                WHERE price_per_hour IS NOT NULL AND (ended_at IS NULL OR ended_at > \(Self.seconds(since)))
                """
            ).map { try Self.attemptRecord($0) }
        }
    }

    /// Run times of the last completed tasks with this slug and image, newest first.
    public func pastRunTimes(slug: String, image: String, limit: Int) async throws -> [TimeInterval] {
        try await read { db in
            try await db.rows(
                """
                SELECT a.ended_at - a.started_at AS seconds FROM tasks t
                JOIN attempts a ON a.task_id = t.id AND a.number = t.attempt
                WHERE t.slug = \(slug) AND t.state = \(TaskState.completed.rawValue)
                    AND (t.spec::json)->>'image' = \(image)
                    AND a.started_at IS NOT NULL AND a.ended_at IS NOT NULL
                ORDER BY a.ended_at DESC, t.seq DESC LIMIT \(max(0, limit))
                """
            ).map { try $0["seconds"].decode(Double.self) }
        }
    }

    /// Moves a task of an agent whose lease ended to `to`, in one transaction. The old
    /// agent's row stays locked meanwhile, so a heartbeat arriving now waits, and wins next.
    public func adopt(taskID: UUID, from: String, to: String, expiredBefore: Date, at now: Date) async throws -> HeldTask? {
        try await transaction { db in
            guard WorkflowEdit.leaseEnded(try await Self.fetchAgent(db, from, lock: true), before: expiredBefore) else {
                return nil
            }
            guard let task = try await Self.fetchTasks(
                db, "SELECT \(unescaped: Self.taskColumns) FROM tasks WHERE id = \(Self.text(taskID)) FOR UPDATE"
            ).first else { throw TaskIDLookup.unknownID(taskID) }
            let current = try await Self.fetchAttempt(db, taskID: taskID, number: task.attempt, lock: true)
            guard let held = WorkflowEdit.adoption(task, current: current, from: from, to: to, at: now) else { return nil }
            try await Self.update(held.task, db)
            try await Self.update(held.attempt, db)
            return held
        }
    }

    /// Ends the current attempt of a task of an agent whose lease ended, in one transaction.
    public func abandon(
        taskID: UUID, attempt: Int, from: String, expiredBefore: Date, outcome: AttemptOutcome, at now: Date
    ) async throws -> TaskRecord? {
        try await transaction { db in
            guard WorkflowEdit.leaseEnded(try await Self.fetchAgent(db, from, lock: true), before: expiredBefore) else {
                return nil
            }
            let tasks = try await Self.lockWorkflowTasks(of: taskID, db)
            guard let task = tasks.first(where: { $0.id == taskID }), task.agentID == from, task.attempt == attempt,
                task.state == .running || task.state == .stopping
            else { return nil }
            return try await Self.finish(
                db, tasks: tasks, taskID: taskID, attempt: attempt, outcome: outcome, heldBy: from, at: now)
        }
    }

    /// Yields when another process (or this one) committed a change that may give an agent
    /// work: a submit, a cancel, a retry, a finished attempt, an abandoned task. It also
    /// yields once when it starts listening and after every reconnection, since changes may
    /// have been missed meanwhile. One listening connection serves every stream of this
    /// queue object; it starts with the first call. The stream ends when its consumer is
    /// cancelled or the queue closes.
    public func changes() -> AsyncStream<Void> {
        listener.subscribe()
    }
}
