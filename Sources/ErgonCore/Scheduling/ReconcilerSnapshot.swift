import Foundation

/// Everything one tick decides from. The listing is read before the queue, so every instance
/// in the listing was recorded in the queue (by its claim) before the queue was read.
public struct ReconcilerSnapshot: Equatable, Sendable {
    /// Tasks this agent holds (`running`, `stopping`) with their current attempt.
    public var held: [HeldTask]
    /// Pending tasks in claim order.
    public var pending: [TaskRecord]
    /// What the backend listed; nil when the listing failed.
    public var listing: [BackendInstance]?
    /// Tasks and workflows with an action still in flight; the reconciler leaves them alone.
    public var busy: Set<UUID>
    /// Workflows that ended and still have resources in the backend.
    public var workflowsToCleanUp: [WorkflowRecord]
    /// Launches decided by earlier ticks whose claim may not show in `held` yet; they take a
    /// slot (and their GPU) all the same.
    public var launching: [InFlightLaunch]
    /// Attempts other agents sharing the queue hold: their instances are not orphans.
    public var heldByOthers: [HeldTask]
    /// Other agents the queue knows. An instance labelled by an agent outside this set (and not
    /// this agent's) belongs to another queue: it is never taken for an orphan.
    public var otherAgents: Set<String>

    public init(
        held: [HeldTask], pending: [TaskRecord], listing: [BackendInstance]?, busy: Set<UUID> = [],
        workflowsToCleanUp: [WorkflowRecord] = [], launching: [InFlightLaunch] = [], heldByOthers: [HeldTask] = [],
        otherAgents: Set<String> = []
    ) {
        self.heldByOthers = heldByOthers
        self.otherAgents = otherAgents
        self.held = held
        self.pending = pending
        self.listing = listing
        self.busy = busy
        self.workflowsToCleanUp = workflowsToCleanUp
        self.launching = launching
    }
}

/// A launch the scheduler started and has not seen held yet.
public struct InFlightLaunch: Equatable, Hashable, Sendable {
    public var taskID: UUID
    public var gpu: String?
    public init(taskID: UUID, gpu: String?) {
        self.taskID = taskID
        self.gpu = gpu
    }
}
