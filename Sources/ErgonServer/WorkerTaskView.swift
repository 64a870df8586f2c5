import ErgonCore
import Foundation

/// A task as the worker API's `RetrieveTask` answers it: what arkindex-base-worker reads
/// (`parents`), plus Ergon's identifiers.
struct WorkerTaskView: Encodable, Sendable {
    let id: String
    let slug: String
    let state: String
    let workflowId: String
    let parents: [String]
    let attempt: Int

    init(_ task: TaskRecord) {
        id = task.id.uuidString.lowercased()
        slug = task.spec.slug
        state = task.state.rawValue
        workflowId = task.workflowID.uuidString.lowercased()
        parents = task.parentIDs.map { $0.uuidString.lowercased() }
        attempt = task.attempt
    }
}
