import ErgonCore
import ErgonTestSupport
import Foundation
import Testing
import VastSimulator

@testable import ErgonVast

/// The VastBackend under the scheduler, against the simulator, one SCHEDULER.md situation each.
@Suite("Vast backend scenarios", .serialized)
struct VastBackendScenarioTests {
    /// Runs `body` with a started agent; always stops it.
    func withAgent(
        _ options: SimulatorOptions = .forTesting(), configure: (inout ErgonConfig) -> Void = { _ in },
        _ body: (VastAgentFixture) async throws -> Void
    ) async throws {
        try await withVastSimulator(options) { sim in
            let agent = try VastAgentFixture(sim: sim, configure: configure)
            agent.start()
            do {
                try await body(agent)
            } catch {
                try? await agent.stop()
                throw error
            }
            try await agent.stop()
        }
    }

    static func rule(_ kind: FaultKind, _ endpoints: Set<SimulatorEndpoint> = [], rate: Double = 1, times: Int? = nil,
                     retryAfter: Double? = 1, afterSeconds: Double? = nil) -> FaultRule {
        FaultRule(endpoints: endpoints, kind: kind, rate: rate, times: times, retryAfter: retryAfter, afterSeconds: afterSeconds)
    }

    @Test("happy path: a parent and a child complete, exit codes come from the marker, nothing is left")
    func happyPath() async throws {
        try await withAgent { agent in
            let tasks = try await agent.submit([
                VastAgentFixture.task("parent"), VastAgentFixture.task("child", parents: ["parent"], exit: 3),
            ])
            let child = try await agent.waitEnded(tasks["child"]!.id)
            #expect(child.state == .failed)
            #expect(child.exitCode == 3)
            let parent = try await agent.queue.task(tasks["parent"]!.id)!
            #expect(parent.state == .completed)
            #expect(parent.exitCode == 0)
            let log = try await agent.log(parent.id)
            #expect(log.contains("[sim] instance"))
            #expect(log.contains(ExitMarker.tag))
            // The child was told to bootstrap itself from its parent.
            let ordered = await agent.instances(of: child.id)
            #expect(ordered.count == 1)
            let env = Dictionary(
                (ordered.first?["extra_env"]?.arrayValue ?? []).compactMap { pair -> (String, String)? in
                    guard let items = pair.arrayValue, items.count == 2, let key = items[0].stringValue,
                        let value = items[1].stringValue
                    else { return nil }
                    return (key, value)
                }, uniquingKeysWith: { first, _ in first })
            #expect(env["TASK_BOOTSTRAP"] == "true")
            #expect(env["TASK_PARENTS"] == "{\"\(parent.id.uuidString.lowercased())\":\"parent\"}")
            #expect(env["PONOS_TASK"] == child.id.uuidString.lowercased())
            #expect(env["PONOS_DATA"] == "/data")
            #expect(env.keys.allSatisfy { !$0.contains("API_KEY") })
            #expect(ordered.first?["label"]?.stringValue == "ergon:\(agent.config.agentID):\(child.id.uuidString.lowercased()):1")
            #expect(ordered.first?["onstart"]?.stringValue == "/bin/sh")
            let stats = await agent.sim.stats()
            #expect(stats.liveInstances == 0)
            #expect(stats.createdInstances == 2)
        }
    }

    @Test("a running instance's log is read once per flush interval, not every tick, and arrives whole")
    func logReadsArePaced() async throws {
        // Ticks every 100 ms; the scheduler's clock is the simulator's (five times real time),
        // so a flush interval of 10 s is 2 s here. The command prints a line every simulated
        // second for 60 simulated seconds (about 12 s here).
        try await withAgent(configure: { $0.logFlushInterval = .seconds(10) }) { agent in
            let tasks = try await agent.submit([VastAgentFixture.task("chatty", run: 60, extra: ["SIM_LINE_INTERVAL": "1"])])
            let started = ContinuousClock.now
            let task = try await agent.waitEnded(tasks["chatty"]!.id)
            let elapsed = ContinuousClock.now - started
            #expect(task.state == .completed)
            let reads = await agent.sim.stats().requests(.logs)
            // A read every tick would be over a hundred; once per interval is one per 1.98 s
            // here, plus the final reads (at most 8).
            #expect(reads <= Int(elapsed / .milliseconds(1980)) + 9, "\(reads) log reads in \(elapsed)")
            let log = try await agent.log(task.id)
            let numbered = log.split(separator: "\n").filter { $0.contains("[sim] instance") && $0.contains(" line ") }
            #expect(numbered.count >= 59, "\(numbered.count) numbered lines")
            #expect(!log.contains("lines of this log were lost"))
        }
    }

    @Test("reads spaced out by the read rate lose no line: a read that outgrew the tail is read again, longer")
    func spacedReadsLoseNothing() async throws {
        // One read every 40 simulated seconds (8 s here); the command prints 50 lines a simulated
        // second for 60 seconds: 2,000 lines between two reads, twice the usual tail.
        try await withAgent(configure: {
            $0.vast.logReadsPerSecond = 0.025
            $0.logFlushInterval = .seconds(10)
        }) { agent in
            let tasks = try await agent.submit([VastAgentFixture.task("fast", run: 60, extra: ["SIM_LINE_INTERVAL": "0.02"])])
            let task = try await agent.waitEnded(tasks["fast"]!.id)
            #expect(task.state == .completed)
            let log = try await agent.log(task.id)
            let numbered = log.split(separator: "\n").filter { $0.contains("[sim] instance") && $0.contains(" line ") }
            #expect(numbered.count == 3000, "\(numbered.count) numbered lines")
            #expect(Set(numbered).count == numbered.count, "a line was stored twice")
            #expect(!log.contains("lines of this log were lost"))
        }
    }

    @Test("a worker that stops its own instance: the marker decides, the stopped instance is destroyed")
    func selfStop() async throws {
        try await withAgent { agent in
            let tasks = try await agent.submit([VastAgentFixture.task("w", selfStop: true)])
            let task = try await agent.waitEnded(tasks["w"]!.id)
            #expect(task.state == .completed)
            #expect(await agent.sim.stats().liveInstances == 0)
        }
    }

    @Test("an offer taken between search and order: the next offer is ordered")
    func offerTaken() async throws {
        var options = SimulatorOptions.forTesting()
        options.faults = FaultPlan(rules: [Self.rule(.offerTaken, [.create], times: 1)])
        try await withAgent(options) { agent in
            let tasks = try await agent.submit([VastAgentFixture.task("t")])
            #expect(try await agent.waitEnded(tasks["t"]!.id).state == .completed)
            let stats = await agent.sim.stats()
            #expect(stats.requests(.create) == 2)
            #expect(stats.createdInstances == 1)
            #expect(try await agent.queue.attempts(of: tasks["t"]!.id).count == 1)
        }
    }

    @Test("tasks show explains the rental: the offer taken made the ordered one rank 2 by price, scored by its price")
    func rentalExplained() async throws {
        var options = SimulatorOptions.forTesting()
        options.faults = FaultPlan(rules: [Self.rule(.offerTaken, [.create], times: 1)])
        try await withAgent(options, configure: { $0.vast.ranking = .price }) { agent in
            let id = try await agent.submit([VastAgentFixture.task("t")])["t"]!.id
            #expect(try await agent.waitEnded(id).state == .completed)
            let attempt = try #require(try await agent.queue.attempts(of: id).first)
            let shown = AttemptJSON(attempt, log: "-", at: agent.sim.clock.now())
            let rental = try #require(shown.rental)
            let instance = try #require(await agent.instances(of: id).first)
            #expect(rental.offerID == instance["bundle_id"]?.intValue.map(String.init))
            #expect(rental.machineID == instance["machine_id"]?.intValue.map(String.init))
            #expect(rental.gpuName == instance["gpu_name"]?.stringValue)
            #expect(rental.rank == 2)
            #expect(rental.matched >= 2)
            #expect(rental.ranking == "price")
            #expect(rental.score == shown.pricePerHour)
            #expect(rental.reason == "offer 1 was taken")
            #expect((shown.provisioningSeconds ?? 0) > 0)
            #expect(shown.endReason == "exited with code 0")
        }
    }

    @Test("stuck loading past the deadline: destroyed, the machine avoided, retried on another one")
    func stuckLoading() async throws {
        var options = SimulatorOptions.forTesting()
        options.faults = FaultPlan(rules: [Self.rule(.stuckLoading, times: 1)])
        try await withAgent(options, configure: { $0.vast.provisioningTimeout = .seconds(40) }) { agent in
            let tasks = try await agent.submit([VastAgentFixture.task("t")])
            let task = try await agent.waitEnded(tasks["t"]!.id)
            #expect(task.state == .completed)
            let attempts = try await agent.queue.attempts(of: task.id)
            #expect(attempts.count == 2)
            guard case .hostFailure(let reason)? = attempts.first?.outcome else {
                Issue.record("expected a host failure first, got \(String(describing: attempts.first?.outcome))")
                return
            }
            #expect(reason.contains("provisioning"))
            let machines = await agent.instances(of: task.id).compactMap { $0["machine_id"]?.intValue }
            #expect(machines.count == 2)
            #expect(Set(machines).count == 2, "the retry went to the same machine")
            #expect(await agent.sim.stats().liveInstances == 0)
        }
    }

    @Test("OCI runtime create failed: destroyed and retried elsewhere")
    func ociFailure() async throws {
        var options = SimulatorOptions.forTesting()
        options.faults = FaultPlan(rules: [Self.rule(.ociFailure, times: 1)])
        try await withAgent(options) { agent in
            let tasks = try await agent.submit([VastAgentFixture.task("t")])
            let task = try await agent.waitEnded(tasks["t"]!.id)
            #expect(task.state == .completed)
            let attempts = try await agent.queue.attempts(of: task.id)
            #expect(attempts.count == 2)
            #expect(attempts.first?.outcome?.summary.contains("OCI runtime create failed") == true)
        }
    }

    @Test("a host whose GPU fails the acceptance check is destroyed, marked and replaced without using an attempt")
    func failedAcceptanceCheck() async throws {
        var options = SimulatorOptions.forTesting()
        options.faults = FaultPlan(rules: [Self.rule(.gpuCheckFailure, times: 1)])
        try await withAgent(options, configure: { $0.vast.acceptanceCheck = AcceptanceCheck(command: "nvidia-smi") }) { agent in
            let tasks = try await agent.submit([VastAgentFixture.task("t")])
            let task = try await agent.waitEnded(tasks["t"]!.id)
            #expect(task.state == .completed)
            let attempts = try await agent.queue.attempts(of: task.id)
            #expect(attempts.count == 2)
            guard case .rejectedHost(let reason)? = attempts.first?.outcome else {
                Issue.record("expected the first host rejected, got \(String(describing: attempts.first?.outcome))")
                return
            }
            #expect(reason == "the acceptance check `nvidia-smi` failed with status 1")
            // The rejection did not use one of the task's attempts.
            #expect(task.attempt - task.attemptBase == 1)
            // Its machine is recorded and kept away; the task ran on another one.
            let rejected = try #require(attempts.first?.rental?.machineID)
            #expect(attempts.last?.rental?.machineID != rejected)
            #expect(await agent.backend.hosts.events(of: rejected).map(\.kind).filter(\.isFailure) == [.failedCheck])
            #expect(await agent.backend.hosts.current()[rejected] != nil)
            // The first attempt's log shows the check's failure; the second passed it, then ran.
            let first = try await agent.log(task.id, attempt: 1)
            #expect(first.contains("couldn't communicate with the NVIDIA driver"))
            #expect(first.contains("[ergon] attempt 1: host rejected: the acceptance check"))
            let second = try await agent.log(task.id, attempt: 2)
            #expect(second.contains(AcceptanceMarker.tag) && second.contains("passed"))
            #expect(second.contains(ExitMarker.tag))
            // Both instances ran the check: the wrapper carried it.
            let ordered = await agent.instances(of: task.id)
            #expect(ordered.count == 2)
            #expect(await agent.sim.stats().liveInstances == 0)
        }
    }

    @Test("with vast_api.ranking: effective_cost the rental records that ranking and the offer's expected dollars")
    func effectiveCostRanking() async throws {
        try await withAgent(configure: { $0.vast.ranking = .effectiveCost }) { agent in
            var spec = VastAgentFixture.task("t")
            spec.vast = VastTaskOptions(expectedRuntimeSeconds: 7200, imageSizeHint: 2_000_000_000)
            let tasks = try await agent.submit([spec])
            let task = try await agent.waitEnded(tasks["t"]!.id)
            #expect(task.state == .completed)
            let attempt = try #require(try await agent.queue.attempts(of: task.id).first)
            let rental = try #require(attempt.rental)
            #expect(rental.ranking == "effective_cost")
            #expect(rental.rank == 1)
            // Two hours of run and some provisioning at the offer's price, and a chance of failure.
            let price = try #require(attempt.pricePerHour)
            #expect(rental.score > price * 2 && rental.score < price * 4)
        }
    }

    @Test("without expected_runtime, effective_cost expects a task to run as long as past runs of its slug and image did")
    func pastRunsSetTheRunTime() async throws {
        try await withAgent(configure: { $0.vast.ranking = .effectiveCost }) { agent in
            let spec = VastAgentFixture.task("ocr", run: 2)
            let first = try #require(try await agent.submit([spec])["ocr"])
            #expect(try await agent.waitEnded(first.id).state == .completed)
            let second = try #require(try await agent.submit([spec])["ocr"])
            #expect(try await agent.waitEnded(second.id).state == .completed)
            #expect(try await agent.queue.pastRunTimes(slug: "ocr", image: spec.image, limit: 20).count == 2)
            let before = try #require(try await agent.queue.attempts(of: first.id).first?.rental)
            let after = try #require(try await agent.queue.attempts(of: second.id).first?.rental)
            // The first launch knew only the 24 h default timeout; the second, a run of seconds.
            #expect(after.score < before.score / 10, "\(before.score) then \(after.score)")
        }
    }

    @Test("hosts rejected in a row past max_rejections count as attempts; a check not found (127) rejects the host like any failure")
    func acceptanceCheckLimits() async throws {
        var options = SimulatorOptions.forTesting()
        options.faults = FaultPlan(rules: [Self.rule(.gpuCheckFailure)])
        let check = AcceptanceCheck(command: "nvidia-smi", maxRejections: 1)
        try await withAgent(options, configure: { $0.vast.acceptanceCheck = check }) { agent in
            var spec = VastAgentFixture.task("t")
            spec.maxAttempts = 2
            let tasks = try await agent.submit([spec])
            let task = try await agent.waitEnded(tasks["t"]!.id)
            #expect(task.state == .error)
            let outcomes = try await agent.queue.attempts(of: task.id).map(\.outcome)
            // One rejection, then one counted failure, twice: the task's two attempts are used up.
            #expect(outcomes.map { $0?.isUncounted } == [true, false, true, false])
            guard case .hostFailure(let reason)? = outcomes.last else {
                Issue.record("expected a counted host failure last, got \(String(describing: outcomes.last))")
                return
            }
            #expect(reason.contains("on 2 hosts in a row: counted as an attempt"))
            #expect(await agent.sim.stats().liveInstances == 0)
        }
        // On Vast the NVIDIA runtime mounts nvidia-smi from the host's driver: a host without
        // it is a bad host, not a bad task.
        var missing = SimulatorOptions.forTesting()
        var rule = Self.rule(.gpuCheckFailure, times: 1)
        rule.status = 127
        missing.faults = FaultPlan(rules: [rule])
        try await withAgent(missing, configure: { $0.vast.acceptanceCheck = check }) { agent in
            let tasks = try await agent.submit([VastAgentFixture.task("t")])
            let task = try await agent.waitEnded(tasks["t"]!.id)
            #expect(task.state == .completed)
            let attempts = try await agent.queue.attempts(of: task.id)
            #expect(attempts.map(\.outcome?.isUncounted) == [true, false])
            #expect(attempts.first?.outcome == .rejectedHost(reason: "the acceptance check `nvidia-smi` failed with status 127 (command not found)"))
        }
    }

    @Test(
        "the host goes offline, or the instance is interrupted (stopped, no exit marker): what was read is kept, the task is retried",
        arguments: [(FaultKind.hostOffline, "offline"), (.interrupted, "no exit status")])
    func lostMidRun(kind: FaultKind, reason: String) async throws {
        var options = SimulatorOptions.forTesting()
        options.faults = FaultPlan(rules: [Self.rule(kind, times: 1, afterSeconds: 4)])
        try await withAgent(options) { agent in
            let tasks = try await agent.submit([VastAgentFixture.task("t", run: 10)])
            let task = try await agent.waitEnded(tasks["t"]!.id)
            #expect(task.state == .completed)
            let attempts = try await agent.queue.attempts(of: task.id)
            #expect(attempts.count == 2)
            guard case .systemError(let recorded)? = attempts.first?.outcome else {
                Issue.record("expected a system error first, got \(String(describing: attempts.first?.outcome))")
                return
            }
            #expect(recorded.contains(reason))
            // The first attempt's log keeps what was read, and says why it ended.
            #expect(try await agent.log(task.id, attempt: 1).contains("[ergon] attempt 1:"))
            #expect(await agent.sim.stats().liveInstances == 0)
        }
    }

    @Test("429 storms and 5xx on every endpoint: every task ends once, one instance each")
    func rateLimitStorm() async throws {
        var options = SimulatorOptions.forTesting()
        options.faults = FaultPlan(rules: [
            Self.rule(.rateLimit, [.search, .list, .show, .logs, .destroy], rate: 0.3, retryAfter: 0.01),
            Self.rule(.serverError, [.list, .logs, .logResult], rate: 0.1),
        ], seed: 7)
        try await withAgent(options) { agent in
            let tasks = try await agent.submit((1...6).map { VastAgentFixture.task("t\($0)") })
            for task in tasks.values {
                #expect(try await agent.waitEnded(task.id, timeout: .seconds(120)).state == .completed)
            }
            let stats = await agent.sim.stats()
            #expect(stats.liveInstances == 0)
            #expect(stats.createsPerLabel.values.allSatisfy { $0 == 1 })
            #expect(stats.faultsInjected.values.reduce(0, +) > 0)
        }
    }

    @Test("a cancel destroys the instance, then the task is stopped")
    func cancel() async throws {
        try await withAgent { agent in
            let tasks = try await agent.submit([VastAgentFixture.task("long", run: 100_000)])
            let id = tasks["long"]!.id
            _ = try await agent.waitFor(id) { _ in true }
            try await waitUntil { try await agent.queue.attempts(of: id).first?.phase == .running }
            _ = try await agent.queue.cancel(taskID: id, at: agent.sim.clock.now())
            #expect(try await agent.waitEnded(id).state == .stopped)
            #expect(await agent.sim.stats().liveInstances == 0)
        }
    }

    @Test("a failed listing changes nothing: the running task is neither lost nor retried")
    func failedListing() async throws {
        try await withAgent { agent in
            let tasks = try await agent.submit([VastAgentFixture.task("t", run: 20)])
            let id = tasks["t"]!.id
            try await waitUntil { try await agent.queue.attempts(of: id).first?.phase == .running }
            await agent.sim.vast.setFaults(FaultPlan(rules: [Self.rule(.serverError, [.list])]))
            try await Task.sleep(for: .seconds(6))  // 30 simulated seconds: the command ended meanwhile
            #expect(try await agent.queue.task(id)?.state == .running)
            #expect(try await agent.queue.attempts(of: id).count == 1)
            #expect(await agent.sim.stats().requests(.destroy) == 0)
            await agent.sim.vast.setFaults(.none)
            #expect(try await agent.waitEnded(id).state == .completed)
            #expect(try await agent.queue.attempts(of: id).count == 1)
        }
    }

    @Test("killed between create and record: the restarted agent adopts the instance by its label, no duplicate")
    func killedBetweenCreateAndRecord() async throws {
        try await withVastSimulator(.forTesting()) { sim in
            let queue = MemoryTaskQueue()
            let agent = try VastAgentFixture(sim: sim, queue: queue)
            let tasks = try await agent.submit([VastAgentFixture.task("t")])
            let task = tasks["t"]!
            // The first life: claim and order, then die before the id reaches the queue.
            let held = try #require(try await queue.claim(taskID: task.id, agentID: agent.config.agentID, gpu: nil, at: sim.clock.now()))
            struct Killed: Error {}
            let request = LaunchRequest(
                task: held.task, attempt: held.attempt.number,
                label: InstanceLabel(agentID: agent.config.agentID, taskID: task.id, attempt: held.attempt.number), gpu: nil,
                environment: agent.backend.environment(task: held.task, attempt: 1, parents: [], access: nil), dataDirectory: "/nonexistent",
                workflow: try #require(try await queue.workflow(task.workflowID)))
            await #expect(throws: Killed.self) { _ = try await agent.backend.launch(request) { _ in throw Killed() } }
            #expect(try await queue.attempts(of: task.id).first?.instanceID == nil)
            // The second life.
            agent.start()
            #expect(try await agent.waitEnded(task.id).state == .completed)
            let stats = await sim.stats()
            #expect(stats.createdInstances == 1)
            #expect(stats.liveInstances == 0)
            #expect(try await queue.attempts(of: task.id).count == 1)
            try await agent.stop()
        }
    }

    @Test("an instance with our label and no live attempt is destroyed at start (the orphan reaper)")
    func orphanAtStart() async throws {
        try await withVastSimulator(.forTesting()) { sim in
            let agent = try VastAgentFixture(sim: sim)
            let offer = try #require(try await agent.client.searchOffers(body: ["limit": 1, "num_gpus": ["eq": 1], "rentable": ["eq": true]]).first)
            let label = InstanceLabel(agentID: agent.config.agentID, taskID: UUID(), attempt: 1).vastLabel
            let created = try await agent.client.createInstance(
                offerID: offer.id,
                request: VastCreateRequest(image: "img", env: ["SIM_RUN_SECONDS": "100000"], disk: 10, label: label, args: []))
            let foreign = try await agent.client.createInstance(
                offerID: try #require(try await agent.client.searchOffers(body: ["limit": 1, "num_gpus": ["eq": 1]]).first).id,
                request: VastCreateRequest(image: "img", env: [:], disk: 10, label: "someone-else", args: []))
            agent.start()
            try await waitUntil { try await agent.client.instance(id: created.id) == nil }
            #expect(try await agent.client.instance(id: foreign.id) != nil, "an instance of someone else was touched")
            try await agent.stop()
        }
    }
}

/// Polls `condition` every 50 ms for up to 60 s.
func waitUntil(_ timeout: Duration = .seconds(60), sourceLocation: SourceLocation = #_sourceLocation,
               _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("condition not met in time", sourceLocation: sourceLocation)
    throw CancellationError()
}
