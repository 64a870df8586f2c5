import Foundation

/// What a backend reports about one instance it holds for this agent.
public struct BackendInstance: Equatable, Sendable {
    /// The state of an instance, mapped from the backend's own words.
    public enum Status: Equatable, Sendable {
        /// Created but the task's command has not started (pulling, loading, created).
        case provisioning
        /// The task's command runs.
        case running
        /// The command exited with a code.
        case exited(code: Int)
        /// The instance could not start the command (for example `OCI runtime create failed`).
        case failedStart(message: String)
        /// The command ended but the backend reports no exit code (a Vast instance `exited`,
        /// or `stopped` without the agent asking): the launch wrapper's exit marker in the log
        /// tells the code, and its absence means the instance was lost.
        case ended(reason: String)
        /// The host or instance is lost (offline, unknown, interrupted, dead).
        case lost(reason: String)
    }

    /// The backend's id for the instance.
    public var id: String
    /// The owner it carries; nil when the label is ours in prefix but unreadable.
    public var label: InstanceLabel?
    public var status: Status
    /// A human word for the backend's state (`running`, `exited`, `loading`), for listings.
    public var stateText: String
    public var createdAt: Date?
    /// Price per hour in dollars, when the backend has one.
    public var pricePerHour: Double?
    /// The image the instance runs.
    public var image: String?
    /// The physical host, when the backend rents from several (a Vast machine id).
    public var machineID: String?
    /// The GPU model of a rented host (Vast's `gpu_name`).
    public var gpuName: String?

    public init(
        id: String, label: InstanceLabel?, status: Status, stateText: String, createdAt: Date? = nil,
        pricePerHour: Double? = nil, image: String? = nil, machineID: String? = nil, gpuName: String? = nil
    ) {
        self.machineID = machineID
        self.gpuName = gpuName
        self.id = id
        self.label = label
        self.status = status
        self.stateText = stateText
        self.createdAt = createdAt
        self.pricePerHour = pricePerHour
        self.image = image
    }
}

/// New bytes of an instance's output and the cursor to continue from.
public struct LogRead: Equatable, Sendable {
    public var bytes: [UInt8]
    /// The backend's opaque position after these bytes; stored with the attempt.
    public var cursor: String?
    /// Reads made on top of the first (vast: longer tails after the log outgrew the first),
    /// which the scheduler charges to the backend's read rate.
    public var extraReads: Int
    public init(bytes: [UInt8], cursor: String?, extraReads: Int = 0) {
        self.bytes = bytes
        self.cursor = cursor
        self.extraReads = extraReads
    }
}

/// Everything a backend needs to start one attempt of a task.
public struct LaunchRequest: Sendable {
    public var task: TaskRecord
    public var attempt: Int
    public var label: InstanceLabel
    /// The GPU device given to this attempt, when the task needs one.
    public var gpu: String?
    /// The full environment of the container (the task's env plus WORKER_CONTRACT.md's).
    public var environment: [String: String]
    /// The host directory mounted at `/data` (docker mode).
    public var dataDirectory: String
    /// The workflow the task belongs to (for its shared volumes).
    public var workflow: WorkflowRecord
    /// The task's parents, as the queue holds them.
    public var parents: [TaskRecord]
    /// The task's resources, ready on the agent's disk (docker mode mounts each at its target).
    public var resources: [PreparedResource] = []
    /// The money caps an order must fit (vast mode); nil: no cap beyond the backend's own.
    public var budget: (any OrderBudget)?
    /// How many hours an order is counted for against `budget.max_total_spend`.
    public var expectedHours: Double = 1
    /// The task's run deadline in seconds (its `timeout`, else `scheduler.default_timeout`);
    /// nil: not given, so only the task's own `timeout` is known. Vast mode orders only hosts staying that long.
    public var timeout: TimeInterval?
    /// How long the last runs of tasks with this slug and image took, in seconds, newest first
    /// (``TaskQueue/pastRunTimes(slug:image:limit:)``); filled only when the backend asks.
    public var pastRunTimes: [TimeInterval] = []

    public init(
        task: TaskRecord, attempt: Int, label: InstanceLabel, gpu: String?, environment: [String: String],
        dataDirectory: String, workflow: WorkflowRecord, parents: [TaskRecord] = []
    ) {
        self.parents = parents
        self.task = task
        self.attempt = attempt
        self.label = label
        self.gpu = gpu
        self.environment = environment
        self.dataDirectory = dataDirectory
        self.workflow = workflow
    }
}
