import ErgonCore
import ErgonSQLite
import ErgonTestSupport
import Foundation
import Testing

/// Two `SQLiteTaskQueue` instances on one file have separate pools, connections and locks,
/// as two processes would.
@Suite struct SQLiteTaskQueueConcurrencyTests {
    @Test func concurrentClaimsFromTwoInstancesClaimEachTaskOnce() async throws {
        try await withScratchDirectory { directory in
            let path = directory + "/queue.sqlite"
            let first = try SQLiteTaskQueue(path: path)
            let second = try SQLiteTaskQueue(path: path)
            let (_, tasks) = try await first.submit(
                QueueConformance.workflow("race", (0..<40).map { QueueConformance.task("t\($0)") }),
                defaultMaxAttempts: 1, at: QueueConformance.t0)
            let ids = tasks.map(\.id)

            let claims = try await QueueConformance.claimConcurrently(ids, on: [first, second], claimersPerQueue: 4)
            #expect(claims.count == ids.count, "\(claims.count) claims succeeded for \(ids.count) tasks")
            #expect(Set(claims.map(\.task.id)) == Set(ids))
            for queue in [first, second] {
                let stored = try await queue.tasks(.all)
                #expect(stored.allSatisfy { $0.state == .running && $0.attempt == 1 })
                for claim in claims {
                    #expect(try await queue.attempts(of: claim.task.id) == [claim.attempt])
                    #expect(try await queue.task(claim.task.id)?.agentID == claim.task.agentID)
                }
            }
            #expect(try await second.pendingTasks(limit: 100) == [])
        }
    }

    /// `ergon submit` run twice at once on a fresh data_dir: both open the new file together.
    @Test func openingAFreshFileFromManyInstancesAtOnceSucceeds() async throws {
        for _ in 0..<40 {
            try await withScratchDirectory { directory in
                let path = directory + "/queue.sqlite"
                let opened = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<6 {
                        group.addTask { try await SQLiteTaskQueue(path: path).tasks(.all).count }
                    }
                    return try await group.reduce(0) { $0 + 1 + $1 }
                }
                #expect(opened == 6)
            }
        }
    }

    @Test func concurrentSubmitsFromTwoInstancesKeepSeqUnique() async throws {
        try await withScratchDirectory { directory in
            let path = directory + "/queue.sqlite"
            let queues = [try SQLiteTaskQueue(path: path), try SQLiteTaskQueue(path: path)]
            let submitted = try await QueueConformance.submitConcurrently(on: queues, rounds: 10)
            let stored = try await queues[0].tasks(.all)
            #expect(stored.count == 60)
            #expect(Set(stored.map(\.id)) == Set(submitted.map(\.id)))
            #expect(stored.map(\.seq) == Array(1...60), "seq is unique and gap-free in submission order")
            // Each workflow's tasks were numbered together, in one transaction.
            for workflow in Set(stored.map(\.workflowID)) {
                let seqs = stored.filter { $0.workflowID == workflow }.map(\.seq)
                #expect(seqs == Array(seqs[0]...(seqs[0] + 2)))
            }
            #expect(try await queues[1].workflows().count == 20)
        }
    }

    @Test(.enabled(if: SQLiteShell.isAvailable, "needs \(SQLiteShell.path)"))
    func instancesOpeningAFreshFileAtOnceAllSucceed() async throws {
        try await withScratchDirectory { directory in
            let path = directory + "/fresh.sqlite"
            let opened = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        let queue = try SQLiteTaskQueue(path: path)
                        return try await queue.workflows().count
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(opened == Array(repeating: 0, count: 6))
            #expect(try SQLiteShell.run(path, "SELECT identifier FROM grdb_migrations ORDER BY rowid;")
                == SQLiteTaskQueue.schemaVersions.joined(separator: "\n"))
        }
    }
}
