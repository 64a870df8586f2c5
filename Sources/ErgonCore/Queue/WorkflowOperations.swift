import Foundation

/// A workflow as a unit: its overall state, cancelling it, retrying its failed sub-trees.
/// Shared by `ergon workflows` and the task API, built on the queue's per-task operations.
public struct WorkflowOperations: Sendable {
    public let queue: any TaskQueue

    public init(queue: any TaskQueue) {
        self.queue = queue
    }

    /// A workflow with its tasks and what they add up to.
    public struct Summary: Sendable, Equatable {
        public var workflow: WorkflowRecord
        public var tasks: [TaskRecord]
        public var state: WorkflowState
        /// How many tasks are in each state.
        public var counts: [TaskState: Int]
    }

    /// The summary of one workflow; throws `QueueError(.notFound)` when there is none.
    public func summary(_ workflowID: UUID) async throws -> Summary {
        guard let workflow = try await queue.workflow(workflowID) else {
            throw QueueError(.notFound, "no workflow \(workflowID.uuidString.lowercased())")
        }
        let tasks = try await queue.tasks(TaskFilter(workflowID: workflowID))
        return Summary(
            workflow: workflow, tasks: tasks, state: WorkflowState(tasks.map(\.state)),
            counts: Dictionary(grouping: tasks, by: \.state).mapValues(\.count))
    }

    /// Every workflow's summary, oldest first.
    public func summaries() async throws -> [Summary] {
        let tasks = try await queue.tasks(.all)
        let byWorkflow = Dictionary(grouping: tasks, by: \.workflowID)
        return try await queue.workflows().map { workflow in
            let own = byWorkflow[workflow.id] ?? []
            return Summary(
                workflow: workflow, tasks: own, state: WorkflowState(own.map(\.state)),
                counts: Dictionary(grouping: own, by: \.state).mapValues(\.count))
        }
    }

    /// Cancels every task of the workflow that has not ended: waiting tasks stop at once,
    /// running ones are stopped by their agent. Returns the tasks it asked to stop. An ended
    /// workflow is refused (`illegalTransition`), like cancelling an ended task.
    public func cancel(_ workflowID: UUID, at now: Date) async throws -> [TaskRecord] {
        let before = try await summary(workflowID)
        guard before.state == .running else {
            throw QueueError(
                .illegalTransition,
                "workflow \(before.workflow.name) (\(workflowID.uuidString.lowercased())) has already ended (\(before.state.rawValue)): nothing to cancel")
        }
        var changed: [TaskRecord] = []
        for task in try await queue.tasks(TaskFilter(workflowID: workflowID)) {
            if let cancelled = try await cancelIfLive(task.id, at: now) { changed.append(cancelled) }
        }
        return changed
    }

    /// Cancels one task unless it ended or is stopping. An agent runs on while the workflow is
    /// cancelled task by task, so a task read as live may end before its cancel lands: the
    /// refused cancel is checked against the task as it is now instead of ending the command
    /// with the rest of the workflow still running.
    private func cancelIfLive(_ taskID: UUID, at now: Date) async throws -> TaskRecord? {
        // Read again: stopping an earlier task may have cancelled this one already.
        guard let current = try await queue.task(taskID), !current.state.isTerminal, current.state != .stopping else { return nil }
        do {
            return try await queue.cancel(taskID: taskID, at: now)
        } catch let error as QueueError where error.kind == .illegalTransition {
            guard let after = try await queue.task(taskID), after.state.isTerminal || after.state == .stopping else { throw error }
            return nil
        }
    }

    /// Re-runs the failed sub-trees: every failed, error or stopped task, and every cancelled
    /// one whose parents completed, is retried, and its cancelled descendants return to
    /// `unscheduled`; completed tasks are not run again.
    /// Returns the retried tasks; throws `QueueError(.illegalTransition)` when nothing failed.
    public func retry(_ workflowID: UUID, at now: Date) async throws -> [TaskRecord] {
        let summary = try await summary(workflowID)
        let states = Dictionary(uniqueKeysWithValues: summary.tasks.map { ($0.id, $0.state) })
        // A cancelled task whose parents all completed was cancelled with the workflow, not
        // because of a parent: it is a root too.
        let roots = summary.tasks.filter { task in
            [.failed, .error, .stopped].contains(task.state)
                || (task.state == .cancelled && task.parentIDs.allSatisfy { states[$0] == .completed })
        }
        guard !roots.isEmpty else {
            throw QueueError(
                .illegalTransition,
                "workflow \(summary.workflow.name) (\(workflowID.uuidString.lowercased())) is \(summary.state.rawValue): it has no failed, error or stopped task to retry")
        }
        var retried: [TaskRecord] = []
        for root in roots {
            // Retrying an earlier root may have brought this one back already.
            guard let current = try await queue.task(root.id), current.state.isTerminal, current.state != .completed else { continue }
            retried.append(try await queue.retry(taskID: root.id, at: now))
        }
        return retried
    }
}

/// What a workflow's tasks add up to.
public enum WorkflowState: String, Sendable, Codable, Equatable {
    /// Some task has not ended yet.
    case running
    /// Every task completed.
    case completed
    /// Every task ended and one failed or errored.
    case failed
    /// Every task ended, none failed, and one was stopped or cancelled.
    case stopped

    public init(_ states: [TaskState]) {
        if states.contains(where: { !$0.isTerminal }) {
            self = .running
        } else if states.contains(where: { $0 == .failed || $0 == .error }) {
            self = .failed
        } else if states.contains(where: { $0 == .stopped || $0 == .cancelled }) {
            self = .stopped
        } else {
            self = .completed
        }
    }
}
