import ErgonCore
import ErgonSQLite
import Foundation
import Testing

@Suite("Retry after a workflow's volumes were removed")
struct RetryAfterCleanUpTests {
    static func queues() throws -> [any TaskQueue] {
        let path = NSTemporaryDirectory() + "ergon-retry-\(UUID().uuidString.lowercased()).sqlite"
        return [MemoryTaskQueue(), try SQLiteTaskQueue(path: path)]
    }

    @Test("is refused with a message saying the data is gone; before clean-up it is allowed")
    func refused() async throws {
        for queue in try Self.queues() {
            let spec = WorkflowSpec(
                name: "w", tasks: [TaskSpec(slug: "a", image: "i", volumes: [VolumeMount(name: "v", dest: "/v")])],
                volumes: ["v"])
            let (workflow, tasks) = try await queue.submit(spec, defaultMaxAttempts: 1, at: Date())
            _ = try await queue.cancel(taskID: tasks[0].id, at: Date())
            #expect(try await queue.workflowsToCleanUp().map(\.id) == [workflow.id])
            // Not cleaned up yet: a retry is fine.
            #expect(try await queue.retry(taskID: tasks[0].id, at: Date()).state == .pending)
            _ = try await queue.cancel(taskID: tasks[0].id, at: Date())
            try await queue.markCleanedUp(workflowID: workflow.id)
            do {
                _ = try await queue.retry(taskID: tasks[0].id, at: Date())
                Issue.record("\(type(of: queue)): a retry after the volumes were removed should be refused")
            } catch let error as QueueError {
                #expect(error.kind == .illegalTransition)
                #expect(error.message.contains("volumes were removed"))
            }
            #expect(try await queue.task(tasks[0].id)?.state == .stopped)
        }
    }
}
