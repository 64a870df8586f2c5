import Foundation

extension Scheduler {
    /// Records a tick that read `snapshot`: how long it took since `started`, the tasks this
    /// agent holds by state, and this agent's instances in the listing by state.
    func recordTickMetrics(_ snapshot: ReconcilerSnapshot, started: ContinuousClock.Instant) {
        ErgonMetrics.tick(duration: ContinuousClock.now - started)
        var tasks: [TaskState: Int] = [:]
        for held in snapshot.held { tasks[held.task.state, default: 0] += 1 }
        ErgonMetrics.tasks(byState: tasks)
        var instances: [String: Int] = [:]
        for instance in snapshot.listing ?? [] where instance.label?.agentID == agentID {
            instances[ErgonMetrics.instanceState(instance.status), default: 0] += 1
        }
        ErgonMetrics.instances(byState: instances)
    }
}
