/// How long a graceful stop of the agent may take, for a service manager's stop timeout
/// (systemd's `TimeoutStopSec`, which `Scripts/install-agent` writes from this).
extension ErgonConfig {
    /// What the drain after SIGTERM waits for at most, as far as a deadline bounds it: the
    /// agent stops claiming and waits for the actions in flight, and the longest of them, a
    /// launch (pull, create, start; a Vast order), is cut at the provisioning timeout. A
    /// resource download or an artifact upload in flight has no total deadline of its own.
    public var drainBound: Duration { provisioningTimeout }

    /// Added to ``drainBound`` for what follows the drain: the last log flush and the
    /// agent's sign-off in the queue.
    public static let stopMargin: Duration = .seconds(60)

    /// How long to wait after SIGTERM before killing the agent. A kill after this is safe:
    /// the queue holds every attempt's state, running containers and instances stay up,
    /// and the next start re-adopts them as after a crash.
    public var stopTimeout: Duration { drainBound + Self.stopMargin }
}
