import ErgonCore
import Foundation

/// `GET /api/v1/tasks/{id}`: the CLI's `tasks show --json` shape.
struct TaskDetailView: Encodable, Sendable {
    let task: TaskJSON
    let workflowName: String?
    let command: String?
    let attempts: [AttemptJSON]
}
