import Foundation

/// Removes workflows that ended long ago (`ergon gc --older-than`): the files and objects
/// first, the queue rows last, so a run cut short leaves rows that the next run finds again
/// and finishes (what is already gone is no error). Safe beside running agents: a workflow
/// is looked at again just before anything of it goes, and the queue refuses to delete one
/// that has a live task.
public struct GarbageCollector: Sendable {
    /// Where the rows are.
    public let queue: any TaskQueue
    /// Where the logs are (file or S3).
    public let logStore: any LogStore
    /// Where the artifacts are (file or S3).
    public let artifactStore: any ArtifactStore
    /// The spool of attempts' logs on this machine (`<data_dir>/spool`).
    public let spool: LogSpool
    /// The tasks' `/data` folders on this machine (`<data_dir>/work`).
    public let workspace: TaskWorkspace
    /// With `notify.webhook_url`, how far back agents report ended workflows: one whose report
    /// they would still send is kept until it is delivered. Nil without a webhook.
    public let reportLookback: TimeInterval?
    /// The clock the lookback is measured on.
    public let now: @Sendable () -> Date

    public init(
        queue: any TaskQueue, logStore: any LogStore, artifactStore: any ArtifactStore, spool: LogSpool,
        workspace: TaskWorkspace, reportLookback: TimeInterval? = nil, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.queue = queue
        self.logStore = logStore
        self.artifactStore = artifactStore
        self.spool = spool
        self.workspace = workspace
        self.reportLookback = reportLookback
        self.now = now
    }

    /// What the workflows that ended before `cutoff` leave behind, oldest first.
    public func survey(endedBefore cutoff: Date) async throws -> [WorkflowGarbage] {
        var found: [WorkflowGarbage] = []
        for workflow in try await queue.workflowsEnded(before: cutoff) {
            found.append(try await survey(workflow))
        }
        return found
    }

    /// Everything one workflow left: rows, log objects, artifacts, local files.
    public func survey(_ workflow: WorkflowRecord) async throws -> WorkflowGarbage {
        let tasks = try await queue.tasks(TaskFilter(workflowID: workflow.id))
        var logObjects: [StoredObject] = []
        var artifacts: [UUID: [Artifact]] = [:]
        var localFiles: [StoredObject] = []
        for task in tasks {
            logObjects += try await logStore.objects(workflowID: workflow.id, taskID: task.id)
            let own = try await artifactStore.list(ArtifactOwner(task))
            if !own.isEmpty { artifacts[task.id] = own }
            localFiles += try localFolders(of: task.id).flatMap { try $0.files() }
        }
        return WorkflowGarbage(
            workflow: workflow, tasks: tasks, logObjects: logObjects, artifacts: artifacts, localFiles: localFiles)
    }

    /// The outcome of removing one workflow.
    public enum Removal: Equatable, Sendable {
        /// Gone: files, objects and rows.
        case removed
        /// Left alone: a task is live again, or changed after the cutoff, or the workflow is gone.
        case kept(reason: String)
    }

    /// Why `garbage`'s workflow must stay as things are now, or nil when it may go. A dry run
    /// asks this too, so it lists what a real run would do.
    public func reasonToKeep(_ garbage: WorkflowGarbage, endedBefore cutoff: Date) async throws -> String? {
        let id = garbage.workflow.id
        // A user may have retried a task since the survey: look again before touching its files.
        guard let workflow = try await queue.workflow(id) else { return "removed meanwhile by someone else" }
        let tasks = try await queue.tasks(TaskFilter(workflowID: id))
        guard WorkflowReportState.removable(workflow, tasks: tasks, before: cutoff) else {
            return "a task is live again or changed since the cutoff"
        }
        // Without its rows the notifier could neither claim nor build the report: it would be lost.
        if let reportLookback, WorkflowReportState.reportPending(workflow, tasks: tasks, lookback: reportLookback, at: now()) {
            return "its webhook report is not delivered yet"
        }
        // A log the store never took is only in this machine's spool, on the agent's backlog:
        // removing the spool would lose it.
        for task in garbage.tasks {
            if let attempt = try await queue.attempts(of: task.id).first(where: { $0.logShipped < $0.logSpooled }) {
                return "the log of task \(task.spec.slug) attempt \(attempt.number) is not in the log store yet (the agent's backlog still sends it)"
            }
        }
        return nil
    }

    /// Removes what `garbage` lists, then the rows, if the workflow still ended before `cutoff`.
    public func remove(_ garbage: WorkflowGarbage, endedBefore cutoff: Date) async throws -> Removal {
        if let reason = try await reasonToKeep(garbage, endedBefore: cutoff) { return .kept(reason: reason) }
        for task in garbage.tasks where garbage.artifacts[task.id] != nil {
            try await artifactStore.removeAll(ArtifactOwner(task))
        }
        try await logStore.remove(garbage.logObjects)
        // Only the files surveyed go: a new attempt's files (a retry racing this run) stay.
        try FolderContents.remove(garbage.localFiles)
        for task in garbage.tasks {
            for folder in localFolders(of: task.id) { try folder.removeEmptyFolders() }
        }
        guard try await queue.removeWorkflow(garbage.workflow.id, endedBefore: cutoff) else {
            return .kept(reason: "a task turned live while its files were removed; its rows stay")
        }
        return .removed
    }

    /// A task's folders on this machine: its spool and its workspace.
    private func localFolders(of taskID: UUID) -> [FolderContents] {
        [
            FolderContents(path: spool.directory + "/" + taskID.uuidString.lowercased()),
            FolderContents(path: workspace.path(of: taskID)),
        ]
    }
}
