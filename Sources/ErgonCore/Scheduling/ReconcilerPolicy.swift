import Foundation

/// The configuration the reconciler decides with, in seconds, taken from `ErgonConfig`.
public struct ReconcilerPolicy: Equatable, Sendable {
    /// Tasks this agent holds at once.
    public var maxParallelTasks: Int
    /// The run deadline of a task without its own `timeout`.
    public var defaultTimeout: TimeInterval
    /// How long an instance may stay provisioning.
    public var provisioningTimeout: TimeInterval
    /// How long an ordered instance may stay invisible in the listing.
    public var orderingGrace: TimeInterval
    /// The GPU devices this agent may hand out, one task per device.
    public var gpus: [String]
    /// False while draining: no new task is claimed.
    public var claiming: Bool
    /// True when every instance brings its own GPU (vast mode): GPU tasks take no device.
    public var instancesHaveGPU: Bool = false
    /// This agent's id: instances labelled with it are this agent's to judge.
    public var agentID: String = ""
    /// The most launches in flight at once (``Backend/maxLaunchesInFlight``); nil: no cap.
    public var maxLaunchesInFlight: Int?

    public init(
        maxParallelTasks: Int, defaultTimeout: TimeInterval, provisioningTimeout: TimeInterval,
        orderingGrace: TimeInterval, gpus: [String], claiming: Bool = true
    ) {
        self.maxParallelTasks = maxParallelTasks
        self.defaultTimeout = defaultTimeout
        self.provisioningTimeout = provisioningTimeout
        self.orderingGrace = orderingGrace
        self.gpus = gpus
        self.claiming = claiming
    }

    /// The policy of a configuration, with the GPUs resolved at start.
    public init(config: ErgonConfig, gpus: [String], claiming: Bool = true) {
        self.init(
            maxParallelTasks: config.scheduler.maxParallelTasks,
            defaultTimeout: config.scheduler.defaultTimeout.seconds,
            provisioningTimeout: config.provisioningTimeout.seconds,
            orderingGrace: config.scheduler.orderingGrace.seconds, gpus: gpus, claiming: claiming)
        self.agentID = config.agentID
    }

    /// The run deadline of a task, in seconds.
    public func timeout(of task: TaskRecord) -> TimeInterval {
        task.spec.timeoutSeconds ?? defaultTimeout
    }
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval`.
    public var seconds: TimeInterval {
        let (s, atto) = components
        return TimeInterval(s) + TimeInterval(atto) / 1e18
    }
}
