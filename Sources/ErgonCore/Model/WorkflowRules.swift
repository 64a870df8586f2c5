import Foundation

/// The rules that move tasks because of other tasks: release when parents complete,
/// cancellation when a parent ends badly, retries. Pure functions shared by every queue.
public enum WorkflowRules {
    /// A state change the rules ask for.
    public struct Change: Equatable, Sendable {
        public var taskID: UUID
        public var to: TaskState
        public var reason: String?
        public init(taskID: UUID, to: TaskState, reason: String?) {
            self.taskID = taskID
            self.to = to
            self.reason = reason
        }
    }

    /// Builds the records of a new workflow. Tasks without parents start `pending`.
    public static func records(
        for spec: WorkflowSpec, workflowID: UUID, firstSeq: Int64, defaultMaxAttempts: Int, at now: Date
    ) throws -> [TaskRecord] {
        _ = try WorkflowGraph(spec.tasks)
        let ids = Dictionary(uniqueKeysWithValues: spec.tasks.map { ($0.slug, UUID()) })
        return spec.tasks.enumerated().map { index, task in
            TaskRecord(
                id: ids[task.slug]!, workflowID: workflowID, seq: firstSeq + Int64(index), spec: task,
                parentIDs: task.parents.map { ids[$0]! }, state: task.parents.isEmpty ? .pending : .unscheduled,
                maxAttempts: max(1, task.maxAttempts ?? defaultMaxAttempts), createdAt: now, updatedAt: now)
        }
    }

    /// The changes that follow from the current states of one workflow's tasks, applied
    /// until nothing more changes: an unscheduled task whose parents all completed becomes
    /// `pending`; a waiting task with a parent that failed, errored, was stopped or cancelled
    /// becomes `cancelled`.
    public static func followOns(_ tasks: [TaskRecord]) -> [Change] {
        var state = Dictionary(uniqueKeysWithValues: tasks.map { ($0.id, $0.state) })
        let slugs = Dictionary(uniqueKeysWithValues: tasks.map { ($0.id, $0.spec.slug) })
        var changes: [Change] = []
        var changed = true
        while changed {
            changed = false
            for task in tasks where state[task.id] == .unscheduled || state[task.id] == .pending {
                let parentStates = task.parentIDs.compactMap { id in state[id].map { (id, $0) } }
                if let blocker = parentStates.first(where: { $0.1.blocksDescendants }) {
                    state[task.id] = .cancelled
                    let reason = "parent \"\(slugs[blocker.0] ?? blocker.0.uuidString)\" ended \(blocker.1.rawValue)"
                    changes.removeAll { $0.taskID == task.id }
                    changes.append(Change(taskID: task.id, to: .cancelled, reason: reason))
                    changed = true
                } else if state[task.id] == .unscheduled, parentStates.allSatisfy({ $0.1 == .completed }) {
                    state[task.id] = .pending
                    changes.append(Change(taskID: task.id, to: .pending, reason: nil))
                    changed = true
                }
            }
        }
        return changes
    }

    /// Where a task goes when its current attempt ends with `outcome`, and why.
    public static func stateAfter(_ outcome: AttemptOutcome, task: TaskRecord) -> (state: TaskState, reason: String?) {
        if task.state == .stopping { return (.stopped, "stopped by a user") }
        switch outcome {
        case .exited(let code):
            return code == 0 ? (.completed, nil) : (.failed, "exited with code \(code)")
        case .systemError(let reason), .hostFailure(let reason), .exitStatusInLog(let reason):
            // `exitStatusInLog` is resolved before an attempt ends; if it ever arrives here,
            // the exit status is unknown, which is a system failure.
            if task.hasAttemptsLeft {
                return (.pending, "attempt \(task.attempt) failed: \(reason); retrying")
            }
            return (.error, "attempt \(task.attempt) of \(task.attempt - task.attemptBase) failed: \(reason)")
        case .timedOut(let reason), .unrecoverable(let reason):
            return (.error, reason)
        case .stopped:
            return (.stopped, "stopped by a user")
        case .deferred(let reason):
            return (.pending, "waiting: \(reason)")
        case .rejectedHost(let reason):
            return (.pending, "host rejected: \(reason); ordering another")
        }
    }

    /// The state a manually retried task returns to.
    public static func retryState(of task: TaskRecord, in tasks: [TaskRecord]) -> TaskState {
        let states = Dictionary(uniqueKeysWithValues: tasks.map { ($0.id, $0.state) })
        return task.parentIDs.allSatisfy { states[$0] == .completed } ? .pending : .unscheduled
    }

    /// The cancelled descendants of a task, which a manual retry returns to `unscheduled`.
    public static func cancelledDescendants(of taskID: UUID, in tasks: [TaskRecord]) -> [UUID] {
        var result: [UUID] = []
        var frontier: Set<UUID> = [taskID]
        while !frontier.isEmpty {
            let children = tasks.filter { task in
                task.state == .cancelled && !result.contains(task.id)
                    && !task.parentIDs.allSatisfy({ !frontier.contains($0) })
            }
            result += children.map(\.id)
            frontier = Set(children.map(\.id))
        }
        return result
    }
}
