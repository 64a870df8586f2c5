import Foundation

/// The owner mark every instance carries: which agent, task and attempt it belongs to.
/// The one place that knows the label formats of both backends.
public struct InstanceLabel: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var agentID: String
    public var taskID: UUID
    public var attempt: Int

    public init(agentID: String, taskID: UUID, attempt: Int) {
        self.agentID = agentID
        self.taskID = taskID
        self.attempt = attempt
    }

    /// Docker label keys.
    public static let dockerAgentKey = "ergon.agent"
    public static let dockerTaskKey = "ergon.task"
    public static let dockerAttemptKey = "ergon.attempt"
    /// Docker label key for the workflow, used to find a workflow's volumes.
    public static let dockerWorkflowKey = "ergon.workflow"

    /// The Docker labels for this owner.
    public var dockerLabels: [String: String] {
        [
            Self.dockerAgentKey: agentID,
            Self.dockerTaskKey: taskID.uuidString.lowercased(),
            Self.dockerAttemptKey: String(attempt),
        ]
    }

    /// Reads an owner back from Docker labels; nil when any part is missing or malformed.
    public init?(dockerLabels labels: [String: String]) {
        guard let agent = labels[Self.dockerAgentKey], !agent.isEmpty,
            let task = labels[Self.dockerTaskKey].flatMap(UUID.init(uuidString:)),
            let attempt = labels[Self.dockerAttemptKey].flatMap(Int.init), attempt > 0
        else { return nil }
        self.init(agentID: agent, taskID: task, attempt: attempt)
    }

    /// The Vast label: `ergon:<agent-id>:<task-id>:<attempt>`.
    public var vastLabel: String { "ergon:\(agentID):\(taskID.uuidString.lowercased()):\(attempt)" }

    /// The prefix every Vast label of an agent starts with.
    public static func vastPrefix(agentID: String) -> String { "ergon:\(agentID):" }

    /// Reads an owner back from a Vast label; nil when it is not one of ours.
    public init?(vastLabel: String) {
        let parts = vastLabel.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0] == "ergon",
            let attempt = Int(parts[parts.count - 1]), attempt > 0,
            let task = UUID(uuidString: String(parts[parts.count - 2]))
        else { return nil }
        let agent = parts[1..<(parts.count - 2)].joined(separator: ":")
        guard !agent.isEmpty else { return nil }
        self.init(agentID: agent, taskID: task, attempt: attempt)
    }

    public var description: String { vastLabel }
}
