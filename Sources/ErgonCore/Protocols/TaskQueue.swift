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
    /// Saves an attempt's progress (phase, instance id, log positions, outcome).
    func updateAttempt(_ attempt: AttemptRecord) async throws
    /// Records the end of the current attempt (its instance confirmed gone) and moves the task:
    /// completed, failed, stopped, error, or back to pending for a retry. Descendants follow.
    func finishAttempt(taskID: UUID, attempt: Int, outcome: AttemptOutcome, at now: Date) async throws -> TaskRecord
    /// Workflows whose tasks all ended and whose backend resources are not removed yet.
    func workflowsToCleanUp() async throws -> [WorkflowRecord]
    func markCleanedUp(workflowID: UUID) async throws

    // MARK: the user's side

    /// Cancels a task: not yet running → `stopped` at once; running → `stopping`.
    func cancel(taskID: UUID, at now: Date) async throws -> TaskRecord
    /// Re-runs a failed, error, stopped or cancelled task with a fresh attempt budget;
    /// its cancelled descendants return to `unscheduled`.
    func retry(taskID: UUID, at now: Date) async throws -> TaskRecord

    // MARK: worker tokens

    /// Records the hash of an attempt's worker token (the token itself is never stored).
    func recordToken(_ grant: TokenGrant) async throws
    /// The grant recorded for a token hash, if any.
    func tokenGrant(hash: String) async throws -> TokenGrant?
}
