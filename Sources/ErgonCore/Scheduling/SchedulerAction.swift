import Foundation

/// One thing the scheduler must do, as decided by the reconciler.
public enum SchedulerAction: Equatable, Sendable {
    /// Claim a pending task and launch its next attempt (with this GPU when it needs one).
    case launch(taskID: UUID, gpu: String?)
    /// The attempt's instance is present and healthy: record its id and phase if they changed,
    /// reset its absence count, and read new log bytes when `readLogs` is set.
    case track(taskID: UUID, attempt: Int, instanceID: String, phase: AttemptPhase, readLogs: Bool)
    /// The attempt ended with `outcome`: read its final logs, destroy the instance, confirm it
    /// is gone, then record the outcome. With no instance id, only the recording remains.
    case finish(taskID: UUID, attempt: Int, instanceID: String?, outcome: AttemptOutcome)
    /// The listing did not show the attempt's instance this tick (the first time in a row).
    case noteAbsent(taskID: UUID, attempt: Int)
    /// An instance with our label that no live attempt claims: destroy it.
    case destroyOrphan(BackendInstance)
    /// A workflow ended: remove what it left in the backend.
    case cleanUp(workflowID: UUID)

    /// The task or workflow this action works on, so no two actions overlap on it.
    public var subject: UUID? {
        switch self {
        case .launch(let id, _), .track(let id, _, _, _, _), .finish(let id, _, _, _), .noteAbsent(let id, _):
            return id
        case .cleanUp(let id):
            return id
        case .destroyOrphan(let instance):
            // The reconciler skips instances whose label's task is busy, so one destroy at a time.
            return instance.label?.taskID
        }
    }
}
