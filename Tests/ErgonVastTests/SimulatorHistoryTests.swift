import ErgonTestSupport
import ErgonVast
import Foundation
import Testing
import VastSimulator

/// `GET /__sim/history`: what a soak run reads to find duplicates, orphans and idle billing.
@Suite struct SimulatorHistoryTests {
    @Test func historyKeepsCreateLabelsTimesAndBillingOfDestroyedInstances() async throws {
        var options = SimulatorOptions.forTesting()
        options.faults = FaultPlan(rules: [FaultRule(kind: .stuckLoading, after: 1, times: 1)])
        try await withVastSimulator(options) { sim in
            let client = SimulatorTestClient(sim)
            sim.advance(by: 10)
            let first = try await client.createCheapest(["label": "ergon:a:t1:1"])
            sim.advance(by: 30)
            let second = try await client.createCheapest(["label": "ergon:a:t2:1"])
            #expect(try await client.put("/api/v0/instances/\(first)/", ["label": "ergon:b:t1:1"]).status == 200)
            sim.advance(by: 20)
            #expect(try await client.delete("/api/v0/instances/\(first)/").status == 200)
            sim.advance(by: 5)

            let answer = try await client.get("/__sim/history").json
            #expect(answer["started_at"]?.doubleValue == sim.vast.marketStart.timeIntervalSince1970)
            #expect(answer["now"]?.doubleValue == 65)
            let rows = answer["instances"]?.arrayValue ?? []
            try #require(rows.count == 2)
            #expect(rows[0]["id"]?.intValue == first)
            #expect(rows[0]["create_label"] == "ergon:a:t1:1")
            #expect(rows[0]["label"] == "ergon:b:t1:1")
            #expect(rows[0]["created_at"]?.doubleValue == 10)
            #expect(rows[0]["destroyed_at"]?.doubleValue == 60)
            #expect(rows[0]["state"] == "destroyed")
            #expect(rows[0]["billed_seconds"]?.doubleValue == 50)
            #expect(rows[0]["fault"] == .null)

            #expect(rows[1]["id"]?.intValue == second)
            #expect(rows[1]["create_label"] == "ergon:a:t2:1")
            #expect(rows[1]["created_at"]?.doubleValue == 40)
            #expect(rows[1]["destroyed_at"] == .null)
            #expect(rows[1]["state"] == "loading")
            #expect(rows[1]["billed_seconds"]?.doubleValue == 25)
            #expect(rows[1]["fault"] == "stuck_loading")
        }
    }

    @Test func historyOfAnUnlabelledInstanceHasNullLabels() async throws {
        try await withVastSimulator { sim in
            let client = SimulatorTestClient(sim)
            _ = try await client.createCheapest()
            let history = await sim.vast.history()
            #expect(history.count == 1)
            #expect(history.first?.createLabel == nil && history.first?.label == nil)
            #expect(history.first?.json["create_label"] == .null)
        }
    }
}
