import ErgonCore
import Foundation

extension VastInstance {
    /// What the scheduler should make of this instance's state (VAST_API.md, `actual_status`).
    ///
    /// Vast reports no exit code, so a container that `exited`, or an instance that `stopped`
    /// without the agent asking (a worker stopping its own instance, or an interruption), is
    /// `ended`: the launch wrapper's exit marker in the log tells which.
    public var backendStatus: BackendInstance.Status {
        switch actualStatus?.lowercased() {
        case nil, "", "created", "loading", "scheduling":
            // Only a container that never started failed to start: a stale message on a
            // running instance says nothing.
            if let message = statusMsg, Self.isFailedStart(message) { return .failedStart(message: message) }
            return .provisioning
        case "running":
            return .running
        case "exited":
            return .ended(reason: "the container exited")
        case "stopped":
            let interrupted = curState == "stopped" && intendedStatus == "stopped" && nextState == "stopped"
            return .ended(reason: interrupted ? "the instance stopped without the agent asking" : "the instance is stopping")
        case "offline":
            return .lost(reason: "the host went offline")
        case "unknown":
            return .lost(reason: "the host stopped reporting (state unknown)")
        case let other?:
            // `frozen`, `rebooting` and states Vast may add: the command is not running as
            // ordered, and a restarted container would run the task a second time.
            return .lost(reason: "the instance is \(other)")
        }
    }

    /// The words of a container that could not be started on the host.
    static func isFailedStart(_ message: String) -> Bool {
        message.contains("OCI runtime create failed") || message.contains("failed to create shim task")
    }

    /// The instance as the scheduler sees it.
    public var backendInstance: BackendInstance {
        BackendInstance(
            id: String(id), label: label.flatMap(InstanceLabel.init(vastLabel:)), status: backendStatus,
            stateText: actualStatus ?? "ordered", createdAt: startDate, pricePerHour: dphTotal, image: imageUUID,
            machineID: machineID.map(String.init), gpuName: gpuName)
    }
}
