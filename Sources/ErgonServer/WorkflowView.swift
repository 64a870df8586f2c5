import ErgonCore
import Foundation

/// A workflow as the operator API answers it: the CLI's `WorkflowJSON` (`id`, `name`,
/// `created_at`), plus what its tasks add up to when the route knows them.
struct WorkflowView: Encodable, Sendable {
    let id: String
    let name: String
    let createdAt: Date
    let state: String?
    /// Tasks per state (`{"completed": 2, "running": 1}`).
    let counts: [String: Int]?

    init(_ workflow: WorkflowRecord) {
        id = workflow.id.uuidString.lowercased()
        name = workflow.name
        createdAt = workflow.createdAt
        state = nil
        counts = nil
    }

    init(_ summary: WorkflowOperations.Summary) {
        id = summary.workflow.id.uuidString.lowercased()
        name = summary.workflow.name
        createdAt = summary.workflow.createdAt
        state = summary.state.rawValue
        counts = Dictionary(uniqueKeysWithValues: summary.counts.map { ($0.key.rawValue, $0.value) })
    }

    enum CodingKeys: String, CodingKey {
        case id, name, createdAt, state, counts
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encodeIfPresent(state, forKey: .state)
        try c.encodeIfPresent(counts, forKey: .counts)
    }
}

/// A workflow with its tasks: the answer of submit, show, cancel and retry (the CLI's
/// `submit --json` shape).
struct WorkflowTasksView: Encodable, Sendable {
    let workflow: WorkflowView
    let tasks: [TaskJSON]
}
