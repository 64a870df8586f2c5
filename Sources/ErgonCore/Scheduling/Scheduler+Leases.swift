import Foundation
import Logging

/// The agent's side of sharing a queue: it renews its lease, learns which agents share the
/// queue, and takes over the tasks of those whose lease ran out (`Takeover`).
extension Scheduler {
    /// Where this agent's instances live (`Backend.scope`); a backend that must be asked gets
    /// a few tries over about 30 s before the agent gives up starting.
    func readScope() async throws -> String {
        var delay = Duration.milliseconds(500)
        for attempt in 1... {
            do {
                return try await backend.scope()
            } catch where attempt < 6 && !Task.isCancelled {
                logger.warning("reading where the \(backend.name) backend's instances live failed (try \(attempt)); trying again in \(delay): \(error)")
                try await Task.sleep(for: delay)
                delay *= 2
            }
        }
        preconditionFailure("unreachable")
    }

    /// This run's record, with its lease renewed from `now`.
    func agentRecord(at now: Date, stopping: Bool = false) -> AgentRecord {
        var record = AgentRecord(
            id: agentID, mode: mode, scope: scope, host: hostName, pid: Int(ProcessInfo.processInfo.processIdentifier),
            startedAt: startedAt, heartbeatAt: now, leaseExpiresAt: stopping ? now : now.addingTimeInterval(leases.lease),
            stoppedAt: stopping ? now : nil)
        record.holding = stopping ? nil : launchHold
        return record
    }

    /// True while the last heartbeat that got through keeps the lease, with one heartbeat
    /// interval to spare: claims stop before other agents could take this one for dead.
    func holdsLease(at now: Date) -> Bool {
        now.addingTimeInterval(leases.heartbeatInterval) < leaseHeldUntil
    }

    /// Registers this run in the queue; throws when the queue cannot take it (the agent cannot
    /// work without one). Warns when the id's lease was being renewed by another process.
    func register() async throws {
        let now = now()
        let record = agentRecord(at: now)
        let before = try await queue.heartbeat(record)
        leaseHeldUntil = record.leaseExpiresAt
        if let before, before.isLive(at: now), before.stoppedAt == nil, before.pid != record.pid || before.host != record.host {
            logger.warning("agent id \(agentID) was renewing its lease from \(before.host) (pid \(before.pid)) until \(before.leaseExpiresAt): unless that process crashed, two agents share one id and will fight over the same tasks; give each its own agent.id")
        }
        try await refreshAgents()
    }

    /// One heartbeat: renews the lease, and says so when it had run out meanwhile.
    func renewLease() async {
        let now = now()
        let record = agentRecord(at: now)
        do {
            let before = try await queue.heartbeat(record)
            leaseHeldUntil = record.leaseExpiresAt
            if let before, !before.isLive(at: now) {
                logger.warning("this agent's lease ran out at \(before.leaseExpiresAt) (its last heartbeat was at \(before.heartbeatAt)); tasks other agents took over since then are theirs now")
            }
        } catch {
            logger.warning("renewing the lease in the queue failed; trying again in \(Reconciler.format(leases.heartbeatInterval)), and claiming nothing new until it holds: \(error)")
        }
    }

    /// Reads the agents sharing the queue, then takes over what those whose lease ran out held.
    func watchOtherAgents() async {
        do {
            try await refreshAgents()
        } catch {
            logger.warning("reading the agents sharing the queue failed; trying again in \(Reconciler.format(leases.heartbeatInterval)): \(error)")
            return
        }
        guard !isDraining, holdsLease(at: now()) else { return }
        await takeOver()
    }

    /// Reads the agents sharing the queue: their instances are listed, and judged, with ours.
    func refreshAgents() async throws {
        knownAgents = try await queue.agents()
    }

    /// Adopts or abandons the tasks of agents whose lease ran out, as `Takeover` decides.
    func takeOver() async {
        let now = now()
        let expired = knownAgents.filter { $0.id != agentID && !$0.isLive(at: now) }.map(\.id)
        do {
            // Only agents whose lease ran out, or holders the queue has no record of, matter.
            let held = try await queue.heldTasks().filter { held in
                guard let owner = held.task.agentID, owner != agentID else { return false }
                return expired.contains(owner) || !knownAgents.contains { $0.id == owner }
            }
            guard !held.isEmpty else { return }
            var changed = false
            for decision in Takeover.decide(me: agentRecord(at: now), agents: knownAgents, held: held, now: now, policy: leases) {
                changed = try await perform(decision, now: now) || changed
            }
            if changed { wake.signal() }
        } catch {
            logger.warning("taking over the tasks of agents whose lease ran out failed; trying again at the next heartbeat: \(error)")
        }
    }

    /// Performs one takeover decision; true when the queue changed.
    private func perform(_ decision: Takeover.Decision, now: Date) async throws -> Bool {
        switch decision {
        case .adopt(let taskID, let from):
            let expiredBefore = knownAgents.first { $0.id == from }?.leaseExpiresAt ?? now
            guard let adopted = try await queue.adopt(taskID: taskID, from: from, to: agentID, expiredBefore: min(expiredBefore, now), at: now)
            else { return false }
            logger.warning("took over \(adopted.task.spec.slug) (\(taskID.uuidString.lowercased())) attempt \(adopted.attempt.number) from agent \(from), whose lease ran out; its instance \(adopted.attempt.instanceID ?? "(not recorded yet)") carries on")
            if let instanceID = adopted.attempt.instanceID {
                do {
                    try await backend.adopt(
                        instanceID: instanceID,
                        label: InstanceLabel(agentID: agentID, taskID: taskID, attempt: adopted.attempt.number))
                } catch {
                    // The instance is found by its recorded id all the same.
                    logger.warning("could not relabel instance \(instanceID) as this agent's: \(error)")
                }
            }
            return true
        case .abandon(let taskID, let attempt, let from, let reason):
            guard let ended = try await queue.abandon(
                taskID: taskID, attempt: attempt, from: from, expiredBefore: now.addingTimeInterval(-leases.dockerTakeoverAfter),
                outcome: .systemError(reason: reason), at: now)
            else { return false }
            logger.warning("\(ended.spec.slug) (\(taskID.uuidString.lowercased())) attempt \(attempt): \(reason) → \(ended.state.rawValue)")
            return true
        }
    }

    /// Tells the queue this run stopped: its lease ends now, so agents sharing the queue take
    /// over its tasks at their next heartbeat instead of waiting out the lease.
    func signOff() async {
        do {
            _ = try await queue.heartbeat(agentRecord(at: now(), stopping: true))
        } catch {
            logger.warning("could not record this agent's stop in the queue; its lease runs out by itself: \(error)")
        }
    }

    /// Makes an adopted attempt's spool whole before anything is appended to it. The agent the
    /// attempt was taken from kept the log's unshipped end on its own disk: this agent starts
    /// from what the log store holds and says in the log how many bytes stayed behind.
    func restoreSpool(_ held: HeldTask) async throws -> AttemptRecord {
        var attempt = held.attempt
        let key = LogKey(workflowID: held.task.workflowID, taskID: attempt.taskID, attempt: attempt.number)
        // Once whole, a spool only grows while this agent holds the task: no need to look again.
        guard !wholeSpools.contains(key) else { return attempt }
        let present = (try? FileManager.default.attributesOfItem(atPath: shipper.spool.path(of: key))[.size] as? NSNumber)?.int64Value ?? 0
        guard present < attempt.logSpooled else {
            wholeSpools.insert(key)
            return attempt
        }
        // A store that cannot be read must not keep the instance (and its bill) alive: the
        // attempt goes on with a note instead of the part the store holds.
        var stored: [UInt8] = []
        var unreadable: String?
        do {
            stored = Array((try await shipper.store.read(key: key, from: 0) ?? []).prefix(Int(attempt.logShipped)))
        } catch {
            unreadable = "\(error)"
        }
        let missing = attempt.logSpooled - Int64(stored.count)
        try shipper.spool.append(taskID: attempt.taskID, attempt: attempt.number, at: 0, bytes: stored)
        attempt.logSpooled = Int64(stored.count)
        attempt.logShipped = Int64(stored.count)
        let why = unreadable.map { "; the log store could not be read for the rest: \($0)" } ?? ""
        attempt = try note(
            attempt,
            "agent \(agentID) took this attempt over; \(missing) byte(s) of its log before that were on the agent it was taken from and are not in this log\(why)")
        try await queue.updateAttempt(attempt)
        logger.warning("restored the log of task \(attempt.taskID.uuidString.lowercased()) attempt \(attempt.number) from the store: \(stored.count) byte(s); \(missing) byte(s) stayed with the agent it was taken from")
        return attempt
    }
}
