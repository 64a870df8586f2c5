import Foundation

/// The real container behind an instance in `--docker` mode, as last reported by the engine.
struct InstanceContainer: Sendable {
    /// Where the launch is.
    enum Stage: Sendable, Equatable {
        /// Ordered, not yet created (pulling, creating).
        case launching
        /// The image could not be had or the container not created: Vast keeps such an instance
        /// `loading` with the error as its status message.
        case launchFailed(message: String)
        /// Created, but the engine refused to start it (`OCI runtime create failed: …`): the
        /// instance sits in `created`.
        case startFailed(message: String)
        /// Created and started; `state` is the engine's word (`running`, `exited`, …).
        case container(id: String, state: String)
        /// Gone: stopped by the user (its output kept) or removed.
        case removed
    }

    var stage: Stage = .launching
    /// Output of earlier containers of this instance (each stop removes the container, each start
    /// makes a new one), kept so the log reads on across restarts.
    var earlierOutput: [String] = []
    /// Bumped at each (re)launch so a late report of an old container is ignored.
    var generation: Int = 0
    /// When the current container was seen running first.
    var runningSince: Date?

    /// The container's id, once there is one.
    var containerID: String? {
        if case .container(let id, _) = stage { return id }
        return nil
    }
}
