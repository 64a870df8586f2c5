import ErgonCore
import ErgonTestSupport
import Foundation
import Testing

/// Artifacts in docker mode: what a task leaves at the top of /data/current is stored, and
/// its children find it under /data/<parent id> and /data/<parent slug>.
@Suite("Artifacts between tasks (docker mode)", .dockerEngine)
struct ArtifactAgentTests {
    let image = DockerTestEngine.image

    @Test("a three-task chain: the second reads the first's artifacts, the third the second's")
    func chain() async throws {
        let agent = try AgentHarness()
        agent.start()
        let store = FileArtifactStore(root: agent.config.dataDir + "/artifacts")
        let tasks = try await agent.submit("chain", [
            TaskSpec(slug: "first", image: image, command: .shell("""
                printf 'one' > /data/current/a.txt
                dd if=/dev/urandom of=/data/current/bin.dat bs=1024 count=300 2>/dev/null
                mkdir /data/current/sub && echo nested > /data/current/sub/x
                ln -s a.txt /data/current/link
                """)),
            TaskSpec(slug: "second", image: image, command: .shell("""
                ls -la /data
                { cat /data/first/a.txt; printf '+two'; } > /data/current/b.txt
                cp /data/$(readlink /data/first)/bin.dat /data/current/bin2.dat
                test ! -e /data/first/sub && test ! -e /data/first/link
                """), parents: ["first"]),
            TaskSpec(slug: "third", image: image, command: .shell("""
                echo "third read: $(cat /data/second/b.txt)"
                echo "current is $(readlink /data/current)"
                """), parents: ["second"]),
        ])
        let third = try await agent.waitEnded(tasks["third"]!.id, timeout: .seconds(90))
        #expect(third.state == .completed, "\(third.reason ?? "")")
        let first = ArtifactOwner(tasks["first"]!)
        let second = ArtifactOwner(tasks["second"]!)
        #expect(try await store.list(first).map(\.name.value) == ["a.txt", "bin.dat"])
        #expect(try await store.list(second).map(\.name.value) == ["b.txt", "bin2.dat"])
        #expect(try await store.artifact(first, name: ArtifactName("bin.dat"))?.size == 300 * 1024)

        let scratch = try AgentHarness.temporaryDirectory()
        try await store.fetch(first, name: ArtifactName("bin.dat"), to: scratch + "/1")
        try await store.fetch(second, name: ArtifactName("bin2.dat"), to: scratch + "/2")
        let original = try Data(contentsOf: URL(fileURLWithPath: scratch + "/1"))
        #expect(original.count == 300 * 1024)
        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch + "/2")) == original, "the child's copy is byte-identical")

        let logFirst = try await agent.log(tasks["first"]!.id)
        #expect(logFirst.contains("[ergon] artifact skipped: \"link\": a link (links are never followed)"))
        #expect(logFirst.contains("[ergon] artifact skipped: \"sub\": a folder"))
        #expect(logFirst.contains("[ergon] attempt 1: published 2 artifact(s) from /data/current"))
        let logThird = try await agent.log(third.id)
        #expect(logThird.contains("third read: one+two\n"))
        #expect(logThird.contains("current is \(third.id.uuidString.lowercased())\n"))
        try await agent.stop()
    }

    @Test("retrying a failed middle task re-runs only its sub-tree, and its new artifacts replace the old")
    func retryMiddle() async throws {
        let agent = try AgentHarness()
        agent.start()
        let store = FileArtifactStore(root: agent.config.dataDir + "/artifacts")
        let tasks = try await agent.submit("retry", [
            TaskSpec(slug: "a", image: image, command: .shell("echo a > /data/current/a.txt")),
            TaskSpec(slug: "b", image: image, command: .shell("""
                echo "attempt $ERGON_ATTEMPT" > /data/current/attempt-$ERGON_ATTEMPT.txt
                [ "$ERGON_ATTEMPT" -ge 2 ]
                """), parents: ["a"]),
            TaskSpec(slug: "c", image: image, command: .shell("ls /data/b"), parents: ["b"]),
        ])
        let failed = try await agent.waitEnded(tasks["b"]!.id, timeout: .seconds(60))
        #expect(failed.state == .failed)
        try await agent.waitFor(tasks["c"]!.id) { $0.state == .cancelled }
        #expect(try await store.list(ArtifactOwner(failed)).map(\.name.value) == ["attempt-1.txt"])

        let retried = try await WorkflowOperations(queue: agent.queue).retry(failed.workflowID, at: Date())
        #expect(retried.map(\.id) == [failed.id])
        WakeupFile(path: agent.config.wakeupFile).touch()
        let c = try await agent.waitEnded(tasks["c"]!.id, timeout: .seconds(60))
        #expect(c.state == .completed, "\(c.reason ?? "")")
        #expect(try await agent.queue.attempts(of: tasks["a"]!.id).count == 1, "the completed parent is not run again")
        #expect(try await agent.queue.attempts(of: tasks["b"]!.id).count == 2)
        #expect(try await agent.queue.attempts(of: c.id).count == 1)
        #expect(try await store.list(ArtifactOwner(failed)).map(\.name.value) == ["attempt-2.txt"])
        #expect(try await agent.log(c.id) == "attempt-2.txt\n")
        try await agent.stop()
    }
}
