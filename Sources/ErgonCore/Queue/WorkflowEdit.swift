import Foundation

/// The changes one queue operation makes to the tasks of one workflow, computed from the
/// records the operation read inside its transaction. Every engine loads the workflow's
/// tasks, applies one operation here, and saves `changed`, so the decisions (transitions
/// through `TaskTransition`, follow-ons through `WorkflowRules`) live in one place.
public struct WorkflowEdit: Sendable {
    /// The workflow's tasks with the edits applied, in the order given to `init`.
    public private(set) var tasks: [TaskRecord]
    private var changedIDs: Set<UUID> = []
    private var indexByID: [UUID: Int]

    /// Starts an edit of one workflow's tasks.
    public init(tasks: [TaskRecord]) {
        self.tasks = tasks
        self.indexByID = Dictionary(uniqueKeysWithValues: tasks.enumerated().map { ($1.id, $0) })
    }

    /// The tasks this edit changed, in the order given to `init`.
    public var changed: [TaskRecord] { tasks.filter { changedIDs.contains($0.id) } }

    // MARK: submitting and claiming

    /// The records of a new workflow, or `QueueError(.invalidWorkflow)` naming the fault.
    public static func submission(
        _ spec: WorkflowSpec, workflowID: UUID, firstSeq: Int64, defaultMaxAttempts: Int, at now: Date
    ) throws -> (WorkflowRecord, [TaskRecord]) {
        guard !spec.tasks.isEmpty else {
            throw QueueError(.invalidWorkflow, "workflow \"\(spec.name)\" has no tasks")
        }
        do {
            let tasks = try WorkflowRules.records(
                for: spec, workflowID: workflowID, firstSeq: firstSeq, defaultMaxAttempts: defaultMaxAttempts, at: now)
            return (WorkflowRecord(id: workflowID, name: spec.name, createdAt: now, volumes: spec.volumes), tasks)
        } catch let fault as WorkflowGraph.Fault {
            throw QueueError(.invalidWorkflow, "workflow \"\(spec.name)\": \(fault)")
        }
    }

    /// A pending task claimed by an agent, with its new attempt in phase `ordering`;
    /// nil when the task is no longer pending (another agent got it, or it was cancelled).
    public static func claim(_ task: TaskRecord, agentID: String, gpu: String?, at now: Date) throws -> HeldTask? {
        guard task.state == .pending else { return nil }
        var task = task
        try move(&task, to: .running, reason: nil, at: now)
        task.attempt += 1
        task.agentID = agentID
        let attempt = AttemptRecord(taskID: task.id, number: task.attempt, agentID: agentID, gpu: gpu, claimedAt: now)
        return HeldTask(task: task, attempt: attempt)
    }

    /// The task and its current attempt as agent `to` holds them after taking them from
    /// `from`; nil when `from` no longer holds the task (it ended, or was taken already).
    public static func adoption(
        _ task: TaskRecord, current: AttemptRecord?, from: String, to: String, at now: Date
    ) -> HeldTask? {
        guard task.state == .running || task.state == .stopping, task.agentID == from,
            var attempt = current, attempt.number == task.attempt, attempt.agentID == from
        else { return nil }
        var task = task
        task.agentID = to
        task.updatedAt = now
        attempt.agentID = to
        return HeldTask(task: task, attempt: attempt)
    }

    /// True when an agent's lease counts as ended at `expiredBefore`: it has no record, or
    /// its lease ran out at or before that time.
    public static func leaseEnded(_ agent: AgentRecord?, before expiredBefore: Date) -> Bool {
        guard let agent else { return true }
        return agent.leaseExpiresAt <= expiredBefore
    }

    // MARK: operations on a workflow

    /// Ends the task's current attempt with `outcome` and moves the task as
    /// `WorkflowRules.stateAfter` decides; descendants follow. `current` is the stored
    /// attempt numbered `number`, if any. Returns the task and the finished attempt.
    public mutating func finishAttempt(
        taskID: UUID, number: Int, current: AttemptRecord?, outcome: AttemptOutcome, at now: Date
    ) throws -> (task: TaskRecord, attempt: AttemptRecord) {
        let index = try index(of: taskID)
        let task = tasks[index]
        guard task.state == .running || task.state == .stopping else {
            throw QueueError(
                .illegalTransition, "task \(Self.name(task)) is \(task.state.rawValue): it has no attempt to finish")
        }
        guard number == task.attempt else {
            throw QueueError(
                .illegalTransition,
                "task \(Self.name(task)): attempt \(number) is not its current attempt (\(task.attempt))")
        }
        guard var attempt = current else {
            throw QueueError(.notFound, "task \(Self.name(task)) has no attempt \(number)")
        }
        attempt.outcome = outcome
        attempt.phase = .done
        attempt.endedAt = now
        let next = WorkflowRules.stateAfter(outcome, task: task)
        try move(at: index, to: next.state, reason: next.reason, now: now)
        if case .exited(let code) = outcome { tasks[index].exitCode = code }
        if outcome.isUncounted, next.state == .pending {
            // The task's command never ran: the attempt is not counted against its budget.
            tasks[index].attemptBase += 1
        }
        try applyFollowOns(at: now)
        return (tasks[index], attempt)
    }

    /// Cancels a task at a user's request: not yet running → `stopped` at once (its
    /// descendants are cancelled); running → `stopping`; already stopping → unchanged.
    public mutating func cancel(taskID: UUID, at now: Date) throws -> TaskRecord {
        let index = try index(of: taskID)
        let task = tasks[index]
        switch task.state {
        case .unscheduled, .pending:
            try move(at: index, to: .stopped, reason: "stopped by a user before it ran", now: now)
            try applyFollowOns(at: now)
        case .running:
            try move(at: index, to: .stopping, reason: "stop requested by a user", now: now)
        case .stopping:
            // The stop is already under way; asking again requests nothing new.
            break
        case .completed, .failed, .error, .stopped, .cancelled:
            throw QueueError(.illegalTransition, "task \(Self.name(task)) is already \(task.state.rawValue)")
        }
        return tasks[index]
    }

    /// Re-runs a failed, error, stopped or cancelled task with a fresh attempt budget; its
    /// cancelled descendants return to `unscheduled`, then the follow-on rules apply.
    /// `volumesRemoved`: the workflow's shared volumes were removed when it ended, so a task
    /// re-run now would find them empty; such a retry is refused.
    public mutating func retry(taskID: UUID, volumesRemoved: Bool = false, at now: Date) throws -> TaskRecord {
        let index = try index(of: taskID)
        let task = tasks[index]
        guard !volumesRemoved else {
            throw QueueError(
                .illegalTransition,
                "task \(Self.name(task)) cannot run again: its workflow ended and its volumes were removed with their data; submit the workflow again"
            )
        }
        guard [.failed, .error, .stopped, .cancelled].contains(task.state) else {
            throw QueueError(
                .illegalTransition,
                "task \(Self.name(task)) is \(task.state.rawValue): only a failed, error, stopped or cancelled task can be retried"
            )
        }
        let descendants = WorkflowRules.cancelledDescendants(of: taskID, in: tasks)
        try move(at: index, to: WorkflowRules.retryState(of: task, in: tasks), reason: nil, now: now)
        tasks[index].attemptBase = task.attempt
        tasks[index].exitCode = nil
        for id in descendants {
            try move(at: try self.index(of: id), to: .unscheduled, reason: nil, now: now)
        }
        try applyFollowOns(at: now)
        if tasks[index].state == .cancelled {
            // A parent still blocks it; re-running it would be cancelled again at once.
            throw QueueError(
                .illegalTransition,
                "task \(Self.name(task)) cannot run again: \(tasks[index].reason ?? "a parent did not complete"); retry that parent instead"
            )
        }
        return tasks[index]
    }

    // MARK: the one way a task changes state

    /// Moves a task to `state` when `TaskTransition` allows it, with its reason and time.
    /// A task leaving `running`/`stopping` is no longer held by an agent.
    public static func move(_ task: inout TaskRecord, to state: TaskState, reason: String?, at now: Date) throws {
        do {
            try TaskTransition.check(from: task.state, to: state)
        } catch let refused as IllegalTransition {
            throw QueueError(.illegalTransition, "task \(name(task)): \(refused)")
        }
        task.state = state
        task.reason = reason
        task.updatedAt = now
        if state != .running && state != .stopping { task.agentID = nil }
    }

    /// How messages name a task: its slug and full id.
    public static func name(_ task: TaskRecord) -> String {
        "\(task.spec.slug) (\(task.id.uuidString.lowercased()))"
    }

    private mutating func move(at index: Int, to state: TaskState, reason: String?, now: Date) throws {
        try Self.move(&tasks[index], to: state, reason: reason, at: now)
        changedIDs.insert(tasks[index].id)
    }

    private mutating func applyFollowOns(at now: Date) throws {
        for change in WorkflowRules.followOns(tasks) {
            try move(at: try index(of: change.taskID), to: change.to, reason: change.reason, now: now)
        }
    }

    private func index(of taskID: UUID) throws -> Int {
        guard let index = indexByID[taskID] else {
            throw QueueError(.notFound, "no task with id \(taskID.uuidString.lowercased())")
        }
        return index
    }
}
