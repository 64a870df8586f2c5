import Foundation

/// A task together with the attempt the agent is working on.
public struct HeldTask: Equatable, Sendable {
    public var task: TaskRecord
    public var attempt: AttemptRecord
    public init(task: TaskRecord, attempt: AttemptRecord) {
        self.task = task
        self.attempt = attempt
    }
}

/// Which tasks a listing returns.
public struct TaskFilter: Equatable, Sendable {
    public var workflowID: UUID?
    public var states: Set<TaskState>?
    public init(workflowID: UUID? = nil, states: Set<TaskState>? = nil) {
        self.workflowID = workflowID
        self.states = states
    }
    public static let all = TaskFilter()
}

/// An error a queue reports for a request it cannot honour.
public struct QueueError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case notFound
        case ambiguous
        case illegalTransition
        case invalidWorkflow
        case schemaTooNew
        /// The task is held by another agent now: this one's lease ran out and it was taken over.
        case notHeld
        /// The queue's server cannot be reached or refused us.
        case unavailable
    }
    public var kind: Kind
    public var message: String
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
    public var description: String { message }
}

/// The task queue: workflows, tasks, attempts. Every state change goes through
/// `TaskTransition` and the follow-on rules of `WorkflowRules`, inside one transaction.
public protocol TaskQueue: Sendable {
    // MARK: submitting and reading

    /// Adds a validated workflow; its tasks start `unscheduled` or `pending`.
    func submit(_ workflow: WorkflowSpec, defaultMaxAttempts: Int, at now: Date) async throws -> (WorkflowRecord, [TaskRecord])
    func workflow(_ id: UUID) async throws -> WorkflowRecord?
    func workflows() async throws -> [WorkflowRecord]
    func task(_ id: UUID) async throws -> TaskRecord?
    /// Tasks matching the filter, in submission order.
    func tasks(_ filter: TaskFilter) async throws -> [TaskRecord]
    /// All attempts of a task, oldest first.
    func attempts(of taskID: UUID) async throws -> [AttemptRecord]
    /// Resolves a full id or a unique prefix of at least 4 characters.
    func resolveTaskID(_ text: String) async throws -> UUID

    // MARK: the agent's side

    /// The tasks this agent holds (`running` or `stopping`) with their current attempt.
    func heldTasks(agentID: String) async throws -> [HeldTask]
    /// Pending tasks in claim order: priority descending, then submission order.
    func pendingTasks(limit: Int) async throws -> [TaskRecord]
    /// Pending tasks that need a GPU (`needingGPU`) or need none, in claim order, so a long
    /// line of tasks of one kind cannot hide runnable tasks of the other.
    func pendingTasks(limit: Int, needingGPU: Bool) async throws -> [TaskRecord]
    /// Atomically moves a pending task to `running` for this agent and opens attempt n+1
    /// in phase `ordering`. Returns nil when another agent got it first.
    func claim(taskID: UUID, agentID: String, gpu: String?, at now: Date) async throws -> HeldTask?
    /// Claims the first pending task in claim order that needs a GPU (`needingGPU` true), needs
    /// none (false), or either (nil), like `claim`. Engines with row locks skip a task another
    /// agent is claiming at this moment rather than wait for it. Nil when none is left. An agent
    /// that lost the race for the task it chose takes the next one this way, so agents reading
    /// the same pending list do not collide task after task.
    func claimNext(agentID: String, needingGPU: Bool?, gpu: String?, at now: Date) async throws -> HeldTask?
    /// Saves an attempt's progress (phase, instance id, log positions, outcome). Fenced: throws
    /// `.notHeld` when the stored attempt belongs to another agent than `attempt.agentID` (it
    /// was taken over), so an agent back from the dead cannot undo its successor's work.
    func updateAttempt(_ attempt: AttemptRecord) async throws
    /// Records the end of the current attempt (its instance confirmed gone) and moves the task:
    /// completed, failed, stopped, error, or back to pending for a retry. Descendants follow.
    /// With `heldBy`, fenced like `updateAttempt`: the attempt must still be that agent's.
    func finishAttempt(taskID: UUID, attempt: Int, outcome: AttemptOutcome, heldBy agentID: String?, at now: Date) async throws -> TaskRecord
    /// Workflows whose tasks all ended and whose backend resources are not removed yet.
    func workflowsToCleanUp() async throws -> [WorkflowRecord]
    func markCleanedUp(workflowID: UUID) async throws

    // MARK: housekeeping (`ergon gc`, `notify.webhook_url`)

    /// Workflows whose tasks all ended, the last of them changed before `cutoff`, and whose
    /// volumes the backend removed (`markCleanedUp`) if they had any, oldest first.
    func workflowsEnded(before cutoff: Date) async throws -> [WorkflowRecord]
    /// Deletes a workflow with its tasks, attempts and worker tokens, in one transaction, if it
    /// is still as `workflowsEnded(before:)` lists; false (nothing deleted) when a task is live
    /// or changed since, its volumes are still there, or the workflow is gone.
    func removeWorkflow(_ workflowID: UUID, endedBefore cutoff: Date) async throws -> Bool
    /// Ended workflows whose end is not reported yet and whose last task changed at or after
    /// `since`, and that no agent's claim on the report holds at `now`, oldest first.
    func workflowsToNotify(since: Date, at now: Date) async throws -> [WorkflowRecord]
    /// Claims the report of an ended workflow for `agentID` until `until` (renewing its own
    /// claim); false when it was reported, another agent's claim holds, or a task is live.
    func claimNotification(workflowID: UUID, agentID: String, until: Date, at now: Date) async throws -> Bool
    /// Records that `agentID` reported the workflow's end (the workflow's `notifiedAt`). Does
    /// nothing unless `agentID` still holds the claim and no task of it is live: a retry while
    /// the report was on its way clears the claim, so the end after the retry is reported too.
    func markNotified(workflowID: UUID, agentID: String, at now: Date) async throws

    // MARK: many agents

    /// Registers the agent or renews its lease, and returns the record as it was before
    /// (nil for an agent the queue did not know), so the caller can tell its lease ran out.
    func heartbeat(_ agent: AgentRecord) async throws -> AgentRecord?
    /// Every agent the queue knows, by id.
    func agents() async throws -> [AgentRecord]
    /// The tasks every agent holds (`running` or `stopping`) with their current attempt.
    func heldTasks() async throws -> [HeldTask]
    /// Every attempt with a price whose instance is still billed or stopped being billed after
    /// `since` (any agent's): the spend of a period (`budget.max_total_spend`).
    func billedAttempts(since: Date) async throws -> [AttemptRecord]
    /// How long the command ran (`startedAt` to `endedAt`) in the succeeding attempt of each of
    /// the last `limit` completed tasks with this slug and image, any workflow's, newest first:
    /// what the effective-cost ranking expects of a task without `expected_runtime`.
    func pastRunTimes(slug: String, image: String, limit: Int) async throws -> [TimeInterval]
    /// Moves a task `from` holds to `to`, with its current attempt, when `from`'s lease ended
    /// at or before `expiredBefore` (an agent the queue has no record of counts as ended).
    /// Nil when the task is no longer `from`'s or its lease is live again.
    func adopt(taskID: UUID, from: String, to: String, expiredBefore: Date, at now: Date) async throws -> HeldTask?
    /// Ends the current attempt of a task `from` holds with `outcome`, on the same conditions
    /// as `adopt`; nil when they no longer hold.
    func abandon(
        taskID: UUID, attempt: Int, from: String, expiredBefore: Date, outcome: AttemptOutcome, at now: Date
    ) async throws -> TaskRecord?
    /// Signals when another process changed the queue so that an agent may have work (a
    /// submit, a cancel, a retry, a task back to pending). Engines without notifications
    /// return a stream that never yields; the agent's poll and wake-up file cover them.
    func changes() -> AsyncStream<Void>

    // MARK: the user's side

    /// Cancels a task: not yet running → `stopped` at once; running → `stopping`.
    func cancel(taskID: UUID, at now: Date) async throws -> TaskRecord
    /// Re-runs a failed, error, stopped or cancelled task with a fresh attempt budget;
    /// its cancelled descendants return to `unscheduled`. In the same transaction the
    /// workflow's report (delivery and claim) is cleared, so its next end is reported again.
    func retry(taskID: UUID, at now: Date) async throws -> TaskRecord

    // MARK: worker tokens

    /// Records the hash of an attempt's worker token (the token itself is never stored).
    func recordToken(_ grant: TokenGrant) async throws
    /// The grant recorded for a token hash, if any.
    func tokenGrant(hash: String) async throws -> TokenGrant?
}

extension TaskQueue {
    /// Ends the current attempt without the agent fence (the user's side, tests).
    public func finishAttempt(taskID: UUID, attempt: Int, outcome: AttemptOutcome, at now: Date) async throws -> TaskRecord {
        try await finishAttempt(taskID: taskID, attempt: attempt, outcome: outcome, heldBy: nil, at: now)
    }

    /// A stream that never yields and ends when its consumer is cancelled.
    public static func silentChanges() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
        continuation.onTermination = { _ in _ = continuation }
        return stream
    }
}

/// The fence every engine applies before writing an attempt: the stored attempt must still
/// belong to the agent that read it.
public enum AttemptFence {
    /// Throws `.notHeld` when `incoming` would overwrite an attempt another agent holds now,
    /// or reopen one that ended (a takeover ended it while its old agent was away).
    public static func check(stored: AttemptRecord, incoming: AttemptRecord) throws {
        try check(stored: stored, writer: incoming.agentID)
        if stored.phase == .done && incoming.phase != .done {
            throw QueueError(
                .notHeld,
                "task \(stored.taskID.uuidString.lowercased()) attempt \(stored.number) has ended; agent \(incoming.agentID) cannot reopen it")
        }
    }

    /// Throws `.notHeld` when `stored` is held by another agent than `writer`.
    public static func check(stored: AttemptRecord, writer: String) throws {
        guard stored.agentID == writer else {
            throw QueueError(
                .notHeld,
                "task \(stored.taskID.uuidString.lowercased()) attempt \(stored.number) is held by agent \(stored.agentID) now: agent \(writer)'s lease ran out and the task was taken over")
        }
    }
}
