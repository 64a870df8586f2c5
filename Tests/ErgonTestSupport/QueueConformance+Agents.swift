import ErgonCore
import Foundation
import Testing

/// Agents sharing a queue: leases, takeover and the fence that keeps an agent back from the
/// dead off its successor's tasks.
extension QueueConformance {
    /// An agent record whose lease runs from `heartbeat` for `lease` seconds.
    public static func agent(_ id: String, heartbeat: Date = t0, lease: TimeInterval = 30, scope: String = "vast:test") -> AgentRecord {
        AgentRecord(
            id: id, mode: "vast", scope: scope, host: "host-\(id)", pid: 100, startedAt: t0, heartbeatAt: heartbeat,
            leaseExpiresAt: heartbeat.addingTimeInterval(lease))
    }

    /// Heartbeats register an agent, renew its lease and return the record before the write.
    public static func agentsHeartbeat(_ make: TaskQueueFactory) async throws {
        let queue = try await make()
        #expect(try await queue.agents() == [])
        let first = agent("b-agent")
        #expect(try await queue.heartbeat(first) == nil)
        #expect(try await queue.heartbeat(agent("a-agent")) == nil)
        var renewed = first
        renewed.heartbeatAt = t0 + 5
        renewed.leaseExpiresAt = t0 + 35
        #expect(try await queue.heartbeat(renewed) == first)
        #expect(try await queue.agents() == [agent("a-agent"), renewed])
    }

    /// After A's lease ran out, B adopts A's task with its attempt as it is; A's writes to that
    /// attempt are then refused, and B's go through.
    public static func adoptionFencesTheFormerHolder(_ make: TaskQueueFactory) async throws {
        let queue = try await make()
        let tasks = try await submit(queue, [task("a"), task("other")])
        _ = try await queue.heartbeat(agent("A"))
        _ = try await queue.heartbeat(agent("B"))
        var held = try #require(try await queue.claim(taskID: tasks["a"]!.id, agentID: "A", gpu: nil, at: t0))
        held.attempt.instanceID = "42"
        held.attempt.phase = .running
        try await queue.updateAttempt(held.attempt)

        // While A's lease runs, nothing moves.
        #expect(try await queue.adopt(taskID: held.task.id, from: "A", to: "B", expiredBefore: t0 + 10, at: t0 + 10) == nil)
        #expect(try await queue.heldTasks().map(\.task.agentID) == ["A"])

        let adopted = try #require(
            try await queue.adopt(taskID: held.task.id, from: "A", to: "B", expiredBefore: t0 + 31, at: t0 + 31))
        #expect(adopted.task.agentID == "B" && adopted.task.state == .running && adopted.task.attempt == 1)
        #expect(adopted.attempt.agentID == "B" && adopted.attempt.instanceID == "42" && adopted.attempt.phase == .running)
        #expect(try await queue.heldTasks(agentID: "B") == [adopted])
        #expect(try await queue.heldTasks(agentID: "A") == [])
        #expect(try await queue.heldTasks() == [adopted])
        // Taken once: a second adoption finds nothing to take.
        #expect(try await queue.adopt(taskID: held.task.id, from: "A", to: "C", expiredBefore: t0 + 40, at: t0 + 40) == nil)

        var stale = held.attempt
        stale.logSpooled = 99
        await expectQueueError(.notHeld, containing: ["held by agent B"]) { try await queue.updateAttempt(stale) }
        await expectQueueError(.notHeld) {
            _ = try await queue.finishAttempt(taskID: held.task.id, attempt: 1, outcome: .exited(code: 0), heldBy: "A", at: t0 + 41)
        }
        #expect(try await queue.attempts(of: held.task.id) == [adopted.attempt])

        var progress = adopted.attempt
        progress.logSpooled = 10
        try await queue.updateAttempt(progress)
        let ended = try await queue.finishAttempt(
            taskID: held.task.id, attempt: 1, outcome: .exited(code: 0), heldBy: "B", at: t0 + 50)
        #expect(ended.state == .completed)
    }

    /// A holder the queue has no record of counts as one whose lease ran out.
    public static func unknownHolderIsTakenOver(_ make: TaskQueueFactory) async throws {
        let queue = try await make()
        let tasks = try await submit(queue, [task("a")])
        _ = try #require(try await queue.claim(taskID: tasks["a"]!.id, agentID: "ghost", gpu: nil, at: t0))
        let adopted = try #require(
            try await queue.adopt(taskID: tasks["a"]!.id, from: "ghost", to: "B", expiredBefore: t0, at: t0 + 1))
        #expect(adopted.task.agentID == "B")
    }

    /// Abandoning a dead agent's attempt ends it as a system error (a retry), only once the
    /// lease ran out early enough; the old agent cannot reopen the ended attempt.
    public static func abandonRetriesTheTask(_ make: TaskQueueFactory) async throws {
        let queue = try await make()
        let tasks = try await submit(queue, [task("a"), task("child", parents: ["a"])], defaultMaxAttempts: 3)
        _ = try await queue.heartbeat(agent("A"))
        var held = try #require(try await queue.claim(taskID: tasks["a"]!.id, agentID: "A", gpu: nil, at: t0))
        held.attempt.instanceID = "c1"
        held.attempt.phase = .running
        try await queue.updateAttempt(held.attempt)
        let reason = "agent A stopped renewing its lease"
        // Its lease ended at t0+30: not early enough for a cut-off at t0+20.
        #expect(try await queue.abandon(
            taskID: held.task.id, attempt: 1, from: "A", expiredBefore: t0 + 20, outcome: .systemError(reason: reason), at: t0 + 620) == nil)
        let retried = try #require(try await queue.abandon(
            taskID: held.task.id, attempt: 1, from: "A", expiredBefore: t0 + 30, outcome: .systemError(reason: reason), at: t0 + 630))
        #expect(retried.state == .pending && retried.attempt == 1)
        #expect(try await queue.task(tasks["child"]!.id)?.state == .unscheduled)
        let ended = try #require(try await queue.attempts(of: held.task.id).first)
        #expect(ended.phase == .done && ended.outcome == .systemError(reason: reason))
        // Already ended: a second abandon does nothing.
        #expect(try await queue.abandon(
            taskID: held.task.id, attempt: 1, from: "A", expiredBefore: t0 + 30, outcome: .systemError(reason: reason), at: t0 + 640) == nil)
        await expectQueueError(.notHeld, containing: ["has ended"]) { try await queue.updateAttempt(held.attempt) }
        #expect(try await queue.pendingTasks(limit: 10).map(\.spec.slug) == ["a"])
    }

    /// `claimNext` takes the first pending task in claim order of the kind asked for, and nil
    /// once none is left.
    public static func claimNextTakesTheNextOfItsKind(_ make: TaskQueueFactory) async throws {
        let queue = try await make()
        let gpuTask = TaskSpec(slug: "gpu", image: "alpine:3", command: .shell("true"), gpu: true)
        let tasks = try await submit(queue, [task("low"), task("high", priority: 3), gpuTask, task("child", parents: ["low"])])
        let first = try #require(try await queue.claimNext(agentID: "A", needingGPU: false, gpu: nil, at: t0))
        #expect(first.task.spec.slug == "high" && first.task.agentID == "A" && first.attempt.number == 1)
        let gpu = try #require(try await queue.claimNext(agentID: "A", needingGPU: true, gpu: "0", at: t0))
        #expect(gpu.task.spec.slug == "gpu" && gpu.attempt.gpu == "0")
        #expect(try await queue.claimNext(agentID: "B", needingGPU: true, gpu: "1", at: t0) == nil)
        let any = try #require(try await queue.claimNext(agentID: "B", needingGPU: nil, gpu: nil, at: t0))
        #expect(any.task.spec.slug == "low")
        // The child is not pending until its parent completed.
        #expect(try await queue.claimNext(agentID: "B", needingGPU: nil, gpu: nil, at: t0) == nil)
        #expect(try await queue.task(tasks["child"]!.id)?.state == .unscheduled)
    }
}
