import AsyncHTTPClient
import ErgonCore
import ErgonTestSupport
import Foundation
import Testing
import VastSimulator

@testable import ErgonVast

/// The issue's simulator test of the ranking: on a seeded market whose cheap end has slow links
/// and flaky hosts, the same 50-task workflow costs less and ends sooner under `effective_cost`
/// than under `price` (`Scripts/bench ranking` runs the same comparison against a real agent
/// process, at market time).
@Suite("Effective-cost ranking on a faulty simulated market", .serialized)
struct EffectiveCostMarketTests {
    static let tasks = 50

    /// What one ranking cost: dollars the simulator billed, and simulated seconds from the
    /// submit until the last task ended.
    struct Outcome: CustomStringConvertible {
        var spend: Double
        var wall: Double
        var completed: Int
        var description: String { String(format: "$%.4f, %.1f s, %d/%d completed", spend, wall, completed, EffectiveCostMarketTests.tasks) }
    }

    /// Runs the workflow on a fresh simulator of seed 11 (the benchmark's) under `ranking`.
    static func run(_ ranking: OfferRanking) async throws -> Outcome {
        var options = SimulatorOptions.forTesting(seed: 11, offers: 2000)
        // Downloads at a hundredth of their market time, as in the benchmark.
        options.faultyMarket = FaultyMarket(timeScale: 0.01)
        return try await withVastSimulator(options) { sim in
            let agent = try VastAgentFixture(sim: sim) { config in
                config.vast.ranking = ranking
                config.scheduler.maxParallelTasks = tasks
                config.scheduler.provisioningTimeout = .seconds(3600)
                config.scheduler.orderingGrace = .seconds(600)
            }
            agent.start()
            do {
                let started = sim.clock.now()
                // A 4 GB image, said in the agent's (scaled) seconds: 40 MB; a 20 s run.
                let specs = (1...tasks).map { index in
                    var spec = VastAgentFixture.task("t\(index)", run: 20, extra: ["SIM_IMAGE_BYTES": "4000000000"])
                    spec.vast = VastTaskOptions(expectedRuntimeSeconds: 20, imageSizeHint: 40_000_000)
                    spec.maxAttempts = 6
                    return spec
                }
                let submitted = try await agent.submit(specs)
                var ended: [TaskRecord] = []
                for task in submitted.values {
                    ended.append(try await agent.waitEnded(task.id, timeout: .seconds(300)))
                }
                let last = ended.map(\.updatedAt).max() ?? started
                let spend = try await Self.spend(sim)
                try await agent.stop()
                return Outcome(
                    spend: spend, wall: last.timeIntervalSince(started), completed: ended.count { $0.state == .completed })
            } catch {
                try? await agent.stop()
                throw error
            }
        }
    }

    /// The dollars billed so far: the account's starting credit less what is left.
    static func spend(_ sim: VastSimulatorHarness) async throws -> Double {
        var request = HTTPClientRequest(url: sim.baseURL + "/api/v0/users/current/")
        request.headers.add(name: "Authorization", value: "Bearer \(sim.apiKey)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        let credit = try #require(try JSONValue.decode(Data(body.readableBytesView))["credit"]?.doubleValue)
        return SimulatorOptions().initialCredit - credit
    }

    @Test("50 tasks: effective_cost spends less and ends sooner than price on the seeded faulty market")
    func effectiveCostBeatsPrice() async throws {
        let price = try await Self.run(.price)
        let effective = try await Self.run(.effectiveCost)
        print("price: \(price); effective_cost: \(effective); spend \(String(format: "%.2f", effective.spend / price.spend))x, "
            + "wall time \(String(format: "%.2f", effective.wall / price.wall))x")
        #expect(price.completed == Self.tasks && effective.completed == Self.tasks)
        #expect(effective.spend < price.spend, "effective_cost \(effective), price \(price)")
        #expect(effective.wall < price.wall, "effective_cost \(effective), price \(price)")
    }
}
