import ErgonCore
import ErgonSQLite
import ErgonTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The queue file itself: reopening, crashes, schema versions, files that cannot be used.
@Suite struct SQLiteTaskQueueFileTests {
    typealias Q = QueueConformance

    @Test func reopeningKeepsEveryRecord() async throws {
        try await withScratchDirectory { directory in
            let path = directory + "/nested/dir/queue.sqlite"
            let before: ([WorkflowRecord], [TaskRecord], [AttemptRecord])
            do {
                let queue = try SQLiteTaskQueue(path: path)
                let tasks = try await Q.submit(queue, [Q.task("a"), Q.task("b", parents: ["a"])], volumes: ["v"])
                var held = try #require(try await queue.claim(taskID: tasks["a"]!.id, agentID: "agent", gpu: "2", at: Q.t0))
                held.attempt.instanceID = "abc"
                held.attempt.outcome = .exited(code: 0)
                held.attempt.logSpooled = 10
                try await queue.updateAttempt(held.attempt)
                before = (try await queue.workflows(), try await queue.tasks(.all), try await queue.attempts(of: held.task.id))
            }
            let reopened = try SQLiteTaskQueue(path: path)
            #expect(try await reopened.workflows() == before.0)
            #expect(try await reopened.tasks(.all) == before.1)
            #expect(try await reopened.attempts(of: before.1[0].id) == before.2)
            #expect(try await reopened.heldTasks(agentID: "agent").map(\.attempt) == before.2)
        }
    }

    /// A process killed with SIGKILL in the middle of a write transaction loses only that
    /// transaction: while it lived, another writer waited for it (busy timeout) instead of
    /// failing; after it died, everything committed is there and the file takes writes.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") && SQLiteShell.isAvailable,
        "needs /usr/bin/python3 to hold a write transaction and be killed, and \(SQLiteShell.path)"))
    func reopeningAfterAWriterWasKilledKeepsCommittedData() async throws {
        try await withScratchDirectory { directory in
            let path = directory + "/queue.sqlite"
            let queue = try SQLiteTaskQueue(path: path)
            let tasks = try await Q.submit(queue, [Q.task("a"), Q.task("b", parents: ["a"])])
            let held = try #require(try await queue.claim(taskID: tasks["a"]!.id, agentID: "agent", gpu: nil, at: Q.t0))

            let writer = try KilledWriter(path: path)
            defer { writer.killNow() }
            try await writer.waitUntilHoldingTheWriteLock()
            let other = try SQLiteTaskQueue(path: path)
            async let waitingSubmit = other.submit(Q.workflow("during", [Q.task("x")]), defaultMaxAttempts: 1, at: Q.t0)
            try await Task.sleep(for: .milliseconds(300))
            writer.killNow()
            #expect(writer.wasKilled)
            let during = try await waitingSubmit

            let reopened = try SQLiteTaskQueue(path: path)
            #expect(try SQLiteShell.run(path, "PRAGMA integrity_check;") == "ok")
            #expect(try SQLiteShell.run(path, "SELECT count(*) FROM sqlite_master WHERE name = 'junk';") == "0")
            let stored = try await reopened.tasks(.all)
            #expect(stored.map(\.spec.slug) == ["a", "b", "x"])
            #expect(!stored.contains { $0.reason == "uncommitted" })
            #expect(try await reopened.task(tasks["b"]!.id)?.reason == "committed by the child")
            #expect(try await reopened.heldTasks(agentID: "agent") == [held])
            #expect(try await reopened.workflow(during.0.id) == during.0)

            let done = try await reopened.finishAttempt(taskID: held.task.id, attempt: 1, outcome: .exited(code: 0), at: Q.t0)
            #expect(done.state == .completed)
            #expect(try await reopened.pendingTasks(limit: 10).map(\.spec.slug) == ["b", "x"])
            #expect(try await queue.task(tasks["b"]!.id)?.state == .pending, "the first instance sees the new writes")
        }
    }

    @Test(.enabled(if: SQLiteShell.isAvailable, "needs \(SQLiteShell.path)"))
    func aFileFromANewerErgonIsRefused() async throws {
        try await withScratchDirectory { directory in
            let path = directory + "/queue.sqlite"
            _ = try await Q.submit(try SQLiteTaskQueue(path: path), [Q.task("a")])
            try SQLiteShell.run(path, "INSERT INTO grdb_migrations VALUES ('v999-from-the-future');")
            #expect(
                throws: QueueError(
                    .schemaTooNew, "\(path): written by a newer Ergon (schema v999-from-the-future); upgrade ergon")
            ) { try SQLiteTaskQueue(path: path) }
            #expect(try SQLiteShell.run(path, "SELECT count(*) FROM tasks;") == "1", "the refused file is untouched")
        }
    }

    /// The frozen v1 file opens with this build: every migration after v1 runs, and every
    /// record reads back as v1 wrote it and can move on.
    @Test(.enabled(if: SQLiteShell.isAvailable, "needs \(SQLiteShell.path)"))
    func aFileFromSchemaV1OpensWithItsData() async throws {
        try await withScratchDirectory { directory in
            let path = directory + "/queue-v1.sqlite"
            try SQLiteShell.run(path, SchemaV1Fixture.dump)
            #expect(try SQLiteShell.run(path, "SELECT identifier FROM grdb_migrations;") == "v1")

            let queue = try SQLiteTaskQueue(path: path)
            #expect(
                try SQLiteShell.run(path, "SELECT identifier FROM grdb_migrations ORDER BY rowid;")
                    == SQLiteTaskQueue.schemaVersions.joined(separator: "\n"))
            let id = { (text: String) in UUID(uuidString: text)! }
            let workflow = try #require(try await queue.workflow(id(SchemaV1Fixture.workflowID)))
            #expect(workflow.name == "v1 workflow" && workflow.volumes == ["scratch"] && !workflow.cleanedUp)
            #expect(workflow.createdAt == Q.t0)

            let tasks = try await queue.tasks(.all)
            #expect(tasks.map(\.spec.slug) == ["prepare", "train", "report", "lint", "after-lint"])
            #expect(tasks.map(\.state) == [.completed, .running, .unscheduled, .failed, .cancelled])
            #expect(tasks.map(\.seq) == [1, 2, 3, 4, 5])
            let train = tasks[1]
            #expect(train.spec.command == .exec(["python", "train.py"]) && train.spec.gpu && train.spec.priority == 5)
            #expect(train.spec.timeoutSeconds == 3600 && train.parentIDs == [id(SchemaV1Fixture.prepare)])
            #expect(tasks[0].spec.env == ["K": "V"] && tasks[0].maxAttempts == 2 && tasks[0].exitCode == 0)
            #expect(tasks[3].exitCode == 3 && tasks[3].reason == "exited with code 3")
            #expect(tasks[4].reason == "parent \"lint\" ended failed")

            let held = try await queue.heldTasks(agentID: "agent-1")
            #expect(held.map(\.task.id) == [id(SchemaV1Fixture.train)])
            #expect(
                held.first?.attempt
                    == AttemptRecord(
                        taskID: id(SchemaV1Fixture.train), number: 1, agentID: "agent-1", phase: .running,
                        instanceID: "beef01", gpu: "0", claimedAt: Q.t0 + 30, startedAt: Q.t0 + 31, absentTicks: 1))
            #expect(
                try await queue.attempts(of: id(SchemaV1Fixture.prepare))
                    == [
                        AttemptRecord(
                            taskID: id(SchemaV1Fixture.prepare), number: 1, agentID: "agent-1", phase: .done,
                            instanceID: "c0ffee", outcome: .exited(code: 0), claimedAt: Q.t0 + 10, startedAt: Q.t0 + 11,
                            endedAt: Q.t0 + 20, logCursor: "1700000020.5", logSpooled: 120, logShipped: 100)
                    ])

            // The old records keep moving under the current rules.
            _ = try await queue.finishAttempt(taskID: train.id, attempt: 1, outcome: .exited(code: 0), at: Q.t0 + 50)
            #expect(try await queue.task(id(SchemaV1Fixture.report))?.state == .pending)
            #expect(try await queue.retry(taskID: id(SchemaV1Fixture.lint), at: Q.t0 + 60).state == .pending)
            #expect(try await queue.task(id(SchemaV1Fixture.afterLint))?.state == .unscheduled)
            let (_, added) = try await queue.submit(Q.workflow("new", [Q.task("n")]), defaultMaxAttempts: 1, at: Q.t0)
            #expect(added.map(\.seq) == [6])
        }
    }

    @Test func aFileThatIsNotADatabaseIsRefusedNamingIt() async throws {
        try await withScratchDirectory { directory in
            let path = directory + "/notes.txt"
            try Data(String(repeating: "these are not the tables you are looking for\n", count: 200).utf8)
                .write(to: URL(fileURLWithPath: path))
            expectCannotOpen(path)
        }
    }

    @Test func aPathUnderARegularFileIsRefusedNamingIt() async throws {
        try await withScratchDirectory { directory in
            try Data("x".utf8).write(to: URL(fileURLWithPath: directory + "/file"))
            expectCannotOpen(directory + "/file/queue.sqlite")
        }
    }

    private func expectCannotOpen(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try SQLiteTaskQueue(path: path)
            Issue.record("opened \(path)", sourceLocation: sourceLocation)
        } catch let error as SQLiteQueueError {
            #expect(error.kind == .cannotOpen, sourceLocation: sourceLocation)
            #expect(error.message.hasPrefix("\(path): cannot open the task queue: "), "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }
}

/// A Python process that commits one change to the queue file, then opens a write
/// transaction, writes enough to spill pages into the WAL, and waits to be killed.
final class KilledWriter: @unchecked Sendable {
    // @unchecked: `process` and `output` are only touched from the test's own task; the
    // detached read below only reads from the pipe's file handle, which is thread-safe.
    private let process = Process()
    private let output = Pipe()

    init(path: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [
            "-c",
            """
            import sqlite3, sys, time
            db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
            db.execute("PRAGMA cache_size = 1")
            db.execute("UPDATE tasks SET reason = 'committed by the child' WHERE slug = 'b'")
            db.execute("BEGIN IMMEDIATE")
            db.execute("UPDATE tasks SET reason = 'uncommitted'")
            db.execute("CREATE TABLE junk (x BLOB)")
            db.executemany("INSERT INTO junk VALUES (?)", [(bytes(4000),) for _ in range(300)])
            print("ready", flush=True)
            time.sleep(600)
            """,
            path,
        ]
        process.standardOutput = output
        try process.run()
    }

    /// Returns once the child printed that it holds the write lock; throws if it died first.
    func waitUntilHoldingTheWriteLock() async throws {
        let handle = output.fileHandleForReading
        var printed = ""
        while !printed.contains("ready\n") {
            let chunk = await Task.detached { handle.availableData }.value
            guard !chunk.isEmpty else { throw WriterDied(printed: printed) }
            printed += String(decoding: chunk, as: UTF8.self)
        }
    }

    /// Kills the child with SIGKILL (if still running) and reaps it.
    func killNow() {
        guard process.isRunning else { return }
        _ = kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// True when the child ended by a signal.
    var wasKilled: Bool { !process.isRunning && process.terminationReason == .uncaughtSignal }

    struct WriterDied: Error, CustomStringConvertible {
        var printed: String
        var description: String { "the python writer exited before holding the lock; it printed: \(printed)" }
    }
}
