import Foundation

/// The id `ARKINDEX_MODEL_VERSION` carries and `RetrieveModelVersion` takes: a task and the
/// position of its model among its resources, written `<task id>.<index>`.
public struct ModelVersionID: Equatable, Sendable, CustomStringConvertible {
    public var taskID: UUID
    public var index: Int

    public init(taskID: UUID, index: Int) {
        self.taskID = taskID
        self.index = index
    }

    /// Parses `<task id>.<index>`; nil for anything else.
    public init?(_ text: String) {
        guard let dot = text.lastIndex(of: "."), let taskID = UUID(uuidString: String(text[..<dot])),
            let index = Int(text[text.index(after: dot)...]), index >= 0
        else { return nil }
        self.init(taskID: taskID, index: index)
    }

    public var description: String { "\(taskID.uuidString.lowercased()).\(index)" }
}
