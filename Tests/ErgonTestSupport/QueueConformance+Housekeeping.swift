import ErgonCore
import Foundation
import Testing

/// `ergon gc`'s removal and the reports of ended workflows (`notify.webhook_url`).
extension QueueConformance {
    /// Claims a pending task at `at` and ends its attempt with `outcome` at `at`.
    @discardableResult
    static func runAttempt(
        _ queue: any TaskQueue, _ task: TaskRecord, _ outcome: AttemptOutcome, at: Date
    ) async throws -> TaskRecord {
        let held = try #require(try await queue.claim(taskID: task.id, agentID: "agent", gpu: nil, at: at))
        return try await queue.finishAttempt(taskID: task.id, attempt: held.attempt.number, outcome: outcome, at: at)
    }

    /// Ended workflows are listed by their last change; removal deletes a workflow's tasks,
    /// attempts and tokens and nothing else, and refuses a workflow with a live task (also one
    /// that turned live after it was listed) or one that changed after the cutoff.
    public static func removeEndedWorkflows(_ make: TaskQueueFactory) async throws {
        let queue = try await make()
        let (old, oldTasks) = try await queue.submit(
            workflow("old", [task("a"), task("b", parents: ["a"])]), defaultMaxAttempts: 1, at: t0)
        let (live, liveTasks) = try await queue.submit(workflow("live", [task("x")]), defaultMaxAttempts: 1, at: t0)
        let (recent, recentTasks) = try await queue.submit(workflow("recent", [task("y")]), defaultMaxAttempts: 1, at: t0)
        let (retried, retriedTasks) = try await queue.submit(workflow("retried", [task("r")]), defaultMaxAttempts: 1, at: t0)
        let (withVolume, volumeTasks) = try await queue.submit(
            workflow("volume", [task("v")], volumes: ["scratch"]), defaultMaxAttempts: 1, at: t0)
        try await runAttempt(queue, volumeTasks[0], .exited(code: 0), at: t0)
        try await runAttempt(queue, oldTasks[0], .exited(code: 0), at: t0)
        try await queue.recordToken(TokenGrant(hash: "old-token", taskID: oldTasks[1].id, attempt: 1, expiresAt: t0 + 3600))
        try await runAttempt(queue, oldTasks[1], .exited(code: 3), at: t0 + 5)
        try await runAttempt(queue, recentTasks[0], .exited(code: 0), at: t0 + 1000)
        try await runAttempt(queue, retriedTasks[0], .exited(code: 1), at: t0)

        // Its volume not removed yet, the ended workflow "volume" is not listed.
        #expect(try await queue.workflowsEnded(before: t0 + 5).map(\.id) == [retried.id], "b changed at t0+5")
        #expect(try await queue.removeWorkflow(withVolume.id, endedBefore: t0 + 10) == false)
        try await queue.markCleanedUp(workflowID: withVolume.id)
        #expect(try await queue.workflowsEnded(before: t0 + 5).map(\.id) == [retried.id, withVolume.id])
        #expect(try await queue.removeWorkflow(withVolume.id, endedBefore: t0 + 10))
        #expect(try await queue.workflowsEnded(before: t0 + 10).map(\.id) == [old.id, retried.id])
        #expect(try await queue.workflowsEnded(before: t0 + 2000).map(\.id) == [old.id, recent.id, retried.id])

        // Live, changed after the cutoff, or live again since the listing: refused, nothing deleted.
        #expect(try await queue.removeWorkflow(live.id, endedBefore: t0 + 2000) == false)
        #expect(try await queue.removeWorkflow(recent.id, endedBefore: t0 + 10) == false)
        _ = try await queue.retry(taskID: retriedTasks[0].id, at: t0)
        #expect(try await queue.removeWorkflow(retried.id, endedBefore: t0 + 10) == false)
        #expect(try await queue.task(retriedTasks[0].id)?.state == .pending)
        #expect(try await queue.workflow(live.id) == live)
        #expect(try await queue.workflow(recent.id) == recent)

        let before = try await queue.tasks(.all)
        #expect(try await queue.removeWorkflow(old.id, endedBefore: t0 + 10))
        #expect(try await queue.workflow(old.id) == nil)
        #expect(try await queue.tasks(TaskFilter(workflowID: old.id)) == [])
        for task in oldTasks {
            #expect(try await queue.task(task.id) == nil)
            #expect(try await queue.attempts(of: task.id) == [])
        }
        #expect(try await queue.tokenGrant(hash: "old-token") == nil)
        #expect(try await queue.workflows().map(\.id) == [live.id, recent.id, retried.id])
        #expect(try await queue.tasks(.all) == before.filter { $0.workflowID != old.id })
        #expect(try await queue.attempts(of: recentTasks[0].id).count == 1)
        #expect(try await queue.task(liveTasks[0].id)?.state == .pending)
        // Again: already gone is a plain false, so a second gc run is harmless.
        #expect(try await queue.removeWorkflow(old.id, endedBefore: t0 + 10) == false)
        #expect(try await queue.workflowsEnded(before: t0 + 2000).map(\.id) == [recent.id])
        // The queue goes on working: a new submission, and a claim in a kept workflow.
        _ = try await queue.submit(workflow("after", [task("z")]), defaultMaxAttempts: 1, at: t0 + 3000)
        #expect(try await queue.claim(taskID: liveTasks[0].id, agentID: "agent", gpu: nil, at: t0 + 3000) != nil)
    }

    /// Reports of ended workflows: listed until delivered, claimed by one agent at a time
    /// (its own claim renewable, others' refused until it runs out), never for a live workflow.
    public static func notificationClaims(_ make: TaskQueueFactory) async throws {
        let queue = try await make()
        let (done, doneTasks) = try await queue.submit(workflow("done", [task("a")]), defaultMaxAttempts: 1, at: t0)
        let (running, _) = try await queue.submit(workflow("running", [task("x")]), defaultMaxAttempts: 1, at: t0)
        try await runAttempt(queue, doneTasks[0], .exited(code: 0), at: t0)

        #expect(try await queue.workflowsToNotify(since: t0 - 100, at: t0 + 1).map(\.id) == [done.id])
        #expect(try await queue.workflowsToNotify(since: t0 + 1, at: t0 + 1) == [], "ended before the lookback")
        #expect(try await queue.claimNotification(workflowID: running.id, agentID: "a", until: t0 + 60, at: t0 + 1) == false)

        #expect(try await queue.claimNotification(workflowID: done.id, agentID: "a", until: t0 + 60, at: t0 + 1))
        #expect(try await queue.claimNotification(workflowID: done.id, agentID: "b", until: t0 + 60, at: t0 + 2) == false)
        #expect(try await queue.workflowsToNotify(since: t0 - 100, at: t0 + 2) == [])
        #expect(try await queue.claimNotification(workflowID: done.id, agentID: "a", until: t0 + 90, at: t0 + 3), "renewed")
        #expect(try await queue.claimNotification(workflowID: done.id, agentID: "b", until: t0 + 150, at: t0 + 61) == false)
        // The claim ran out (its agent died): another agent takes the report over.
        #expect(try await queue.workflowsToNotify(since: t0 - 100, at: t0 + 91).map(\.id) == [done.id])
        #expect(try await queue.claimNotification(workflowID: done.id, agentID: "b", until: t0 + 150, at: t0 + 91))

        // Only the claim's holder records the delivery.
        try await queue.markNotified(workflowID: done.id, agentID: "a", at: t0 + 92)
        #expect(try await queue.workflow(done.id)?.notifiedAt == nil, "a's claim ran out and b took it")
        try await queue.markNotified(workflowID: done.id, agentID: "b", at: t0 + 92)
        #expect(try await queue.workflowsToNotify(since: t0 - 100, at: t0 + 500) == [])
        #expect(try await queue.claimNotification(workflowID: done.id, agentID: "b", until: t0 + 600, at: t0 + 500) == false)
        #expect(try await queue.claimNotification(workflowID: UUID(), agentID: "b", until: t0 + 600, at: t0 + 500) == false)
        await expectQueueError(.notFound) { try await queue.markNotified(workflowID: UUID(), agentID: "b", at: t0) }

        // Many agents asking at once: exactly one gets it.
        let (raced, racedTasks) = try await queue.submit(workflow("raced", [task("r")]), defaultMaxAttempts: 1, at: t0)
        try await runAttempt(queue, racedTasks[0], .exited(code: 1), at: t0)
        let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
            for agent in 0..<8 {
                group.addTask {
                    try await queue.claimNotification(workflowID: raced.id, agentID: "agent-\(agent)", until: t0 + 60, at: t0 + 1)
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(winners == 1)
    }

    /// A workflow reported, then retried: the retry clears the delivery and any claim with
    /// the task's move, so the workflow is listed (and claimable) again once it ended again,
    /// and not while it runs. A refused retry changes nothing.
    public static func retryReopensTheReport(_ make: TaskQueueFactory) async throws {
        let queue = try await make()
        let (flaky, flakyTasks) = try await queue.submit(
            workflow("flaky", [task("a"), task("b", parents: ["a"])]), defaultMaxAttempts: 1, at: t0)
        let (other, otherTasks) = try await queue.submit(workflow("other", [task("o")]), defaultMaxAttempts: 1, at: t0)
        try await runAttempt(queue, flakyTasks[0], .exited(code: 1), at: t0)
        try await runAttempt(queue, otherTasks[0], .exited(code: 1), at: t0)
        #expect(try await queue.task(flakyTasks[1].id)?.state == .cancelled)
        #expect(try await queue.workflowsToNotify(since: t0 - 100, at: t0 + 1).map(\.id) == [flaky.id, other.id])
        for id in [flaky.id, other.id] {
            #expect(try await queue.claimNotification(workflowID: id, agentID: "a", until: t0 + 60, at: t0 + 1))
            try await queue.markNotified(workflowID: id, agentID: "a", at: t0 + 2)
            #expect(try await queue.workflow(id)?.notifiedAt == t0 + 2, "the record says when it was reported")
        }
        #expect(try await queue.workflowsToNotify(since: t0 - 100, at: t0 + 3) == [])

        // The retry makes the workflow live: not listed while it runs, its delivery cleared.
        _ = try await queue.retry(taskID: flakyTasks[0].id, at: t0 + 10)
        #expect(try await queue.workflow(flaky.id)?.notifiedAt == nil)
        #expect(try await queue.workflow(other.id)?.notifiedAt == t0 + 2, "another workflow's report stays delivered")
        #expect(try await queue.workflowsToNotify(since: t0 - 100, at: t0 + 11) == [])
        #expect(try await queue.claimNotification(workflowID: flaky.id, agentID: "a", until: t0 + 70, at: t0 + 11) == false)
        try await runAttempt(queue, flakyTasks[0], .exited(code: 0), at: t0 + 20)
        #expect(try await queue.workflowsToNotify(since: t0 - 100, at: t0 + 21) == [], "b still to run")
        try await runAttempt(queue, try #require(try await queue.task(flakyTasks[1].id)), .exited(code: 0), at: t0 + 30)

        // Ended again: listed and claimable at once, though a's old claim ran to t0+60: the retry cleared it.
        #expect(try await queue.workflowsToNotify(since: t0 - 100, at: t0 + 31).map(\.id) == [flaky.id])
        #expect(try await queue.claimNotification(workflowID: flaky.id, agentID: "b", until: t0 + 90, at: t0 + 31))
        try await queue.markNotified(workflowID: flaky.id, agentID: "b", at: t0 + 32)
        #expect(try await queue.workflowsToNotify(since: t0 - 100, at: t0 + 33) == [])

        // A claim taken, then the workflow retried before the report went: the claim goes too.
        _ = try await queue.retry(taskID: otherTasks[0].id, at: t0 + 40)
        try await runAttempt(queue, otherTasks[0], .exited(code: 1), at: t0 + 41)
        #expect(try await queue.claimNotification(workflowID: other.id, agentID: "a", until: t0 + 500, at: t0 + 42))
        _ = try await queue.retry(taskID: otherTasks[0].id, at: t0 + 43)
        try await runAttempt(queue, otherTasks[0], .exited(code: 1), at: t0 + 44)
        #expect(try await queue.workflowsToNotify(since: t0 - 100, at: t0 + 45).map(\.id) == [other.id])
        #expect(try await queue.claimNotification(workflowID: other.id, agentID: "b", until: t0 + 500, at: t0 + 45))

        // Retried while the report was being sent: the sender's mark comes too late and is ignored.
        #expect(try await queue.claimNotification(workflowID: other.id, agentID: "b", until: t0 + 500, at: t0 + 45))
        _ = try await queue.retry(taskID: otherTasks[0].id, at: t0 + 46)
        try await queue.markNotified(workflowID: other.id, agentID: "b", at: t0 + 47)
        #expect(try await queue.workflow(other.id)?.notifiedAt == nil, "the end after the retry is still to report")
        try await runAttempt(queue, otherTasks[0], .exited(code: 1), at: t0 + 48)
        #expect(try await queue.workflowsToNotify(since: t0 - 100, at: t0 + 49).map(\.id) == [other.id])

        // The retried task even ended before the sender's mark: the claim is gone, so no mark.
        #expect(try await queue.claimNotification(workflowID: other.id, agentID: "a", until: t0 + 600, at: t0 + 50))
        _ = try await queue.retry(taskID: otherTasks[0].id, at: t0 + 51)
        try await runAttempt(queue, otherTasks[0], .exited(code: 1), at: t0 + 52)
        try await queue.markNotified(workflowID: other.id, agentID: "a", at: t0 + 53)
        #expect(try await queue.workflow(other.id)?.notifiedAt == nil, "the end after the retry is still to report")

        // A refused retry (a completed task) leaves the delivery as it was.
        await expectQueueError(.illegalTransition) { _ = try await queue.retry(taskID: flakyTasks[0].id, at: t0 + 60) }
        #expect(try await queue.workflow(flaky.id)?.notifiedAt == t0 + 32)
    }
}
