import ErgonCore
import ErgonTestSupport
import Foundation
import Testing
import VastSimulator

@testable import ErgonVast

/// The money caps under the scheduler, against the simulator, with caps set from the seeded
/// market's own prices so that they bite.
@Suite("Vast money caps", .serialized)
struct VastBudgetScenarioTests {
    /// The dph_total of the cheapest offer the agent would order for a task of `config`.
    static func cheapestPrice(_ sim: VastSimulatorHarness) async throws -> Double {
        let probe = try VastAgentFixture(sim: sim)
        defer { Task { try? await probe.stop() } }
        let selection = try OfferSelection.make(agentFilters: probe.config.vast.offerFilters, maxDPH: nil, diskGB: probe.config.vast.diskGB)
        let offers = try await probe.client.searchOffers(body: selection.requestBody)
        return try #require(selection.rank(offers).first).dphTotal
    }

    /// Runs `body` with an agent whose config `configure` sets knowing the cheapest price.
    func withAgent(
        configure: @escaping (inout ErgonConfig, Double) -> Void, _ body: (VastAgentFixture, Double) async throws -> Void
    ) async throws {
        try await withVastSimulator(.forTesting()) { sim in
            let cheapest = try await Self.cheapestPrice(sim)
            let agent = try VastAgentFixture(sim: sim) { configure(&$0, cheapest) }
            agent.start()
            do {
                try await body(agent, cheapest)
            } catch {
                try? await agent.stop()
                throw error
            }
            try await agent.stop()
        }
    }

    /// The most instances alive at once over the simulator's whole history.
    static func mostAliveAtOnce(_ instances: [JSONValue]) -> Int {
        var events: [(Double, Int)] = []
        for instance in instances {
            guard let billed = instance["billed_seconds"]?.doubleValue else { continue }
            let end = instance["destroyed_at"]?.doubleValue ?? .greatestFiniteMagnitude
            let start = (end == .greatestFiniteMagnitude ? 0 : end - billed)
            events.append((start, 1))
            events.append((end, -1))
        }
        var alive = 0
        var most = 0
        for event in events.sorted(by: { ($0.0, $0.1) < ($1.0, $1.1) }) {
            alive += event.1
            most = max(most, alive)
        }
        return most
    }

    @Test("vast_api.max_dph under every offer: nothing is ordered, the task waits with the reason, no attempt is spent")
    func maxDPHBelowTheMarket() async throws {
        try await withAgent(configure: { config, cheapest in config.vast.maxDPH = cheapest / 2 }) { agent, cheapest in
            let tasks = try await agent.submit([VastAgentFixture.task("t")])
            let id = tasks["t"]!.id
            let waiting = try await agent.waitFor(id) { $0.state == .pending && $0.attempt >= 1 }
            #expect(waiting.reason?.hasPrefix("waiting: vast_api.max_dph") == true, "\(waiting.reason ?? "")")
            #expect(waiting.reason?.contains(BudgetCheck.money(cheapest)) == true, "names the cheapest offer's price")
            #expect(waiting.attemptBase == waiting.attempt, "a deferred attempt does not count")
            let attempts = try await agent.queue.attempts(of: id)
            #expect(attempts.allSatisfy { if case .deferred = $0.outcome { return $0.instanceID == nil } else { return false } })
            let stats = await agent.sim.stats()
            #expect(stats.requests(.create) == 0)
            #expect(stats.createdInstances == 0)
        }
    }

    @Test("budget.max_total_spend reached: the agent orders nothing and says why in its record")
    func totalSpendReached() async throws {
        try await withAgent(configure: { config, _ in config.budget.maxTotalSpend = 0 }) { agent, _ in
            let tasks = try await agent.submit([VastAgentFixture.task("t")])
            try await waitUntil(.seconds(30)) {
                try await agent.queue.agents().first?.holding?.contains("budget.max_total_spend $0.000 reached") == true
            }
            // Ticks go on (100 ms apart): none claims the task or searches the market.
            let searches = await agent.sim.stats().requests(.search)
            try await Task.sleep(for: .seconds(2))
            let task = try #require(try await agent.queue.task(tasks["t"]!.id))
            #expect(task.state == .pending && task.attempt == 0, "never claimed")
            let stats = await agent.sim.stats()
            #expect(stats.requests(.search) == searches, "not even searched")
            #expect(stats.requests(.create) == 0)
        }
    }

    @Test("budget.max_hourly_spend fits one instance: tasks run one at a time, all complete, costs match the simulator's bill")
    func hourlySpendSerializes() async throws {
        try await withAgent(configure: { config, cheapest in config.budget.maxHourlySpend = cheapest * 1.5 }) { agent, cheapest in
            let tasks = try await agent.submit((1...3).map { VastAgentFixture.task("t\($0)", run: 2) })
            for task in tasks.values {
                #expect(try await agent.waitEnded(task.id, timeout: .seconds(150)).state == .completed)
            }
            let history = await agent.sim.vast.allInstances()
            #expect(history.count == 3, "one instance per task")
            #expect(Self.mostAliveAtOnce(history) == 1, "two instances would pass the hourly cap")
            for task in tasks.values {
                let record = try #require(try await agent.queue.task(task.id))
                #expect(record.attempt - record.attemptBase == 1, "deferred attempts are not counted")
                let ran = try #require(try await agent.queue.attempts(of: task.id).last)
                let instance = try #require(history.first { $0["id"]?.doubleValue.map { String(Int($0)) } == ran.instanceID })
                let price = try #require(ran.pricePerHour)
                #expect(abs(price - (instance["dph_total"]?.doubleValue ?? -1)) < 1e-9, "the price ordered at is recorded")
                #expect(price <= cheapest * 1.5)
                // Ergon bills from the start of the order to the confirmed destroy: never less than
                // the simulator's create-to-destroy, and only a little more.
                let billed = try #require(instance["billed_seconds"]?.doubleValue)
                let recorded = ran.billedSeconds(at: agent.sim.clock.now())
                #expect(recorded >= billed - 0.5 && recorded <= billed + 15, "recorded \(recorded) s, simulator \(billed) s")
            }
        }
    }
}
