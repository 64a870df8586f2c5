import ErgonCore
import ErgonSQLite
import ErgonTestSupport
import Foundation
import Testing

/// `ergon gc --older-than`: what goes (old ended workflows: rows, logs, artifacts, spool and
/// workspace files) and what stays (recent or live workflows), with a dry run first.
@Suite("ergon gc")
struct GCCommandTests {
    /// The files one task leaves under the data dir, made as an agent would make them.
    struct TaskFiles {
        let log: String
        let spool: String
        let workspace: String
        let artifact: String

        var all: [String] { [log, spool, workspace, artifact] }
    }

    static func leaveFiles(for task: TaskRecord, data: String) async throws -> TaskFiles {
        let spool = LogSpool(directory: data + "/spool")
        let bytes = Array("log of \(task.spec.slug)\n".utf8)
        try spool.append(taskID: task.id, attempt: 1, at: 0, bytes: bytes)
        let key = LogKey(workflowID: task.workflowID, taskID: task.id, attempt: 1)
        _ = try await FileLogStore(directory: data + "/logs").ship(
            SpooledLog(key: key, path: spool.path(of: key), length: Int64(bytes.count), isComplete: true))
        let workspace = try TaskWorkspace(root: data + "/work").prepare(taskID: task.id)
        let output = workspace + "/" + task.id.uuidString.lowercased() + "/result.txt"
        try "result of \(task.spec.slug)\n".write(toFile: output, atomically: true, encoding: .utf8)
        _ = try await FileArtifactStore(root: data + "/artifacts").store(
            ArtifactOwner(task), name: try ArtifactName("result.txt"), file: output, contentType: "text/plain")
        let id = task.id.uuidString.lowercased()
        return TaskFiles(
            log: data + "/logs/" + id, spool: data + "/spool/" + id, workspace: workspace,
            artifact: (try? FileManager.default.subpathsOfDirectory(atPath: data + "/artifacts"))
                .flatMap { paths in paths.first { $0.contains(id) && $0.hasSuffix("result.txt") } }
                .map { data + "/artifacts/" + $0 } ?? "(no artifact file for \(id))")
    }

    static func run(_ queue: any TaskQueue, _ task: TaskRecord, _ outcome: AttemptOutcome, at: Date) async throws {
        let held = try #require(try await queue.claim(taskID: task.id, agentID: "gone", gpu: nil, at: at))
        _ = try await queue.finishAttempt(taskID: task.id, attempt: held.attempt.number, outcome: outcome, at: at)
    }

    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    @Test func dryRunThenRemoval() async throws {
        let dir = try AgentHarness.temporaryDirectory()
        let data = dir + "/data"
        let config = dir + "/ergon.yaml"
        try "agent: {id: gc-test}\ndata_dir: \(data)\n".write(toFile: config, atomically: true, encoding: .utf8)
        let queue = try SQLiteTaskQueue(path: data + "/queue.sqlite")
        let longAgo = Date().addingTimeInterval(-40 * 86_400)
        func spec(_ slug: String, parents: [String] = []) -> TaskSpec {
            TaskSpec(slug: slug, image: "alpine:3", command: .shell("true"), parents: parents)
        }
        let (old, oldTasks) = try await queue.submit(
            WorkflowSpec(name: "old", tasks: [spec("a"), spec("b", parents: ["a"])]), defaultMaxAttempts: 1, at: longAgo)
        try await Self.run(queue, oldTasks[0], .exited(code: 0), at: longAgo)
        try await Self.run(queue, oldTasks[1], .exited(code: 1), at: longAgo)
        let (recent, recentTasks) = try await queue.submit(
            WorkflowSpec(name: "recent", tasks: [spec("r")]), defaultMaxAttempts: 1, at: longAgo)
        try await Self.run(queue, recentTasks[0], .exited(code: 0), at: Date().addingTimeInterval(-86_400))
        let (live, liveTasks) = try await queue.submit(
            WorkflowSpec(name: "live", tasks: [spec("l")]), defaultMaxAttempts: 1, at: longAgo)
        var oldFiles: [String] = []
        for task in try await queue.tasks(TaskFilter(workflowID: old.id)) {
            oldFiles += try await Self.leaveFiles(for: task, data: data).all
        }
        let keptFiles = try await Self.leaveFiles(for: recentTasks[0], data: data).all
            + Self.leaveFiles(for: liveTasks[0], data: data).all
        for path in oldFiles + keptFiles { #expect(Self.exists(path), "\(path) was made") }

        // The dry run lists the old workflow and changes nothing.
        let dry = try ErgonBinary.run(["gc", "--older-than", "30d", "--dry-run", "--json", "--config", config])
        #expect(dry.status == 0, "\(dry.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(dry.stdout.utf8)) as? [String: Any]
        let listed = report?["workflows"] as? [[String: Any]] ?? []
        #expect(listed.map { $0["id"] as? String } == [old.id.uuidString.lowercased()])
        #expect(listed.first?["outcome"] as? String == "would remove")
        #expect(listed.first?["tasks"] as? Int == 2 && listed.first?["log_objects"] as? Int == 2)
        #expect(listed.first?["artifacts"] as? Int == 2 && (listed.first?["log_bytes"] as? Int ?? 0) > 0)
        // Per task: a spool log and a workspace file (plus its `current` link).
        #expect(listed.first?["local_files"] as? Int == 6)
        #expect(report?["dry_run"] as? Bool == true)
        for path in oldFiles + keptFiles { #expect(Self.exists(path), "\(path) survives a dry run") }
        #expect(try await queue.workflows().map(\.id) == [old.id, recent.id, live.id])

        // The real run: the old workflow's files and rows go, the rest stays.
        let real = try ErgonBinary.run(["gc", "--older-than", "30d", "--config", config])
        #expect(real.status == 0, "\(real.stderr)")
        #expect(real.stdout.contains("removed workflow old (\(old.id.uuidString.lowercased().prefix(8)))"), "\(real.stdout)")
        #expect(real.stdout.contains("removed 1 workflow(s), 2 task(s), 2 log object(s)"), "\(real.stdout)")
        for path in oldFiles { #expect(!Self.exists(path), "\(path) is removed") }
        for path in keptFiles { #expect(Self.exists(path), "\(path) stays") }
        #expect(try await queue.workflows().map(\.id) == [recent.id, live.id])
        for task in oldTasks {
            #expect(try await queue.task(task.id) == nil)
            #expect(try await queue.attempts(of: task.id) == [])
        }
        #expect(try await queue.tasks(.all).map(\.id) == recentTasks.map(\.id) + liveTasks.map(\.id))

        // Again: nothing left to do, and a shorter age takes the recent one too.
        let again = try ErgonBinary.run(["gc", "--older-than", "30d", "--config", config])
        #expect(again.status == 0 && again.stdout.contains("no workflow ended before"), "\(again.stdout)")
        let shorter = try ErgonBinary.run(["gc", "--older-than", "12h", "--config", config])
        #expect(shorter.status == 0 && shorter.stdout.contains("removed 1 workflow(s), 1 task(s)"), "\(shorter.stdout)")
        #expect(try await queue.workflows().map(\.id) == [live.id], "a live workflow is never removed")
    }

    @Test func aLogTheStoreNeverTookKeepsItsWorkflow() async throws {
        let dir = try AgentHarness.temporaryDirectory()
        let data = dir + "/data"
        let config = dir + "/ergon.yaml"
        try "agent: {id: gc-test}\ndata_dir: \(data)\n".write(toFile: config, atomically: true, encoding: .utf8)
        let queue = try SQLiteTaskQueue(path: data + "/queue.sqlite")
        let longAgo = Date().addingTimeInterval(-40 * 86_400)
        let (old, tasks) = try await queue.submit(
            WorkflowSpec(name: "unsent", tasks: [TaskSpec(slug: "a", image: "alpine:3", command: .shell("true"))]),
            defaultMaxAttempts: 1, at: longAgo)
        let held = try #require(try await queue.claim(taskID: tasks[0].id, agentID: "gone", gpu: nil, at: longAgo))
        // The agent spooled 12 bytes and its backlog never got them into the store.
        var attempt = held.attempt
        attempt.logSpooled = 12
        try await queue.updateAttempt(attempt)
        _ = try await queue.finishAttempt(taskID: tasks[0].id, attempt: attempt.number, outcome: .exited(code: 0), at: longAgo)
        let files = try await Self.leaveFiles(for: tasks[0], data: data)

        // The dry run says what the real run does.
        let dry = try ErgonBinary.run(["gc", "--older-than", "30d", "--dry-run", "--config", config])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("kept: the log of task a attempt 1 is not in the log store yet"), "\(dry.stdout)")
        let run = try ErgonBinary.run(["gc", "--older-than", "30d", "--config", config])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("kept: the log of task a attempt 1 is not in the log store yet"), "\(run.stdout)")
        for path in files.all { #expect(Self.exists(path), "\(path) stays") }
        #expect(try await queue.workflows().map(\.id) == [old.id])
    }

    @Test func anUndeliveredWebhookReportKeepsItsWorkflow() async throws {
        let dir = try AgentHarness.temporaryDirectory()
        let data = dir + "/data"
        let plain = dir + "/plain.yaml"
        let hooked = dir + "/hooked.yaml"
        try "agent: {id: gc-test}\ndata_dir: \(data)\n".write(toFile: plain, atomically: true, encoding: .utf8)
        try "agent: {id: gc-test}\ndata_dir: \(data)\nnotify: {webhook_url: \"http://127.0.0.1:9/hook\"}\n"
            .write(toFile: hooked, atomically: true, encoding: .utf8)
        let queue = try SQLiteTaskQueue(path: data + "/queue.sqlite")
        let spec = TaskSpec(slug: "a", image: "alpine:3", command: .shell("true"))
        // Ended 2 days ago, unreported: within the agents' 3-day lookback, its report is still to go.
        let twoDaysAgo = Date().addingTimeInterval(-2 * 86_400)
        let (pending, pendingTasks) = try await queue.submit(
            WorkflowSpec(name: "pending", tasks: [spec]), defaultMaxAttempts: 1, at: twoDaysAgo)
        try await Self.run(queue, pendingTasks[0], .exited(code: 0), at: twoDaysAgo)
        // Ended 40 days ago, unreported: older than the lookback, no agent will ever report it.
        let longAgo = Date().addingTimeInterval(-40 * 86_400)
        let (history, historyTasks) = try await queue.submit(
            WorkflowSpec(name: "history", tasks: [spec]), defaultMaxAttempts: 1, at: longAgo)
        try await Self.run(queue, historyTasks[0], .exited(code: 0), at: longAgo)
        let files = try await Self.leaveFiles(for: pendingTasks[0], data: data)
        let pendingID = pending.id.uuidString.lowercased().prefix(8)
        let kept = "kept: its webhook report is not delivered yet"

        // Without a webhook nothing waits for a report: both would go.
        let plainDry = try ErgonBinary.run(["gc", "--older-than", "1d", "--dry-run", "--config", plain])
        #expect(plainDry.status == 0, "\(plainDry.stderr)")
        #expect(plainDry.stdout.contains("would remove workflow pending (\(pendingID))"), "\(plainDry.stdout)")
        #expect(plainDry.stdout.contains("would remove 2 workflow(s)"), "\(plainDry.stdout)")

        // With one, the dry run and the real run keep the workflow whose report is pending.
        let dry = try ErgonBinary.run(["gc", "--older-than", "1d", "--dry-run", "--config", hooked])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("\(kept) workflow pending (\(pendingID))"), "\(dry.stdout)")
        #expect(dry.stdout.contains("would remove 1 workflow(s)"), "\(dry.stdout)")
        let run = try ErgonBinary.run(["gc", "--older-than", "1d", "--config", hooked])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("\(kept) workflow pending (\(pendingID))"), "\(run.stdout)")
        #expect(run.stdout.contains("removed workflow history"), "\(run.stdout)")
        #expect(try await queue.workflows().map(\.id) == [pending.id])
        for path in files.all { #expect(Self.exists(path), "\(path) stays until the report is delivered") }
        #expect(try await queue.workflow(history.id) == nil)

        // Delivered: the next run removes it.
        #expect(try await queue.claimNotification(workflowID: pending.id, agentID: "gc-test", until: Date() + 60, at: Date()))
        try await queue.markNotified(workflowID: pending.id, agentID: "gc-test", at: Date())
        let after = try ErgonBinary.run(["gc", "--older-than", "1d", "--config", hooked])
        #expect(after.status == 0, "\(after.stderr)")
        #expect(after.stdout.contains("removed workflow pending (\(pendingID))"), "\(after.stdout)")
        #expect(try await queue.workflows() == [])
        for path in files.all { #expect(!Self.exists(path), "\(path) is removed") }
    }

    static let badAges: [([String], String)] = [
        ([], "--older-than: required"),
        (["--older-than", "0"], "--older-than: must be longer than zero, got \"0\""),
        (["--older-than=-3d"], "--older-than: must be longer than zero, got \"-3d\""),
        (["--older-than", "soon"], "--older-than: invalid duration \"soon\""),
    ]

    @Test(arguments: badAges)
    func badAgeIsAUserError(arguments: [String], message: String) throws {
        let dir = try AgentHarness.temporaryDirectory()
        let config = dir + "/ergon.yaml"
        try "data_dir: \(dir)/data\n".write(toFile: config, atomically: true, encoding: .utf8)
        let result = try ErgonBinary.run(["gc"] + arguments + ["--config", config])
        #expect(result.status == 2)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(!Self.exists(dir + "/data/queue.sqlite"), "nothing is opened before the flags are checked")
    }
}
