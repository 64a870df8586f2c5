import ErgonCore
import Foundation
import PostgresNIO

/// `ergon gc` and the reports of ended workflows (`notify.webhook_url`), safe with several
/// agents and CLI processes on the same database.
extension PostgresTaskQueue {
    /// The task states that are not terminal, for `= ANY(…)` conditions.
    static var liveStates: [String] { TaskState.allCases.filter { !$0.isTerminal }.map(\.rawValue) }

    /// Workflows whose tasks all ended, the last of them changed before `cutoff`, and whose
    /// volumes are gone, oldest first.
    public func workflowsEnded(before cutoff: Date) async throws -> [WorkflowRecord] {
        let live = Self.liveStates
        return try await read { db in
            try await db.rows(
                """
                SELECT \(unescaped: Self.workflowColumns) FROM workflows w
                WHERE NOT EXISTS (SELECT 1 FROM tasks t WHERE t.workflow_id = w.id AND t.state = ANY(\(live)))
                  AND (SELECT MAX(t.updated_at) FROM tasks t WHERE t.workflow_id = w.id) < \(Self.seconds(cutoff))
                  AND (w.cleaned_up OR w.volumes = '[]')
                ORDER BY w.seq
                """
            ).map(Self.workflowRecord)
        }
    }

    /// Deletes the workflow's worker tokens, attempts, tasks and row in one transaction, after
    /// locking its tasks (in `seq` order, like every edit of a workflow): an edit that would
    /// make one live either committed before, and the check sees it, or waits and then finds
    /// nothing; a claim skips the locked rows.
    public func removeWorkflow(_ workflowID: UUID, endedBefore cutoff: Date) async throws -> Bool {
        try await transaction { db in
            let id = Self.text(workflowID)
            let tasks = try await Self.fetchTasks(
                db, "SELECT \(unescaped: Self.taskColumns) FROM tasks WHERE workflow_id = \(id) ORDER BY seq FOR UPDATE")
            guard let workflow = try await db.rows(
                "SELECT \(unescaped: Self.workflowColumns) FROM workflows WHERE id = \(id)"
            ).first.map(Self.workflowRecord),
                WorkflowReportState.removable(workflow, tasks: tasks, before: cutoff)
            else { return false }
            try await db.execute(
                "DELETE FROM worker_tokens WHERE task_id IN (SELECT id FROM tasks WHERE workflow_id = \(id))")
            try await db.execute("DELETE FROM attempts WHERE task_id IN (SELECT id FROM tasks WHERE workflow_id = \(id))")
            try await db.execute("DELETE FROM tasks WHERE workflow_id = \(id)")
            return try await db.rows("DELETE FROM workflows WHERE id = \(id) RETURNING id").count == 1
        }
    }

    /// Ended workflows not reported yet, changed since `since`, that no claim holds at `now`.
    /// Runs every poll interval, so it never aggregates all tasks: the workflows with a task
    /// changed since `since` come from `tasks_by_change`, and only the unreported ones among
    /// them have their tasks looked at (through `tasks_by_workflow`).
    public func workflowsToNotify(since: Date, at now: Date) async throws -> [WorkflowRecord] {
        let live = Self.liveStates
        return try await read { db in
            try await db.rows(
                """
                SELECT \(unescaped: Self.workflowColumns) FROM workflows w
                WHERE w.id IN (SELECT t.workflow_id FROM tasks t WHERE t.updated_at >= \(Self.seconds(since)))
                  AND w.notified_at IS NULL
                  AND (w.notify_claimed_until IS NULL OR w.notify_claimed_until <= \(Self.seconds(now)))
                  AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.workflow_id = w.id AND t.state = ANY(\(live)))
                ORDER BY w.seq
                """
            ).map(Self.workflowRecord)
        }
    }

    /// Claims the report for `agentID`: the workflow's row is locked while the claim is
    /// checked and set, so of several agents asking at once exactly one gets it.
    public func claimNotification(workflowID: UUID, agentID: String, until: Date, at now: Date) async throws -> Bool {
        try await transaction { db in
            let id = Self.text(workflowID)
            guard let row = try await db.rows(
                """
                SELECT notified_at, notify_claimed_by, notify_claimed_until FROM workflows WHERE id = \(id) FOR UPDATE
                """
            ).first else { return false }
            let state = WorkflowReportState(
                claimedBy: try row["notify_claimed_by"].decode(String?.self),
                claimedUntil: try row["notify_claimed_until"].decode(Double?.self).map(Self.date),
                notifiedAt: try row["notified_at"].decode(Double?.self).map(Self.date))
            let tasks = try await Self.fetchTasks(
                db, "SELECT \(unescaped: Self.taskColumns) FROM tasks WHERE workflow_id = \(id) ORDER BY seq")
            guard state.isOpen(for: agentID, at: now), WorkflowReportState.ended(tasks, before: .distantFuture) else {
                return false
            }
            try await db.execute(
                """
                UPDATE workflows SET notify_claimed_by = \(agentID), notify_claimed_until = \(Self.seconds(until))
                WHERE id = \(id)
                """)
            return true
        }
    }

    /// Records that `agentID` reported the workflow's end, while it still holds the claim and
    /// no task is live again (retried while the report was on its way).
    public func markNotified(workflowID: UUID, agentID: String, at now: Date) async throws {
        let live = Self.liveStates
        try await transaction { db in
            let id = Self.text(workflowID)
            guard try await !db.rows("SELECT id FROM workflows WHERE id = \(id) FOR UPDATE").isEmpty else {
                throw QueueError(.notFound, "no workflow with id \(id)")
            }
            try await db.execute(
                """
                UPDATE workflows SET notified_at = \(Self.seconds(now)) WHERE id = \(id) AND notify_claimed_by = \(agentID)
                  AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.workflow_id = \(id) AND t.state = ANY(\(live)))
                """)
        }
    }
}
