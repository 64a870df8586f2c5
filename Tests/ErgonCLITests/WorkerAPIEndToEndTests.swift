import ErgonCore
import ErgonSQLite
import ErgonTestSupport
import ErgonVast
import Foundation
import Testing
import VastSimulator

/// The real worker side against a running agent: `ergon agent` in vast mode on the simulator,
/// with its worker API on a loopback port, and arkindex-base-worker 0.6.0's own bootstrap and
/// artifact upload run with exactly the environment each simulated instance received.
@Suite("Worker API with the real arkindex-base-worker (vast mode)", .arkindexWorker, .serialized)
struct WorkerAPIEndToEndTests {
    /// Bootstraps with the worker's own code, then publishes each file named in `PUBLISH`
    /// (copied from `SOURCE` into the task's work dir) with the worker's own upload.
    static let workerScript = """
        import os, shutil
        from pathlib import Path
        from arkindex import ArkindexClient, options_from_env
        from arkindex_worker import bootstrap
        from arkindex_worker.worker.task import TaskMixin

        class Publisher(TaskMixin):
            is_read_only = False

        client = ArkindexClient(**options_from_env())
        data = Path(os.environ["PONOS_DATA"])
        bootstrap.run(client, data)
        worker = Publisher()
        worker.api_client = client
        worker.work_dir = data / "current"
        worker.task_id = os.environ["PONOS_TASK"]
        for name in filter(None, os.environ.get("PUBLISH", "").split(",")):
            shutil.copy(Path(os.environ["SOURCE"]) / name, worker.work_dir / name)
            worker.upload_artifact(worker.work_dir / name)
            print("published", name)
        print("worker done")
        """

    @Test("bootstrap lays out the parents' artifacts byte-identical; uploads reach `ergon tasks artifact`; no agent secret reaches an instance")
    func bootstrapAndPublish() async throws {
        try await withVastSimulator { sim in
            let dir = try CLITests.directory()
            let port = try freeLoopbackPort()
            let api = "http://127.0.0.1:\(port)/api/v1/"
            let operatorToken = "operator-\(UUID().uuidString)"
            let s3Secret = "s3secret-\(UUID().uuidString)"
            let config = dir + "/agent.yaml"
            try CLITests.write("""
                agent: {id: worker-api-e2e}
                mode: vast
                data_dir: \(dir)/data
                scheduler: {poll_interval: 1s}
                vast_api: {url: "\(sim.baseURL)", api_key: \(sim.apiKey)}
                s3: {access_key_id: AKIAEXAMPLE, secret_access_key: \(s3Secret)}
                server:
                  listen: 127.0.0.1:\(port)
                  public_url: http://127.0.0.1:\(port)
                  operator_token: \(operatorToken)
                """, to: config)
            let agent = try ErgonBinary.start(["agent", "--config", config], logFile: dir + "/agent.log")
            defer { agent.terminate(); agent.waitUntilExit() }
            let agentLog = { (try? String(contentsOfFile: dir + "/agent.log", encoding: .utf8)) ?? "" }

            let workflow = dir + "/wf.yaml"
            try CLITests.write("""
                name: worker-api
                tasks:
                  - {slug: p, image: "example/worker:1", entrypoint: [], command: [worker], env: {SIM_RUN_SECONDS: "3600", SIM_LOAD_SECONDS: "0"}}
                  - {slug: c, image: "example/worker:1", entrypoint: [], command: [worker], parents: [p], env: {SIM_RUN_SECONDS: "3600", SIM_LOAD_SECONDS: "0"}}
                """, to: workflow)
            let submitted = try ErgonBinary.run(["submit", workflow, "--config", config])
            #expect(submitted.status == 0, "\(submitted.stderr)")
            let queue = try SQLiteTaskQueue(path: dir + "/data/queue.sqlite")
            let tasks = Dictionary(uniqueKeysWithValues: try await queue.tasks(.all).map { ($0.spec.slug, $0) })
            let p = try #require(tasks["p"])
            let c = try #require(tasks["c"])
            let pid = p.id.uuidString.lowercased()
            let cid = c.id.uuidString.lowercased()

            // The parent's instance and the environment it received.
            let pEnv = try await Self.instanceEnvironment(sim, taskID: pid, log: agentLog)
            #expect(pEnv["ARKINDEX_API_URL"] == api)
            #expect(pEnv["TASK_BOOTSTRAP"] == "true" && pEnv["TASK_PARENTS"] == "{}" && pEnv["PONOS_TASK"] == pid)
            #expect(pEnv["ARKINDEX_TASK_TOKEN"]?.count == 64)

            // The parent publishes two files with the worker's own upload (create, then PUT).
            let source = dir + "/source"
            try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
            let model = Data((0..<(1_500_000)).map { _ in UInt8.random(in: 0...255) })
            try model.write(to: URL(fileURLWithPath: source + "/model.bin"))
            try Data("notes from the worker\n".utf8).write(to: URL(fileURLWithPath: source + "/notes.txt"))
            var parentRun = pEnv
            parentRun["PONOS_DATA"] = dir + "/p-data"
            parentRun["SOURCE"] = source
            parentRun["PUBLISH"] = "model.bin,notes.txt"
            let published = try ArkindexWorkerPython.run(Self.workerScript, environment: parentRun)
            #expect(published.status == 0, "\(published.output)\n--- agent:\n\(agentLog())")
            #expect(published.output.contains("worker done"))

            // Then the launch wrapper publishes what the command left and the worker did not.
            let label = InstanceLabel(agentID: "worker-api-e2e", taskID: p.id, attempt: 1)
            let wrapper = VastLaunchWrapper(
                argv: ["sh", "-c", "printf wrapper > \"$PONOS_DATA/current/extra.txt\"; printf again > \"$PONOS_DATA/current/notes.txt\"; ln -s extra.txt \"$PONOS_DATA/current/link\""],
                workDir: nil, label: label, publishArtifacts: true)
            let wrapped = try Self.runShell(wrapper, environment: parentRun)
            #expect(wrapped.contains("[ergon-wrapper] published extra.txt"), "\(wrapped)")
            #expect(wrapped.contains("[ergon-wrapper] artifact skipped: link: a link"), "\(wrapped)")
            #expect(!wrapped.contains("published notes.txt"), "what the worker published is not sent again: \(wrapped)")
            #expect(ExitMarker.status(in: Array(wrapped.utf8), label: label) == 0)

            // The parent ends; its token dies with its attempt.
            sim.advance(by: 4000)
            try await Self.waitForState(queue, p.id, .completed, log: agentLog)
            #expect(try Self.curlStatus(api + "task/\(pid)/", token: pEnv["ARKINDEX_TASK_TOKEN"]) == 401)

            // The child bootstraps: the parents' artifacts in /data/<id>, a slug link, its own folder.
            let cEnv = try await Self.instanceEnvironment(sim, taskID: cid, log: agentLog)
            #expect(cEnv["TASK_PARENTS"] == "{\"\(pid)\":\"p\"}")
            for (name, env) in [("parent", pEnv), ("child", cEnv)] {
                for (key, value) in env {
                    #expect(!value.contains(sim.apiKey), "\(name) \(key) holds the Vast key")
                    #expect(!value.contains(s3Secret), "\(name) \(key) holds the S3 secret")
                    #expect(!value.contains(operatorToken), "\(name) \(key) holds the operator token")
                }
            }
            #expect(cEnv["ARKINDEX_TASK_TOKEN"] != pEnv["ARKINDEX_TASK_TOKEN"])
            #expect(try Self.curlStatus(api + "task/\(cid)/", token: nil) == 401)
            try Data("child result\n".utf8).write(to: URL(fileURLWithPath: source + "/result.txt"))
            let cData = dir + "/c-data"
            var childRun = cEnv
            childRun["PONOS_DATA"] = cData
            childRun["SOURCE"] = source
            childRun["PUBLISH"] = "result.txt"
            let child = try ArkindexWorkerPython.run(Self.workerScript, environment: childRun)
            #expect(child.status == 0, "\(child.output)\n--- agent:\n\(agentLog())")
            let fm = FileManager.default
            #expect(try fm.contentsOfDirectory(atPath: cData + "/" + pid).sorted() == ["extra.txt", "model.bin", "notes.txt"])
            #expect(try Data(contentsOf: URL(fileURLWithPath: cData + "/\(pid)/model.bin")) == model)
            #expect(try String(contentsOfFile: cData + "/\(pid)/notes.txt", encoding: .utf8) == "notes from the worker\n")
            #expect(try String(contentsOfFile: cData + "/\(pid)/extra.txt", encoding: .utf8) == "wrapper")
            #expect(try fm.destinationOfSymbolicLink(atPath: cData + "/p") == cData + "/" + pid)
            #expect(try fm.destinationOfSymbolicLink(atPath: cData + "/current") == cid)
            // The child may read its parent; the parent's (ended) token reads nothing.
            #expect(try Self.curlStatus(api + "task/\(pid)/artifacts/", token: cEnv["ARKINDEX_TASK_TOKEN"]) == 200)

            sim.advance(by: 4000)
            try await Self.waitForState(queue, c.id, .completed, log: agentLog)
            let out = dir + "/result.out"
            let fetched = try ErgonBinary.run(["tasks", "artifact", cid, "result.txt", "-o", out, "--config", config])
            #expect(fetched.status == 0, "\(fetched.stderr)")
            #expect(try String(contentsOfFile: out, encoding: .utf8) == "child result\n")
            #expect(await sim.stats().liveInstances == 0)
        }
    }

    /// Waits for the instance of `taskID` to run and returns the environment it was created with.
    static func instanceEnvironment(
        _ sim: VastSimulatorHarness, taskID: String, log: () -> String
    ) async throws -> [String: String] {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            for instance in await sim.vast.allInstances()
            where instance["label"]?.stringValue?.contains(taskID) == true && instance["destroyed"] != true {
                var env: [String: String] = [:]
                for pair in instance["extra_env"]?.arrayValue ?? [] {
                    let items = pair.arrayValue ?? []
                    if items.count == 2, let key = items[0].stringValue, let value = items[1].stringValue { env[key] = value }
                }
                return env
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw CLIFailure("no instance for task \(taskID) within 60 s\n--- agent:\n\(log())")
    }

    static func waitForState(_ queue: SQLiteTaskQueue, _ id: UUID, _ state: TaskState, log: () -> String) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let task = try await queue.task(id)
            if task?.state == state { return }
            if let task, task.state.isTerminal {
                throw CLIFailure("task \(task.spec.slug) ended \(task.state.rawValue): \(task.reason ?? "")\n--- agent:\n\(log())")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw CLIFailure("task \(id) did not become \(state.rawValue) within 60 s\n--- agent:\n\(log())")
    }

    /// Runs the launch wrapper as Vast would (`onstart` with `args`) with `environment`.
    static func runShell(_ wrapper: VastLaunchWrapper, environment: [String: String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: wrapper.onstart)
        process.arguments = wrapper.args
        var env = environment
        env["PATH"] = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// The HTTP status of a GET, with `Authorization: Ponos <token>` when given.
    static func curlStatus(_ url: String, token: String?) throws -> Int {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}"]
            + (token.map { ["-H", "Authorization: Ponos \($0)"] } ?? []) + [url]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Int(String(decoding: data, as: UTF8.self)) ?? -1
    }
}
