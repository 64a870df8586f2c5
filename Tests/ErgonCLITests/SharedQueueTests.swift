import ErgonCore
import ErgonPostgres
import ErgonTestSupport
import ErgonVast
import Foundation
import Testing

/// Several `ergon agent` processes on one PostgreSQL queue and one (simulated) Vast account.
@Suite("Agents sharing a PostgreSQL queue", .serialized, .postgresServer)
struct SharedQueueTests {
    /// The config of one vast agent of the fleet.
    static func agentConfig(
        _ id: String, in dir: String, queue: PostgresLocation, simulator: String, poll: String = "1s", parallel: Int = 20
    ) throws -> String {
        let path = "\(dir)/\(id).yaml"
        try CLITests.write("""
            agent:
              id: \(id)
            mode: vast
            data_dir: \(dir)/\(id)
            queue:
              url: \(Self.url(queue))
              lease: 6s
              heartbeat_every: 1s
            scheduler:
              poll_interval: \(poll)
              max_parallel_tasks: \(parallel)
            logs:
              flush_interval: 2s
            vast_api:
              url: \(simulator)
              api_key: sim-key
              # Three agents order from one market at once: when the cheapest offers are
              # taken, walk further down the list.
              max_offers_tried: 40
            server:
              listen: 127.0.0.1:0
            """, to: path)
        return path
    }

    /// The queue's URL with its password, for a test's own config file.
    static func url(_ location: PostgresLocation) -> String {
        guard let password = location.password else { return location.description }
        let encoded = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? password
        return location.description.replacingOccurrences(of: "postgres://\(location.user)@", with: "postgres://\(location.user):\(encoded)@")
    }

    /// A workflow of `count` independent tasks that print their slug.
    static func workflow(_ name: String, count: Int, in dir: String) throws -> String {
        let path = "\(dir)/\(name).yaml"
        var text = "name: \(name)\ntasks:\n"
        for index in 0..<count {
            text += "  - slug: t\(index)\n    image: ergon-test/busybox:1\n    entrypoint: []\n    command: \"echo task \(index)\"\n"
        }
        try CLITests.write(text, to: path)
        return path
    }

    /// Creates per task id, read from the simulator's labels (`ergon:<agent>:<task>:<attempt>`).
    static func createsPerTask(_ stats: JSONValue) -> [String: Int] {
        var creates: [String: Int] = [:]
        for (label, count) in stats["creates_per_label"]?.objectValue ?? [:] {
            guard let owner = InstanceLabel(vastLabel: label) else { continue }
            creates[owner.taskID.uuidString.lowercased(), default: 0] += count.intValue ?? 0
        }
        return creates
    }

    /// Waits until every task of the queue has ended, or fails after `timeout`.
    static func waitForAll(_ queue: any TaskQueue, count: Int, timeout: Duration) async throws -> [TaskRecord] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let tasks = try await queue.tasks(.all)
            if tasks.count == count, tasks.allSatisfy(\.state.isTerminal) { return tasks }
            guard ContinuousClock.now < deadline else {
                let states = Dictionary(grouping: tasks, by: \.state).mapValues(\.count)
                throw CLIFailure("not every task ended within \(timeout): \(states)")
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    @Test("three agents, 300 tasks: every task runs exactly once")
    func threeAgentsRunEachTaskOnce() async throws {
        try await withPostgresScratch { scratch in
            let location = try await scratch.makeDatabase()
            let dir = try CLITests.directory()
            let sim = try SimulatorProcess(["--load-seconds", "1", "--run-seconds", "1", "--offers", "400"], log: dir + "/sim.log")
            defer { sim.stop() }
            let ids = ["fleet-1", "fleet-2", "fleet-3"]
            var agents: [Process] = []
            for id in ids {
                let config = try Self.agentConfig(id, in: dir, queue: location, simulator: sim.url)
                agents.append(try ErgonBinary.start(["agent", "--config", config], logFile: "\(dir)/\(id).log"))
            }
            defer { for agent in agents { agent.terminate(); agent.waitUntilExit() } }
            let submitted = try ErgonBinary.run([
                "submit", try Self.workflow("fleet", count: 300, in: dir), "--config", "\(dir)/fleet-1.yaml",
            ])
            #expect(submitted.status == 0, "\(submitted.stderr)")
            let queue = try await scratch.open(location)
            let started = ContinuousClock.now
            let tasks = try await Self.waitForAll(queue, count: 300, timeout: .seconds(400))
            let elapsed = ContinuousClock.now - started
            #expect(tasks.allSatisfy { $0.state == .completed }, "\(Dictionary(grouping: tasks, by: \.state).mapValues(\.count))")
            let stats = try sim.stats()
            let creates = Self.createsPerTask(stats)
            #expect(creates.count == 300)
            #expect(creates.values.allSatisfy { $0 == 1 }, "tasks created more than once: \(creates.filter { $0.value != 1 })")
            #expect(stats["created_instances"]?.intValue == 300)
            var byAgent: [String: Int] = [:]
            for task in tasks {
                for attempt in try await queue.attempts(of: task.id) { byAgent[attempt.agentID, default: 0] += 1 }
            }
            #expect(byAgent.count == 3, "every agent took a share: \(byAgent)")
            print("3 agents ran 300 tasks in \(elapsed); by agent: \(byAgent.sorted { $0.key < $1.key })")
            // Every instance is destroyed once its task ended.
            try await Self.waitForNoLiveInstances(sim)
        }
    }

    @Test("one agent killed with SIGKILL mid-run: the others adopt its instances and finish its tasks without running any twice")
    func killedAgentIsTakenOver() async throws {
        try await withPostgresScratch { scratch in
            let location = try await scratch.makeDatabase()
            let dir = try CLITests.directory()
            let sim = try SimulatorProcess(["--load-seconds", "1", "--run-seconds", "8", "--offers", "200"], log: dir + "/sim.log")
            defer { sim.stop() }
            let ids = ["crash-1", "crash-2", "crash-3"]
            var agents: [String: Process] = [:]
            for id in ids {
                let config = try Self.agentConfig(id, in: dir, queue: location, simulator: sim.url, parallel: 10)
                agents[id] = try ErgonBinary.start(["agent", "--config", config], logFile: "\(dir)/\(id).log")
            }
            defer { for agent in agents.values where agent.isRunning { agent.terminate(); agent.waitUntilExit() } }
            let queue = try await scratch.open(location)
            _ = try await queue.submit(
                WorkflowSpec(name: "crash", tasks: (0..<24).map { Self.sleeper("t\($0)") }), defaultMaxAttempts: 3, at: Date())

            // Wait until the victim runs some tasks on instances it recorded, then kill it.
            let victim = "crash-1"
            var victims: [HeldTask] = []
            let deadline = ContinuousClock.now + .seconds(60)
            while victims.count < 3 {
                guard ContinuousClock.now < deadline else { throw CLIFailure("\(victim) never ran 3 tasks") }
                victims = try await queue.heldTasks(agentID: victim).filter { $0.attempt.instanceID != nil }
                try await Task.sleep(for: .milliseconds(200))
            }
            let killed = agents[victim]!
            kill(killed.processIdentifier, SIGKILL)
            killed.waitUntilExit()

            let tasks = try await Self.waitForAll(queue, count: 24, timeout: .seconds(180))
            #expect(tasks.allSatisfy { $0.state == .completed }, "\(tasks.map { ($0.spec.slug, $0.state, $0.reason ?? "") })")
            for held in victims {
                let task = try #require(tasks.first { $0.id == held.task.id })
                #expect(task.attempt == held.attempt.number, "\(task.spec.slug) was retried: attempt \(task.attempt)")
                let attempt = try #require(try await queue.attempts(of: task.id).last)
                #expect(attempt.agentID != victim, "\(task.spec.slug) was finished by \(attempt.agentID)")
                #expect(attempt.instanceID == held.attempt.instanceID, "the same instance carried on")
            }
            let creates = Self.createsPerTask(try sim.stats())
            #expect(creates.count == 24 && creates.values.allSatisfy { $0 == 1 }, "\(creates.filter { $0.value != 1 })")
            let listed = try ErgonBinary.run(["agents", "list", "--json", "--config", "\(dir)/crash-2.yaml"])
            let rows = try JSONValue.decode(Data(listed.stdout.utf8)).arrayValue ?? []
            let victimRow = try #require(rows.first { $0["id"]?.stringValue == victim })
            #expect(victimRow["status"]?.stringValue == "expired" && victimRow["tasks_held"]?.intValue == 0, "\(listed.stdout)")
            #expect(rows.filter { $0["status"]?.stringValue == "live" }.count == 2, "\(listed.stdout)")
            let table = try ErgonBinary.run(["agents", "list", "--config", "\(dir)/crash-2.yaml"])
            #expect(table.stdout.contains("AGENT") && table.stdout.contains(victim), "\(table.stdout)")
            print("killed \(victim) holding \(victims.count) running task(s); all 24 tasks completed, each created once")
            try await Self.waitForNoLiveInstances(sim)
        }
    }

    @Test("a task submitted to an idle fleet is claimed within a tenth of the poll interval (LISTEN/NOTIFY)")
    func notifyWakesIdleAgents() async throws {
        try await withPostgresScratch { scratch in
            let location = try await scratch.makeDatabase()
            let dir = try CLITests.directory()
            let sim = try SimulatorProcess(["--load-seconds", "1", "--run-seconds", "1"], log: dir + "/sim.log")
            defer { sim.stop() }
            var agents: [Process] = []
            for id in ["idle-1", "idle-2"] {
                let config = try Self.agentConfig(id, in: dir, queue: location, simulator: sim.url, poll: "20s")
                agents.append(try ErgonBinary.start(["agent", "--config", config], logFile: "\(dir)/\(id).log"))
            }
            defer { for agent in agents { agent.terminate(); agent.waitUntilExit() } }
            let queue = try await scratch.open(location)
            // Both agents registered and had their first tick.
            let ready = ContinuousClock.now + .seconds(30)
            while try await queue.agents().count < 2 {
                guard ContinuousClock.now < ready else { throw CLIFailure("the agents did not start") }
                try await Task.sleep(for: .milliseconds(100))
            }
            try await Task.sleep(for: .seconds(2))
            var latencies: [Duration] = []
            for round in 0..<5 {
                let submittedAt = ContinuousClock.now
                let (_, tasks) = try await queue.submit(
                    WorkflowSpec(name: "wake-\(round)", tasks: [Self.sleeper("one")]), defaultMaxAttempts: 1, at: Date())
                while try await queue.task(tasks[0].id)?.state == .pending {
                    guard ContinuousClock.now - submittedAt < .seconds(25) else { break }
                    try await Task.sleep(for: .milliseconds(5))
                }
                latencies.append(ContinuousClock.now - submittedAt)
                try await Task.sleep(for: .seconds(1))
            }
            let worst = latencies.max()!
            print("submit-to-claim latency with LISTEN/NOTIFY (poll interval 20 s): \(latencies.map { String(format: "%.0f ms", $0.seconds * 1000) }.joined(separator: ", ")); worst \(String(format: "%.0f ms", worst.seconds * 1000))")
            #expect(worst < .seconds(2), "a tenth of the 20 s poll interval")
        }
    }

    static func sleeper(_ slug: String) -> TaskSpec {
        TaskSpec(slug: slug, image: "ergon-test/busybox:1", command: .shell("echo \(slug)"), entrypoint: [])
    }

    static func waitForNoLiveInstances(_ sim: SimulatorProcess) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while try sim.stats()["live_instances"]?.intValue != 0 {
            guard ContinuousClock.now < deadline else {
                throw CLIFailure("instances still live: \(try sim.stats()["live_instances"] ?? .null)")
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }
}
