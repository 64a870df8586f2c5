import Foundation

/// A `TaskQueue` held in memory, for tests and demos. Each operation runs whole on the actor,
/// which makes it a transaction: it computes its changes on copies and stores them at the end.
public actor MemoryTaskQueue: TaskQueue {
    private var workflowRecords: [WorkflowRecord] = []
    /// All tasks in submission (`seq`) order.
    private var taskRecords: [TaskRecord] = []
    private var taskIndex: [UUID: Int] = [:]
    private var attemptRecords: [UUID: [AttemptRecord]] = [:]
    private var tokenGrants: [String: TokenGrant] = [:]
    private var agentRecords: [String: AgentRecord] = [:]
    /// Claims on the reports of ended workflows (`notify.webhook_url`), by workflow id; the
    /// delivery itself is the record's `notifiedAt`.
    private var reportClaims: [UUID: WorkflowReportState] = [:]
    private let wakeupFile: String?

    /// An empty queue; `wakeupFile`, when given, is touched by submit, cancel and retry.
    public init(wakeupFile: String? = nil) {
        self.wakeupFile = wakeupFile
    }

    // MARK: submitting and reading

    /// Adds a validated workflow; its tasks start `unscheduled` or `pending`.
    public func submit(
        _ workflow: WorkflowSpec, defaultMaxAttempts: Int, at now: Date
    ) async throws -> (WorkflowRecord, [TaskRecord]) {
        let firstSeq = (taskRecords.last?.seq ?? 0) + 1
        let (record, tasks) = try WorkflowEdit.submission(
            workflow, workflowID: UUID(), firstSeq: firstSeq, defaultMaxAttempts: defaultMaxAttempts, at: now)
        workflowRecords.append(record)
        for task in tasks {
            taskIndex[task.id] = taskRecords.count
            taskRecords.append(task)
        }
        wakeUp()
        return (record, tasks)
    }

    /// The workflow with this id, if any.
    public func workflow(_ id: UUID) async throws -> WorkflowRecord? {
        workflowRecords.first { $0.id == id }
    }

    /// All workflows in submission order.
    public func workflows() async throws -> [WorkflowRecord] {
        workflowRecords
    }

    /// The task with this id, if any.
    public func task(_ id: UUID) async throws -> TaskRecord? {
        taskIndex[id].map { taskRecords[$0] }
    }

    /// Tasks matching the filter, in submission order.
    public func tasks(_ filter: TaskFilter) async throws -> [TaskRecord] {
        taskRecords.filter { task in
            (filter.workflowID.map { task.workflowID == $0 } ?? true)
                && (filter.states.map { $0.contains(task.state) } ?? true)
        }
    }

    /// All attempts of a task, oldest first.
    public func attempts(of taskID: UUID) async throws -> [AttemptRecord] {
        attemptRecords[taskID] ?? []
    }

    /// Resolves a full id or a unique prefix of at least 4 hex digits.
    public func resolveTaskID(_ text: String) async throws -> UUID {
        switch try TaskIDLookup.query(text) {
        case .id(let id):
            guard taskIndex[id] != nil else { throw TaskIDLookup.unknownID(id) }
            return id
        case .prefix(let prefix):
            let matches = taskRecords.filter { $0.id.uuidString.lowercased().hasPrefix(prefix) }
            return try TaskIDLookup.resolve(text, matches: matches.map { ($0.id, $0.spec.slug) })
        }
    }

    // MARK: the agent's side

    /// The tasks this agent holds (`running` or `stopping`) with their current attempt.
    public func heldTasks(agentID: String) async throws -> [HeldTask] {
        taskRecords.compactMap { task in
            guard task.state == .running || task.state == .stopping, task.agentID == agentID,
                let attempt = attemptRecords[task.id]?.first(where: { $0.number == task.attempt })
            else { return nil }
            return HeldTask(task: task, attempt: attempt)
        }
    }

    /// Priced attempts billed after `since`.
    public func billedAttempts(since: Date) async throws -> [AttemptRecord] {
        taskRecords.flatMap { attemptRecords[$0.id] ?? [] }.filter { attempt in
            attempt.pricePerHour != nil && (attempt.endedAt.map { $0 > since } ?? true)
        }
    }

    /// Run times of the last completed tasks with this slug and image, newest first.
    public func pastRunTimes(slug: String, image: String, limit: Int) async throws -> [TimeInterval] {
        let runs = taskRecords.compactMap { task -> (ended: Date, seq: Int64, seconds: TimeInterval)? in
            guard task.state == .completed, task.spec.slug == slug, task.spec.image == image,
                let attempt = attemptRecords[task.id]?.first(where: { $0.number == task.attempt }),
                let started = attempt.startedAt, let ended = attempt.endedAt
            else { return nil }
            return (ended, task.seq, ended.timeIntervalSince(started))
        }
        // Newest first; the later submission first on a tie, as the SQL engines order them.
        let newest = runs.sorted { $0.ended != $1.ended ? $0.ended > $1.ended : $0.seq > $1.seq }
        return newest.prefix(max(0, limit)).map(\.seconds)
    }

    /// Pending tasks in claim order: priority descending, then submission order.
    public func pendingTasks(limit: Int) async throws -> [TaskRecord] {
        pending(limit: limit) { _ in true }
    }

    /// Pending tasks that need a GPU, or need none, in claim order.
    public func pendingTasks(limit: Int, needingGPU: Bool) async throws -> [TaskRecord] {
        pending(limit: limit) { $0.spec.gpu == needingGPU }
    }

    private func pending(limit: Int, _ include: (TaskRecord) -> Bool) -> [TaskRecord] {
        let pending = taskRecords.filter { $0.state == .pending && include($0) }
        let ordered = pending.sorted { ($0.spec.priority, -$0.seq) > ($1.spec.priority, -$1.seq) }
        return Array(ordered.prefix(max(0, limit)))
    }

    /// Moves a pending task to `running` for this agent and opens its next attempt; nil when
    /// the task is no longer pending.
    public func claim(taskID: UUID, agentID: String, gpu: String?, at now: Date) async throws -> HeldTask? {
        guard let held = try WorkflowEdit.claim(try storedTask(taskID), agentID: agentID, gpu: gpu, at: now) else {
            return nil
        }
        store([held.task])
        attemptRecords[taskID, default: []].append(held.attempt)
        return held
    }

    /// Claims the first pending task of the kind asked for.
    public func claimNext(agentID: String, needingGPU: Bool?, gpu: String?, at now: Date) async throws -> HeldTask? {
        guard let next = pending(limit: 1, { needingGPU == nil || $0.spec.gpu == needingGPU }).first else { return nil }
        return try await claim(taskID: next.id, agentID: agentID, gpu: gpu, at: now)
    }

    /// Saves every field of an existing attempt, if it is still `attempt.agentID`'s.
    public func updateAttempt(_ attempt: AttemptRecord) async throws {
        guard let index = attemptRecords[attempt.taskID]?.firstIndex(where: { $0.number == attempt.number }) else {
            throw QueueError(
                .notFound, "task \(attempt.taskID.uuidString.lowercased()) has no attempt \(attempt.number)")
        }
        try AttemptFence.check(stored: attemptRecords[attempt.taskID]![index], incoming: attempt)
        attemptRecords[attempt.taskID]![index] = attempt
    }

    /// Ends the current attempt and moves the task and its descendants.
    public func finishAttempt(
        taskID: UUID, attempt: Int, outcome: AttemptOutcome, heldBy agentID: String?, at now: Date
    ) async throws -> TaskRecord {
        let task = try storedTask(taskID)
        var edit = WorkflowEdit(tasks: workflowTasks(task.workflowID))
        let current = attemptRecords[taskID]?.first { $0.number == attempt }
        if let agentID, let current { try AttemptFence.check(stored: current, writer: agentID) }
        let finished = try edit.finishAttempt(taskID: taskID, number: attempt, current: current, outcome: outcome, at: now)
        store(edit.changed)
        let index = attemptRecords[taskID]!.firstIndex { $0.number == attempt }!
        attemptRecords[taskID]![index] = finished.attempt
        return finished.task
    }

    /// Workflows whose tasks all ended and whose volumes are not removed yet.
    public func workflowsToCleanUp() async throws -> [WorkflowRecord] {
        workflowRecords.filter { workflow in
            !workflow.cleanedUp && !workflow.volumes.isEmpty
                && workflowTasks(workflow.id).allSatisfy(\.state.isTerminal)
        }
    }

    /// Records that the backend removed the workflow's resources.
    public func markCleanedUp(workflowID: UUID) async throws {
        guard let index = workflowRecords.firstIndex(where: { $0.id == workflowID }) else {
            throw QueueError(.notFound, "no workflow with id \(workflowID.uuidString.lowercased())")
        }
        workflowRecords[index].cleanedUp = true
    }

    // MARK: housekeeping

    /// Workflows whose tasks all ended before `cutoff` and whose volumes are gone, oldest first.
    public func workflowsEnded(before cutoff: Date) async throws -> [WorkflowRecord] {
        workflowRecords.filter { WorkflowReportState.removable($0, tasks: workflowTasks($0.id), before: cutoff) }
    }

    /// Deletes a workflow whose tasks all still ended before `cutoff`, with everything of it.
    public func removeWorkflow(_ workflowID: UUID, endedBefore cutoff: Date) async throws -> Bool {
        guard let workflow = workflowRecords.first(where: { $0.id == workflowID }),
            WorkflowReportState.removable(workflow, tasks: workflowTasks(workflowID), before: cutoff)
        else { return false }
        let taskIDs = Set(workflowTasks(workflowID).map(\.id))
        workflowRecords.removeAll { $0.id == workflowID }
        taskRecords.removeAll { taskIDs.contains($0.id) }
        taskIndex = Dictionary(uniqueKeysWithValues: taskRecords.enumerated().map { ($1.id, $0) })
        for id in taskIDs { attemptRecords[id] = nil }
        tokenGrants = tokenGrants.filter { !taskIDs.contains($0.value.taskID) }
        reportClaims[workflowID] = nil
        return true
    }

    /// Ended workflows not reported yet, changed since `since`, not claimed at `now`.
    public func workflowsToNotify(since: Date, at now: Date) async throws -> [WorkflowRecord] {
        workflowRecords.filter { workflow in
            let tasks = workflowTasks(workflow.id)
            return reportState(workflow).isOpen(for: nil, at: now)
                && WorkflowReportState.ended(tasks, before: .distantFuture)
                && tasks.contains { $0.updatedAt >= since }
        }
    }

    /// Claims the report of an ended workflow for `agentID` until `until`.
    public func claimNotification(workflowID: UUID, agentID: String, until: Date, at now: Date) async throws -> Bool {
        guard let workflow = workflowRecords.first(where: { $0.id == workflowID }),
            reportState(workflow).isOpen(for: agentID, at: now),
            WorkflowReportState.ended(workflowTasks(workflowID), before: .distantFuture)
        else { return false }
        reportClaims[workflowID] = WorkflowReportState(claimedBy: agentID, claimedUntil: until)
        return true
    }

    /// Records that the workflow's end was reported.
    public func markNotified(workflowID: UUID, agentID: String, at now: Date) async throws {
        guard let index = workflowRecords.firstIndex(where: { $0.id == workflowID }) else {
            throw QueueError(.notFound, "no workflow with id \(workflowID.uuidString.lowercased())")
        }
        // The claim gone (a retry while the report was on its way), or a task live again: the
        // end after the retry is still to report.
        guard reportClaims[workflowID]?.claimedBy == agentID,
            !taskRecords.contains(where: { $0.workflowID == workflowID && !$0.state.isTerminal })
        else { return }
        workflowRecords[index].notifiedAt = now
    }

    /// The report state of `workflow`: its claim and its delivery.
    private func reportState(_ workflow: WorkflowRecord) -> WorkflowReportState {
        var state = reportClaims[workflow.id] ?? .init()
        state.notifiedAt = workflow.notifiedAt
        return state
    }

    // MARK: many agents

    /// Registers the agent or renews its lease; returns the record as it was.
    public func heartbeat(_ agent: AgentRecord) async throws -> AgentRecord? {
        defer { agentRecords[agent.id] = agent }
        return agentRecords[agent.id]
    }

    /// Every agent the queue knows, by id.
    public func agents() async throws -> [AgentRecord] {
        agentRecords.values.sorted { $0.id < $1.id }
    }

    /// The tasks every agent holds, with their current attempt.
    public func heldTasks() async throws -> [HeldTask] {
        taskRecords.compactMap { task in
            guard task.state == .running || task.state == .stopping, task.agentID != nil,
                let attempt = attemptRecords[task.id]?.first(where: { $0.number == task.attempt })
            else { return nil }
            return HeldTask(task: task, attempt: attempt)
        }
    }

    /// Moves a task of an agent whose lease ended to `to`.
    public func adopt(taskID: UUID, from: String, to: String, expiredBefore: Date, at now: Date) async throws -> HeldTask? {
        guard WorkflowEdit.leaseEnded(agentRecords[from], before: expiredBefore) else { return nil }
        let task = try storedTask(taskID)
        guard let index = attemptRecords[taskID]?.firstIndex(where: { $0.number == task.attempt }),
            let held = WorkflowEdit.adoption(task, current: attemptRecords[taskID]![index], from: from, to: to, at: now)
        else { return nil }
        store([held.task])
        attemptRecords[taskID]![index] = held.attempt
        return held
    }

    /// Ends the current attempt of a task of an agent whose lease ended.
    public func abandon(
        taskID: UUID, attempt: Int, from: String, expiredBefore: Date, outcome: AttemptOutcome, at now: Date
    ) async throws -> TaskRecord? {
        guard WorkflowEdit.leaseEnded(agentRecords[from], before: expiredBefore) else { return nil }
        let task = try storedTask(taskID)
        guard task.agentID == from, task.attempt == attempt, task.state == .running || task.state == .stopping else {
            return nil
        }
        let ended = try await finishAttempt(taskID: taskID, attempt: attempt, outcome: outcome, heldBy: from, at: now)
        wakeUp()
        return ended
    }

    /// In one process, the agent and the queue share the wake-up file; nothing more to say.
    public nonisolated func changes() -> AsyncStream<Void> { Self.silentChanges() }

    // MARK: the user's side

    /// Cancels a task: not yet running → `stopped` at once; running → `stopping`.
    public func cancel(taskID: UUID, at now: Date) async throws -> TaskRecord {
        try userEdit(taskID) { edit in try edit.cancel(taskID: taskID, at: now) }
    }

    /// Re-runs a failed, error, stopped or cancelled task with a fresh attempt budget.
    /// The workflow runs again, so its report is to send again when it ends (no await: one step).
    public func retry(taskID: UUID, at now: Date) async throws -> TaskRecord {
        let workflowID = try storedTask(taskID).workflowID
        let removed = workflowRecords.contains { $0.id == workflowID && $0.cleanedUp && !$0.volumes.isEmpty }
        let retried = try userEdit(taskID) { edit in try edit.retry(taskID: taskID, volumesRemoved: removed, at: now) }
        if let index = workflowRecords.firstIndex(where: { $0.id == workflowID }) {
            workflowRecords[index].notifiedAt = nil
        }
        reportClaims[workflowID] = nil
        return retried
    }

    // MARK: storage

    private func userEdit(_ taskID: UUID, _ body: (inout WorkflowEdit) throws -> TaskRecord) throws -> TaskRecord {
        var edit = WorkflowEdit(tasks: workflowTasks(try storedTask(taskID).workflowID))
        let result = try body(&edit)
        store(edit.changed)
        wakeUp()
        return result
    }

    private func storedTask(_ id: UUID) throws -> TaskRecord {
        guard let index = taskIndex[id] else { throw TaskIDLookup.unknownID(id) }
        return taskRecords[index]
    }

    private func workflowTasks(_ workflowID: UUID) -> [TaskRecord] {
        taskRecords.filter { $0.workflowID == workflowID }
    }

    private func store(_ tasks: [TaskRecord]) {
        for task in tasks { taskRecords[taskIndex[task.id]!] = task }
    }

    private func wakeUp() {
        // Best effort: the change is already stored, and the agent's poll is the fallback.
        if let wakeupFile { WakeupFile(path: wakeupFile).touch() }
    }

    // MARK: worker tokens

    /// Records a token's hash for its attempt; tokens of ended attempts of the task go.
    public func recordToken(_ grant: TokenGrant) async throws {
        tokenGrants = tokenGrants.filter { $0.value.taskID != grant.taskID || $0.value.attempt >= grant.attempt }
        tokenGrants[grant.hash] = grant
    }

    /// The grant recorded for a token hash, if any.
    public func tokenGrant(hash: String) async throws -> TokenGrant? {
        tokenGrants[hash]
    }
}
