import Foundation

extension SimulatedInstance {
    /// The status fields at `now`.
    func status(at now: Date) -> InstanceStatus {
        if let container { return containerStatus(container) }
        switch phase(at: now) {
        case .loading:
            return .running("loading", message: "Pulling image \(request.image) (\(offer.fields["inet_down"]?.doubleValue.map { "\(Int($0)) Mbps" } ?? "slow"))…")
        case .created(let message):
            return .running("created", message: message)
        case .running:
            return .running("running", message: "success, running \(request.image)", isRunning: true)
        case .offline:
            var status = InstanceStatus.running("offline", message: "Host machine is offline (no heartbeat)")
            status.logsReachable = false
            return status
        case .stopped:
            return .stopped(message: "Container stopped.")
        case .finished:
            return program.selfStop ? .stopped(message: "Container stopped by its own request.") : .running("exited", message: "Container exited.")
        }
    }

    private func containerStatus(_ container: InstanceContainer) -> InstanceStatus {
        if runs.last?.stoppedAt != nil { return .stopped(message: "Container stopped.") }
        switch container.stage {
        case .launching:
            return .running("loading", message: "Pulling image \(request.image)…")
        case .launchFailed(let message):
            return .running("loading", message: message)
        case .startFailed(let message):
            return .running("created", message: message)
        case .removed:
            return .running("exited", message: "Container removed.")
        case .container(_, let state):
            switch state {
            case "running": return .running("running", message: "success, running \(request.image)", isRunning: true)
            case "created", "restarting": return .running("loading", message: "Starting container…")
            case "paused": return .running("frozen", message: "Container paused.")
            default: return .running("exited", message: "Container exited.")
            }
        }
    }
}
