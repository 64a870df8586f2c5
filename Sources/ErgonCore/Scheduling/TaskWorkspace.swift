import Foundation

/// The host directory mounted at `/data` for a task (docker mode), laid out as
/// WORKER_CONTRACT.md says: `<task id>/` for the task's own output and `current` → it.
public struct TaskWorkspace: Sendable {
    /// The directory holding every task's workspace.
    public let root: String

    public init(root: String) {
        self.root = root
    }

    /// The workspace of a task.
    public func path(of taskID: UUID) -> String {
        root + "/" + taskID.uuidString.lowercased()
    }

    /// Creates the workspace (idempotent) and returns its path.
    public func prepare(taskID: UUID) throws -> String {
        let base = path(of: taskID)
        let id = taskID.uuidString.lowercased()
        let fm = FileManager.default
        try fm.createDirectory(atPath: base + "/" + id, withIntermediateDirectories: true)
        let link = base + "/current"
        if (try? fm.destinationOfSymbolicLink(atPath: link)) != id {
            try? fm.removeItem(atPath: link)
            // Relative, so it resolves the same inside the container.
            try fm.createSymbolicLink(atPath: link, withDestinationPath: id)
        }
        return base
    }
}
