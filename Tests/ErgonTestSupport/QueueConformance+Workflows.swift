import ErgonCore
import Foundation
import Testing

/// Checks of the workflow rules as every queue applies them: release, cancellation, retries,
/// id lookup and clean-up.
extension QueueConformance {
    /// In a chain a → b → c, each task becomes pending only when its parent completed.
    public static func chainRelease(_ make: TaskQueueFactory) async throws {
        let queue = try await make()
        let tasks = try await submit(queue, [task("a"), task("b", parents: ["a"]), task("c", parents: ["b"])])
        #expect(try await states(queue, tasks) == ["a": .pending, "b": .unscheduled, "c": .unscheduled])

        let a = try await runAttempt(queue, tasks["a"]!, .exited(code: 0))
        #expect(a.state == .completed && a.exitCode == 0)
        #expect(try await states(queue, tasks) == ["a": .completed, "b": .pending, "c": .unscheduled])
        #expect(try await queue.pendingTasks(limit: 10).map(\.spec.slug) == ["b"])

        try await runAttempt(queue, tasks["b"]!, .exited(code: 0))
        #expect(try await states(queue, tasks) == ["a": .completed, "b": .completed, "c": .pending])
        try await runAttempt(queue, tasks["c"]!, .exited(code: 0))
        #expect(try await states(queue, tasks) == ["a": .completed, "b": .completed, "c": .completed])
    }

    /// In a diamond a → (b, c) → d, d waits for both b and c; when one of them fails, d is
    /// cancelled at once even while the other still runs.
    public static func diamondRelease(_ make: TaskQueueFactory) async throws {
        let specs = [task("a"), task("b", parents: ["a"]), task("c", parents: ["a"]), task("d", parents: ["b", "c"])]
        let queue = try await make()
        let tasks = try await submit(queue, specs)
        try await runAttempt(queue, tasks["a"]!, .exited(code: 0))
        #expect(try await states(queue, tasks) == ["a": .completed, "b": .pending, "c": .pending, "d": .unscheduled])
        try await runAttempt(queue, tasks["b"]!, .exited(code: 0))
        #expect(try await queue.task(tasks["d"]!.id)?.state == .unscheduled)
        _ = try await queue.claim(taskID: tasks["c"]!.id, agentID: "agent", gpu: nil, at: t0)
        #expect(try await queue.task(tasks["d"]!.id)?.state == .unscheduled)
        _ = try await queue.finishAttempt(taskID: tasks["c"]!.id, attempt: 1, outcome: .exited(code: 0), at: t0)
        #expect(try await states(queue, tasks) == ["a": .completed, "b": .completed, "c": .completed, "d": .pending])

        let other = try await make()
        let second = try await submit(other, specs)
        try await runAttempt(other, second["a"]!, .exited(code: 0))
        _ = try await other.claim(taskID: second["c"]!.id, agentID: "agent", gpu: nil, at: t0)
        try await runAttempt(other, second["b"]!, .exited(code: 4))
        #expect(try await states(other, second) == ["a": .completed, "b": .failed, "c": .running, "d": .cancelled])
        let d = try await other.task(second["d"]!.id)
        #expect(d?.reason?.contains("\"b\"") == true && d?.reason?.contains("failed") == true)
        _ = try await other.finishAttempt(taskID: second["c"]!.id, attempt: 1, outcome: .exited(code: 0), at: t0)
        #expect(try await states(other, second) == ["a": .completed, "b": .failed, "c": .completed, "d": .cancelled])
    }

    /// When a task fails, errors, times out or is stopped, its descendants are cancelled,
    /// transitively, with a reason naming the parent; unrelated tasks are untouched.
    public static func badEndCancelsDescendants(_ make: TaskQueueFactory) async throws {
        let endings: [(AttemptOutcome, TaskState)] = [
            (.exited(code: 2), .failed), (.timedOut(reason: "ran past 1h"), .error),
            (.systemError(reason: "no offer"), .error), (.unrecoverable(reason: "no such image"), .error),
            (.stopped, .stopped),
        ]
        for (outcome, expected) in endings {
            let queue = try await make()
            let tasks = try await submit(
                queue,
                [task("a", maxAttempts: 1), task("b", parents: ["a"]), task("c", parents: ["b"]), task("d"),
                    task("e", parents: ["d"])])
            let held = try #require(try await queue.claim(taskID: tasks["a"]!.id, agentID: "agent", gpu: nil, at: t0))
            if outcome == .stopped { _ = try await queue.cancel(taskID: held.task.id, at: t0) }
            let a = try await queue.finishAttempt(taskID: held.task.id, attempt: 1, outcome: outcome, at: t0 + 1)
            #expect(a.state == expected, "\(outcome)")
            #expect(a.exitCode == (outcome == .exited(code: 2) ? 2 : nil))
            #expect(a.agentID == nil && a.reason != nil)
            #expect(
                try await states(queue, tasks)
                    == ["a": expected, "b": .cancelled, "c": .cancelled, "d": .pending, "e": .unscheduled], "\(outcome)")
            let b = try await queue.task(tasks["b"]!.id)
            let c = try await queue.task(tasks["c"]!.id)
            #expect(b?.reason?.contains("\"a\"") == true && b?.reason?.contains(expected.rawValue) == true)
            #expect(c?.reason?.contains("\"b\"") == true && c?.updatedAt == t0 + 1)
        }
    }

    /// A system error re-queues the task as pending while attempts are left, then makes it
    /// `error` with the last reason; every attempt is kept.
    public static func systemErrorRetriesUpToMaxAttempts(_ make: TaskQueueFactory) async throws {
        let queue = try await make()
        let tasks = try await submit(
            queue, [task("a", maxAttempts: 3), task("b", parents: ["a"]), task("default")], defaultMaxAttempts: 2)
        let a = tasks["a"]!
        for number in 1...2 {
            let after = try await runAttempt(queue, a, .systemError(reason: "host lost \(number)"))
            #expect(after.state == .pending && after.attempt == number && after.agentID == nil)
            #expect(after.reason?.contains("host lost \(number)") == true)
            #expect(try await queue.task(tasks["b"]!.id)?.state == .unscheduled)
        }
        let last = try await runAttempt(queue, a, .systemError(reason: "host lost 3"))
        #expect(last.state == .error && last.attempt == 3)
        #expect(last.reason?.contains("host lost 3") == true)
        #expect(try await queue.task(tasks["b"]!.id)?.state == .cancelled)
        let attempts = try await queue.attempts(of: a.id)
        #expect(attempts.map(\.number) == [1, 2, 3] && attempts.allSatisfy { $0.phase == .done })
        #expect(attempts.map(\.outcome) == (1...3).map { .systemError(reason: "host lost \($0)") })
        #expect(try await queue.claim(taskID: a.id, agentID: "agent", gpu: nil, at: t0) == nil)

        // The queue's default budget applies when the task names none.
        let other = tasks["default"]!
        #expect(try await runAttempt(queue, other, .systemError(reason: "boom")).state == .pending)
        #expect(try await runAttempt(queue, other, .systemError(reason: "boom")).state == .error)
    }

    /// A manual retry re-runs an ended task with a fresh budget and returns its cancelled
    /// descendants to `unscheduled`; a descendant another parent still blocks stays cancelled.
    public static func manualRetryGivesFreshBudget(_ make: TaskQueueFactory) async throws {
        let queue = try await make()
        let tasks = try await submit(
            queue,
            [task("a", maxAttempts: 2), task("b", parents: ["a"]), task("c", parents: ["b"]), task("x", maxAttempts: 1),
                task("y", parents: ["a", "x"])])
        let a = tasks["a"]!
        try await runAttempt(queue, a, .systemError(reason: "lost"))
        try await runAttempt(queue, a, .systemError(reason: "lost"))
        try await runAttempt(queue, tasks["x"]!, .exited(code: 1))
        #expect(try await states(queue, tasks) == ["a": .error, "b": .cancelled, "c": .cancelled, "x": .failed, "y": .cancelled])

        let retried = try await queue.retry(taskID: a.id, at: t0 + 10)
        #expect(retried.state == .pending && retried.attempt == 2 && retried.attemptBase == 2)
        #expect(retried.reason == nil && retried.exitCode == nil && retried.updatedAt == t0 + 10)
        #expect(try await states(queue, tasks) == ["a": .pending, "b": .unscheduled, "c": .unscheduled, "x": .failed, "y": .cancelled])
        #expect(try await queue.task(tasks["b"]!.id)?.reason == nil)
        #expect(try await queue.task(tasks["y"]!.id)?.reason?.contains("\"x\"") == true)

        // The fresh budget allows two more attempts.
        #expect(try await runAttempt(queue, a, .systemError(reason: "lost")).state == .pending)
        let done = try await runAttempt(queue, a, .exited(code: 0))
        #expect(done.state == .completed && done.attempt == 4)
        #expect(try await states(queue, tasks) == ["a": .completed, "b": .pending, "c": .unscheduled, "x": .failed, "y": .cancelled])

        // A failed task's retry clears its exit code.
        let x = try await queue.retry(taskID: tasks["x"]!.id, at: t0)
        #expect(x.state == .pending && x.exitCode == nil && x.attemptBase == 1)
        #expect(try await queue.task(tasks["y"]!.id)?.state == .unscheduled)
    }

    /// Retrying a cancelled task whose parent still failed is refused and changes nothing.
    public static func retryRefusedWhileParentBlocks(_ make: TaskQueueFactory) async throws {
        let queue = try await make()
        let tasks = try await submit(queue, [task("a"), task("b", parents: ["a"])])
        try await runAttempt(queue, tasks["a"]!, .exited(code: 1))
        let before = try await queue.task(tasks["b"]!.id)
        await expectQueueError(.illegalTransition, containing: ["task b (", "\"a\""]) {
            _ = try await queue.retry(taskID: tasks["b"]!.id, at: t0 + 5)
        }
        #expect(try await queue.task(tasks["b"]!.id) == before)
    }

    /// Ids resolve from a full UUID in any case or a unique prefix of at least 4 hex digits;
    /// the rest is `.notFound` or `.ambiguous` naming the text given.
    public static func resolveTaskID(_ make: TaskQueueFactory) async throws {
        let queue = try await make()
        let a = try await submit(queue, [task("a"), task("b")])["a"]!
        let full = a.id.uuidString.lowercased()
        #expect(try await queue.resolveTaskID(a.id.uuidString.uppercased()) == a.id)
        #expect(try await queue.resolveTaskID(full) == a.id)
        #expect(try await queue.resolveTaskID(String(full.prefix(8))) == a.id)
        #expect(try await queue.resolveTaskID(String(full.prefix(13)).uppercased()) == a.id)

        await expectQueueError(.notFound, containing: ["\"ab\"", "4"]) { _ = try await queue.resolveTaskID("ab") }
        await expectQueueError(.notFound, containing: ["\"build!\""]) { _ = try await queue.resolveTaskID("build!") }
        await expectQueueError(.notFound, containing: ["\"\""]) { _ = try await queue.resolveTaskID("") }
        let unknown = UUID()
        await expectQueueError(.notFound, containing: [unknown.uuidString.lowercased()]) {
            _ = try await queue.resolveTaskID(unknown.uuidString)
        }
        let ids = try await queue.tasks(.all).map { $0.id.uuidString.lowercased() }
        let free = try #require(
            (0..<4096).lazy.map { String(format: "%04x", $0) }.first { p in !ids.contains { $0.hasPrefix(p) } })
        await expectQueueError(.notFound, containing: ["\"\(free)\""]) { _ = try await queue.resolveTaskID(free) }

        // Submit until two ids share their first 4 hex digits (about 300 tasks on average).
        var byPrefix: [String: [UUID]] = [:]
        for task in try await queue.tasks(.all) { byPrefix[String(task.id.uuidString.lowercased().prefix(4)), default: []].append(task.id) }
        for round in 0..<40 where !byPrefix.values.contains(where: { $0.count > 1 }) {
            let (_, more) = try await queue.submit(
                workflow("many-\(round)", (0..<200).map { task("t\($0)") }), defaultMaxAttempts: 1, at: t0)
            for task in more { byPrefix[String(task.id.uuidString.lowercased().prefix(4)), default: []].append(task.id) }
        }
        let shared = try #require(byPrefix.first { $0.value.count > 1 })
        await expectQueueError(.ambiguous, containing: ["\"\(shared.key.uppercased())\"", shared.value[0].uuidString.lowercased()]) {
            _ = try await queue.resolveTaskID(shared.key.uppercased())
        }
        #expect(try await queue.resolveTaskID(shared.value[1].uuidString.lowercased()) == shared.value[1])
    }

    /// A workflow with volumes is listed for clean-up once all its tasks ended, until marked
    /// cleaned up; a workflow without volumes has nothing to clean up.
    public static func cleanUp(_ make: TaskQueueFactory) async throws {
        let queue = try await make()
        let (withVolumes, tasks1) = try await queue.submit(
            workflow("vol", [task("a"), task("b", parents: ["a"])], volumes: ["scratch"]), defaultMaxAttempts: 1, at: t0)
        let (_, tasks2) = try await queue.submit(workflow("plain", [task("p")]), defaultMaxAttempts: 1, at: t0)
        let (failing, tasks3) = try await queue.submit(
            workflow("fails", [task("f"), task("g", parents: ["f"])], volumes: ["v1", "v2"]), defaultMaxAttempts: 1, at: t0)
        #expect(try await queue.workflowsToCleanUp() == [])

        try await runAttempt(queue, tasks1[0], .exited(code: 0))
        try await runAttempt(queue, tasks2[0], .exited(code: 0))
        #expect(try await queue.workflowsToCleanUp() == [])
        try await runAttempt(queue, tasks1[1], .exited(code: 0))
        try await runAttempt(queue, tasks3[0], .exited(code: 9))
        #expect(try await queue.workflowsToCleanUp().map(\.id) == [withVolumes.id, failing.id])

        try await queue.markCleanedUp(workflowID: withVolumes.id)
        #expect(try await queue.workflowsToCleanUp().map(\.id) == [failing.id])
        #expect(try await queue.workflow(withVolumes.id)?.cleanedUp == true)
        await expectQueueError(.notFound) { try await queue.markCleanedUp(workflowID: UUID()) }
    }
}
