import Foundation

/// The Vast machines this agent keeps away from for a while: hosts that never finished
/// provisioning an instance or could not start its container. Held in memory; a restart
/// forgets them.
public actor HostAvoidance {
    /// How long a machine stays excluded after it failed a task.
    public let period: TimeInterval
    private let now: @Sendable () -> Date
    private var avoided: [String: (until: Date, reason: String)] = [:]
    /// The machine of each instance seen in the latest listing.
    private var machineOfInstance: [String: String] = [:]

    public init(period: TimeInterval = 6 * 3600, now: @escaping @Sendable () -> Date = { Date() }) {
        self.period = period
        self.now = now
    }

    /// Remembers which machine each listed instance runs on.
    public func noteListing(_ machines: [(instance: String, machine: String)]) {
        for entry in machines { machineOfInstance[entry.instance] = entry.machine }
    }

    /// Excludes the machine of `instanceID`; returns the machine id when it was known.
    @discardableResult
    public func avoid(instance instanceID: String, reason: String) -> String? {
        guard let machine = machineOfInstance[instanceID] else { return nil }
        avoid(machine: machine, reason: reason)
        return machine
    }

    /// Excludes `machine` for the period.
    public func avoid(machine: String, reason: String) {
        avoided[machine] = (now().addingTimeInterval(period), reason)
    }

    /// The machines excluded now, with why.
    public func current() -> [String: String] {
        let time = now()
        avoided = avoided.filter { $0.value.until > time }
        return avoided.mapValues(\.reason)
    }
}
