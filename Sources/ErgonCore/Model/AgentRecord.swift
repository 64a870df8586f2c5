import Foundation

/// An agent as the queue knows it: who it is, where its instances live, and its lease.
/// Each agent renews its lease with a heartbeat; when the lease runs out, the agent is
/// presumed dead and the others take over the tasks it held (`Takeover`).
public struct AgentRecord: Equatable, Sendable, Codable {
    /// `agent.id`.
    public var id: String
    /// `docker` or `vast`.
    public var mode: String
    /// Where its instances live: agents with the same scope see the same instances
    /// (`docker:<host>:<socket>#<data_dir>`, `vast:<api url>#<key fingerprint>`), so one can adopt the
    /// other's; see `Backend.scope`.
    public var scope: String
    /// The host name it runs on, for people.
    public var host: String
    /// Its process id on that host, for people.
    public var pid: Int
    /// When this run of the agent started.
    public var startedAt: Date
    /// Its last heartbeat.
    public var heartbeatAt: Date
    /// Until when it is presumed alive without another heartbeat.
    public var leaseExpiresAt: Date
    /// When it stopped gracefully (its lease then ends at once); nil while it runs.
    public var stoppedAt: Date?
    /// Why it orders nothing new now (a money cap is reached), as of its last heartbeat.
    public var holding: String?

    public init(
        id: String, mode: String, scope: String, host: String, pid: Int, startedAt: Date, heartbeatAt: Date,
        leaseExpiresAt: Date, stoppedAt: Date? = nil
    ) {
        self.id = id
        self.mode = mode
        self.scope = scope
        self.host = host
        self.pid = pid
        self.startedAt = startedAt
        self.heartbeatAt = heartbeatAt
        self.leaseExpiresAt = leaseExpiresAt
        self.stoppedAt = stoppedAt
    }

    /// True when the lease is still running at `now`.
    public func isLive(at now: Date) -> Bool { leaseExpiresAt > now }
}
