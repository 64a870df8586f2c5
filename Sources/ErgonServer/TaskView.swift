import ErgonCore
import Foundation

/// A task as the operator API answers it: the shape of the CLI's `tasks list --json`
/// (Sources/ErgonCLI/Output.swift, `TaskJSON`). Absent values are `null`, never missing.
struct TaskView: Encodable, Sendable {
    let id: String
    let slug: String
    let state: String
    let workflowId: String
    let attempt: Int
    let maxAttempts: Int
    let exitCode: Int?
    let reason: String?
    let image: String
    let gpu: Bool
    let priority: Int
    let parents: [String]
    let agent: String?
    let createdAt: Date
    let updatedAt: Date

    init(_ task: TaskRecord) {
        id = task.id.uuidString.lowercased()
        slug = task.spec.slug
        state = task.state.rawValue
        workflowId = task.workflowID.uuidString.lowercased()
        attempt = task.attempt
        maxAttempts = task.maxAttempts
        exitCode = task.exitCode
        reason = task.reason
        image = task.spec.image
        gpu = task.spec.gpu
        priority = task.spec.priority
        parents = task.parentIDs.map { $0.uuidString.lowercased() }
        agent = task.agentID
        createdAt = task.createdAt
        updatedAt = task.updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, slug, state, workflowId, attempt, maxAttempts, exitCode, reason, image, gpu, priority, parents, agent
        case createdAt, updatedAt
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(slug, forKey: .slug)
        try c.encode(state, forKey: .state)
        try c.encode(workflowId, forKey: .workflowId)
        try c.encode(attempt, forKey: .attempt)
        try c.encode(maxAttempts, forKey: .maxAttempts)
        try c.encode(exitCode, forKey: .exitCode)
        try c.encode(reason, forKey: .reason)
        try c.encode(image, forKey: .image)
        try c.encode(gpu, forKey: .gpu)
        try c.encode(priority, forKey: .priority)
        try c.encode(parents, forKey: .parents)
        try c.encode(agent, forKey: .agent)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
    }
}

/// `GET /api/v1/tasks/{id}`: the CLI's `tasks show --json` shape.
struct TaskDetailView: Encodable, Sendable {
    let task: TaskView
    let workflowName: String?
    let command: String?
    let attempts: [AttemptView]
}
