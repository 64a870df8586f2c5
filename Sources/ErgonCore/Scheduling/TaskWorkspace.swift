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

    /// Creates the workspace for a new attempt and returns its path. The task's own output
    /// folder starts empty: what an earlier attempt left there was stored as that attempt's
    /// artifacts, and a new attempt's artifacts replace them rather than mix with them.
    public func prepare(taskID: UUID) throws -> String {
        let base = path(of: taskID)
        let id = taskID.uuidString.lowercased()
        let fm = FileManager.default
        let output = base + "/" + id
        // Whatever is there goes, also a dangling link (which fileExists would not see).
        if (try? fm.attributesOfItem(atPath: output)) != nil {
            do {
                try fm.removeItem(atPath: output)
            } catch {
                throw WorkspaceError(description: "\(output): cannot clear the previous attempt's output: \(error.localizedDescription)")
            }
        }
        try fm.createDirectory(atPath: output, withIntermediateDirectories: true)
        let link = base + "/current"
        if (try? fm.destinationOfSymbolicLink(atPath: link)) != id {
            try? fm.removeItem(atPath: link)
            // Relative, so it resolves the same inside the container.
            try fm.createSymbolicLink(atPath: link, withDestinationPath: id)
        }
        return base
    }
}

/// A task's folder could not be prepared; the message names the path.
struct WorkspaceError: Error, CustomStringConvertible {
    let description: String
}
