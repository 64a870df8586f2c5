import Foundation

/// The JSON body `notify.webhook_url` receives when a workflow ends. Keys are snake_case and
/// times ISO 8601 (see ``encoded()``); `state` is the workflow state `ergon workflows` shows.
public struct WorkflowEndReport: Codable, Equatable, Sendable {
    /// One task of the workflow.
    public struct TaskReport: Codable, Equatable, Sendable {
        public var id: String
        public var slug: String
        public var state: TaskState
        /// The exit code of its last attempt that exited; nil when none did.
        public var exitCode: Int?
        /// How many attempts it took.
        public var attempts: Int
        /// Why it is in its state (error, stopped, cancelled).
        public var reason: String?
    }

    /// Always `workflow.ended`, so a receiver can tell this body from others it gets.
    public var event: String
    public var workflowId: String
    public var name: String
    /// `completed`, `failed` or `stopped`.
    public var state: WorkflowState
    /// Tasks per state, every state present (zero included).
    public var counts: [String: Int]
    public var submittedAt: Date
    /// When the first attempt started running (its claim when it never ran); nil when no
    /// task was ever claimed.
    public var startedAt: Date?
    /// When its last task ended.
    public var endedAt: Date
    /// Dollars its attempts' instances cost; nil when none had a price (docker).
    public var cost: Double?
    public var tasks: [TaskReport]

    /// The report of a workflow whose tasks all ended, from its tasks and their attempts.
    public init(workflow: WorkflowRecord, tasks: [TaskRecord], attempts: [AttemptRecord]) {
        event = "workflow.ended"
        workflowId = workflow.id.uuidString.lowercased()
        name = workflow.name
        state = WorkflowState(tasks.map(\.state))
        counts = Dictionary(uniqueKeysWithValues: TaskState.allCases.map { state in
            (state.rawValue, tasks.filter { $0.state == state }.count)
        })
        submittedAt = workflow.createdAt
        startedAt = attempts.map { $0.startedAt ?? $0.claimedAt }.min()
        endedAt = tasks.map(\.updatedAt).max() ?? workflow.createdAt
        let summary = CostSummary(attempts, at: endedAt)
        cost = summary.isPriced ? summary.dollars : nil
        self.tasks = tasks.map { task in
            TaskReport(
                id: task.id.uuidString.lowercased(), slug: task.spec.slug, state: task.state, exitCode: task.exitCode,
                attempts: attempts.filter { $0.taskID == task.id }.count, reason: task.reason)
        }
    }

    /// The body as sent: sorted snake_case keys, ISO 8601 times.
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        return Array(try encoder.encode(self))
    }

    /// Reads a body `encoded()` wrote (receivers' tests).
    public static func decode(_ bytes: [UInt8]) throws -> WorkflowEndReport {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(WorkflowEndReport.self, from: Data(bytes))
    }
}
