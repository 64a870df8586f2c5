import ErgonCore
import ErgonSQLite
import ErgonTestSupport
import Foundation
import Logging
import Testing

@testable import ErgonCLI

/// `notify.webhook_url`: two agents sharing one queue report each ended workflow exactly once
/// to a real HTTP listener, retrying after a 500.
@Suite("Workflow end webhook", .serialized)
struct WorkflowNotifierTests {
    static let secret = "0123456789abcdef-secret"

    func notifier(_ agentID: String, queue: any TaskQueue, url: URL) -> WorkflowNotifier {
        var settings = WorkflowNotifier.Settings(url: url, headers: ["Authorization": "Bearer hook-token"], secret: Self.secret)
        settings.pollInterval = .milliseconds(100)
        settings.initialBackoff = 0.3
        var logger = Logger(label: "ergon.test.notify.\(agentID)")
        logger.logLevel = .debug
        return WorkflowNotifier(settings: settings, agentID: agentID, queue: queue, transport: HTTPWebhookTransport(), logger: logger)
    }

    /// Claims a pending task and ends its attempt with `outcome` now.
    func run(_ queue: any TaskQueue, _ task: TaskRecord, _ outcome: AttemptOutcome) async throws {
        let held = try #require(try await queue.claim(taskID: task.id, agentID: "worker", gpu: nil, at: Date()))
        _ = try await queue.finishAttempt(taskID: task.id, attempt: held.attempt.number, outcome: outcome, at: Date())
    }

    @Test func oneReportPerEndedWorkflowWithARetryAfter500() async throws {
        let dir = try AgentHarness.temporaryDirectory()
        let receiver = try WebhookReceiver(directory: dir, failures: 1)
        defer { receiver.stop() }
        let queue = try SQLiteTaskQueue(path: dir + "/queue.sqlite")
        let (ended, endedTasks) = try await queue.submit(
            WorkflowSpec(name: "htr", tasks: [
                TaskSpec(slug: "a", image: "alpine:3", command: .shell("true")),
                TaskSpec(slug: "b", image: "alpine:3", command: .shell("false"), parents: ["a"]),
            ]), defaultMaxAttempts: 1, at: Date())
        let (later, laterTasks) = try await queue.submit(
            WorkflowSpec(name: "later", tasks: [TaskSpec(slug: "x", image: "alpine:3", command: .shell("true"))]),
            defaultMaxAttempts: 1, at: Date())
        try await run(queue, endedTasks[0], .exited(code: 0))
        try await run(queue, endedTasks[1], .exited(code: 2))

        // Two agents on the same queue file, as two processes sharing a data_dir would be.
        let other = try SQLiteTaskQueue(path: dir + "/queue.sqlite")
        let agents = [notifier("agent-a", queue: queue, url: receiver.url), notifier("agent-b", queue: other, url: receiver.url)]
        let running = agents.map { agent in Task { try await agent.run() } }
        defer { running.forEach { $0.cancel() } }

        let first = try await receiver.waitForRequests(2)
        try #require(first.count == 2, "expected a 500 then a retried 200, got \(first.map(\.status))")
        #expect(first.map(\.status) == [500, 200])
        #expect(first[0].body == first[1].body, "the retry sends the same report")
        let report = try WorkflowEndReport.decode(Array(first[1].body.utf8))
        #expect(report.workflowId == ended.id.uuidString.lowercased() && report.name == "htr")
        #expect(report.event == "workflow.ended" && report.state == .failed)
        #expect(report.counts["completed"] == 1 && report.counts["failed"] == 1 && report.counts["pending"] == 0)
        #expect(report.tasks.map(\.slug) == ["a", "b"] && report.tasks.map(\.state) == [.completed, .failed])
        #expect(report.tasks.map(\.exitCode) == [0, 2] && report.tasks.map(\.attempts) == [1, 1])
        #expect(report.cost == nil && report.startedAt != nil && report.endedAt >= report.startedAt!)
        let headers = Dictionary(first[1].headers.map { ($0.key.lowercased(), $0.value) }) { a, _ in a }
        #expect(headers["content-type"] == "application/json")
        #expect(headers["authorization"] == "Bearer hook-token")
        #expect(headers["x-ergon-delivery"] == ended.id.uuidString.lowercased())
        #expect(headers["x-ergon-signature"] == WebhookSignature.value(body: Array(first[1].body.utf8), secret: Self.secret))
        #expect(first[1].path == "/hooks/ergon?token=abc")

        // Nothing more for it, from either agent; the live workflow is not reported.
        try await Task.sleep(for: .seconds(1.5))
        #expect(try receiver.requests().count == 2)

        try await run(queue, laterTasks[0], .exited(code: 0))
        let all = try await receiver.waitForRequests(3)
        #expect(all.count == 3)
        let second = try WorkflowEndReport.decode(Array(all[2].body.utf8))
        #expect(second.workflowId == later.id.uuidString.lowercased() && second.state == .completed && all[2].status == 200)
        try await Task.sleep(for: .seconds(1))
        #expect(try receiver.requests().count == 3, "each workflow is reported once")

        // A restart (a new notifier, same agent id) finds both recorded as delivered.
        running.forEach { $0.cancel() }
        let restarted = notifier("agent-a", queue: try SQLiteTaskQueue(path: dir + "/queue.sqlite"), url: receiver.url)
        await restarted.deliverDue()
        #expect(try receiver.requests().count == 3)
        #expect(try await queue.workflowsToNotify(since: .distantPast, at: Date()) == [])
    }

    @Test func unreachableEndpointIsRetriedAndNotMarked() async throws {
        let dir = try AgentHarness.temporaryDirectory()
        let queue = try SQLiteTaskQueue(path: dir + "/queue.sqlite")
        let (_, tasks) = try await queue.submit(
            WorkflowSpec(name: "w", tasks: [TaskSpec(slug: "a", image: "alpine:3", command: .shell("true"))]),
            defaultMaxAttempts: 1, at: Date())
        try await run(queue, tasks[0], .exited(code: 0))
        // A port nothing listens on: the connection is refused.
        let closed = URL(string: "http://127.0.0.1:\(try freeLoopbackPort())/hook")!
        let agent = notifier("agent-a", queue: queue, url: closed)
        await agent.deliverDue()
        #expect(try await queue.workflowsToNotify(since: .distantPast, at: Date().addingTimeInterval(3600)).count == 1,
                "not marked delivered; listed again once the claim ran out")
        // Another agent cannot take it while the first one's claim covers its retry.
        let other = notifier("agent-b", queue: queue, url: closed)
        await other.deliverDue()
        #expect(try await queue.claimNotification(
            workflowID: tasks[0].workflowID, agentID: "agent-b", until: Date().addingTimeInterval(60), at: Date()) == false)
    }
}

/// `ergon agent` with `notify.webhook_url`: the agent process reports a workflow it ran.
@Suite("Workflow end webhook from an agent process", .dockerEngine, .serialized)
struct AgentWebhookTests {
    @Test func agentPostsWhenItsWorkflowEnds() async throws {
        let dir = try CLITests.directory()
        let receiver = try WebhookReceiver(directory: dir, failures: 0)
        defer { receiver.stop() }
        let config = try CLITests.config(
            in: dir, agent: "hook-\(UUID().uuidString.prefix(6).lowercased())", poll: "1s",
            extra: "notify:\n  webhook_url: \"\(receiver.url.absoluteString)\"\n  secret: \(WorkflowNotifierTests.secret)")
        let agent = try ErgonBinary.start(["agent", "--config", config], logFile: dir + "/agent.log")
        defer {
            agent.terminate()
            agent.waitUntilExit()
        }
        let file = dir + "/wf.yaml"
        try CLITests.write(
            "name: hooked\ntasks:\n  - {slug: a, image: \"\(DockerTestEngine.image)\", command: [sh, -c, \"exit 3\"]}\n", to: file)
        let result = try ErgonBinary.run(["submit", file, "--wait", "--json", "--config", config])
        #expect(result.status != 0, "the task fails: \(result.stdout)\(result.stderr)")
        let requests = try await receiver.waitForRequests(1, timeout: 30)
        try #require(requests.count == 1, "no POST; agent log:\n\(ErgonBinary.tail(of: dir + "/agent.log"))")
        let report = try WorkflowEndReport.decode(Array(requests[0].body.utf8))
        #expect(report.name == "hooked" && report.state == .failed && report.tasks.map(\.exitCode) == [3])
        let signature = requests[0].headers.first { $0.key.lowercased() == "x-ergon-signature" }?.value
        #expect(signature == WebhookSignature.value(body: Array(requests[0].body.utf8), secret: WorkflowNotifierTests.secret))
        try await Task.sleep(for: .seconds(3))
        #expect(try receiver.requests().count == 1)
    }
}
