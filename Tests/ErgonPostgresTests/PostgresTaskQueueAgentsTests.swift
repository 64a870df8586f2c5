@_spi(Testing) import ErgonPostgres
import ErgonCore
import ErgonTestSupport
import Foundation
import Testing

/// Several queue objects on one database, as several agents on several hosts would be: each
/// has its own pool, connections and listener.
@Suite(.postgresServer, .serialized) struct PostgresTaskQueueAgentsTests {
    let t0 = QueueConformance.t0

    @Test func concurrentClaimsFromFourQueuesClaimEachTaskOnce() async throws {
        try await withPostgresScratch { scratch in
            let location = try await scratch.makeDatabase()
            var queues: [PostgresTaskQueue] = []
            for _ in 0..<4 { queues.append(try await scratch.open(location)) }
            let (_, tasks) = try await queues[0].submit(
                QueueConformance.workflow("race", (0..<200).map { QueueConformance.task("t\($0)") }),
                defaultMaxAttempts: 1, at: t0)
            let ids = tasks.map(\.id)

            let claims = try await QueueConformance.claimConcurrently(ids, on: queues, claimersPerQueue: 4)
            #expect(claims.count == ids.count, "\(claims.count) claims succeeded for \(ids.count) tasks")
            #expect(Set(claims.map(\.task.id)) == Set(ids))
            let stored = try await queues[3].tasks(.all)
            #expect(stored.allSatisfy { $0.state == .running && $0.attempt == 1 })
            let claimedBy = Dictionary(uniqueKeysWithValues: claims.map { ($0.task.id, $0.task.agentID) })
            #expect(stored.allSatisfy { claimedBy[$0.id] == $0.agentID })
            let held = try await queues[1].heldTasks()
            #expect(held.count == ids.count && held.allSatisfy { $0.attempt.number == 1 })
            #expect(try await queues[2].pendingTasks(limit: 10) == [])
        }
    }

    @Test func concurrentSubmitsFromTwoQueuesKeepSeqUniqueAndOrdered() async throws {
        try await withPostgresScratch { scratch in
            let location = try await scratch.makeDatabase()
            let queues = [try await scratch.open(location), try await scratch.open(location)]
            let submitted = try await QueueConformance.submitConcurrently(on: queues, rounds: 10)
            let stored = try await queues[0].tasks(.all)
            #expect(stored.count == 60 && Set(stored.map(\.id)) == Set(submitted.map(\.id)))
            #expect(stored.map(\.seq) == Array(1...60), "seq is unique and gap-free in submission order")
            for workflow in Set(stored.map(\.workflowID)) {
                let seqs = stored.filter { $0.workflowID == workflow }.map(\.seq)
                #expect(seqs == Array(seqs[0]...(seqs[0] + 2)))
            }
            // Workflows list in the order their tasks were numbered.
            let firstSeq = Dictionary(grouping: stored, by: \.workflowID).mapValues { $0.map(\.seq).min()! }
            let workflows = try await queues[1].workflows()
            #expect(workflows.count == 20 && workflows.map { firstSeq[$0.id]! } == workflows.map { firstSeq[$0.id]! }.sorted())
        }
    }

    @Test func anAdoptedTaskFencesOffItsFormerAgent() async throws {
        try await withPostgresScratch { scratch in
            let location = try await scratch.makeDatabase()
            let a = try await scratch.open(location)
            let b = try await scratch.open(location)
            let tasks = try await QueueConformance.submit(a, [QueueConformance.task("x"), QueueConformance.task("y")])
            let x = tasks["x"]!
            #expect(try await a.heartbeat(agent("A", leaseUntil: t0 + 30)) == nil)
            let heldByA = try #require(try await a.claim(taskID: x.id, agentID: "A", gpu: nil, at: t0))

            // A's lease still runs at the cut-off: nothing moves.
            #expect(try await b.adopt(taskID: x.id, from: "A", to: "B", expiredBefore: t0 + 10, at: t0 + 10) == nil)
            let heldByB = try #require(
                try await b.adopt(taskID: x.id, from: "A", to: "B", expiredBefore: t0 + 60, at: t0 + 60))
            #expect(heldByB.task.agentID == "B" && heldByB.attempt.agentID == "B" && heldByB.attempt.number == 1)
            #expect(heldByB.task.updatedAt == t0 + 60)
            #expect(try await b.adopt(taskID: x.id, from: "A", to: "B", expiredBefore: t0 + 60, at: t0 + 61) == nil)

            // A comes back: its writes are refused.
            var stale = heldByA.attempt
            stale.phase = .running
            await QueueConformance.expectQueueError(.notHeld, containing: ["agent B", "agent A"]) {
                try await a.updateAttempt(stale)
            }
            await QueueConformance.expectQueueError(.notHeld) {
                _ = try await a.finishAttempt(taskID: x.id, attempt: 1, outcome: .exited(code: 0), heldBy: "A", at: t0 + 62)
            }
            #expect(try await a.heartbeat(agent("A", leaseUntil: t0 + 100))?.leaseExpiresAt == t0 + 30)

            // B's writes go through.
            var current = heldByB.attempt
            current.phase = .running
            current.instanceID = "container-1"
            try await b.updateAttempt(current)
            #expect(try await a.heldTasks(agentID: "B") == [HeldTask(task: heldByB.task, attempt: current)])
            #expect(try await a.heldTasks() == [HeldTask(task: heldByB.task, attempt: current)])
            let done = try await b.finishAttempt(taskID: x.id, attempt: 1, outcome: .exited(code: 0), heldBy: "B", at: t0 + 70)
            #expect(done.state == .completed)
            #expect(try await b.agents().map(\.id) == ["A"])
        }
    }

    @Test func anAbandonedTaskIsRetriedAndWakesTheAgents() async throws {
        try await withPostgresScratch { scratch in
            let location = try await scratch.makeDatabase()
            let a = try await scratch.open(location)
            let b = try await scratch.open(location)
            let y = try await QueueConformance.submit(a, [QueueConformance.task("y")])["y"]!
            _ = try await a.heartbeat(agent("A", leaseUntil: t0 + 30))
            _ = try #require(try await a.claim(taskID: y.id, agentID: "A", gpu: nil, at: t0))
            let counter = ChangeCounter(b.changes())
            #expect(try await counter.wait(for: 1, within: .seconds(5)), "the listener did not start")
            try await Task.sleep(for: .milliseconds(100))
            let before = counter.seen

            let lost = AttemptOutcome.systemError(reason: "agent A is gone")
            #expect(try await b.abandon(
                taskID: y.id, attempt: 1, from: "A", expiredBefore: t0 + 10, outcome: lost, at: t0 + 10) == nil)
            #expect(try await b.abandon(
                taskID: y.id, attempt: 2, from: "A", expiredBefore: t0 + 60, outcome: lost, at: t0 + 60) == nil)
            let retried = try #require(try await b.abandon(
                taskID: y.id, attempt: 1, from: "A", expiredBefore: t0 + 60, outcome: lost, at: t0 + 60))
            #expect(retried.state == .pending && retried.agentID == nil)
            #expect(try await a.attempts(of: y.id).map(\.outcome) == [lost])
            #expect(try await counter.wait(for: before + 1, within: .seconds(2)), "no wake-up after an abandon")
            await counter.stop()
        }
    }

    @Test func theListenerReconnectsAndSaysSo() async throws {
        try await withPostgresScratch { scratch in
            let location = try await scratch.makeDatabase()
            let queue = try await scratch.open(location)
            let counter = ChangeCounter(queue.changes())
            #expect(try await counter.wait(for: 1, within: .seconds(5)), "the listener did not start")
            try await Task.sleep(for: .milliseconds(100))
            let before = counter.seen

            let ended = try await PostgresAdmin.query(
                """
                SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity
                WHERE datname = '\(location.database)' AND query ILIKE 'LISTEN%'
                """,
                on: scratch.admin)
            #expect(ended.count == 1, "one listening connection: \(ended)")
            #expect(try await counter.wait(for: before + 1, within: .seconds(5)), "no element after reconnecting")
            try await Task.sleep(for: .milliseconds(100))
            let reconnected = counter.seen
            _ = try await QueueConformance.submit(queue, [QueueConformance.task("a")])
            #expect(try await counter.wait(for: reconnected + 1, within: .seconds(2)), "no wake-up after reconnecting")
            await counter.stop()
        }
    }

    private func agent(_ id: String, leaseUntil expiry: Date) -> AgentRecord {
        AgentRecord(
            id: id, mode: "docker", scope: "docker:test", host: "host-\(id)", pid: 1, startedAt: t0, heartbeatAt: t0,
            leaseExpiresAt: expiry)
    }
}
