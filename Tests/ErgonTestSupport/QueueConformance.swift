import ErgonCore
import Foundation
import Testing

/// Makes a fresh, empty queue of the engine under test.
public typealias TaskQueueFactory = @Sendable () async throws -> any TaskQueue

/// The checks every `TaskQueue` engine must pass, written once and run by each engine's
/// suite (memory, SQLite, later PostgreSQL) with a factory for fresh queues.
public enum QueueConformance {
    /// One check of the suite; an engine runs them all as one parameterized test.
    public enum Check: String, CaseIterable, Sendable {
        /// Submit stores the workflow, its tasks, their states and order.
        case submitStoresWorkflow
        /// An invalid workflow is refused and nothing is stored.
        case submitRefusesInvalidWorkflow
        /// Pending tasks come out by priority, then submission order.
        case claimOrder
        /// A claim opens attempt 1 and makes the task held; a second claim gets nil.
        case claimOpensAttempt
        /// Concurrent claims on one queue claim each task once.
        case concurrentClaims
        /// `updateAttempt` saves every field (the rental choice included).
        case updateAttemptSavesEveryField
        /// `finishAttempt` accepts only the current attempt of a held task.
        case finishAttemptRefusesWrongAttempt
        /// A chain releases each task when its parent completed.
        case chainRelease
        /// A diamond releases its last task only when both parents completed.
        case diamondRelease
        /// A task ending badly cancels its descendants transitively.
        case badEndCancelsDescendants
        /// System errors retry until `maxAttempts`, then `error`.
        case systemErrorRetriesUpToMaxAttempts
        /// A manual retry gives a fresh budget and un-cancels descendants.
        case manualRetryGivesFreshBudget
        /// A cancelled task whose parent still failed cannot be retried.
        case retryRefusedWhileParentBlocks
        /// Full ids and unique prefixes resolve; the rest is a clear error.
        case resolveTaskID
        /// Ended workflows with volumes are listed for clean-up until marked.
        case cleanUp
        /// Worker tokens: stored by hash, replaced by the next attempt's, and valid only while
        /// their attempt is the task's live one and unexpired.
        case workerTokens
        /// Heartbeats register agents and renew their leases.
        case agentsHeartbeat
        /// Adoption after a lease ran out, and the fence on the former holder.
        case adoptionFencesTheFormerHolder
        /// A holder the queue has no record of can be taken over.
        case unknownHolderIsTakenOver
        /// Abandoning a dead agent's attempt retries the task.
        case abandonRetriesTheTask
        /// `claimNext` follows claim order within the kind of task asked for.
        case claimNextTakesTheNextOfItsKind
        /// A deferred attempt (nothing ordered) returns the task to `pending` without counting;
        /// `billedAttempts(since:)` returns the priced attempts billed in the window.
        case billing
        /// `ergon gc`: ended workflows listed by their last change and removed whole; a live
        /// task keeps its workflow.
        case removeEndedWorkflows
        /// Reports of ended workflows are claimed by one agent at a time and marked delivered.
        case notificationClaims
        /// A retry of a reported workflow clears its report, so its next end is reported again.
        case retryReopensTheReport
        /// `pastRunTimes` finds the run times of completed tasks with a slug and image.
        case pastRunTimes

        /// Runs this check against fresh queues from `make`.
        public func run(_ make: TaskQueueFactory) async throws {
            switch self {
            case .submitStoresWorkflow: try await QueueConformance.submitStoresWorkflow(make)
            case .submitRefusesInvalidWorkflow: try await QueueConformance.submitRefusesInvalidWorkflow(make)
            case .claimOrder: try await QueueConformance.claimOrder(make)
            case .claimOpensAttempt: try await QueueConformance.claimOpensAttempt(make)
            case .concurrentClaims: try await QueueConformance.concurrentClaims(make)
            case .updateAttemptSavesEveryField: try await QueueConformance.updateAttemptSavesEveryField(make)
            case .finishAttemptRefusesWrongAttempt: try await QueueConformance.finishAttemptRefusesWrongAttempt(make)
            case .chainRelease: try await QueueConformance.chainRelease(make)
            case .diamondRelease: try await QueueConformance.diamondRelease(make)
            case .badEndCancelsDescendants: try await QueueConformance.badEndCancelsDescendants(make)
            case .systemErrorRetriesUpToMaxAttempts: try await QueueConformance.systemErrorRetriesUpToMaxAttempts(make)
            case .manualRetryGivesFreshBudget: try await QueueConformance.manualRetryGivesFreshBudget(make)
            case .retryRefusedWhileParentBlocks: try await QueueConformance.retryRefusedWhileParentBlocks(make)
            case .resolveTaskID: try await QueueConformance.resolveTaskID(make)
            case .cleanUp: try await QueueConformance.cleanUp(make)
            case .workerTokens: try await QueueConformance.workerTokens(make)
            case .agentsHeartbeat: try await QueueConformance.agentsHeartbeat(make)
            case .adoptionFencesTheFormerHolder: try await QueueConformance.adoptionFencesTheFormerHolder(make)
            case .unknownHolderIsTakenOver: try await QueueConformance.unknownHolderIsTakenOver(make)
            case .abandonRetriesTheTask: try await QueueConformance.abandonRetriesTheTask(make)
            case .claimNextTakesTheNextOfItsKind: try await QueueConformance.claimNextTakesTheNextOfItsKind(make)
            case .billing: try await QueueConformance.billing(make)
            case .removeEndedWorkflows: try await QueueConformance.removeEndedWorkflows(make)
            case .notificationClaims: try await QueueConformance.notificationClaims(make)
            case .retryReopensTheReport: try await QueueConformance.retryReopensTheReport(make)
            case .pastRunTimes: try await QueueConformance.pastRunTimes(make)
            }
        }
    }

    // MARK: submitting

    /// Submit stores the workflow and its tasks: roots `pending`, others `unscheduled`,
    /// parents resolved, `seq` increasing across workflows, budgets from the spec or the default.
    public static func submitStoresWorkflow(_ make: TaskQueueFactory) async throws {
        let queue = try await make()
        let (first, firstTasks) = try await queue.submit(
            workflow("first", [task("a", maxAttempts: 5), task("b", parents: ["a"]), task("c", parents: ["a", "b"])],
                volumes: ["scratch"]),
            defaultMaxAttempts: 3, at: t0)
        let (second, secondTasks) = try await queue.submit(
            workflow("second", [task("x")]), defaultMaxAttempts: 2, at: t0 + 1)
        let byFirst = bySlug(firstTasks)

        #expect(firstTasks.map(\.spec.slug) == ["a", "b", "c"])
        #expect(firstTasks.map(\.state) == [.pending, .unscheduled, .unscheduled])
        #expect(byFirst["b"]?.parentIDs == [byFirst["a"]!.id])
        #expect(byFirst["c"]?.parentIDs == [byFirst["a"]!.id, byFirst["b"]!.id])
        #expect(firstTasks.map(\.maxAttempts) == [5, 3, 3])
        #expect(secondTasks.map(\.maxAttempts) == [2])
        #expect(firstTasks.allSatisfy { $0.attempt == 0 && $0.attemptBase == 0 && $0.agentID == nil })
        #expect(firstTasks.allSatisfy { $0.workflowID == first.id } && secondTasks[0].workflowID == second.id)
        let seqs = (firstTasks + secondTasks).map(\.seq)
        #expect(seqs == seqs.sorted() && Set(seqs).count == 4, "seq increases in submission order: \(seqs)")

        #expect(first.name == "first" && first.volumes == ["scratch"] && !first.cleanedUp && first.createdAt == t0)
        #expect(try await queue.workflow(first.id) == first)
        #expect(try await queue.workflow(UUID()) == nil)
        #expect(try await queue.workflows() == [first, second])
        #expect(try await queue.task(byFirst["c"]!.id) == byFirst["c"])
        #expect(try await queue.task(UUID()) == nil)
        #expect(try await queue.tasks(.all) == firstTasks + secondTasks)
        #expect(try await queue.tasks(TaskFilter(workflowID: first.id)) == firstTasks)
        #expect(try await queue.tasks(TaskFilter(states: [.pending])) == [byFirst["a"]!, secondTasks[0]])
        #expect(try await queue.tasks(TaskFilter(workflowID: second.id, states: [.unscheduled])) == [])
        #expect(try await queue.tasks(TaskFilter(states: [])) == [])
        #expect(try await queue.attempts(of: byFirst["a"]!.id) == [])
    }

    /// An invalid workflow is refused with `.invalidWorkflow` naming the fault, and nothing is stored.
    public static func submitRefusesInvalidWorkflow(_ make: TaskQueueFactory) async throws {
        let queue = try await make()
        let cases: [(WorkflowSpec, [String])] = [
            (workflow("dup", [task("a"), task("a")]), ["\"a\"", "duplicate"]),
            (workflow("unknown", [task("a", parents: ["ghost"])]), ["\"a\"", "\"ghost\""]),
            (workflow("self", [task("a", parents: ["a"])]), ["\"a\"", "itself"]),
            (workflow("cycle", [task("a", parents: ["b"]), task("b", parents: ["a"])]), ["cycle", "a", "b"]),
            (workflow("empty", []), ["\"empty\"", "no tasks"]),
        ]
        for (spec, parts) in cases {
            await expectQueueError(.invalidWorkflow, containing: parts) {
                _ = try await queue.submit(spec, defaultMaxAttempts: 3, at: t0)
            }
        }
        #expect(try await queue.workflows() == [])
        #expect(try await queue.tasks(.all) == [])
    }

    // MARK: claiming

    /// Pending tasks come out by priority (highest first), then submission order across workflows.
    public static func claimOrder(_ make: TaskQueueFactory) async throws {
        let queue = try await make()
        _ = try await queue.submit(
            workflow("w1", [task("low"), task("high", priority: 5), task("mid", priority: 1), task("child", parents: ["low"])]),
            defaultMaxAttempts: 3, at: t0)
        _ = try await queue.submit(
            workflow("w2", [task("high2", priority: 5), task("zero2"), task("negative", priority: -1)]),
            defaultMaxAttempts: 3, at: t0)
        let order = ["high", "high2", "mid", "low", "zero2", "negative"]
        #expect(try await queue.pendingTasks(limit: 100).map(\.spec.slug) == order)
        #expect(try await queue.pendingTasks(limit: 2).map(\.spec.slug) == ["high", "high2"])
        #expect(try await queue.pendingTasks(limit: 0) == [])

        // Claiming in that order leaves the rest in the same order.
        var claimed: [String] = []
        for _ in order {
            let next = try #require(try await queue.pendingTasks(limit: 1).first)
            #expect(try await queue.claim(taskID: next.id, agentID: "agent", gpu: nil, at: t0) != nil)
            claimed.append(next.spec.slug)
        }
        #expect(claimed == order)
        #expect(try await queue.pendingTasks(limit: 100) == [])
    }

    /// A claim moves a pending task to `running`, opens attempt 1 in phase `ordering`, and
    /// makes the task held by that agent; a second claim, or a claim of a waiting task, gets nil.
    public static func claimOpensAttempt(_ make: TaskQueueFactory) async throws {
        let queue = try await make()
        let tasks = try await submit(queue, [task("a"), task("b", parents: ["a"])])
        let a = tasks["a"]!
        let held = try #require(try await queue.claim(taskID: a.id, agentID: "agent-1", gpu: "1", at: t0 + 5))

        #expect(held.task.state == .running && held.task.agentID == "agent-1" && held.task.attempt == 1)
        #expect(held.task.updatedAt == t0 + 5)
        #expect(held.attempt == AttemptRecord(taskID: a.id, number: 1, agentID: "agent-1", gpu: "1", claimedAt: t0 + 5))
        #expect(try await queue.task(a.id) == held.task)
        #expect(try await queue.attempts(of: a.id) == [held.attempt])
        #expect(try await queue.heldTasks(agentID: "agent-1") == [held])
        #expect(try await queue.heldTasks(agentID: "agent-2") == [])
        #expect(try await queue.pendingTasks(limit: 10) == [])

        #expect(try await queue.claim(taskID: a.id, agentID: "agent-2", gpu: nil, at: t0 + 6) == nil)
        #expect(try await queue.claim(taskID: tasks["b"]!.id, agentID: "agent-2", gpu: nil, at: t0 + 6) == nil)
        #expect(try await queue.task(tasks["b"]!.id)?.state == .unscheduled)
        #expect(try await queue.attempts(of: a.id).count == 1)
        await expectQueueError(.notFound) { _ = try await queue.claim(taskID: UUID(), agentID: "x", gpu: nil, at: t0) }

        // A task being stopped is still held; once finished it is not.
        let stopping = try await queue.cancel(taskID: a.id, at: t0 + 7)
        #expect(try await queue.heldTasks(agentID: "agent-1").map(\.task) == [stopping])
        let stopped = try await queue.finishAttempt(taskID: a.id, attempt: 1, outcome: .stopped, at: t0 + 8)
        #expect(stopped.state == .stopped && stopped.agentID == nil)
        #expect(try await queue.heldTasks(agentID: "agent-1") == [])
    }

    /// Many concurrent claims of the same tasks on one queue: each task is claimed exactly once.
    public static func concurrentClaims(_ make: TaskQueueFactory) async throws {
        let queue = try await make()
        let ids = Array(try await submit(queue, (0..<24).map { task("t\($0)") }).values.map(\.id))
        let claims = try await claimConcurrently(ids, on: [queue], claimersPerQueue: 6)
        #expect(claims.count == ids.count, "every claim that succeeded: \(claims.count) for \(ids.count) tasks")
        #expect(Set(claims.map(\.task.id)) == Set(ids))
        for id in ids {
            #expect(try await queue.attempts(of: id).count == 1)
            #expect(try await queue.task(id)?.attempt == 1)
        }
    }

    /// `updateAttempt` saves every field of the attempt; an unknown attempt is `.notFound`.
    public static func updateAttemptSavesEveryField(_ make: TaskQueueFactory) async throws {
        let queue = try await make()
        let a = try await submit(queue, [task("a")])["a"]!
        let held = try #require(try await queue.claim(taskID: a.id, agentID: "agent", gpu: nil, at: t0))
        var attempt = held.attempt
        attempt.phase = .finishing
        attempt.instanceID = "container-123"
        attempt.gpu = "3"
        attempt.outcome = .systemError(reason: "host \"lost\"")
        attempt.startedAt = t0 + 1.5
        attempt.endedAt = t0 + 2.25
        attempt.logCursor = "2024-01-01T00:00:00.123456789Z"
        attempt.logSpooled = 5_000_000_000
        attempt.logShipped = 4_999_999_999
        attempt.absentTicks = 2
        attempt.pricePerHour = 0.4375
        attempt.billedFrom = t0 + 0.5
        attempt.rental = RentalChoice(
            offerID: "1002", machineID: "77", gpuName: "RTX_4090", rank: 3, matched: 14, ranking: RentalChoice.price,
            score: 0.4375, reason: "warm host: its machine ran \"img:1\" 2h ago; offers 1-2 were taken")
        try await queue.updateAttempt(attempt)
        #expect(try await queue.attempts(of: a.id) == [attempt])
        #expect(try await queue.heldTasks(agentID: "agent").map(\.attempt) == [attempt])

        attempt.outcome = .timedOut(reason: "ran past 10s")
        attempt.instanceID = nil
        attempt.logCursor = nil
        attempt.rental?.reason = nil
        try await queue.updateAttempt(attempt)
        #expect(try await queue.attempts(of: a.id) == [attempt])
        attempt.rental = nil
        try await queue.updateAttempt(attempt)
        #expect(try await queue.attempts(of: a.id) == [attempt])

        var missing = attempt
        missing.number = 2
        await expectQueueError(.notFound) { try await queue.updateAttempt(missing) }
    }

    /// `finishAttempt` accepts only the current attempt of a running or stopping task.
    public static func finishAttemptRefusesWrongAttempt(_ make: TaskQueueFactory) async throws {
        let queue = try await make()
        let tasks = try await submit(queue, [task("a"), task("b")])
        let a = tasks["a"]!
        await expectQueueError(.illegalTransition, containing: ["task a (", "pending"]) {
            _ = try await queue.finishAttempt(taskID: a.id, attempt: 0, outcome: .exited(code: 0), at: t0)
        }
        _ = try await queue.claim(taskID: a.id, agentID: "agent", gpu: nil, at: t0)
        await expectQueueError(.illegalTransition, containing: ["attempt 2"]) {
            _ = try await queue.finishAttempt(taskID: a.id, attempt: 2, outcome: .exited(code: 0), at: t0)
        }
        await expectQueueError(.notFound) {
            _ = try await queue.finishAttempt(taskID: UUID(), attempt: 1, outcome: .exited(code: 0), at: t0)
        }
        #expect(try await queue.task(a.id)?.state == .running)
        let done = try await queue.finishAttempt(taskID: a.id, attempt: 1, outcome: .exited(code: 0), at: t0 + 9)
        #expect(done.state == .completed && done.exitCode == 0 && done.reason == nil && done.agentID == nil)
        let attempt = try await queue.attempts(of: a.id)
        #expect(attempt.map(\.phase) == [.done] && attempt.map(\.endedAt) == [t0 + 9])
        #expect(attempt.map(\.outcome) == [.exited(code: 0)])
        await expectQueueError(.illegalTransition, containing: ["completed"]) {
            _ = try await queue.finishAttempt(taskID: a.id, attempt: 1, outcome: .exited(code: 0), at: t0)
        }
        #expect(try await queue.task(tasks["b"]!.id)?.state == .pending)
    }
}
