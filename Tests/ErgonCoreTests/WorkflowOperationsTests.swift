import ErgonCore
import Foundation
import Testing

@Suite struct WorkflowOperationsTests {
    @Test("a workflow cancelled before it ran is retried whole; a failed chain only from the failure")
    func retryRoots() async throws {
        let queue = MemoryTaskQueue()
        let operations = WorkflowOperations(queue: queue)
        let (workflow, tasks) = try await queue.submit(
            WorkflowSpec(name: "w", tasks: [
                TaskSpec(slug: "a", image: "i"), TaskSpec(slug: "b", image: "i", parents: ["a"]), TaskSpec(slug: "x", image: "i"),
            ]), defaultMaxAttempts: 1, at: Date())
        _ = try await operations.cancel(workflow.id, at: Date())
        #expect(try await operations.summary(workflow.id).state == .stopped)
        await #expect(throws: QueueError.self) { _ = try await operations.cancel(workflow.id, at: Date()) }
        let retried = try await operations.retry(workflow.id, at: Date())
        #expect(Set(retried.map(\.spec.slug)) == ["a", "x"])
        let states = try await queue.tasks(.all).map(\.state)
        #expect(states == [.pending, .unscheduled, .pending])

        // a completes, b fails: only b runs again.
        _ = try #require(try await queue.claim(taskID: tasks[0].id, agentID: "t", gpu: nil, at: Date()))
        _ = try await queue.finishAttempt(taskID: tasks[0].id, attempt: 1, outcome: .exited(code: 0), at: Date())
        _ = try #require(try await queue.claim(taskID: tasks[1].id, agentID: "t", gpu: nil, at: Date()))
        _ = try await queue.finishAttempt(taskID: tasks[1].id, attempt: 1, outcome: .exited(code: 1), at: Date())
        _ = try await queue.cancel(taskID: tasks[2].id, at: Date())
        let again = try await operations.retry(workflow.id, at: Date())
        #expect(Set(again.map(\.spec.slug)) == ["b", "x"])
        #expect(try await queue.task(tasks[0].id)?.state == .completed)
    }
}
