import ErgonCore
import ErgonTestSupport
import Foundation
import Testing
import VastSimulator

@testable import ErgonVast

@Suite("Launches order one at a time")
struct OrderTurnsTests {
    @Test("bodies run one at a time, every one of them")
    func exclusive() async throws {
        let turns = OrderTurns()
        let occupancy = Occupancy()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<20 {
                group.addTask {
                    try await turns.run {
                        await occupancy.enter(index)
                        try await Task.sleep(for: .milliseconds(2))
                        await occupancy.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(await occupancy.most == 1)
        #expect(await occupancy.ran.sorted() == Array(0..<20))
    }

    /// How many bodies run at once, the most seen, and which ran.
    actor Occupancy {
        var inside = 0
        var most = 0
        var ran: [Int] = []

        func enter(_ index: Int) {
            inside += 1
            most = max(most, inside)
            ran.append(index)
        }

        func leave() { inside -= 1 }
    }

    @Test("a caller cancelled while it waits gives up its place; the next one runs")
    func cancelledWhileWaiting() async throws {
        let turns = OrderTurns()
        let (release, releaser) = AsyncStream.makeStream(of: Void.self)
        let holder = Task {
            try await turns.run {
                for await _ in release { break }
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        let cancelled = Task { try await turns.run { "ran" } }
        try await Task.sleep(for: .milliseconds(50))
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        let next = Task { try await turns.run { "next ran" } }
        releaser.yield()
        try await holder.value
        #expect(try await next.value == "next ran")
    }

    @Test("many launches in one tick each order their own offer: one search and one create per task")
    func manyLaunchesAtOnce() async throws {
        try await withVastSimulator(.forTesting(offers: 400)) { sim in
            let agent = try VastAgentFixture(sim: sim) { $0.scheduler.maxParallelTasks = 12 }
            agent.start()
            do {
                let tasks = try await agent.submit((1...12).map { VastAgentFixture.task("t\($0)") })
                for task in tasks.values {
                    #expect(try await agent.waitEnded(task.id).state == .completed)
                    #expect(try await agent.queue.attempts(of: task.id).count == 1)
                }
                let stats = await agent.sim.stats()
                #expect(stats.requests(.search) == 12)
                #expect(stats.requests(.create) == 12)
                #expect(stats.createdInstances == 12)
            } catch {
                try? await agent.stop()
                throw error
            }
            try await agent.stop()
        }
    }
}
