import ErgonCore
import ErgonTestSupport
import Foundation
import Testing

@testable import ErgonDocker

/// The scheduler, the SQLite queue and the real Docker engine together.
@Suite("Agent end to end (docker mode)", .dockerEngine)
struct AgentEndToEndTests {
    let image = DockerTestEngine.image

    @Test("a workflow runs in dependency order, logs are complete, nothing is left behind")
    func workflow() async throws {
        let agent = try AgentHarness()
        agent.start()
        let tasks = try await agent.submit("w", [
            TaskSpec(slug: "a", image: image, command: .shell("echo from a; echo err from a >&2; printf 'last line'")),
            TaskSpec(slug: "b", image: image, command: .exec(["sh", "-c", "echo b sees $PONOS_TASK; ls -a /data/current"]), parents: ["a"]),
            TaskSpec(slug: "c", image: image, command: .shell("echo c"), parents: ["a"]),
            TaskSpec(slug: "d", image: image, command: .shell("echo d $TASK_PARENTS"), parents: ["b", "c"]),
        ])
        let d = try await agent.waitEnded(tasks["d"]!.id)
        #expect(d.state == .completed)
        for slug in ["a", "b", "c"] {
            let task = try await agent.queue.task(tasks[slug]!.id)!
            #expect(task.state == .completed)
            #expect(task.exitCode == 0)
            #expect(task.updatedAt <= d.updatedAt)
        }
        let logA = try await agent.log(tasks["a"]!.id)
        #expect(logA.contains("from a\n"))
        #expect(logA.contains("err from a\n"))
        #expect(logA.hasSuffix("last line"))
        #expect(try await agent.log(tasks["b"]!.id).contains("b sees \(tasks["b"]!.id.uuidString.lowercased())"))
        let logD = try await agent.log(tasks["d"]!.id)
        #expect(logD.contains(tasks["b"]!.id.uuidString.lowercased()) && logD.contains("\"c\""))
        // Every container was removed once its task ended.
        #expect(try await agent.backend.list().isEmpty)
        try await agent.stop()
    }

    @Test("exits are noticed from the engine's events: a chain runs far faster than its poll interval")
    func exitsWakeTheLoop() async throws {
        // A poll interval far longer than the chain could take even on a loaded machine: the
        // bound below proves the wake-ups, not the machine's speed.
        let poll = Duration.seconds(600)
        let agent = try AgentHarness(poll: poll)
        agent.start()
        let started = ContinuousClock.now
        let tasks = try await agent.submit("w", [
            TaskSpec(slug: "one", image: image, command: .shell("echo 1")),
            TaskSpec(slug: "two", image: image, command: .shell("echo 2"), parents: ["one"]),
            TaskSpec(slug: "three", image: image, command: .shell("echo 3"), parents: ["two"]),
        ])
        let last = try await agent.waitEnded(tasks["three"]!.id, timeout: poll / 4)
        #expect(last.state == .completed)
        // Three exits and three releases, each of which would cost a whole poll without wake-ups.
        #expect(ContinuousClock.now - started < poll / 4)
        try await agent.stop()
    }

    @Test("workflow volumes are shared between tasks and removed when the workflow ends")
    func workflowVolumes() async throws {
        let agent = try AgentHarness()
        agent.start()
        let mount = [VolumeMount(name: "scratch", dest: "/scratch")]
        let tasks = try await agent.submit("nosana-like", [
            TaskSpec(slug: "write", image: image, command: .shell("echo shared > /scratch/file"), volumes: mount),
            TaskSpec(slug: "read", image: image, command: .shell("cat /scratch/file"), parents: ["write"], volumes: mount),
        ], volumes: ["scratch"])
        let read = try await agent.waitEnded(tasks["read"]!.id)
        #expect(read.state == .completed)
        #expect(try await agent.log(read.id) == "shared\n")
        let name = DockerBackend.volumeName(workflowID: read.workflowID, name: "scratch")
        let deadline = ContinuousClock.now + .seconds(30)
        var present = true
        while present, ContinuousClock.now < deadline {
            present = DockerTestEngine.get("/volumes/\(name)", socketPath: DockerTestEngine.socketPath)?.status == 200
            if present { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(!present, "volume \(name) should be removed once the workflow ended")
        // The queue records the clean-up just after the engine removed the volume.
        var pending = try await agent.queue.workflowsToCleanUp()
        while !pending.isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            pending = try await agent.queue.workflowsToCleanUp()
        }
        #expect(pending.isEmpty)
        try await agent.stop()
    }

    @Test("a non-zero exit fails the task with its code and cancels its descendants")
    func failure() async throws {
        let agent = try AgentHarness()
        agent.start()
        let tasks = try await agent.submit("w", [
            TaskSpec(slug: "bad", image: image, command: .shell("echo about to fail; exit 3")),
            TaskSpec(slug: "child", image: image, command: .shell("echo never"), parents: ["bad"]),
            TaskSpec(slug: "grandchild", image: image, command: .shell("echo never"), parents: ["child"]),
        ])
        let bad = try await agent.waitEnded(tasks["bad"]!.id)
        #expect(bad.state == .failed)
        #expect(bad.exitCode == 3)
        #expect(bad.attempt == 1)  // a task's own failure is never retried
        #expect(try await agent.queue.task(tasks["child"]!.id)?.state == .cancelled)
        #expect(try await agent.queue.task(tasks["grandchild"]!.id)?.state == .cancelled)
        #expect(try await agent.log(bad.id).contains("about to fail"))
        try await agent.stop()
    }

    @Test("a task past its timeout is destroyed and ends in error, not retried")
    func timeout() async throws {
        let agent = try AgentHarness(poll: .milliseconds(300))
        agent.start()
        let tasks = try await agent.submit("w", [
            TaskSpec(slug: "slow", image: image, command: .shell("echo started; sleep 60"), timeoutSeconds: 1.5)
        ])
        // Generous: under a loaded engine, stopping the container can take a while.
        let slow = try await agent.waitEnded(tasks["slow"]!.id, timeout: .seconds(60))
        #expect(slow.state == .error)
        #expect(slow.reason?.contains("timed out after") == true)
        #expect(slow.attempt == 1)
        let log = try await agent.log(slow.id)
        #expect(log.contains("started\n"))
        #expect(log.contains("[ergon] attempt 1: timed out after"))
        #expect(try await agent.backend.list().isEmpty)
        try await agent.stop()
    }

    @Test("cancelling a running task destroys its container and stops it")
    func cancel() async throws {
        let agent = try AgentHarness()
        agent.start()
        let tasks = try await agent.submit("w", [
            TaskSpec(slug: "long", image: image, command: .shell("echo running; sleep 60")),
            TaskSpec(slug: "after", image: image, command: .shell("echo never"), parents: ["long"]),
        ])
        let id = tasks["long"]!.id
        try await agent.waitFor(id) { $0.state == .running }
        try await Self.waitForInstance(agent, id)
        let cancelled = try await agent.queue.cancel(taskID: id, at: Date())
        #expect(cancelled.state == .stopping)
        WakeupFile(path: agent.config.wakeupFile).touch()
        let ended = try await agent.waitEnded(id, timeout: .seconds(30))
        #expect(ended.state == .stopped)
        #expect(try await agent.queue.task(tasks["after"]!.id)?.state == .cancelled)
        #expect(try await agent.backend.list().isEmpty)
        try await agent.stop()
    }

    @Test("after a restart the agent re-adopts a running container and finishes it")
    func readoption() async throws {
        let first = try AgentHarness()
        first.start()
        let tasks = try await first.submit("w", [
            TaskSpec(slug: "survivor", image: image, command: .shell("echo before; sleep 3; echo after"))
        ])
        let id = tasks["survivor"]!.id
        let containerID = try await Self.waitForInstance(first, id)
        try await first.drain()
        // Draining leaves the container running and the task held.
        #expect(try await first.backend.list().map(\.id) == [containerID])
        #expect(try await first.queue.task(id)?.state == .running)

        let second = try AgentHarness(agentID: first.config.agentID, dataDir: first.config.dataDir)
        second.start()
        let ended = try await second.waitEnded(id)
        #expect(ended.state == .completed)
        #expect(ended.attempt == 1)
        let log = try await second.log(id)
        #expect(log == "before\nafter\n")
        #expect(try await second.backend.list().isEmpty)
        try await second.stop()
        try await first.client.shutdown()
    }

    @Test("a labelled container that no live task claims is removed as an orphan")
    func orphan() async throws {
        let agent = try AgentHarness()
        // A container of this agent for a task the queue never heard of.
        let stray = TaskRecord(
            id: UUID(), workflowID: UUID(), seq: 1, spec: TaskSpec(slug: "ghost", image: image, command: .shell("sleep 60")),
            parentIDs: [], state: .running, attempt: 1, maxAttempts: 1, createdAt: Date(), updatedAt: Date())
        let request = LaunchRequest(
            task: stray, attempt: 1, label: InstanceLabel(agentID: agent.config.agentID, taskID: stray.id, attempt: 1),
            gpu: nil, environment: [:], dataDirectory: try AgentHarness.temporaryDirectory(),
            workflow: WorkflowRecord(id: stray.workflowID, name: "ghost", createdAt: Date()))
        _ = try await agent.backend.launch(request) { _ in }
        #expect(try await agent.backend.list().count == 1)
        agent.start()
        let deadline = ContinuousClock.now + .seconds(30)
        while try await !agent.backend.list().isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(try await agent.backend.list().isEmpty)
        try await agent.stop()
    }

    @Test("an image that cannot be had ends the task in error with the engine's message, without retries")
    func missingImage() async throws {
        let agent = try AgentHarness()
        agent.start()
        let tasks = try await agent.submit("w", [
            TaskSpec(slug: "ghost", image: "ergon-test/does-not-exist:404", command: .shell("true"))
        ])
        let ended = try await agent.waitEnded(tasks["ghost"]!.id, timeout: .seconds(120))
        #expect(ended.state == .error)
        #expect(ended.attempt == 1)
        #expect(ended.reason?.contains("ergon-test/does-not-exist:404") == true)
        try await agent.stop()
    }

    @Test("a task with resources ends in error with the reason instead of running without its files")
    func resourcesRefused() async throws {
        let agent = try AgentHarness()
        agent.start()
        let tasks = try await agent.submit("w", [
            TaskSpec(slug: "needs-model", image: image, command: .shell("true"),
                     resources: [TaskResource(type: "HTTP", url: "http://127.0.0.1:9/model.bin", target: "/models/m")])
        ])
        let ended = try await agent.waitEnded(tasks["needs-model"]!.id)
        #expect(ended.state == .error)
        #expect(ended.attempt == 1)
        #expect(ended.reason?.contains("resources") == true)
        #expect(try await agent.backend.list().isEmpty)
        try await agent.stop()
    }

    @Test("a container that cannot start is a system error: retried up to max_attempts, then error")
    func startFailureRetried() async throws {
        let agent = try AgentHarness()
        agent.start()
        let tasks = try await agent.submit("w", [
            TaskSpec(slug: "broken", image: image, command: .exec(["/no/such/program"]), maxAttempts: 2)
        ])
        let ended = try await agent.waitEnded(tasks["broken"]!.id)
        #expect(ended.state == .error)
        #expect(ended.attempt == 2)
        #expect(ended.reason?.contains("/no/such/program") == true)
        #expect(try await agent.queue.attempts(of: ended.id).count == 2)
        #expect(try await agent.backend.list().isEmpty)
        try await agent.stop()
    }

    @Test("the scheduler claims no more than max_parallel_tasks at once")
    func parallelLimit() async throws {
        let agent = try AgentHarness { $0.scheduler.maxParallelTasks = 2 }
        agent.start()
        let tasks = try await agent.submit("w", (1...5).map {
            TaskSpec(slug: "t\($0)", image: image, command: .shell("sleep 1"))
        })
        var most = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let running = try await agent.queue.tasks(TaskFilter(states: [.running])).count
            most = max(most, running)
            let ended = try await agent.queue.tasks(.all).allSatisfy { $0.state.isTerminal }
            if ended { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(most <= 2)
        for task in tasks.values { #expect(try await agent.queue.task(task.id)?.state == .completed) }
        try await agent.stop()
    }

    /// Waits until the task's attempt has a container, and returns its id.
    @discardableResult
    static func waitForInstance(_ agent: AgentHarness, _ id: UUID) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let attempt = try await agent.queue.attempts(of: id).last, attempt.phase == .running,
                let instance = attempt.instanceID
            {
                return instance
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("no container started for the task in time")
        throw CancellationError()
    }
}
