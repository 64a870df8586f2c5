import Foundation

/// What one ended workflow leaves behind, as `ergon gc` found it: its rows, its logs in the
/// log store, its artifacts, and the files of its tasks under the data dir.
public struct WorkflowGarbage: Sendable {
    /// The workflow's row.
    public var workflow: WorkflowRecord
    /// Its tasks' rows (their attempts and worker tokens go with them).
    public var tasks: [TaskRecord]
    /// Every log object of its tasks (each attempt's log, S3's live segments).
    public var logObjects: [StoredObject]
    /// Its tasks' artifacts, by task.
    public var artifacts: [UUID: [Artifact]]
    /// Its tasks' spool and workspace files on this machine.
    public var localFiles: [StoredObject]

    public init(
        workflow: WorkflowRecord, tasks: [TaskRecord], logObjects: [StoredObject], artifacts: [UUID: [Artifact]],
        localFiles: [StoredObject]
    ) {
        self.workflow = workflow
        self.tasks = tasks
        self.logObjects = logObjects
        self.artifacts = artifacts
        self.localFiles = localFiles
    }

    /// The last change of its tasks: when it ended.
    public var endedAt: Date { tasks.map(\.updatedAt).max() ?? workflow.createdAt }
    /// The size of its log objects.
    public var logBytes: Int64 { logObjects.reduce(0) { $0 + $1.size } }
    /// How many artifacts its tasks have.
    public var artifactCount: Int { artifacts.values.reduce(0) { $0 + $1.count } }
    /// The size of its artifacts.
    public var artifactBytes: Int64 { artifacts.values.joined().reduce(0) { $0 + $1.size } }
    /// The size of its spool and workspace files.
    public var localBytes: Int64 { localFiles.reduce(0) { $0 + $1.size } }
}
