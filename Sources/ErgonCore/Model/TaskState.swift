/// The lifecycle state of a task, with the names Ponos uses.
public enum TaskState: String, Codable, Sendable, CaseIterable, Comparable {
    /// Waiting for its parents to complete.
    case unscheduled
    /// Ready to be claimed by an agent.
    case pending
    /// Claimed by an agent; an attempt is ordering, provisioning, running or finishing.
    case running
    /// The task's command exited with status 0.
    case completed
    /// The task's command exited with a non-zero status (never retried automatically).
    case failed
    /// A system failure outlived the task's attempts, or the task timed out.
    case error
    /// A user asked to stop a running task; the agent is tearing it down.
    case stopping
    /// Stopped at a user's request.
    case stopped
    /// An ancestor failed, errored or was stopped, so this task will not run.
    case cancelled

    /// True when the task will not change again on its own.
    public var isTerminal: Bool {
        switch self {
        case .completed, .failed, .error, .stopped, .cancelled: return true
        case .unscheduled, .pending, .running, .stopping: return false
        }
    }

    /// True for the terminal states that stop a task's descendants from ever running.
    public var blocksDescendants: Bool {
        switch self {
        case .failed, .error, .stopped, .cancelled: return true
        default: return false
        }
    }

    public static func < (lhs: TaskState, rhs: TaskState) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
