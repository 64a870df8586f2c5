import ErgonCore
import ErgonSQLite
import Foundation
import Testing

/// `ergon workflows …` and `ergon tasks artifacts|artifact` run as a user runs them, against
/// a temporary configuration with the embedded SQLite queue and the file artifact store.
/// The queue and the store are driven directly where an agent would act.
@Suite("ergon workflows and task artifacts")
struct ArtifactWorkflowCLITests {
    /// A submitted workflow: its directory, config file, id and task ids by slug.
    struct Fixture {
        var dir: String
        var config: String
        var workflowID: String
        var taskIDs: [String: String]
        var queue: SQLiteTaskQueue { get throws { try SQLiteTaskQueue(path: dir + "/data/queue.sqlite") } }

        func run(_ arguments: [String], in directory: String? = nil) throws -> ErgonBinary.Result {
            try ErgonBinary.run(arguments + ["--config", config], in: directory)
        }

        /// The full id of a task submitted in the fixture (empty for a slug it does not have).
        func id(_ slug: String) -> String { taskIDs[slug] ?? "" }

        func task(_ slug: String) async throws -> TaskRecord {
            let id = try #require(taskIDs[slug].flatMap(UUID.init(uuidString:)))
            return try #require(try await queue.task(id))
        }

        func states() async throws -> [String: TaskState] {
            var states: [String: TaskState] = [:]
            for slug in taskIDs.keys { states[slug] = try await task(slug).state }
            return states
        }

        /// What an agent does: claims the task and records how its command exited.
        func finish(_ slug: String, exitCode: Int) async throws {
            let queue = try queue
            let id = try await task(slug).id
            let held = try #require(try await queue.claim(taskID: id, agentID: "test", gpu: nil, at: Date()))
            _ = try await queue.finishAttempt(taskID: id, attempt: held.attempt.number, outcome: .exited(code: exitCode), at: Date())
        }
    }

    /// Submits `name` with a chain a → b → c through the CLI.
    static func submitChain(_ name: String = "chain", in existing: (dir: String, config: String)? = nil) throws -> Fixture {
        let dir = try existing?.dir ?? CLITests.directory()
        let config = try existing?.config ?? CLITests.config(in: dir)
        let file = dir + "/\(name).yaml"
        try CLITests.write("""
            name: \(name)
            tasks:
              - {slug: a, image: x, command: echo}
              - {slug: b, image: x, command: echo, parents: [a]}
              - {slug: c, image: x, command: echo, parents: [b]}
            """, to: file)
        let submitted = try ErgonBinary.run(["submit", file, "--json", "--config", config])
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(submitted.stdout.utf8)) as? [String: Any])
        let workflowID = try #require((json["workflow"] as? [String: Any])?["id"] as? String)
        var taskIDs: [String: String] = [:]
        for task in json["tasks"] as? [[String: Any]] ?? [] {
            if let slug = task["slug"] as? String, let id = task["id"] as? String { taskIDs[slug] = id }
        }
        #expect(taskIDs.count == 3)
        return Fixture(dir: dir, config: config, workflowID: workflowID, taskIDs: taskIDs)
    }

    // MARK: workflows

    @Test("workflows list shows each workflow's state and task counts, as a table and as JSON")
    func list() async throws {
        let first = try Self.submitChain("first")
        try await first.finish("a", exitCode: 0)
        let second = try Self.submitChain("second", in: (first.dir, first.config))

        let table = try first.run(["workflows", "list"])
        #expect(table.status == 0, "\(table.stderr)")
        let lines = table.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines.first?.hasPrefix("ID") == true && lines.first?.contains("STATE") == true)
        #expect(lines[1].hasPrefix(String(first.workflowID.prefix(8))) && lines[1].contains("first"))
        #expect(lines[1].contains("running") && lines[1].contains("3: 1 unscheduled, 1 pending, 1 completed"))
        #expect(lines[2].contains("second") && lines[2].contains("3: 2 unscheduled, 1 pending"))

        let json = try first.run(["workflows", "list", "--json"])
        let array = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(array.map { $0["id"] as? String } == [first.workflowID, second.workflowID])
        #expect(array.first?["state"] as? String == "running")
        #expect(array.first?["task_count"] as? Int == 3)
        let counts = array.first?["counts"] as? [String: Int]
        #expect(counts?["completed"] == 1 && counts?["pending"] == 1 && counts?["failed"] == 0)
        #expect(counts?.count == TaskState.allCases.count, "every state has a count, zero included")
        for key in ["name", "created_at"] { #expect(array.first?.keys.contains(key) == true, "missing \(key)") }
    }

    @Test("workflows list says so when the queue has none")
    func listEmpty() throws {
        let dir = try CLITests.directory()
        let result = try ErgonBinary.run(["workflows", "list", "--config", try CLITests.config(in: dir)])
        #expect(result.status == 0)
        #expect(result.stdout == "no workflows\n")
    }

    @Test("workflows show takes a prefix and prints the workflow and its tasks")
    func show() async throws {
        let fixture = try Self.submitChain()
        let text = try fixture.run(["workflows", "show", String(fixture.workflowID.prefix(6))])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("workflow  \(fixture.workflowID)"))
        #expect(text.stdout.contains("name      chain"))
        #expect(text.stdout.contains("state     running"))
        #expect(text.stdout.contains("SLUG"))
        for slug in ["a", "b", "c"] {
            #expect(text.stdout.contains(String(try #require(fixture.taskIDs[slug]).prefix(8))))
        }

        let json = try fixture.run(["workflows", "show", fixture.workflowID.uppercased(), "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let detail = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect((detail["workflow"] as? [String: Any])?["id"] as? String == fixture.workflowID)
        let tasks = detail["tasks"] as? [[String: Any]]
        #expect(tasks?.map { $0["slug"] as? String } == ["a", "b", "c"])
        #expect(tasks?.map { $0["state"] as? String } == ["pending", "unscheduled", "unscheduled"])
    }

    @Test("a failed middle task: workflows retry re-runs its sub-tree and leaves the completed task alone")
    func retry() async throws {
        let fixture = try Self.submitChain()
        try await fixture.finish("a", exitCode: 0)
        try await fixture.finish("b", exitCode: 1)
        #expect(try await fixture.states() == ["a": .completed, "b": .failed, "c": .cancelled])
        let failed = try fixture.run(["workflows", "list"])
        #expect(failed.stdout.contains("failed") && failed.stdout.contains("3: 1 completed, 1 failed, 1 cancelled"))

        let result = try fixture.run(["workflows", "retry", String(fixture.workflowID.prefix(8))])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("retried 1 task(s)"))
        #expect(result.stdout.contains("b \(fixture.id("b")): pending"))
        #expect(try await fixture.states() == ["a": .completed, "b": .pending, "c": .unscheduled])

        // Nothing failed any more: a second retry is the user's mistake.
        let again = try fixture.run(["workflows", "retry", fixture.workflowID])
        #expect(again.status == 2)
        #expect(again.stderr.contains(fixture.workflowID) && again.stderr.contains("no failed"))
        #expect(try await fixture.states() == ["a": .completed, "b": .pending, "c": .unscheduled])
    }

    @Test("workflows cancel stops the waiting tasks at once; cancelling again exits 2")
    func cancel() async throws {
        let fixture = try Self.submitChain()
        try await fixture.finish("a", exitCode: 0)
        let result = try fixture.run(["workflows", "cancel", String(fixture.workflowID.prefix(8))])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("asked 1 task(s) to stop"))
        #expect(result.stdout.contains("b: stopped"))
        #expect(try await fixture.states() == ["a": .completed, "b": .stopped, "c": .cancelled])
        let listed = try fixture.run(["workflows", "list"])
        #expect(listed.stdout.contains("stopped"))

        let again = try fixture.run(["workflows", "cancel", fixture.workflowID])
        #expect(again.status == 2)
        #expect(again.stderr.contains("already ended") && again.stderr.contains(fixture.workflowID))

        // A stopped task is retried like a failed one.
        let retry = try fixture.run(["workflows", "retry", fixture.workflowID])
        #expect(retry.status == 0, "\(retry.stderr)")
        #expect(try await fixture.states() == ["a": .completed, "b": .pending, "c": .unscheduled])
    }

    @Test("bad, unknown and too short workflow ids exit 2 with one message naming the id")
    func badWorkflowIDs() async throws {
        let fixture = try Self.submitChain()
        for (text, expected) in [
            ("deadbeef", "deadbeef"), ("xyz!", "xyz!"), ("abc", "too short"),
            (UUID().uuidString.lowercased(), "no workflow with id"),
        ] {
            for command in ["show", "cancel", "retry"] {
                let result = try fixture.run(["workflows", command, text])
                #expect(result.status == 2, "\(command) \(text)")
                #expect(result.stderr.contains(expected), "\(command) \(text): \(result.stderr)")
                #expect(result.stderr.split(separator: "\n").count == 2, "one message after `using config`: \(result.stderr)")
            }
        }
        #expect(try await fixture.states() == ["a": .pending, "b": .unscheduled, "c": .unscheduled])
    }

    @Test("an ambiguous workflow prefix exits 2 listing the candidates")
    func ambiguousPrefix() async throws {
        let dir = try CLITests.directory()
        let config = try CLITests.config(in: dir)
        let queue = try SQLiteTaskQueue(path: dir + "/data/queue.sqlite")
        // Ids are random: submit through the queue until two share their first 4 hex digits
        // (about 320 workflows on average, by the birthday bound over 65536 prefixes).
        var seen: [String: String] = [:]
        var pair: (String, String)?
        let spec = WorkflowSpec(name: "many", tasks: [TaskSpec(slug: "t", image: "x", command: .shell("echo"))])
        while pair == nil {
            let (workflow, _) = try await queue.submit(spec, defaultMaxAttempts: 1, at: Date())
            let id = workflow.id.uuidString.lowercased()
            if let other = seen[String(id.prefix(4))] { pair = (other, id) } else { seen[String(id.prefix(4))] = id }
        }
        let (first, second) = try #require(pair)
        let result = try ErgonBinary.run(["workflows", "show", String(first.prefix(4)), "--config", config])
        #expect(result.status == 2)
        #expect(result.stderr.contains("matches several workflows"))
        #expect(result.stderr.contains(first) && result.stderr.contains(second))
    }

    // MARK: artifacts

    /// Stores `files` (name → bytes) as the artifacts of `slug`, as an agent would.
    static func store(_ files: [String: Data], for slug: String, in fixture: Fixture) async throws {
        let store = FileArtifactStore(root: fixture.dir + "/data/artifacts")
        let owner = ArtifactOwner(try await fixture.task(slug))
        for (name, bytes) in files {
            let source = fixture.dir + "/source-" + UUID().uuidString
            try bytes.write(to: URL(fileURLWithPath: source))
            try await store.store(owner, name: ArtifactName(name), file: source, contentType: ContentTypeGuess.forName(name))
        }
    }

    static let binary = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })

    @Test("tasks artifacts lists name, size, type and time; none is said so; --json has the documented keys")
    func listArtifacts() async throws {
        let fixture = try Self.submitChain()
        let a = String(fixture.id("a").prefix(8))
        let none = try fixture.run(["tasks", "artifacts", a])
        #expect(none.status == 0, "\(none.stderr)")
        #expect(none.stdout.contains("has no artifacts") && none.stdout.contains(fixture.id("a")))
        let noneJSON = try fixture.run(["tasks", "artifacts", a, "--json"])
        #expect((try JSONSerialization.jsonObject(with: Data(noneJSON.stdout.utf8)) as? [Any])?.isEmpty == true)

        try await Self.store(["result.json": Data("{\"ok\":true}".utf8), "model.bin": Self.binary], for: "a", in: fixture)
        let table = try fixture.run(["tasks", "artifacts", a])
        #expect(table.status == 0, "\(table.stderr)")
        let lines = table.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("NAME") && lines[0].contains("SIZE") && lines[0].contains("TYPE") && lines[0].contains("UPDATED"))
        #expect(lines[1].hasPrefix("model.bin") && lines[1].contains("293.0 KiB"))
        #expect(lines[2].hasPrefix("result.json") && lines[2].contains("11 B") && lines[2].contains("application/json"))

        let json = try fixture.run(["tasks", "artifacts", a, "--json"])
        let array = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(array.map { $0["name"] as? String } == ["model.bin", "result.json"])
        #expect(array.first?["size"] as? Int == Self.binary.count)
        for key in ["content_type", "created_at", "updated_at"] { #expect(array.first?.keys.contains(key) == true, "missing \(key)") }

        let unknown = try fixture.run(["tasks", "artifacts", "deadbeef"])
        #expect(unknown.status == 2 && unknown.stderr.contains("deadbeef"))
    }

    @Test("tasks artifact downloads byte-identical files, to NAME, -o FILE or standard output")
    func download() async throws {
        let fixture = try Self.submitChain()
        let a = String(fixture.id("a").prefix(8))
        try await Self.store(["model.bin": Self.binary, "notes.txt": Data("hello\n".utf8)], for: "a", in: fixture)
        let work = fixture.dir + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)

        let plain = try fixture.run(["tasks", "artifact", a, "model.bin"], in: work)
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(FileManager.default.contents(atPath: work + "/model.bin") == Self.binary)
        #expect(plain.stdout.isEmpty)

        let named = try fixture.run(["tasks", "artifact", a, "model.bin", "-o", work + "/copy.bin"])
        #expect(named.status == 0, "\(named.stderr)")
        #expect(FileManager.default.contents(atPath: work + "/copy.bin") == Self.binary)

        let piped = try fixture.run(["tasks", "artifact", a, "notes.txt", "-o", "-"])
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(piped.stdout == "hello\n")

        // Nothing but the downloads is left behind in the folder.
        #expect(try FileManager.default.contentsOfDirectory(atPath: work).sorted() == ["copy.bin", "model.bin"])
    }

    @Test("tasks artifact never replaces an existing file without --force")
    func refusesToOverwrite() async throws {
        let fixture = try Self.submitChain()
        let a = String(fixture.id("a").prefix(8))
        try await Self.store(["notes.txt": Data("new\n".utf8)], for: "a", in: fixture)
        let target = fixture.dir + "/notes.txt"
        try CLITests.write("mine\n", to: target)

        let refused = try fixture.run(["tasks", "artifact", a, "notes.txt"], in: fixture.dir)
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("notes.txt") && refused.stderr.contains("already exists") && refused.stderr.contains("--force"))
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "mine\n")
        let refusedO = try fixture.run(["tasks", "artifact", a, "notes.txt", "-o", target])
        #expect(refusedO.status == 2 && refusedO.stderr.contains(target))
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "mine\n")

        let forced = try fixture.run(["tasks", "artifact", a, "notes.txt", "-o", target, "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "new\n")

        let folder = try fixture.run(["tasks", "artifact", a, "notes.txt", "-o", fixture.dir, "--force"])
        #expect(folder.status == 2 && folder.stderr.contains("is a folder"))
        let noParent = try fixture.run(["tasks", "artifact", a, "notes.txt", "-o", fixture.dir + "/missing/notes.txt"])
        #expect(noParent.status == 2 && noParent.stderr.contains("/missing"))
    }

    @Test("tasks artifact refuses a bad name and names an unknown one with the task's artifacts")
    func badNames() async throws {
        let fixture = try Self.submitChain()
        let a = String(fixture.id("a").prefix(8))
        let b = String(fixture.id("b").prefix(8))
        try await Self.store(["one.txt": Data("1".utf8), "two.txt": Data("2".utf8)], for: "a", in: fixture)

        for bad in ["../etc/passwd", "..", "sub/file"] {
            let result = try fixture.run(["tasks", "artifact", a, bad, "-o", "-"], in: fixture.dir)
            #expect(result.status == 2, "\(bad)")
            #expect(result.stderr.contains("\"\(bad)\""), "\(bad): \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }

        let unknown = try fixture.run(["tasks", "artifact", a, "three.txt"], in: fixture.dir)
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("\"three.txt\"") && unknown.stderr.contains("one.txt, two.txt"))
        #expect(!FileManager.default.fileExists(atPath: fixture.dir + "/three.txt"))

        let none = try fixture.run(["tasks", "artifact", b, "one.txt"], in: fixture.dir)
        #expect(none.status == 2)
        #expect(none.stderr.contains("\"one.txt\"") && none.stderr.contains("it has none"))

        let unknownTask = try fixture.run(["tasks", "artifact", "deadbeef", "one.txt"], in: fixture.dir)
        #expect(unknownTask.status == 2 && unknownTask.stderr.contains("deadbeef"))
        // Only the submitted workflow file and the config are in the folder: no stray downloads.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: fixture.dir).filter { $0.hasPrefix(".ergon") }
        #expect(leftovers.isEmpty)
    }
}
