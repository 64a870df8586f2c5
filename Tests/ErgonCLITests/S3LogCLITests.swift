import ErgonCore
import ErgonS3
import ErgonSQLite
import ErgonTestSupport
import Foundation
import Testing

/// `ergon` processes with an S3 log store: killed mid-upload, a wrong secret, config output.
@Suite("ergon processes with an S3 log store", .dockerEngine, .s3Server, .serialized)
struct S3LogCLITests {
    /// The config text of an S3 store on the shared server; the secret comes from the environment.
    static func s3Settings(bucket: String, prefix: String, secretVariable: String = "ERGON_S3_SECRET_ACCESS_KEY") -> String {
        """
        logs:
          store: s3://\(bucket)/\(prefix)
          flush_interval: 500ms
        s3:
          endpoint: \(S3TestServer.endpoint!)
          region: \(S3TestServer.region!)
          access_key_id: ${ERGON_S3_ACCESS_KEY_ID}
          secret_access_key: ${\(secretVariable)}
        """
    }

    @Test("an agent killed (SIGKILL) mid-upload and started again ends with a complete, byte-identical object")
    func killedMidUpload() async throws {
        let dir = try CLITests.directory()
        let bucket = try S3TestServer.makeBucket()
        let agentID = "kill-\(UUID().uuidString.prefix(6).lowercased())"
        let config = try CLITests.config(
            in: dir, agent: agentID, poll: "200ms", extra: Self.s3Settings(bucket: bucket, prefix: "killed"))
        let writer = S3LogAgentTests.Writer(chunks: 24, lines: 1000, pause: "0.4")
        let script: String
        if case .exec(let arguments) = writer.command { script = arguments[2] } else { script = "" }
        let file = dir + "/wf.yaml"
        let quoted = script.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        try CLITests.write(
            "name: killed\ntasks:\n  - {slug: writer, image: \"\(DockerTestEngine.image)\", command: [sh, -c, \"\(quoted)\"]}\n"
                + "  - {slug: env, image: \"\(DockerTestEngine.image)\", command: [env]}\n", to: file)
        let submitted = try ErgonBinary.run(["submit", file, "--config", config])
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let queue = try SQLiteTaskQueue(path: dir + "/data/queue.sqlite")
        let all = try await queue.tasks(.all)
        let task = try #require(all.first { $0.spec.slug == "writer" })
        let envTask = try #require(all.first { $0.spec.slug == "env" })

        let first = try ErgonBinary.start(["agent", "--config", config], logFile: dir + "/agent-1.log")
        // Kill it once at least one multipart part (5 MiB+) went up and the task still runs.
        let deadline = ContinuousClock.now + .seconds(120)
        var killedWhileRunning = false
        while ContinuousClock.now < deadline {
            if let attempt = try await queue.attempts(of: task.id).first, attempt.logShipped > 6 << 20 {
                killedWhileRunning = try await queue.task(task.id)?.state == .running
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        #expect(killedWhileRunning, "the agent should have been killed while the task ran, after a part was sent")

        let second = try ErgonBinary.start(["agent", "--config", config], logFile: dir + "/agent-2.log")
        defer {
            second.terminate()
            second.waitUntilExit()
        }
        let ended = try await waitForTask(in: queue, task.id, timeout: .seconds(120)) { $0.state.isTerminal }
        #expect(ended.state == .completed)
        let key = "killed/" + LogKey(workflowID: task.workflowID, taskID: task.id, attempt: 1).workflowPath
        var object: [UInt8]?
        let objectDeadline = ContinuousClock.now + .seconds(60)
        while object == nil, ContinuousClock.now < objectDeadline {
            object = try S3TestServer.readObject(bucket: bucket, key: key)
            if object == nil { try await Task.sleep(for: .milliseconds(300)) }
        }
        let expected = writer.expected
        #expect(object?.count == expected.count)
        #expect(object == expected, "the final object differs from the task's output")
        #expect(try S3TestServer.listKeys(bucket: bucket).filter { $0.contains(".log.live/") }.isEmpty)
        // The agent's S3 secret is in its own environment, never in a task's.
        let envEnded = try await waitForTask(in: queue, envTask.id, timeout: .seconds(60)) { $0.state.isTerminal }
        #expect(envEnded.state == .completed)
        let envLog = try ErgonBinary.run(["tasks", "logs", envTask.id.uuidString, "--config", config])
        #expect(envLog.stdout.contains("PONOS_TASK="), "\(envLog.stdout)")
        #expect(!envLog.stdout.contains(S3TestServer.secretAccessKey!))
        // `tasks logs` on this machine prints the same bytes.
        let printed = try ErgonBinary.run(["tasks", "logs", task.id.uuidString, "--config", config])
        #expect(printed.status == 0)
        #expect(Array(printed.stdout.utf8) == expected)
    }

    @Test("a wrong secret stops the agent at start with the endpoint and bucket named, and no secret printed anywhere")
    func wrongSecretAtStart() throws {
        let dir = try CLITests.directory()
        let bucket = try S3TestServer.makeBucket()
        let secret = "Wrong+Secret/0123456789abcdefghijklmnop"
        setenv("ERGON_TEST_WRONG_SECRET", secret, 1)
        let config = try CLITests.config(
            in: dir, agent: "wrong-\(UUID().uuidString.prefix(6).lowercased())",
            extra: Self.s3Settings(bucket: bucket, prefix: "x", secretVariable: "ERGON_TEST_WRONG_SECRET"))
        let agent = try ErgonBinary.run(["agent", "--config", config])
        #expect(agent.status != 0)
        #expect(agent.stderr.contains(S3TestServer.endpoint!) && agent.stderr.contains(bucket), "\(agent.stderr)")
        #expect(agent.stderr.contains("authentication failed"), "\(agent.stderr)")
        #expect(!agent.stderr.contains(secret) && !agent.stdout.contains(secret))
        let check = try ErgonBinary.run(["config", "check", config])
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.contains("s3://\(bucket)/x") && check.stdout.contains("secret hidden"), "\(check.stdout)")
        #expect(!check.stdout.contains(secret) && !check.stderr.contains(secret))
    }

    @Test("artifacts in S3: a child reads its parent's artifact, the CLI downloads the child's; a missing bucket stops the agent")
    func artifactsInS3() async throws {
        let dir = try CLITests.directory()
        let bucket = try S3TestServer.makeBucket()
        let s3 = """
            artifacts:
              store: s3://\(bucket)/art
            s3:
              endpoint: \(S3TestServer.endpoint!)
              region: \(S3TestServer.region!)
              access_key_id: ${ERGON_S3_ACCESS_KEY_ID}
              secret_access_key: ${ERGON_S3_SECRET_ACCESS_KEY}
            """
        let config = try CLITests.config(in: dir, agent: "art-\(UUID().uuidString.prefix(6).lowercased())", poll: "1s", extra: s3)
        let file = dir + "/wf.yaml"
        try CLITests.write("""
            name: s3-artifacts
            tasks:
              - {slug: first, image: "\(DockerTestEngine.image)", command: "printf one > /data/current/a.txt; seq 1 200000 > /data/current/numbers.txt"}
              - {slug: second, image: "\(DockerTestEngine.image)", parents: [first], command: "{ cat /data/first/a.txt; printf +two; wc -l < /data/first/numbers.txt; } > /data/current/b.txt"}
            """, to: file)
        let agent = try ErgonBinary.start(["agent", "--config", config], logFile: dir + "/agent.log")
        defer { agent.terminate(); agent.waitUntilExit() }
        let submitted = try ErgonBinary.run(["submit", file, "--wait", "--config", config])
        let agentLog = (try? String(contentsOfFile: dir + "/agent.log", encoding: .utf8)) ?? ""
        #expect(submitted.status == 0, "\(submitted.stdout)\(submitted.stderr)\n--- agent:\n\(agentLog)")
        let queue = try SQLiteTaskQueue(path: dir + "/data/queue.sqlite")
        let tasks = Dictionary(uniqueKeysWithValues: try await queue.tasks(.all).map { ($0.spec.slug, $0) })
        let first = try #require(tasks["first"])
        let second = try #require(tasks["second"])
        let keys = try S3TestServer.listKeys(bucket: bucket, prefix: "art/")
        let firstFolder = "art/\(ArtifactOwner(first).path)/artifacts/"
        #expect(keys.contains(firstFolder + "a.txt") && keys.contains(firstFolder + "numbers.txt"), "\(keys)")
        let out = dir + "/b.txt"
        let fetched = try ErgonBinary.run(["tasks", "artifact", second.id.uuidString.lowercased(), "b.txt", "-o", out, "--config", config])
        #expect(fetched.status == 0, "\(fetched.stderr)")
        #expect(try String(contentsOfFile: out, encoding: .utf8).trimmingCharacters(in: .whitespaces) == "one+two200000\n")
        let listed = try ErgonBinary.run(["tasks", "artifacts", first.id.uuidString.lowercased(), "--json", "--config", config])
        #expect(listed.stdout.contains("numbers.txt"), "\(listed.stdout)")

        try FileManager.default.createDirectory(atPath: dir + "/missing", withIntermediateDirectories: true)
        let missing = try CLITests.config(
            in: dir + "/missing", agent: "nobucket",
            extra: s3.replacingOccurrences(of: "s3://\(bucket)/art", with: "s3://ergon-no-such-bucket-\(UUID().uuidString.prefix(8).lowercased())/art"))
        let refused = try ErgonBinary.run(["agent", "--config", missing])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("artifacts.store s3://ergon-no-such-bucket-"), "\(refused.stderr)")
    }
}
