import Foundation

/// What a live agent does with the tasks of agents whose lease ran out. Pure: the agents,
/// the tasks they hold and the time in; the decisions out. The queue performs each one in a
/// transaction that checks the other agent's lease is still out, so a late heartbeat wins.
public enum Takeover {
    /// One decision about one task of a dead agent.
    public enum Decision: Equatable, Sendable {
        /// Take the task and its live attempt as they are: this agent sees the same instances
        /// (same scope), so its next tick finds the instance by id or label and carries on.
        case adopt(taskID: UUID, from: String)
        /// The container lives where this agent cannot finish it (another Docker engine or
        /// data_dir): end the attempt as a system error, so the task is retried. Only after
        /// `dockerTakeoverAfter`, and never for a rented (vast) instance.
        case abandon(taskID: UUID, attempt: Int, from: String, reason: String)
    }

    /// The lease timings, from `queue` in the config.
    public struct Policy: Equatable, Sendable {
        /// How long an agent is presumed alive after a heartbeat.
        public var lease: TimeInterval
        /// How often an agent renews its lease.
        public var heartbeatInterval: TimeInterval
        /// How long after a lease ran out a task whose instance cannot be checked is retried.
        public var dockerTakeoverAfter: TimeInterval

        public init(lease: TimeInterval = 30, heartbeatInterval: TimeInterval = 5, dockerTakeoverAfter: TimeInterval = 600) {
            self.lease = lease
            self.heartbeatInterval = heartbeatInterval
            self.dockerTakeoverAfter = dockerTakeoverAfter
        }
    }

    /// The decisions for `me` about the tasks `held` by other agents, at `now`.
    public static func decide(
        me: AgentRecord, agents: [AgentRecord], held: [HeldTask], now: Date, policy: Policy
    ) -> [Decision] {
        let byID = Dictionary(agents.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        return held.compactMap { held in
            guard let owner = held.task.agentID, owner != me.id else { return nil }
            // A holder the queue has no record of (tasks claimed before agents registered)
            // is treated as one whose lease ran out at its attempt's claim.
            let record = byID[owner]
            if let record, record.isLive(at: now) { return nil }
            if let record, record.scope == me.scope {
                return .adopt(taskID: held.task.id, from: owner)
            }
            // A rented instance bills until someone destroys it: retrying its task elsewhere
            // would pay twice. It waits for an agent on its account, or its own agent's return.
            if record?.mode == ErgonConfig.Mode.vast.rawValue { return nil }
            // Counted from the later of the lease's end and the claim: a task claimed by an
            // agent whose lease had already run out gets the full wait too.
            let expiredAt = max(record?.leaseExpiresAt ?? .distantPast, held.attempt.claimedAt)
            guard now.timeIntervalSince(expiredAt) >= policy.dockerTakeoverAfter else { return nil }
            let lapsed = Reconciler.format(now.timeIntervalSince(expiredAt))
            let place = record.map { " on \($0.host) (\($0.scope))" } ?? ""
            return .abandon(
                taskID: held.task.id, attempt: held.attempt.number, from: owner,
                reason: "agent \(owner)\(place) stopped renewing its lease \(lapsed) ago and no agent that can finish its container took it over; retried after queue.docker_takeover_after")
        }
    }
}
