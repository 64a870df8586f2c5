/// What an instance reports at one moment: the status fields of its JSON.
struct InstanceStatus: Sendable, Equatable {
    var actual: String?
    var intended: String
    var current: String
    var next: String
    var message: String
    /// False when a log request would never be answered (the host is gone).
    var logsReachable: Bool = true
    /// True while the command runs (for `uptime_mins`, utilisation figures).
    var isRunning: Bool = false

    static func running(_ actual: String?, message: String, isRunning: Bool = false) -> InstanceStatus {
        InstanceStatus(actual: actual, intended: "running", current: "running", next: "running", message: message, isRunning: isRunning)
    }

    static func stopped(message: String) -> InstanceStatus {
        InstanceStatus(actual: "stopped", intended: "stopped", current: "stopped", next: "stopped", message: message)
    }
}
