import Foundation

/// The scheduler's brain: a pure function from one tick's snapshot to the actions to perform.
/// No IO, no clock, no randomness: SCHEDULER.md's decision table, row by row.
public enum Reconciler {
    /// The actions for one tick.
    public static func decide(_ snapshot: ReconcilerSnapshot, now: Date, policy: ReconcilerPolicy) -> [SchedulerAction] {
        // A failed listing says nothing about what runs: do nothing at all this tick.
        guard let listing = snapshot.listing else { return [] }

        var actions: [SchedulerAction] = []
        var claimed: Set<String> = []  // instance ids some held attempt accounts for
        let index = ListingIndex(listing)
        for held in snapshot.held {
            let instance = index.instance(of: held.attempt)
            if let instance { claimed.insert(instance.id) }
            if let id = held.attempt.instanceID { claimed.insert(id) }
            guard !snapshot.busy.contains(held.task.id) else { continue }
            actions += decide(held, instance: instance, now: now, policy: policy)
        }
        actions += orphans(in: listing, snapshot: snapshot, claimed: claimed, agentID: policy.agentID)
        actions += claims(snapshot, policy: policy)
        for workflow in snapshot.workflowsToCleanUp where !snapshot.busy.contains(workflow.id) {
            actions.append(.cleanUp(workflowID: workflow.id))
        }
        return actions
    }

    /// A listing looked up by instance id and by label: each held attempt finds its instance
    /// in constant time (a scan per attempt was a twentieth of a tick at 1000 instances).
    struct ListingIndex {
        private let listing: [BackendInstance]
        private var byID: [String: Int] = [:]
        private var byLabel: [LiveAttempt: Int] = [:]

        init(_ listing: [BackendInstance]) {
            self.listing = listing
            byID.reserveCapacity(listing.count)
            byLabel.reserveCapacity(listing.count)
            // The first of several alike wins, as a scan from the front would find it.
            for (position, instance) in listing.enumerated() {
                if byID[instance.id] == nil { byID[instance.id] = position }
                if let label = instance.label {
                    let owner = LiveAttempt(taskID: label.taskID, number: label.attempt)
                    if byLabel[owner] == nil { byLabel[owner] = position }
                }
            }
        }

        /// The instance an attempt owns: by recorded id, else by its label.
        func instance(of attempt: AttemptRecord) -> BackendInstance? {
            let position: Int?
            if let id = attempt.instanceID {
                position = byID[id]
            } else {
                position = byLabel[LiveAttempt(taskID: attempt.taskID, number: attempt.number)]
            }
            return position.map { listing[$0] }
        }
    }

    /// The rows for one held task.
    static func decide(
        _ held: HeldTask, instance: BackendInstance?, now: Date, policy: ReconcilerPolicy
    ) -> [SchedulerAction] {
        let task = held.task
        let attempt = held.attempt
        let finish = { (outcome: AttemptOutcome) -> [SchedulerAction] in
            [.finish(taskID: task.id, attempt: attempt.number, instanceID: instance?.id, outcome: outcome)]
        }

        // The outcome is decided; destroy again (idempotent) or record it once gone. A cancel
        // arriving now still ends the task `stopped`, but the attempt keeps what really happened.
        if attempt.phase == .finishing || attempt.phase == .done, let outcome = attempt.outcome {
            return finish(outcome)
        }

        // A user asked to stop: destroy whatever is there, then `stopped`.
        if task.state == .stopping { return finish(.stopped) }

        guard let instance else {
            switch attempt.phase {
            case .ordering:
                // Never re-send a create: wait for the instance to show up, up to the grace period.
                if now.timeIntervalSince(attempt.claimedAt) < policy.orderingGrace { return [] }
                return finish(.systemError(reason: "no instance appeared within \(Self.format(policy.orderingGrace)) of ordering"))
            default:
                // One missing listing can be a backend hiccup; two in a row is a vanished instance.
                if attempt.absentTicks >= 1 { return finish(.systemError(reason: "the instance vanished")) }
                return [.noteAbsent(taskID: task.id, attempt: attempt.number)]
            }
        }

        switch instance.status {
        case .provisioning:
            if now.timeIntervalSince(attempt.claimedAt) > policy.provisioningTimeout {
                return finish(.hostFailure(reason: "still provisioning after \(Self.format(policy.provisioningTimeout))"))
            }
            guard attempt.instanceID != instance.id || attempt.phase != .provisioning || attempt.absentTicks > 0 else {
                return []
            }
            return [.track(taskID: task.id, attempt: attempt.number, instanceID: instance.id, phase: .provisioning, readLogs: false)]
        case .running:
            let started = attempt.startedAt ?? attempt.claimedAt
            let timeout = policy.timeout(of: task)
            if now.timeIntervalSince(started) > timeout {
                return finish(.timedOut(reason: "timed out after \(Self.format(timeout))"))
            }
            return [.track(taskID: task.id, attempt: attempt.number, instanceID: instance.id, phase: .running, readLogs: true)]
        case .exited(let code):
            return finish(.exited(code: code))
        case .failedStart(let message):
            return finish(.hostFailure(reason: "the instance failed to start: \(message)"))
        case .ended(let reason):
            return finish(.exitStatusInLog(reason: reason))
        case .lost(let reason):
            return finish(.systemError(reason: "the instance was lost: \(reason)"))
        }
    }

    /// Instances that no live attempt in the queue claims, whichever agent's label they carry,
    /// as long as that agent shares this queue: those of agents the queue does not know belong
    /// to another queue and are left alone.
    static func orphans(
        in listing: [BackendInstance], snapshot: ReconcilerSnapshot, claimed: Set<String>, agentID: String
    ) -> [SchedulerAction] {
        var claimedElsewhere = Set(snapshot.heldByOthers.compactMap(\.attempt.instanceID))
        let liveElsewhere = Set(snapshot.heldByOthers.map { LiveAttempt(taskID: $0.task.id, number: $0.attempt.number) })
        claimedElsewhere.subtract(claimed)
        return listing.compactMap { instance in
            if claimed.contains(instance.id) || claimedElsewhere.contains(instance.id) { return nil }
            if let label = instance.label {
                guard label.agentID == agentID || snapshot.otherAgents.contains(label.agentID) else { return nil }
                if liveElsewhere.contains(LiveAttempt(taskID: label.taskID, number: label.attempt)) { return nil }
                // An action in flight on the task (a launch, a finish) may own it; look again next tick.
                if snapshot.busy.contains(label.taskID) { return nil }
            }
            return .destroyOrphan(instance)
        }
    }

    /// One attempt of one task.
    struct LiveAttempt: Hashable {
        var taskID: UUID
        var number: Int
    }

    /// Pending tasks to claim, within the free slots and GPUs.
    static func claims(_ snapshot: ReconcilerSnapshot, policy: ReconcilerPolicy) -> [SchedulerAction] {
        guard policy.claiming else { return [] }
        // A launch in flight may already be held or not yet: count each task once.
        let occupying = Set(snapshot.held.map(\.task.id)).union(snapshot.launching.map(\.taskID))
        var slots = policy.maxParallelTasks - occupying.count
        let usedGPUs = Set(snapshot.held.compactMap(\.attempt.gpu)).union(snapshot.launching.compactMap(\.gpu))
        var freeGPUs = policy.gpus.filter { !usedGPUs.contains($0) }
        if let cap = policy.maxLaunchesInFlight { slots = min(slots, cap - snapshot.launching.count) }
        var actions: [SchedulerAction] = []
        for task in snapshot.pending where slots > 0 && !snapshot.busy.contains(task.id) {
            if task.spec.gpu && !policy.instancesHaveGPU {
                // A GPU task waits for a free GPU; tasks behind it that need none go ahead.
                guard !freeGPUs.isEmpty else { continue }
                actions.append(.launch(taskID: task.id, gpu: freeGPUs.removeFirst()))
            } else {
                actions.append(.launch(taskID: task.id, gpu: nil))
            }
            slots -= 1
        }
        return actions
    }

    /// A short human duration (`90s`, `10m`, `2h30m`).
    public static func format(_ seconds: TimeInterval) -> String {
        let total = Int(seconds.rounded())
        if total < 120 { return "\(total)s" }
        let (h, m, s) = (total / 3600, total % 3600 / 60, total % 60)
        var text = ""
        if h > 0 { text += "\(h)h" }
        if m > 0 { text += "\(m)m" }
        if s > 0 && h == 0 { text += "\(s)s" }
        return text
    }

    /// A period as people write it: whole days as `7d`, else as ``format(_:)``.
    public static func formatSpan(_ seconds: TimeInterval) -> String {
        seconds >= 86_400 && seconds.truncatingRemainder(dividingBy: 86_400) == 0
            ? "\(Int(seconds / 86_400))d" : format(seconds)
    }
}
