import ErgonCore
import ErgonSQLite
import ErgonTestSupport
import Foundation
import Testing

/// The `ergon` binary as a user runs it.
@Suite("ergon command line")
struct CLITests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/examples").path

    static func directory() throws -> String { try AgentHarness.temporaryDirectory() }

    static func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    static func config(in dir: String, agent: String = "cli", poll: String = "30s", extra: String = "") throws -> String {
        let path = dir + "/ergon.yaml"
        try write("""
            agent:
              id: \(agent)
            data_dir: \(dir)/data
            scheduler:
              poll_interval: \(poll)
              max_parallel_tasks: 4
            docker:
              socket: \(DockerTestEngine.socketPath)
              network: none
            server:
              listen: 127.0.0.1:0
            \(extra)
            """, to: path)
        return path
    }

    @Test("config check: a valid file exits 0 and says what it read")
    func configCheckValid() throws {
        let dir = try Self.directory()
        let result = try ErgonBinary.run(["config", "check", try Self.config(in: dir)])
        #expect(result.status == 0)
        #expect(result.stdout.contains("OK"))
        #expect(result.stdout.contains("sqlite:\(dir)/data/queue.sqlite"))
    }

    @Test("config check: a file others can read that holds a secret is warned about; chmod 600 or ${VAR} silences it")
    func configCheckSecretFile() throws {
        let dir = try Self.directory()
        let path = dir + "/vast.yaml"
        let text = "agent: {id: v1}\nmode: vast\nvast_api: {api_key: sk-literal-123456}\n"
        try Self.write(text, to: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        let warned = try ErgonBinary.run(["config", "check", path])
        #expect(warned.status == 0, "a warning, not an error: \(warned.stderr)")
        #expect(warned.stderr.contains("warning: \(path) can be read by anyone on this host (mode 644) and holds vast_api.api_key: run chmod 600"), "\(warned.stderr)")
        #expect(!warned.stderr.contains("sk-literal-123456"), "never the secret itself")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        #expect(try ErgonBinary.run(["config", "check", path]).stderr.contains("warning") == false)
        try Self.write(text.replacingOccurrences(of: "sk-literal-123456", with: "${HOME}"), to: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        #expect(try ErgonBinary.run(["config", "check", path]).stderr.contains("warning") == false)
    }

    @Test("config check: an ERGON_ENV_FILE others can read that assigns a secret is warned about, naming the variables; chmod 600 silences it")
    func configCheckEnvironmentFile() throws {
        let dir = try Self.directory()
        let config = dir + "/vast.yaml"
        try Self.write("agent: {id: v1}\nmode: vast\nvast_api: {api_key: \"${VAST_API_KEY}\"}\n", to: config)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: config)
        let envFile = dir + "/ergon.env"
        // The key by its value (the config's secret), the token by its name; neither the
        // empty password nor the plain setting is a secret held.
        try Self.write(
            "# secrets\nexport VAST_API_KEY=\"sk-env-123456\"\nCI_DEPLOY_TOKEN=tok-abcdef\nERGON_PG_PASSWORD=\nRUST_LOG=info\n", to: envFile)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: envFile)
        let environment = ["VAST_API_KEY": "sk-env-123456", "ERGON_ENV_FILE": envFile]
        let warned = try ErgonBinary.run(["config", "check", config], environment: environment)
        #expect(warned.status == 0, "a warning, not an error: \(warned.stderr)")
        #expect(
            warned.stderr.contains(
                "warning: \(envFile) (ERGON_ENV_FILE) can be read by its group (mode 640) and assigns VAST_API_KEY, CI_DEPLOY_TOKEN: run chmod 600 \(envFile)"),
            "\(warned.stderr)")
        #expect(!warned.stderr.contains("sk-env-123456") && !warned.stderr.contains("tok-abcdef"), "never a secret itself")
        #expect(!warned.stderr.contains("ERGON_PG_PASSWORD") && !warned.stderr.contains("RUST_LOG"))
        #expect(!warned.stderr.contains("\(config) can be read"), "the config holds ${VAR} only")

        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: envFile)
        #expect(try ErgonBinary.run(["config", "check", config], environment: environment).stderr.contains("warning") == false)

        try Self.write("RUST_LOG=info\n", to: envFile)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: envFile)
        #expect(try ErgonBinary.run(["config", "check", config], environment: environment).stderr.contains("warning") == false)

        let missing = try ErgonBinary.run(["config", "check", config], environment: ["VAST_API_KEY": "sk-env-123456", "ERGON_ENV_FILE": dir + "/nope.env"])
        #expect(missing.status == 0)
        #expect(missing.stderr.contains("warning: ERGON_ENV_FILE names \(dir)/nope.env, which does not exist"), "\(missing.stderr)")
    }

    @Test("config check: an unknown key exits 2 with the file, the key path and a suggestion")
    func configCheckUnknownKey() throws {
        let dir = try Self.directory()
        let path = dir + "/bad.yaml"
        try Self.write("scheduler:\n  max_paralel_tasks: 2\n", to: path)
        let result = try ErgonBinary.run(["config", "check", path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("bad.yaml"))
        #expect(result.stderr.contains("scheduler.max_paralel_tasks"))
        #expect(result.stderr.contains("max_parallel_tasks"))
    }

    @Test("a missing default config exits 2 and says how to give one")
    func missingConfig() throws {
        let dir = try Self.directory()
        let result = try ErgonBinary.run(["tasks", "list"], in: dir)
        #expect(result.status == 2)
        #expect(result.stderr.contains("ergon.yaml"))
        #expect(result.stderr.contains("--config"))
    }

    @Test("submit --dry-run accepts the shared examples and prints tasks in dependency order", arguments: [
        "htr-workflow.yaml", "nosana-job.json",
    ])
    func dryRunExamples(file: String) throws {
        let result = try ErgonBinary.run(["submit", Self.examples + "/" + file, "--dry-run"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.first?.contains("nothing was written") == true)
        if file == "htr-workflow.yaml" {
            try #require(lines.count == 4, "\(result.stdout)")
            #expect(lines[1].hasPrefix("1. init-elements"))
            #expect(lines[3].hasPrefix("3. export"))
        } else {
            try #require(lines.count >= 3, "\(result.stdout)")
            #expect(lines[1].hasPrefix("1. gpu-stats"))
            #expect(lines[2].hasPrefix("2. run-whisper"))
        }
    }

    @Test("submit of a bad workflow exits 2 naming the task, and writes nothing")
    func badWorkflow() throws {
        let dir = try Self.directory()
        let config = try Self.config(in: dir)
        let file = dir + "/wf.yaml"
        try Self.write("name: w\ntasks:\n  - {slug: a, image: x, command: echo}\n  - {slug: b, image: x, parents: [nope]}\n", to: file)
        let result = try ErgonBinary.run(["submit", file, "--config", config])
        #expect(result.status == 2)
        #expect(result.stderr.contains("wf.yaml"))
        #expect(result.stderr.contains("\"b\""))
        #expect(result.stderr.contains("nope"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/data/queue.sqlite"))
    }

    @Test("unknown task ids and illegal requests exit 2 with one message")
    func unknownTask() throws {
        let dir = try Self.directory()
        let config = try Self.config(in: dir)
        for arguments in [["tasks", "show", "deadbeef"], ["tasks", "cancel", "deadbeef"], ["tasks", "logs", "deadbeef"]] {
            let result = try ErgonBinary.run(arguments + ["--config", config])
            #expect(result.status == 2, "\(arguments)")
            #expect(result.stderr.contains("deadbeef"), "\(arguments): \(result.stderr)")
        }
        let usage = try ErgonBinary.run(["tasks", "list", "--no-such-flag", "--config", config])
        #expect(usage.status == 2)
    }

    @Test("tasks list --json prints an array of task objects with the documented keys")
    func listJSON() throws {
        let dir = try Self.directory()
        let config = try Self.config(in: dir)
        let file = dir + "/wf.yaml"
        try Self.write("name: w\ntasks:\n  - {slug: a, image: x, command: echo}\n  - {slug: b, image: x, parents: [a]}\n", to: file)
        #expect(try ErgonBinary.run(["submit", file, "--config", config]).status == 0)
        let result = try ErgonBinary.run(["tasks", "list", "--json", "--config", config])
        #expect(result.status == 0)
        let array = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]]
        #expect(array?.count == 2)
        for key in ["id", "slug", "state", "workflow_id", "attempt", "exit_code"] {
            #expect(array?.first?.keys.contains(key) == true, "missing \(key)")
        }
        #expect(array?.map { $0["state"] as? String } == ["pending", "unscheduled"])
        #expect(result.stderr.contains("using config"))
    }

    @Test("cancel before running stops at once; retry brings the task and its descendants back")
    func cancelAndRetry() throws {
        let dir = try Self.directory()
        let config = try Self.config(in: dir)
        let file = dir + "/wf.yaml"
        try Self.write("name: w\ntasks:\n  - {slug: a, image: x, command: echo}\n  - {slug: b, image: x, parents: [a]}\n", to: file)
        let submitted = try ErgonBinary.run(["submit", file, "--json", "--config", config])
        let json = try JSONSerialization.jsonObject(with: Data(submitted.stdout.utf8)) as? [String: Any]
        let ids = (json?["tasks"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
        #expect(ids.count == 2)
        let cancel = try ErgonBinary.run(["tasks", "cancel", String(ids[0].prefix(8)), "--config", config])
        #expect(cancel.status == 0)
        #expect(cancel.stdout.contains("stopped"))
        let listed = try ErgonBinary.run(["tasks", "list", "--json", "--config", config]).stdout
        #expect(listed.contains("\"cancelled\""))
        let retry = try ErgonBinary.run(["tasks", "retry", ids[0], "--config", config])
        #expect(retry.status == 0)
        #expect(retry.stdout.contains("pending"))
        let again = try ErgonBinary.run(["tasks", "list", "--json", "--config", config]).stdout
        #expect(again.contains("\"unscheduled\"") && !again.contains("\"cancelled\""))
        let twice = try ErgonBinary.run(["tasks", "retry", ids[0], "--config", config])
        #expect(twice.status == 2)
        #expect(twice.stderr.contains("pending"))
    }

    @Test("the agent exits non-zero naming the socket when the engine cannot be reached")
    func engineUnreachable() throws {
        let dir = try Self.directory()
        let config = dir + "/ergon.yaml"
        try Self.write("data_dir: \(dir)/data\ndocker:\n  socket: /nonexistent/docker.sock\nserver: {listen: \"127.0.0.1:0\"}\n", to: config)
        let result = try ErgonBinary.run(["agent", "--config", config])
        #expect(result.status == 1)
        #expect(result.stderr.contains("/nonexistent/docker.sock"))
    }
}

/// Agent processes and the CLI against the real engine.
@Suite("ergon agent processes", .dockerEngine, .serialized)
struct AgentProcessTests {
    @Test("a submit from another process wakes an idle agent long before its poll interval")
    func submitWakesAgent() async throws {
        let dir = try CLITests.directory()
        // A poll interval far longer than the bound below: only a wake-up can make it.
        let config = try CLITests.config(in: dir, agent: "wake-\(UUID().uuidString.prefix(6).lowercased())", poll: "120s")
        let agent = try ErgonBinary.start(["agent", "--config", config], logFile: dir + "/agent.log")
        defer { agent.terminate(); agent.waitUntilExit() }
        try await Task.sleep(for: .seconds(2))  // the agent is up (or starting) and idle
        let file = dir + "/wf.yaml"
        try CLITests.write("name: w\ntasks:\n  - {slug: a, image: \"\(DockerTestEngine.image)\", command: [echo, woke]}\n", to: file)
        let started = ContinuousClock.now
        let result = try ErgonBinary.run(["submit", file, "--wait", "--config", config])
        let elapsed = ContinuousClock.now - started
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(elapsed < .seconds(30), "took \(elapsed); the poll interval is 120 s")
        print("submit-to-completed with a 120 s poll interval: \(elapsed)")
        #expect(result.stdout.contains("a: running → completed") || result.stdout.contains("→ completed"))
    }

    @Test("two agent processes on one SQLite queue run every task exactly once")
    func twoAgents() async throws {
        let dir = try CLITests.directory()
        let suffix = UUID().uuidString.prefix(6).lowercased()
        let configA = try CLITests.config(in: dir, agent: "a-\(suffix)")
        let dirB = dir + "/b"
        try FileManager.default.createDirectory(atPath: dirB, withIntermediateDirectories: true)
        // Agent B shares A's data_dir (queue and logs) under its own id.
        let configB = dirB + "/ergon.yaml"
        try String(contentsOfFile: configA, encoding: .utf8).replacingOccurrences(of: "id: a-", with: "id: b-")
            .write(toFile: configB, atomically: true, encoding: .utf8)
        let file = dir + "/wf.yaml"
        let tasks = (1...16).map { "  - {slug: t\($0), image: \"\(DockerTestEngine.image)\", command: [echo, \"task \($0)\"]}" }
        try CLITests.write("name: many\ntasks:\n" + tasks.joined(separator: "\n") + "\n", to: file)
        // Submit from two processes at once: 32 tasks.
        async let first = Task.detached { try ErgonBinary.run(["submit", file, "--config", configA]) }.value
        async let second = Task.detached { try ErgonBinary.run(["submit", file, "--config", configB]) }.value
        let (r1, r2) = try await (first, second)
        #expect(r1.status == 0 && r2.status == 0, "\(r1.stderr)\(r2.stderr)")

        let a = try ErgonBinary.start(["agent", "--config", configA], logFile: dir + "/a.log")
        let b = try ErgonBinary.start(["agent", "--config", configB], logFile: dir + "/b.log")
        defer {
            for agent in [a, b] where agent.isRunning { agent.terminate(); agent.waitUntilExit() }
        }
        let queue = try SQLiteTaskQueue(path: dir + "/data/queue.sqlite")
        let deadline = ContinuousClock.now + .seconds(120)
        var all: [TaskRecord] = []
        while ContinuousClock.now < deadline {
            all = try await queue.tasks(.all)
            if all.allSatisfy({ $0.state.isTerminal }) { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(all.count == 32)
        #expect(all.allSatisfy { $0.state == .completed })
        var agents: Set<String> = []
        for task in all {
            let attempts = try await queue.attempts(of: task.id)
            #expect(attempts.count == 1, "task \(task.spec.slug) ran \(attempts.count) times")
            agents.formUnion(attempts.map(\.agentID))
        }
        #expect(agents.count == 2, "both agents should have claimed work: \(agents)")
        // SIGTERM drains both agents; they exit 0.
        for (agent, log) in [(a, "a.log"), (b, "b.log")] {
            agent.terminate()
            agent.waitUntilExit()
            #expect(agent.terminationStatus == 0, "\(log) ends: \(ErgonBinary.tail(of: dir + "/" + log))")
        }
    }

    @Test("tasks logs --follow streams a running task's log to its last line and ends with it; tasks show lists its attempt")
    func followLogs() async throws {
        let dir = try CLITests.directory()
        let config = try CLITests.config(in: dir, agent: "follow-\(UUID().uuidString.prefix(6).lowercased())", poll: "1s")
        let agent = try ErgonBinary.start(["agent", "--config", config], logFile: dir + "/agent.log")
        defer { agent.terminate(); agent.waitUntilExit() }
        let file = dir + "/wf.yaml"
        try CLITests.write("""
            name: w
            tasks:
              - slug: ticker
                image: "\(DockerTestEngine.image)"
                command: "for i in 1 2 3 4 5 6; do echo line $i; sleep 0.5; done; printf 'no newline at the end'"
            """, to: file)
        let submitted = try ErgonBinary.run(["submit", file, "--json", "--config", config])
        let json = try JSONSerialization.jsonObject(with: Data(submitted.stdout.utf8)) as? [String: Any]
        let id = try #require((json?["tasks"] as? [[String: Any]])?.first?["id"] as? String)
        // Started before the task runs: it waits for the first attempt, then follows it.
        let follow = try ErgonBinary.run(["tasks", "logs", id, "--follow", "--config", config])
        #expect(follow.status == 0)
        #expect(follow.stdout == (1...6).map { "line \($0)\n" }.joined() + "no newline at the end")
        let show = try ErgonBinary.run(["tasks", "show", String(id.prefix(8)), "--json", "--config", config])
        let detail = try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any]
        #expect((detail?["task"] as? [String: Any])?["state"] as? String == "completed")
        let attempts = detail?["attempts"] as? [[String: Any]]
        #expect(attempts?.count == 1)
        #expect(attempts?.first?["phase"] as? String == "done")
        #expect((attempts?.first?["log"] as? String)?.hasSuffix("/1.log") == true)
    }

    @Test("instances list shows this agent's containers; destroy refuses a live task's without --force and removes an orphan")
    func instances() async throws {
        let dir = try CLITests.directory()
        let agentID = "inst-\(UUID().uuidString.prefix(6).lowercased())"
        let config = try CLITests.config(in: dir, agent: agentID, poll: "1s")
        let file = dir + "/wf.yaml"
        try CLITests.write("name: w\ntasks:\n  - {slug: sleeper, image: \"\(DockerTestEngine.image)\", command: \"sleep 60\"}\n", to: file)
        #expect(try ErgonBinary.run(["submit", file, "--config", config]).status == 0)
        let agent = try ErgonBinary.start(["agent", "--config", config], logFile: dir + "/agent.log")
        let queue = try SQLiteTaskQueue(path: dir + "/data/queue.sqlite")
        var containerID: String?
        let deadline = ContinuousClock.now + .seconds(30)
        while containerID == nil, ContinuousClock.now < deadline {
            if let task = try await queue.tasks(.all).first {
                containerID = try await queue.attempts(of: task.id).last?.instanceID
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let id = try #require(containerID)
        // Stop the agent (drain): the container keeps running and stays claimed.
        agent.terminate()
        agent.waitUntilExit()
        let listed = try ErgonBinary.run(["instances", "list", "--json", "--config", config])
        #expect(listed.status == 0, "\(listed.stderr)")
        let rows = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]]
        #expect(rows?.count == 1)
        #expect(rows?.first?["id"] as? String == id)
        #expect(rows?.first?["slug"] as? String == "sleeper")
        let refused = try ErgonBinary.run(["instances", "destroy", String(id.prefix(12)), "--config", config])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("sleeper") && refused.stderr.contains("--force"))
        let forced = try ErgonBinary.run(["instances", "destroy", String(id.prefix(12)), "--force", "--config", config])
        #expect(forced.status == 0, "\(forced.stderr)")
        let after = try ErgonBinary.run(["instances", "list", "--json", "--config", config])
        #expect((try JSONSerialization.jsonObject(with: Data(after.stdout.utf8)) as? [Any])?.isEmpty == true)
    }
}
