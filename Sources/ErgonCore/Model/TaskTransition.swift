/// A change of a task's state that the state machine refused.
public struct IllegalTransition: Error, Equatable, Sendable, CustomStringConvertible {
    public let from: TaskState
    public let to: TaskState
    public init(from: TaskState, to: TaskState) {
        self.from = from
        self.to = to
    }
    public var description: String { "illegal task transition \(from.rawValue) → \(to.rawValue)" }
}

/// The one place that decides which task state changes are legal. Every queue goes through it.
public enum TaskTransition {
    /// The states each state may move to.
    static let allowed: [TaskState: Set<TaskState>] = [
        // Parents completed; an ancestor ended badly; a user cancelled before anything ran.
        .unscheduled: [.pending, .cancelled, .stopped],
        // Claimed by an agent; cancelled by a user; an ancestor was retried and ended badly again.
        .pending: [.running, .stopped, .cancelled],
        // Outcomes of an attempt, a retry after a system error, a user's cancel.
        .running: [.completed, .failed, .error, .pending, .stopping],
        // The instance is confirmed gone. An attempt that ended on its own while being
        // stopped still ends as `stopped`: the user asked for it.
        .stopping: [.stopped],
        // Manual retries: back to pending, or unscheduled while parents are not completed.
        .failed: [.pending, .unscheduled],
        .error: [.pending, .unscheduled],
        .stopped: [.pending, .unscheduled],
        .cancelled: [.pending, .unscheduled],
        .completed: [],
    ]

    /// Returns `to` when moving from `from` is legal, and throws `IllegalTransition` otherwise.
    @discardableResult
    public static func check(from: TaskState, to: TaskState) throws -> TaskState {
        guard allowed[from, default: []].contains(to) else {
            throw IllegalTransition(from: from, to: to)
        }
        return to
    }

    /// True when moving from `from` to `to` is legal.
    public static func isLegal(from: TaskState, to: TaskState) -> Bool {
        allowed[from, default: []].contains(to)
    }
}
