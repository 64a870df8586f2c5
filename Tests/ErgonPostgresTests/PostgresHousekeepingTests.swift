import ErgonCore
import ErgonPostgres
import ErgonTestSupport
import Foundation
import Testing

/// `ergon gc` beside other processes on one PostgreSQL database: a removal racing a retry of
/// the same workflow either removes everything of it or leaves it whole with its task live.
@Suite(.postgresServer, .serialized) struct PostgresHousekeepingTests {
    @Test func removalRacingRetriesLeavesNoHalfWorkflow() async throws {
        try await withPostgresScratch { scratch in
            let location = try await scratch.makeDatabase()
            let collector = try await scratch.open(location)
            let user = try await scratch.open(location)
            let t0 = QueueConformance.t0
            var tasks: [TaskRecord] = []
            for index in 0..<24 {
                let (_, records) = try await collector.submit(
                    QueueConformance.workflow("wf\(index)", [QueueConformance.task("a"), QueueConformance.task("b", parents: ["a"])]),
                    defaultMaxAttempts: 1, at: t0)
                try await QueueConformance.runAttempt(collector, records[0], .exited(code: 1))
                tasks.append(records[0])
            }
            let cutoff = t0 + 3600
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in tasks {
                    group.addTask { _ = try await collector.removeWorkflow(task.workflowID, endedBefore: cutoff) }
                    // A retry of a removed workflow fails (its task is gone); that is the point.
                    group.addTask { _ = try? await user.retry(taskID: task.id, at: t0) }
                }
                try await group.waitForAll()
            }
            var removed = 0
            for task in tasks {
                let workflow = try await collector.workflow(task.workflowID)
                let rows = try await collector.tasks(TaskFilter(workflowID: task.workflowID))
                if workflow == nil {
                    removed += 1
                    #expect(rows.isEmpty, "no orphan task rows")
                    #expect(try await collector.attempts(of: task.id) == [], "no orphan attempt rows")
                } else {
                    #expect(rows.count == 2, "a kept workflow is whole")
                    #expect(rows.first { $0.id == task.id }?.state == .pending, "kept because its retry made it live")
                }
            }
            print("removal racing retries: \(removed) of \(tasks.count) workflows removed, the rest retried first")
            // What was kept is live and stays: a second pass removes nothing more.
            for task in tasks {
                guard try await collector.workflow(task.workflowID) != nil else { continue }
                #expect(try await collector.removeWorkflow(task.workflowID, endedBefore: cutoff) == false)
            }
        }
    }
}
