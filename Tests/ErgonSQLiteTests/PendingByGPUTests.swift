import ErgonCore
import ErgonSQLite
import Foundation
import Testing

@Suite("Pending tasks by GPU need")
struct PendingByGPUTests {
    @Test("a long line of GPU tasks does not hide a task that needs none, on either engine")
    func split() async throws {
        let path = NSTemporaryDirectory() + "ergon-gpu-\(UUID().uuidString.lowercased()).sqlite"
        for queue: any TaskQueue in [MemoryTaskQueue(), try SQLiteTaskQueue(path: path)] {
            var tasks = (1...30).map { TaskSpec(slug: "g\($0)", image: "i", gpu: true, priority: 10) }
            tasks.append(TaskSpec(slug: "cpu", image: "i", priority: 0))
            tasks.append(TaskSpec(slug: "gpu-low", image: "i", gpu: true, priority: -1))
            _ = try await queue.submit(WorkflowSpec(name: "w", tasks: tasks), defaultMaxAttempts: 1, at: Date())
            // The plain window is full of GPU tasks.
            #expect(try await queue.pendingTasks(limit: 5).allSatisfy(\.spec.gpu))
            #expect(try await queue.pendingTasks(limit: 5, needingGPU: false).map(\.spec.slug) == ["cpu"])
            let gpu = try await queue.pendingTasks(limit: 3, needingGPU: true).map(\.spec.slug)
            #expect(gpu == ["g1", "g2", "g3"], "\(type(of: queue))")
            #expect(try await queue.pendingTasks(limit: 100, needingGPU: true).last?.spec.slug == "gpu-low")
        }
    }
}
