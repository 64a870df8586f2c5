import Foundation

/// The dispatcher protocol: the four things a backend does. Nothing else knows which backend runs.
public protocol Backend: Sendable {
    /// A short name for logs and listings (`docker`, `vast`).
    var name: String { get }

    /// Checks the backend is reachable and usable; throws a message an operator can act on.
    func prepare() async throws

    /// The agent whose instances this backend launches (`agent.id`).
    var agentID: String { get }

    /// The instances labelled by any of `owners` (this agent, and the other agents sharing its
    /// queue), in one call; the reconciler asks the queue which are orphans. Throws when the
    /// listing failed: a failure is never an empty list.
    func list(owners: Set<String>) async throws -> [BackendInstance]

    /// Where this agent's instances live, as a string equal for agents that see the same
    /// instances (`docker:<host>:<socket>`, `vast:<api url>#<key fingerprint>`). Agents with the
    /// same scope adopt each other's tasks when a lease runs out; see `Takeover`.
    func scope() async throws -> String

    /// Marks an instance as this agent's after it took the instance's task over from an agent
    /// whose lease ran out (vast: its label). The instance is found by its recorded id either way.
    func adopt(instanceID: String, label: InstanceLabel) async throws

    /// Starts one attempt. Calls `record` with the instance (its id, and the offer it was rented
    /// on) as soon as the backend gives an id, before anything else happens, and returns the same
    /// once the command is started.
    func launch(_ request: LaunchRequest, record: @Sendable (LaunchedInstance) async throws -> Void) async throws -> LaunchedInstance

    /// New output bytes since `cursor` (nil: from the start).
    func readLogs(instanceID: String, cursor: String?) async throws -> LogRead

    /// Destroys an instance and returns once it is confirmed gone. Already gone is success.
    func destroy(instanceID: String) async throws

    /// Signals that something changed in the backend (an instance exited), so the scheduler
    /// ticks at once instead of waiting out the poll interval. Ends when the task is cancelled.
    func changes() -> AsyncStream<Void>

    /// Removes what a finished workflow left in the backend (its shared volumes).
    func cleanUp(workflow: WorkflowRecord) async throws

    /// True when `launch` returns once the task's command runs (docker); false when it returns
    /// once the instance is ordered and the listing tells when it runs (vast).
    var launchStartsCommand: Bool { get }

    /// True when every instance comes with its own GPU (a rented GPU host), so GPU tasks need
    /// no device from the agent's own inventory.
    var instancesHaveGPU: Bool { get }

    /// True when reading a running instance's log is a remote call (vast): the scheduler then
    /// reads each one once per `logs.flush_interval` instead of every tick. A local engine's
    /// reads (docker) are cheap and run every tick.
    var pacesLogReads: Bool { get }

    /// Log reads per second across all running instances, for a backend that paces its reads
    /// (``LogReadPacer``); nil: each instance's log is read once per `logs.flush_interval`.
    var logReadsPerSecond: Double? { get }

    /// The most launches worth having in flight at once; nil: as many as there are free slots.
    /// A backend whose launches take turns (vast: one search and order at a time) gains nothing
    /// from more, and each one waiting holds its claimed task and its memory.
    var maxLaunchesInFlight: Int? { get }

    /// The acceptance check `task`'s instances pass before its command runs; nil: none.
    func acceptanceCheck(for task: TaskSpec) -> AcceptanceCheck?

    /// The environment an attempt's container receives (WORKER_CONTRACT.md for this mode);
    /// `access` is the worker API and the attempt's token, when the agent serves one.
    func environment(task: TaskRecord, attempt: Int, parents: [TaskRecord], access: WorkerAccess?) -> [String: String]

    /// True when the agent's task folder is the task's `/data` (docker): the agent lays out
    /// the parents' artifacts there and collects the task's own when it ends. False when the
    /// task runs elsewhere and its worker fetches and publishes them through the worker API.
    var mountsTaskFolder: Bool { get }

    /// Tells the backend that the host of an instance failed it (never finished provisioning,
    /// could not start the container), so later launches go elsewhere. Called before the
    /// instance is destroyed.
    func avoidHost(ofInstance instanceID: String, reason: String) async

    /// Records that the host of `instanceID` failed the acceptance check and keeps away from it.
    func rejectHost(ofInstance instanceID: String, reason: String) async

    /// True when a launch ranks hosts by the expected cost of the work, and so wants the run
    /// times of the task's past runs (``LaunchRequest/pastRunTimes``).
    func wantsPastRunTimes(for task: TaskSpec) -> Bool
}

extension Backend {
    /// This agent's own instances.
    public func list() async throws -> [BackendInstance] { try await list(owners: [agentID]) }
    public func cleanUp(workflow: WorkflowRecord) async throws {}
    public func adopt(instanceID: String, label: InstanceLabel) async throws {}
    public var instancesHaveGPU: Bool { false }
    public var launchStartsCommand: Bool { true }
    public var pacesLogReads: Bool { false }
    public var logReadsPerSecond: Double? { nil }
    public var maxLaunchesInFlight: Int? { nil }
    public func acceptanceCheck(for task: TaskSpec) -> AcceptanceCheck? { nil }
    public func environment(task: TaskRecord, attempt: Int, parents: [TaskRecord], access: WorkerAccess?) -> [String: String] {
        WorkerEnvironment.docker(task: task, attempt: attempt, parents: parents, access: access)
    }
    public var mountsTaskFolder: Bool { true }
    public func avoidHost(ofInstance instanceID: String, reason: String) async {}
    public func rejectHost(ofInstance instanceID: String, reason: String) async {
        await avoidHost(ofInstance: instanceID, reason: reason)
    }
    public func wantsPastRunTimes(for task: TaskSpec) -> Bool { false }
}

/// An error a backend reports with a message meant for the operator.
public struct BackendError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of failure it is, so the scheduler can decide without reading text.
    public enum Kind: String, Sendable {
        /// The backend cannot be reached (socket, network).
        case unreachable
        /// The image cannot be had.
        case imageUnavailable
        /// The instance could not be created or started.
        case launchFailed
        /// The backend answered something it should not have.
        case malformed
        /// Anything else the backend refused.
        case refused
        /// An order was sent but its answer was lost (a timeout): the instance may exist. It
        /// must not be ordered again; the next listing finds it by its label, or the ordering
        /// grace period ends the attempt.
        case outcomeUnknown
        /// Nothing was ordered because every matching offer would pass a money cap
        /// (`vast_api.max_dph`, `budget.*`): the task waits, its attempt not counted.
        case overBudget
    }
    public var kind: Kind
    public var message: String
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
    public var description: String { message }
}
