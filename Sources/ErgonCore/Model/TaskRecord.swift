import Foundation

/// A task as the queue holds it: its spec, state and bookkeeping.
public struct TaskRecord: Codable, Equatable, Sendable, Identifiable {
    public var id: UUID
    public var workflowID: UUID
    /// Submission order across the queue; breaks priority ties.
    public var seq: Int64
    public var spec: TaskSpec
    /// Ids of the parent tasks (resolved from `spec.parents`).
    public var parentIDs: [UUID]
    public var state: TaskState
    /// The number of the latest attempt; 0 before the first claim.
    public var attempt: Int
    /// Attempts numbered above this belong to the current attempt budget (raised by a manual retry).
    public var attemptBase: Int
    /// Attempts a system error may use before the task is `error`.
    public var maxAttempts: Int
    /// The agent holding the task while it is `running` or `stopping`.
    public var agentID: String?
    /// The exit code of the last attempt that exited.
    public var exitCode: Int?
    /// Why the task is in its state (for `error`, `stopped`, `cancelled`, a waiting task).
    public var reason: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: UUID, workflowID: UUID, seq: Int64, spec: TaskSpec, parentIDs: [UUID], state: TaskState,
        attempt: Int = 0, attemptBase: Int = 0, maxAttempts: Int, agentID: String? = nil, exitCode: Int? = nil,
        reason: String? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.workflowID = workflowID
        self.seq = seq
        self.spec = spec
        self.parentIDs = parentIDs
        self.state = state
        self.attempt = attempt
        self.attemptBase = attemptBase
        self.maxAttempts = maxAttempts
        self.agentID = agentID
        self.exitCode = exitCode
        self.reason = reason
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// True when the current attempt budget has room for another attempt.
    public var hasAttemptsLeft: Bool { attempt - attemptBase < maxAttempts }
}

/// Where an attempt is in its life; see SCHEDULER.md.
public enum AttemptPhase: String, Codable, Sendable, CaseIterable {
    /// The create was sent; the instance id may not be known yet.
    case ordering
    /// The instance exists but the task's command has not started.
    case provisioning
    /// The task's command runs.
    case running
    /// The outcome is decided: final logs read, destroy sent, waiting for the instance to be gone.
    case finishing
    /// The instance is confirmed gone and the outcome recorded.
    case done
}

/// How an attempt ended, as decided by the reconciler.
public enum AttemptOutcome: Codable, Equatable, Sendable {
    /// The command exited; 0 completes the task, anything else fails it.
    case exited(code: Int)
    /// A system failure; the task is retried while attempts are left.
    case systemError(reason: String)
    /// A system failure that the host is blamed for (it never finished provisioning, it could
    /// not start the container): retried like `systemError`, and the backend avoids that host.
    case hostFailure(reason: String)
    /// The command ended but the backend reports no exit code (Vast): the code is the launch
    /// wrapper's exit marker in the log. Provisional: the scheduler resolves it to `exited`
    /// (marker found) or `systemError` (no marker) once the final log is read.
    case exitStatusInLog(reason: String)
    /// The run deadline passed; the task is `error` without retry.
    case timedOut(reason: String)
    /// A failure another attempt cannot fix (an image that cannot be had); `error` without retry.
    case unrecoverable(reason: String)
    /// A user stopped the task.
    case stopped
    /// Nothing was ordered: the order would have passed a money cap (`vast_api.max_dph`,
    /// `budget.*`). The task returns to `pending` and the attempt does not count.
    case deferred(reason: String)
    /// The instance failed its acceptance check (`vast_api.acceptance_check`: the GPU was not
    /// there or not usable) before the task's command ran. The host is avoided, the task
    /// returns to `pending` to be ordered elsewhere, and the attempt does not count.
    case rejectedHost(reason: String)

    /// The task state this outcome leads to when no retry happens.
    public var finalState: TaskState {
        switch self {
        case .exited(let code): return code == 0 ? .completed : .failed
        case .systemError, .hostFailure, .exitStatusInLog, .timedOut, .unrecoverable: return .error
        case .stopped: return .stopped
        case .deferred, .rejectedHost: return .pending
        }
    }

    /// True when nothing was ordered (a money cap).
    public var isDeferred: Bool {
        if case .deferred = self { return true }
        return false
    }

    /// True for outcomes that do not use up one of the task's attempts: nothing was ordered,
    /// or the host failed its acceptance check before the command ran.
    public var isUncounted: Bool {
        switch self {
        case .deferred, .rejectedHost: return true
        default: return false
        }
    }

    /// A short human description.
    public var summary: String {
        switch self {
        case .exited(let code): return "exited with code \(code)"
        case .systemError(let reason), .hostFailure(let reason): return reason
        case .exitStatusInLog(let reason): return "\(reason); exit status to be read from the log"
        case .timedOut(let reason): return reason
        case .unrecoverable(let reason): return reason
        case .stopped: return "stopped by a user"
        case .deferred(let reason): return "not ordered: \(reason)"
        case .rejectedHost(let reason): return "host rejected: \(reason)"
        }
    }
}

/// One try at running a task on a backend instance.
public struct AttemptRecord: Codable, Equatable, Sendable {
    public var taskID: UUID
    /// 1-based attempt number.
    public var number: Int
    public var agentID: String
    public var phase: AttemptPhase
    /// The backend's id for the instance (container id, Vast instance id), once known.
    public var instanceID: String?
    /// The GPU device given to this attempt (docker mode).
    public var gpu: String?
    /// The outcome, once decided (set when entering `finishing`).
    public var outcome: AttemptOutcome?
    public var claimedAt: Date
    /// When the command started running.
    public var startedAt: Date?
    public var endedAt: Date?
    /// The backend's opaque position in the instance's log.
    public var logCursor: String?
    /// Bytes written to the local spool.
    public var logSpooled: Int64
    /// Bytes copied from the spool to the log store.
    public var logShipped: Int64
    /// Consecutive ticks the listing did not show the instance.
    public var absentTicks: Int
    /// What the instance costs per hour in dollars, storage included (Vast's `dph_total`), once
    /// known; nil for backends without a price (docker).
    public var pricePerHour: Double?
    /// When the instance was ordered, from which it is billed until the attempt ends (its
    /// instance is destroyed); nil: from the claim.
    public var billedFrom: Date?
    /// The offer the instance was rented on and why (vast), once ordered; nil for backends that
    /// rent nothing (docker) and for an instance adopted by its label.
    public var rental: RentalChoice?

    public init(
        taskID: UUID, number: Int, agentID: String, phase: AttemptPhase = .ordering, instanceID: String? = nil,
        gpu: String? = nil, outcome: AttemptOutcome? = nil, claimedAt: Date, startedAt: Date? = nil,
        endedAt: Date? = nil, logCursor: String? = nil, logSpooled: Int64 = 0, logShipped: Int64 = 0,
        absentTicks: Int = 0, pricePerHour: Double? = nil, billedFrom: Date? = nil, rental: RentalChoice? = nil
    ) {
        self.pricePerHour = pricePerHour
        self.billedFrom = billedFrom
        self.rental = rental
        self.taskID = taskID
        self.number = number
        self.agentID = agentID
        self.phase = phase
        self.instanceID = instanceID
        self.gpu = gpu
        self.outcome = outcome
        self.claimedAt = claimedAt
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.logCursor = logCursor
        self.logSpooled = logSpooled
        self.logShipped = logShipped
        self.absentTicks = absentTicks
    }

    /// The seconds the attempt's instance is billed for by `now` (until it ended).
    public func billedSeconds(at now: Date) -> TimeInterval {
        max(0, (endedAt ?? now).timeIntervalSince(billedFrom ?? claimedAt))
    }

    /// Seconds from the order (``billedFrom``, else the claim) until the command ran; nil while it
    /// has not run (``provisioningState``).
    public var provisioningSeconds: TimeInterval? {
        startedAt.map { max(0, $0.timeIntervalSince(billedFrom ?? claimedAt)) }
    }

    /// How long provisioning took, or why there is no such time: `42s`, `still provisioning`
    /// (the attempt goes on), `never ran` (it ended before its command ran).
    public var provisioningState: String {
        if let seconds = provisioningSeconds { return Reconciler.format(seconds) }
        return endedAt == nil && outcome == nil ? "still provisioning" : "never ran"
    }

    /// Why the attempt ended (its outcome's summary; a host failure says the host was blamed),
    /// nil while no outcome is decided.
    public var endReason: String? {
        guard let outcome else { return nil }
        if case .hostFailure(let reason) = outcome { return "host failure: \(reason)" }
        return outcome.summary
    }

    /// What the attempt cost by `now`: price × billed time; nil without a price.
    public func cost(at now: Date) -> Double? {
        pricePerHour.map { $0 * billedSeconds(at: now) / 3600 }
    }

    /// What the attempt cost within `[start, now]`: the part of its billed time in that window.
    public func cost(from start: Date, to now: Date) -> Double {
        guard let pricePerHour else { return 0 }
        let from = max(billedFrom ?? claimedAt, start)
        let until = min(endedAt ?? now, now)
        return pricePerHour * max(0, until.timeIntervalSince(from)) / 3600
    }
}

/// A workflow as the queue holds it.
public struct WorkflowRecord: Codable, Equatable, Sendable, Identifiable {
    public var id: UUID
    public var name: String
    public var createdAt: Date
    /// Named volumes the workflow's tasks share (created on first use, removed at the end).
    public var volumes: [String]
    /// True once the backend removed the workflow's resources after it ended.
    public var cleanedUp: Bool
    /// When the report of its end was delivered (`notify.webhook_url`); nil while it is not,
    /// and again once a retry makes the workflow run again.
    public var notifiedAt: Date?

    public init(
        id: UUID, name: String, createdAt: Date, volumes: [String] = [], cleanedUp: Bool = false, notifiedAt: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
        self.volumes = volumes
        self.cleanedUp = cleanedUp
        self.notifiedAt = notifiedAt
    }
}
