import ErgonCore
import Foundation
import GRDB

/// `ergon gc` and the reports of ended workflows (`notify.webhook_url`).
extension SQLiteTaskQueue {
    /// The task states that are not terminal, for `IN (…)` conditions.
    static var liveStates: [String] { TaskState.allCases.filter { !$0.isTerminal }.map(\.rawValue) }

    /// `SELECT w.* FROM workflows w` joined with `t`: per workflow, `last_change` (its tasks'
    /// latest `updated_at`) and `live` (how many of them are in one of the `liveStates` states
    /// bound first).
    static func workflowsWithTaskSummary(liveStates: Int) -> String {
        """
        SELECT w.* FROM workflows w
        JOIN (
            SELECT workflow_id, MAX(updated_at) AS last_change,
                   SUM(state IN (\(placeholders(liveStates)))) AS live
            FROM tasks GROUP BY workflow_id
        ) t ON t.workflow_id = w.id
        """
    }

    /// Workflows whose tasks all ended, the last of them changed before `cutoff`, and whose
    /// volumes are gone, oldest first.
    public func workflowsEnded(before cutoff: Date) async throws -> [WorkflowRecord] {
        let live = Self.liveStates
        return try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    \(Self.workflowsWithTaskSummary(liveStates: live.count))
                    WHERE t.live = 0 AND t.last_change < ? AND (w.cleaned_up = 1 OR w.volumes = '[]')
                    ORDER BY w.rowid
                    """,
                arguments: StatementArguments(live) + [Self.seconds(cutoff)]
            ).map(Self.workflowRecord)
        }
    }

    /// Deletes the workflow's worker tokens, attempts, tasks and row in one write transaction,
    /// which holds SQLite's write lock: no task of it can turn live between the check and the
    /// deletes.
    public func removeWorkflow(_ workflowID: UUID, endedBefore cutoff: Date) async throws -> Bool {
        try await pool.write { db in
            let id = Self.text(workflowID)
            guard let workflow = try Row.fetchOne(db, sql: "SELECT * FROM workflows WHERE id = ?", arguments: [id])
                .map(Self.workflowRecord)
            else { return false }
            let tasks = try Self.fetchTasks(db, where: "workflow_id = ?", [id])
            guard WorkflowReportState.removable(workflow, tasks: tasks, before: cutoff) else { return false }
            let ofTasks = "task_id IN (SELECT id FROM tasks WHERE workflow_id = ?)"
            try db.execute(sql: "DELETE FROM worker_tokens WHERE \(ofTasks)", arguments: [id])
            try db.execute(sql: "DELETE FROM attempts WHERE \(ofTasks)", arguments: [id])
            try db.execute(sql: "DELETE FROM tasks WHERE workflow_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM workflows WHERE id = ?", arguments: [id])
            return db.changesCount == 1
        }
    }

    /// Ended workflows not reported yet, changed since `since`, that no claim holds at `now`.
    /// Runs every poll interval, so it never aggregates all tasks: the workflows with a task
    /// changed since `since` come from `tasks_by_change`, and only the unreported ones among
    /// them have their tasks looked at (through `tasks_by_workflow`).
    public func workflowsToNotify(since: Date, at now: Date) async throws -> [WorkflowRecord] {
        let live = Self.liveStates
        return try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT w.* FROM workflows w
                    WHERE w.id IN (SELECT workflow_id FROM tasks WHERE updated_at >= ?)
                      AND w.notified_at IS NULL AND (w.notify_claimed_until IS NULL OR w.notify_claimed_until <= ?)
                      AND NOT EXISTS (
                          SELECT 1 FROM tasks t WHERE t.workflow_id = w.id AND t.state IN (\(Self.placeholders(live.count))))
                    ORDER BY w.rowid
                    """,
                arguments: [Self.seconds(since), Self.seconds(now)] + StatementArguments(live)
            ).map(Self.workflowRecord)
        }
    }

    /// Claims the report for `agentID` in one write transaction (checked and set under the lock).
    public func claimNotification(workflowID: UUID, agentID: String, until: Date, at now: Date) async throws -> Bool {
        try await pool.write { db in
            let id = Self.text(workflowID)
            guard let row = try Row.fetchOne(
                db, sql: "SELECT notified_at, notify_claimed_by, notify_claimed_until FROM workflows WHERE id = ?",
                arguments: [id])
            else { return false }
            let state = WorkflowReportState(
                claimedBy: row["notify_claimed_by"], claimedUntil: (row["notify_claimed_until"] as Double?).map(Self.date),
                notifiedAt: (row["notified_at"] as Double?).map(Self.date))
            let tasks = try Self.fetchTasks(db, where: "workflow_id = ?", [id])
            guard state.isOpen(for: agentID, at: now), WorkflowReportState.ended(tasks, before: .distantFuture) else {
                return false
            }
            try db.execute(
                sql: "UPDATE workflows SET notify_claimed_by = ?, notify_claimed_until = ? WHERE id = ?",
                arguments: [agentID, Self.seconds(until), id])
            return true
        }
    }

    /// Records that `agentID` reported the workflow's end, while it still holds the claim and
    /// no task is live again (retried while the report was on its way).
    public func markNotified(workflowID: UUID, agentID: String, at now: Date) async throws {
        let live = Self.liveStates
        try await pool.write { db in
            let id = Self.text(workflowID)
            guard try Row.fetchOne(db, sql: "SELECT 1 FROM workflows WHERE id = ?", arguments: [id]) != nil else {
                throw QueueError(.notFound, "no workflow with id \(id)")
            }
            try db.execute(
                sql: """
                    UPDATE workflows SET notified_at = ? WHERE id = ? AND notify_claimed_by = ?
                      AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.workflow_id = ? AND t.state IN (\(Self.placeholders(live.count))))
                    """,
                arguments: [Self.seconds(now), id, agentID, id] + StatementArguments(live))
        }
    }
}
