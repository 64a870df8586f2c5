import Foundation

/// One file a task published: what listings and the worker API show.
public struct Artifact: Equatable, Sendable, Codable {
    public var name: ArtifactName
    public var size: Int64
    public var contentType: String
    public var created: Date
    public var updated: Date

    public init(name: ArtifactName, size: Int64, contentType: String, created: Date, updated: Date) {
        self.name = name
        self.size = size
        self.contentType = contentType
        self.created = created
        self.updated = updated
    }
}

/// Whose artifacts: a task of a workflow (object storage groups them by workflow).
public struct ArtifactOwner: Hashable, Sendable, CustomStringConvertible {
    public var workflowID: UUID
    public var taskID: UUID

    public init(workflowID: UUID, taskID: UUID) {
        self.workflowID = workflowID
        self.taskID = taskID
    }

    public init(_ task: TaskRecord) {
        self.init(workflowID: task.workflowID, taskID: task.id)
    }

    /// `<workflow id>/<task id>`: the store's folder for this task's artifacts.
    public var path: String { "\(workflowID.uuidString.lowercased())/\(taskID.uuidString.lowercased())" }
    public var description: String { path }
}
