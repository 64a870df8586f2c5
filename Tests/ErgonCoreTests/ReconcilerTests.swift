import ErgonCore
import Foundation
import Testing

/// SCHEDULER.md's decision table, one test per row that applies to docker mode.
@Suite("Reconciler decision table")
struct ReconcilerTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let agent = "agent-a"
    let policy: ReconcilerPolicy = {
        var policy = ReconcilerPolicy(
            maxParallelTasks: 2, defaultTimeout: 3600, provisioningTimeout: 600, orderingGrace: 120, gpus: [])
        policy.agentID = ReconcilerTests.agent
        return policy
    }()

    static func task(
        _ slug: String = "t", state: TaskState = .running, gpu: Bool = false, timeout: Double? = nil,
        priority: Int = 0, seq: Int64 = 1
    ) -> TaskRecord {
        TaskRecord(
            id: UUID(), workflowID: UUID(), seq: seq,
            spec: TaskSpec(slug: slug, image: "img", gpu: gpu, timeoutSeconds: timeout, priority: priority),
            parentIDs: [], state: state, attempt: state == .pending ? 0 : 1, maxAttempts: 3, agentID: agent,
            createdAt: t0, updatedAt: t0)
    }

    static func held(
        _ task: TaskRecord, phase: AttemptPhase, instanceID: String? = "c1", claimedAt: Date = t0,
        startedAt: Date? = t0, gpu: String? = nil, outcome: AttemptOutcome? = nil, absentTicks: Int = 0
    ) -> HeldTask {
        HeldTask(
            task: task,
            attempt: AttemptRecord(
                taskID: task.id, number: task.attempt, agentID: agent, phase: phase, instanceID: instanceID, gpu: gpu,
                outcome: outcome, claimedAt: claimedAt, startedAt: startedAt, absentTicks: absentTicks))
    }

    static func instance(_ held: HeldTask, id: String = "c1", _ status: BackendInstance.Status) -> BackendInstance {
        BackendInstance(
            id: id, label: InstanceLabel(agentID: agent, taskID: held.task.id, attempt: held.attempt.number),
            status: status, stateText: "\(status)")
    }

    func decide(_ held: [HeldTask], _ listing: [BackendInstance]?, pending: [TaskRecord] = [], at seconds: Double = 10,
                policy: ReconcilerPolicy? = nil, busy: Set<UUID> = []) -> [SchedulerAction] {
        Reconciler.decide(
            ReconcilerSnapshot(held: held, pending: pending, listing: listing, busy: busy),
            now: Self.t0.addingTimeInterval(seconds), policy: policy ?? self.policy)
    }

    @Test("a failed listing changes nothing at all, not even claims")
    func failedListing() {
        let h = Self.held(Self.task(), phase: .running)
        #expect(decide([h], nil, pending: [Self.task("p", state: .pending)]).isEmpty)
    }

    @Test("pending tasks are claimed up to the free slots, by priority then submission order")
    func launch() {
        let running = Self.held(Self.task(), phase: .running)
        let low = Self.task("low", state: .pending, priority: 0, seq: 2)
        let high = Self.task("high", state: .pending, priority: 5, seq: 3)
        // The queue hands pending tasks in claim order; one slot is left.
        let actions = decide([running], [Self.instance(running, .running)], pending: [high, low])
        #expect(actions.contains(.launch(taskID: high.id, gpu: nil)))
        #expect(!actions.contains(.launch(taskID: low.id, gpu: nil)))
    }

    @Test("no claims while draining")
    func drainingStopsClaims() {
        var draining = policy
        draining.claiming = false
        #expect(decide([], [], pending: [Self.task("p", state: .pending)], policy: draining).isEmpty)
    }

    @Test("a GPU task gets a free GPU; GPUs are never shared; a GPU task waits while tasks needing none go ahead")
    func gpuAllocation() {
        var gpus = policy
        gpus.maxParallelTasks = 4
        gpus.gpus = ["0", "1"]
        let onGPU0 = Self.held(Self.task(gpu: true), phase: .running, gpu: "0")
        let g1 = Self.task("g1", state: .pending, gpu: true, seq: 2)
        let g2 = Self.task("g2", state: .pending, gpu: true, seq: 3)
        let cpu = Self.task("cpu", state: .pending, seq: 4)
        let actions = decide([onGPU0], [Self.instance(onGPU0, .running)], pending: [g1, g2, cpu], policy: gpus)
        #expect(actions.contains(.launch(taskID: g1.id, gpu: "1")))
        #expect(!actions.contains { if case .launch(g2.id, _) = $0 { return true } else { return false } })
        #expect(actions.contains(.launch(taskID: cpu.id, gpu: nil)))
    }

    @Test("an agent without GPUs never claims a GPU task")
    func noGPUs() {
        #expect(decide([], [], pending: [Self.task("g", state: .pending, gpu: true)]).isEmpty)
    }

    @Test("ordering, id unknown, an instance with its label appears: record the id")
    func orderingAdopt() {
        let h = Self.held(Self.task(), phase: .ordering, instanceID: nil, startedAt: nil)
        let actions = decide([h], [Self.instance(h, id: "new", .provisioning)])
        #expect(actions == [.track(taskID: h.task.id, attempt: 1, instanceID: "new", phase: .provisioning, readLogs: false)])
    }

    @Test("ordering, nothing listed within the grace period: wait, never re-send the create")
    func orderingWait() {
        let h = Self.held(Self.task(), phase: .ordering, instanceID: nil, startedAt: nil)
        #expect(decide([h], [], at: 119).isEmpty)
    }

    @Test("ordering, nothing listed past the grace period: the attempt failed (system)")
    func orderingGraceOver() {
        let h = Self.held(Self.task(), phase: .ordering, instanceID: nil, startedAt: nil)
        let actions = decide([h], [], at: 121)
        guard case .finish(h.task.id, 1, nil, .systemError(let reason)) = actions.first else {
            Issue.record("expected a system-error finish, got \(actions)")
            return
        }
        #expect(reason.contains("no instance appeared"))
    }

    @Test("provisioning before its deadline: wait")
    func provisioningWait() {
        let h = Self.held(Self.task(), phase: .provisioning, startedAt: nil)
        #expect(decide([h], [Self.instance(h, .provisioning)], at: 599).isEmpty)
    }

    @Test("provisioning past its deadline: destroy, remember the host, retry elsewhere")
    func provisioningDeadline() {
        let h = Self.held(Self.task(), phase: .provisioning, startedAt: nil)
        let actions = decide([h], [Self.instance(h, .provisioning)], at: 601)
        guard case .finish(_, _, "c1", .hostFailure(let reason)) = actions.first else {
            Issue.record("expected a destroying system-error finish, got \(actions)")
            return
        }
        #expect(reason.contains("provisioning"))
    }

    @Test("a failed start: destroy, exclude the host, retry elsewhere")
    func failedStart() {
        let h = Self.held(Self.task(), phase: .provisioning, startedAt: nil)
        let actions = decide([h], [Self.instance(h, .failedStart(message: "OCI runtime create failed"))])
        guard case .finish(_, _, "c1", .hostFailure(let reason)) = actions.first else {
            Issue.record("expected a system-error finish, got \(actions)")
            return
        }
        #expect(reason.contains("OCI runtime create failed"))
    }

    @Test("running: read new log bytes (and move provisioning to running)", arguments: [AttemptPhase.provisioning, .running])
    func runningReadsLogs(phase: AttemptPhase) {
        let h = Self.held(Self.task(), phase: phase)
        #expect(decide([h], [Self.instance(h, .running)])
            == [.track(taskID: h.task.id, attempt: 1, instanceID: "c1", phase: .running, readLogs: true)])
    }

    @Test("running past the task's timeout: final logs, destroy, error without retry")
    func timeout() {
        let h = Self.held(Self.task(timeout: 60), phase: .running)
        #expect(decide([h], [Self.instance(h, .running)], at: 59).first
            == .track(taskID: h.task.id, attempt: 1, instanceID: "c1", phase: .running, readLogs: true))
        let actions = decide([h], [Self.instance(h, .running)], at: 61)
        guard case .finish(_, _, "c1", .timedOut(let reason)) = actions.first else {
            Issue.record("expected a timed-out finish, got \(actions)")
            return
        }
        #expect(reason == "timed out after 60s")
    }

    @Test("no task runs forever: without its own timeout the default applies")
    func defaultTimeout() {
        let h = Self.held(Self.task(), phase: .running)
        guard case .finish(_, _, _, .timedOut) = decide([h], [Self.instance(h, .running)], at: 3601).first else {
            Issue.record("expected the default timeout to end the task")
            return
        }
    }

    @Test("exited with a code: finish with that code", arguments: [0, 1, 137])
    func exited(code: Int) {
        let h = Self.held(Self.task(), phase: .running)
        #expect(decide([h], [Self.instance(h, .exited(code: code))])
            == [.finish(taskID: h.task.id, attempt: 1, instanceID: "c1", outcome: .exited(code: code))])
    }

    @Test(
        "ended with no exit code (vast exited, or stopped without the agent asking): the log's exit marker decides",
        arguments: [AttemptPhase.provisioning, .running])
    func endedReadsTheMarker(phase: AttemptPhase) {
        let h = Self.held(Self.task(), phase: phase)
        #expect(decide([h], [Self.instance(h, .ended(reason: "the instance stopped without the agent asking"))])
            == [.finish(taskID: h.task.id, attempt: 1, instanceID: "c1",
                        outcome: .exitStatusInLog(reason: "the instance stopped without the agent asking"))])
    }

    @Test("host failures and unresolved exits are retried like system errors")
    func hostFailureRetries() {
        var task = Self.task()
        for outcome in [AttemptOutcome.hostFailure(reason: "slow"), .exitStatusInLog(reason: "exited")] {
            task.attempt = 1
            #expect(WorkflowRules.stateAfter(outcome, task: task).state == .pending)
            task.attempt = 3
            #expect(WorkflowRules.stateAfter(outcome, task: task).state == .error)
        }
    }

    @Test("lost: read what remains, destroy, retry as a system error")
    func lost() {
        let h = Self.held(Self.task(), phase: .running)
        guard case .finish(_, _, "c1", .systemError(let reason)) = decide([h], [Self.instance(h, .lost(reason: "dead"))]).first
        else {
            Issue.record("expected a system-error finish")
            return
        }
        #expect(reason.contains("dead"))
    }

    @Test("absent once: note it; absent on the second tick in a row: retry as a system error")
    func vanished() {
        let first = Self.held(Self.task(), phase: .running)
        #expect(decide([first], []) == [.noteAbsent(taskID: first.task.id, attempt: 1)])
        let second = Self.held(first.task, phase: .running, absentTicks: 1)
        #expect(decide([second], []) == [.finish(taskID: first.task.id, attempt: 1, instanceID: nil, outcome: .systemError(reason: "the instance vanished"))])
    }

    @Test("seen again after one absence: the count is reset")
    func reappeared() {
        let h = Self.held(Self.task(), phase: .running, absentTicks: 1)
        #expect(decide([h], [Self.instance(h, .running)])
            == [.track(taskID: h.task.id, attempt: 1, instanceID: "c1", phase: .running, readLogs: true)])
    }

    @Test("finishing and still there: destroy again with the decided outcome")
    func finishingPresent() {
        let h = Self.held(Self.task(), phase: .finishing, outcome: .exited(code: 3))
        #expect(decide([h], [Self.instance(h, .exited(code: 3))])
            == [.finish(taskID: h.task.id, attempt: 1, instanceID: "c1", outcome: .exited(code: 3))])
    }

    @Test("finishing and gone: record the decided outcome")
    func finishingAbsent() {
        let h = Self.held(Self.task(), phase: .finishing, outcome: .exited(code: 0))
        #expect(decide([h], []) == [.finish(taskID: h.task.id, attempt: 1, instanceID: nil, outcome: .exited(code: 0))])
    }

    @Test("stopping and present: destroy, then stopped")
    func stoppingPresent() {
        let h = Self.held(Self.task(state: .stopping), phase: .running)
        #expect(decide([h], [Self.instance(h, .running)])
            == [.finish(taskID: h.task.id, attempt: 1, instanceID: "c1", outcome: .stopped)])
    }

    @Test("stopping after the outcome was decided: the decided outcome is finished, not replaced")
    func stoppingAfterDecided() {
        let h = Self.held(Self.task(state: .stopping), phase: .finishing, outcome: .exited(code: 0))
        #expect(decide([h], [Self.instance(h, .exited(code: 0))])
            == [.finish(taskID: h.task.id, attempt: 1, instanceID: "c1", outcome: .exited(code: 0))])
    }

    @Test("stopping and absent: stopped")
    func stoppingAbsent() {
        let h = Self.held(Self.task(state: .stopping), phase: .running)
        #expect(decide([h], []) == [.finish(taskID: h.task.id, attempt: 1, instanceID: nil, outcome: .stopped)])
    }

    @Test("after a restart, a running instance with our label is re-adopted, not destroyed")
    func readoption() {
        // The queue still holds the attempt; the listing is the only other input.
        let h = Self.held(Self.task(), phase: .running, instanceID: "c1")
        let actions = decide([h], [Self.instance(h, .running)])
        #expect(!actions.contains { if case .destroyOrphan = $0 { return true } else { return false } })
        #expect(actions == [.track(taskID: h.task.id, attempt: 1, instanceID: "c1", phase: .running, readLogs: true)])
    }

    @Test("an instance with our label and no live attempt is destroyed as an orphan")
    func orphan() {
        let gone = Self.held(Self.task(), phase: .running)  // not held any more
        let stray = Self.instance(gone, id: "stray", .running)
        #expect(decide([], [stray]) == [.destroyOrphan(stray)])
    }

    @Test("an earlier attempt's instance is an orphan even while the task is held")
    func staleAttemptOrphan() {
        var task = Self.task()
        task.attempt = 2
        let h = Self.held(task, phase: .running, instanceID: "c2")
        let old = BackendInstance(
            id: "c1", label: InstanceLabel(agentID: Self.agent, taskID: task.id, attempt: 1), status: .running, stateText: "running")
        let actions = decide([h], [Self.instance(h, id: "c2", .running), old])
        #expect(actions.contains(.destroyOrphan(old)))
    }

    @Test("shared queue: another agent's instance is no orphan while the queue holds its attempt, whatever the label says")
    func othersLiveAttempt() {
        let theirs = Self.held(Self.task(), phase: .running, instanceID: "v9")
        var other = theirs
        other.task.agentID = "agent-b"
        other.attempt.agentID = "agent-b"
        // Labelled by a third agent (the one agent-b took it over from), recorded by id.
        let adopted = BackendInstance(
            id: "v9", label: InstanceLabel(agentID: "agent-c", taskID: theirs.task.id, attempt: 1), status: .running, stateText: "running")
        // Not recorded yet (agent-b is still ordering it): matched by its label's task and attempt.
        let ordering = BackendInstance(
            id: "v10", label: InstanceLabel(agentID: "agent-b", taskID: theirs.task.id, attempt: 1), status: .running, stateText: "running")
        let snapshot = ReconcilerSnapshot(
            held: [], pending: [], listing: [adopted, ordering], heldByOthers: [other], otherAgents: ["agent-b", "agent-c"])
        #expect(Reconciler.decide(snapshot, now: Self.t0, policy: policy) == [])
    }

    @Test("shared queue: an instance of another known agent that no live attempt claims is an orphan")
    func othersOrphan() {
        let ended = Self.held(Self.task(), phase: .running)
        let stray = BackendInstance(
            id: "v7", label: InstanceLabel(agentID: "agent-b", taskID: ended.task.id, attempt: 1), status: .running, stateText: "running")
        let snapshot = ReconcilerSnapshot(held: [], pending: [], listing: [stray], otherAgents: ["agent-b"])
        #expect(Reconciler.decide(snapshot, now: Self.t0, policy: policy) == [.destroyOrphan(stray)])
    }

    @Test("an instance of an agent this queue does not know belongs to another queue and is left alone")
    func unknownAgentLeftAlone() {
        let foreign = BackendInstance(
            id: "v8", label: InstanceLabel(agentID: "elsewhere", taskID: UUID(), attempt: 1), status: .running, stateText: "running")
        let snapshot = ReconcilerSnapshot(held: [], pending: [], listing: [foreign], otherAgents: ["agent-b"])
        #expect(Reconciler.decide(snapshot, now: Self.t0, policy: policy) == [])
    }

    @Test("a task with an action in flight is left alone, and so is its instance")
    func busy() {
        let h = Self.held(Self.task(), phase: .ordering, instanceID: nil, startedAt: nil)
        let actions = decide([h], [Self.instance(h, id: "x", .provisioning)], at: 500, busy: [h.task.id])
        #expect(actions.isEmpty)
    }

    @Test("an ended workflow with resources is cleaned up")
    func cleanUp() {
        let workflow = WorkflowRecord(id: UUID(), name: "w", createdAt: Self.t0, volumes: ["v"])
        let actions = Reconciler.decide(
            ReconcilerSnapshot(held: [], pending: [], listing: [], workflowsToCleanUp: [workflow]),
            now: Self.t0, policy: policy)
        #expect(actions == [.cleanUp(workflowID: workflow.id)])
    }
}

@Suite("Workflow rules")
struct WorkflowRulesTests {
    @Test("a system error is retried while attempts are left, then ends in error with the reason")
    func retryBudget() {
        var task = ReconcilerTests.task()
        task.maxAttempts = 2
        task.attempt = 1
        #expect(WorkflowRules.stateAfter(.systemError(reason: "boom"), task: task).state == .pending)
        task.attempt = 2
        let (state, reason) = WorkflowRules.stateAfter(.systemError(reason: "boom"), task: task)
        #expect(state == .error)
        #expect(reason?.contains("boom") == true)
    }

    @Test("a non-zero exit fails without retry; a timeout errors without retry")
    func noRetry() {
        let task = ReconcilerTests.task()
        #expect(WorkflowRules.stateAfter(.exited(code: 2), task: task).state == .failed)
        #expect(WorkflowRules.stateAfter(.timedOut(reason: "late"), task: task).state == .error)
        #expect(WorkflowRules.stateAfter(.exited(code: 0), task: task).state == .completed)
    }

    @Test("a cycle is reported as a closed path")
    func cycle() {
        let tasks = [
            TaskSpec(slug: "a", image: "i", parents: ["b"]), TaskSpec(slug: "b", image: "i", parents: ["a"]),
            TaskSpec(slug: "c", image: "i"),
        ]
        #expect(throws: WorkflowGraph.Fault.cycle(["b", "a", "b"])) { try WorkflowGraph(tasks) }
    }

    @Test("dependency order puts parents first and keeps file order otherwise")
    func order() throws {
        let tasks = [
            TaskSpec(slug: "export", image: "i", parents: ["htr"]), TaskSpec(slug: "init", image: "i"),
            TaskSpec(slug: "htr", image: "i", parents: ["init"]),
        ]
        #expect(try WorkflowGraph(tasks).order == ["init", "htr", "export"])
    }
}

@Suite("Reconciler claims with launches in flight")
struct ReconcilerLaunchingTests {
    @Test("a launch in flight takes its slot and its GPU even before its claim shows as held")
    func inFlightLaunchesCount() {
        var policy = ReconcilerPolicy(
            maxParallelTasks: 2, defaultTimeout: 3600, provisioningTimeout: 600, orderingGrace: 120, gpus: ["0", "1"])
        policy.claiming = true
        let flying = ReconcilerTests.task("flying", state: .pending, gpu: true)
        let next = ReconcilerTests.task("next", state: .pending, gpu: true, seq: 2)
        let last = ReconcilerTests.task("last", state: .pending, seq: 3)
        let snapshot = ReconcilerSnapshot(
            held: [], pending: [flying, next, last], listing: [], busy: [flying.id],
            launching: [InFlightLaunch(taskID: flying.id, gpu: "0")])
        let actions = Reconciler.decide(snapshot, now: ReconcilerTests.t0, policy: policy)
        #expect(actions == [.launch(taskID: next.id, gpu: "1")])
    }

    @Test("vast mode: every instance brings its GPU, so GPU tasks need no device of the agent's")
    func rentedGPUs() {
        var policy = ReconcilerPolicy(
            maxParallelTasks: 3, defaultTimeout: 3600, provisioningTimeout: 600, orderingGrace: 120, gpus: [])
        policy.instancesHaveGPU = true
        let a = ReconcilerTests.task("a", state: .pending, gpu: true)
        let b = ReconcilerTests.task("b", state: .pending, gpu: true, seq: 2)
        let snapshot = ReconcilerSnapshot(held: [], pending: [a, b], listing: [], busy: [])
        #expect(Reconciler.decide(snapshot, now: ReconcilerTests.t0, policy: policy)
            == [.launch(taskID: a.id, gpu: nil), .launch(taskID: b.id, gpu: nil)])
    }

    @Test("vast mode: no more launches in flight than the backend's cap, free slots or not")
    func launchesInFlightAreCapped() {
        var policy = ReconcilerPolicy(
            maxParallelTasks: 100, defaultTimeout: 3600, provisioningTimeout: 600, orderingGrace: 120, gpus: [])
        policy.instancesHaveGPU = true
        policy.maxLaunchesInFlight = 3
        let pending = (1...10).map { ReconcilerTests.task("p\($0)", state: .pending, seq: Int64($0)) }
        let none = ReconcilerSnapshot(held: [], pending: pending, listing: [], busy: [])
        #expect(Reconciler.decide(none, now: ReconcilerTests.t0, policy: policy) == pending.prefix(3).map { .launch(taskID: $0.id, gpu: nil) })
        // Two in flight: one more; three: none until one ends.
        let two = ReconcilerSnapshot(
            held: [], pending: Array(pending.dropFirst(2)), listing: [], busy: [],
            launching: pending.prefix(2).map { InFlightLaunch(taskID: $0.id, gpu: nil) })
        #expect(Reconciler.decide(two, now: ReconcilerTests.t0, policy: policy) == [.launch(taskID: pending[2].id, gpu: nil)])
        let three = ReconcilerSnapshot(
            held: [], pending: Array(pending.dropFirst(3)), listing: [], busy: [],
            launching: pending.prefix(3).map { InFlightLaunch(taskID: $0.id, gpu: nil) })
        #expect(Reconciler.decide(three, now: ReconcilerTests.t0, policy: policy).isEmpty)
    }

    @Test("a launch already held is not counted twice")
    func heldAndLaunching() {
        let policy = ReconcilerPolicy(
            maxParallelTasks: 2, defaultTimeout: 3600, provisioningTimeout: 600, orderingGrace: 120, gpus: [])
        let held = ReconcilerTests.held(ReconcilerTests.task(), phase: .ordering, instanceID: nil, startedAt: nil)
        let other = ReconcilerTests.task("other", state: .pending, seq: 2)
        let snapshot = ReconcilerSnapshot(
            held: [held], pending: [other], listing: [], busy: [held.task.id],
            launching: [InFlightLaunch(taskID: held.task.id, gpu: nil)])
        #expect(Reconciler.decide(snapshot, now: ReconcilerTests.t0, policy: policy) == [.launch(taskID: other.id, gpu: nil)])
    }
}
